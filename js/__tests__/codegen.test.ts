/**
 * Runs @react-native/codegen over the TurboModule spec (js/src/NativeNatter.ts), as the app's
 * build does on Android and iOS: the spec must parse, validate, and generate the Java, ObjC++ and
 * C++ specs with every contract method and the typed event emitter. A deliberately invalid spec
 * must be rejected, proving the check can fail.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';

/* eslint-disable @typescript-eslint/no-require-imports */
const { TypeScriptParser } = require('@react-native/codegen/lib/parsers/typescript/parser');
const SchemaValidator = require('@react-native/codegen/lib/SchemaValidator');
const JavaSpec = require('@react-native/codegen/lib/generators/modules/GenerateModuleJavaSpec');
const ObjCpp = require('@react-native/codegen/lib/generators/modules/GenerateModuleObjCpp');
const CppH = require('@react-native/codegen/lib/generators/modules/GenerateModuleH');
/* eslint-enable @typescript-eslint/no-require-imports */

const SPEC = resolve(__dirname, '..', 'src', 'NativeNatter.ts');
const pkg = JSON.parse(readFileSync(resolve(__dirname, '..', '..', 'package.json'), 'utf8'));

const METHODS = [
  'create',
  'login',
  'logout',
  'destroy',
  'isReady',
  'getLoginUser',
  'getServerTime',
  'setLogLevel',
  'updateUserSig',
  'provideUserSig',
  'setAppState',
  'setNetworkReachable',
  'getSessionState',
];

function allText(files: Map<string, string>): string {
  return [...files.values()].join('\n');
}

test('codegen accepts NativeNatter.ts: module "Natter", the contract methods (all synchronous), and the onNatterItem emitter', () => {
  const schema = new TypeScriptParser().parseFile(SPEC);
  expect(SchemaValidator.getErrors(schema)).toEqual([]);
  const mod = schema.modules.NativeNatter;
  expect(mod.type).toBe('NativeModule');
  expect(mod.moduleName).toBe('Natter');
  expect(mod.spec.methods.map((m: { name: string }) => m.name).sort()).toEqual([...METHODS].sort());
  const sync = mod.spec.methods
    .filter((m: { typeAnnotation: { returnTypeAnnotation: { type: string } } }) => m.typeAnnotation.returnTypeAnnotation.type !== 'PromiseTypeAnnotation')
    .map((m: { name: string }) => m.name)
    .sort();
  expect(sync).toEqual([...METHODS].sort());
  expect(mod.spec.eventEmitters).toEqual([
    expect.objectContaining({
      name: 'onNatterItem',
      typeAnnotation: expect.objectContaining({ type: 'EventEmitterTypeAnnotation' }),
    }),
  ]);
  const itemShape = mod.aliasMap.NatterItem.properties.map((p: { name: string }) => p.name);
  expect(itemShape).toEqual(['kind', 'instanceId', 'name', 'data', 'callId', 'ok', 'code', 'message']);
});

test('the Java, ObjC++ and C++ generators produce the spec classes with every method and emitOnNatterItem', () => {
  const schema = new TypeScriptParser().parseFile(SPEC);
  const name = pkg.codegenConfig.name as string;
  const java = allText(JavaSpec.generate(name, schema, pkg.codegenConfig.android.javaPackageName));
  const objc = allText(ObjCpp.generate(name, schema, undefined, false, ''));
  const cpp = allText(CppH.generate(name, schema, undefined, false));
  expect(java).toContain('class NativeNatterSpec');
  expect(java).toContain('emitOnNatterItem');
  expect(objc).toContain('NativeNatterSpec');
  expect(objc).toContain('emitOnNatterItem');
  expect(cpp).toContain('onNatterItem');
  for (const m of METHODS) {
    expect(java).toContain(` ${m}(`);
    expect(objc).toContain(m);
    expect(cpp).toContain(m);
  }
});

test('package.json codegenConfig points codegen at the spec folder', () => {
  expect(pkg.codegenConfig).toEqual(
    expect.objectContaining({ name: 'NatterSpec', type: 'modules', jsSrcsDir: 'js/src' }),
  );
});

test('control: codegen rejects an invalid spec (a Date parameter, a tuple return)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-codegen-'));
  const bad = join(dir, 'NativeBad.ts');
  const source = readFileSync(SPEC, 'utf8');
  for (const replacement of ['setLogLevel(level: Date): Object;', 'setLogLevel(level: number): [number, string];']) {
    const changed = source.replace('setLogLevel(level: number): Object;', replacement);
    expect(changed).not.toBe(source);
    writeFileSync(bad, changed);
    expect(() => new TypeScriptParser().parseFile(bad)).toThrow(/unsupported|Unrecognized/);
  }
});
