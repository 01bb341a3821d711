/**
 * Type-level compatibility: js/__typetests__/app.ts, an app written against the reference SDK
 * (`@tencentcloud/chat` 3.6.6, its published typings), compiles against the reference AND with
 * `@tencentcloud/chat` mapped to this package; our instance is assignable to the reference's
 * session methods; a misuse fails to compile (control).
 */
import { resolve } from 'path';
import * as ts from 'typescript';

const DIR = resolve(__dirname, '..', '__typetests__');

function diagnostics(configName: string): string[] {
  const configPath = resolve(DIR, configName);
  const read = ts.readConfigFile(configPath, ts.sys.readFile);
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, DIR);
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    const file = d.file ? `${d.file.fileName.split('/').pop()}:${(where?.line ?? 0) + 1}` : '';
    return `${file} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

test('the reference-typed app compiles against the reference typings (sanity)', () => {
  expect(diagnostics('tsconfig.reference.json')).toEqual([]);
});

test('the same app compiles unchanged against react-native-natter, and our instance satisfies the reference session type', () => {
  expect(diagnostics('tsconfig.natter.json')).toEqual([]);
});

test('control: a misuse of the API does not compile against react-native-natter', () => {
  const errors = diagnostics('tsconfig.misuse.json');
  expect(errors.length).toBe(2);
  expect(errors.join('\n')).toMatch(/LoginOptions/);
});
