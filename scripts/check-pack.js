#!/usr/bin/env node
/**
 * Checks the npm package as published: `npm pack` (prepack builds lib/), then
 * 1. the tarball holds what a React Native app and a Node app need — package.json, the podspec,
 *    android/ (Gradle + Kotlin module), ios/ (warning only while it is absent), js/src (Metro
 *    and codegen read the TS sources), lib/ (JS + typings), the addon's crate sources and the
 *    generated Kotlin/Swift bindings — and no build outputs (target/, *.node, *.so, jniLibs,
 *    android/build, tsbuildinfo, tests);
 * 2. the tarball installs into a scratch app, a strict TypeScript app compiles against it
 *    without react-native (and without @types/node), and runs on the Node addon against a
 *    natter-server it spawns (login → SDK_READY → logout → destroy).
 * Exits non-zero on a failure.
 */
'use strict';
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const targetDir = process.env.CARGO_TARGET_DIR ? path.resolve(root, process.env.CARGO_TARGET_DIR) : path.join(root, 'target');
const serverBin = process.env.NATTER_SERVER_BIN ?? path.join(targetDir, 'debug', 'natter-server');
const addon = process.env.NATTER_NODE_ADDON ?? path.join(root, 'bindings', 'node', 'natter.node');
const failures = [];
const warnings = [];
const fail = (m) => failures.push(m);

async function main() {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'natter-pack-'));
  try {
    // ---- 1. contents ----
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }),
    )[0];
    const files = packed.files.map((f) => f.path);
    const tarball = path.join(scratch, packed.filename);
    console.log(`packed ${packed.filename}: ${files.length} files, ${(packed.size / 1024).toFixed(0)} KiB`);

    const required = [
      'package.json',
      'react-native-natter.podspec',
      'android/build.gradle',
      /^android\/src\/main\/java\/.+\/NatterModule\.kt$/,
      'js/src/index.ts',
      'js/src/NativeNatter.ts',
      'js/src/backend.ts',
      'js/src/backend.native.ts',
      'lib/index.js',
      'lib/index.d.ts',
      'lib/backend.native.js',
      'bindings/node/Cargo.toml',
      'bindings/node/build.rs',
      'bindings/node/src/lib.rs',
      /^bindings\/kotlin\/.+\.kt$/,
      'bindings/swift/Natter.swift',
    ];
    for (const r of required) {
      const ok = typeof r === 'string' ? files.includes(r) : files.some((f) => r.test(f));
      if (!ok) fail(`missing from the package: ${r}`);
    }
    if (fs.existsSync(path.join(root, 'ios'))) {
      if (!files.some((f) => /^ios\/.+\.mm$/.test(f))) fail('missing from the package: ios/*.mm');
    } else {
      warnings.push('ios/ is absent: the package has no iOS module yet');
    }
    const forbidden = [
      /(^|\/)target\//,
      /\.node$/,
      /\.(so|dylib|dll|a)$/,
      /(^|\/)jniLibs\//,
      /^android\/(build|\.gradle|\.cxx)\//,
      /^ios\/build\//,
      /\.tsbuildinfo$/,
      /(^|\/)__(tests|typetests|fixtures|mocks)__\//,
      /(^|\/)node_modules\//,
      /^examples\//,
      /^scripts\//,
    ];
    for (const f of files) {
      if (forbidden.some((re) => re.test(f))) fail(`build output or dev file in the package: ${f}`);
    }

    // ---- 2. install + strict typecheck without react-native + run ----
    const app = path.join(scratch, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'natter-pack-check', private: true, dependencies: { 'react-native-natter': `file:${tarball}` } }),
    );
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], { cwd: app, stdio: 'inherit' });
    if (fs.existsSync(path.join(app, 'node_modules', 'react-native'))) fail('installing the package pulled react-native in');

    fs.writeFileSync(
      path.join(app, 'app.ts'),
      `import TencentCloudChat, { EVENT, TYPES, type ChatEvent, type ChatError } from 'react-native-natter';
  declare const process: { env: Record<string, string | undefined>; exitCode?: number };
  declare const console: { log(...args: unknown[]): void };

  async function main(): Promise<void> {
    const chat = TencentCloudChat.create({ SDKAppID: 1400000001, proxyServer: process.env.WS_URL ?? 'ws://127.0.0.1:1/ws' });
    const seen: string[] = [];
    chat.on(EVENT.SDK_READY, (e: ChatEvent<'sdkStateReady'>) => seen.push(e.name));
    chat.on(EVENT.KICKED_OUT, (e) => seen.push(e.data.type === TYPES.KICKED_OUT_REST_API ? 'rest' : e.data.type));
    chat.on(EVENT.SDK_NOT_READY, () => seen.push('notReady'));
    try {
      const r = await chat.login({ userID: 'pack-user', userSig: process.env.USER_SIG ?? '' });
      seen.push(\`login \${r.code} \${r.data.repeatLogin}\`);
    } catch (e) {
      seen.push(\`login failed \${(e as ChatError).code}\`);
    }
    await new Promise<void>((resolve) => chat.on(EVENT.SDK_READY, () => resolve()));
    const user: string = chat.getLoginUser();
    const now: number = chat.getServerTime();
    seen.push(\`\${user} \${chat.isReady()} \${typeof now}\`);
    await chat.logout();
    await chat.destroy();
    console.log(JSON.stringify(seen));
}
main().catch((e) => {
  console.log('app failed', e);
  process.exitCode = 1;
});
`,
  );
  fs.writeFileSync(
    path.join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2022'],
        module: 'commonjs',
        moduleResolution: 'node',
        strict: true,
        noUncheckedIndexedAccess: true,
        esModuleInterop: true,
        skipLibCheck: false,
        types: [],
        outDir: 'out',
      },
      files: ['app.ts'],
    }),
  );
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app, stdio: 'inherit' });
    console.log('strict app typechecks against the installed package (no react-native, no @types/node)');
  } catch {
    fail('the strict app does not typecheck against the installed package');
  }

  if (failures.length === 0) {
    if (!fs.existsSync(addon)) fail(`the Node addon is not built (${addon}): run npm run build:addon`);
    else if (!fs.existsSync(serverBin)) fail(`natter-server is not built (${serverBin})`);
    else await runApp(app);
  }
} catch (e) {
  fail(String(e && e.stack ? e.stack : e));
} finally {
  if (!process.env.NATTER_KEEP_PACK) fs.rmSync(scratch, { recursive: true, force: true });
}
}

function runApp(app) {
  const server = spawn(serverBin, ['--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  const got = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('natter-server printed no URL')), 15000);
    server.stdout.on('data', (d) => {
      out += d;
      const m = /ws:\/\/\S+/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
  });
  return got
    .then((wsUrl) => {
      const userSig = execFileSync(serverBin, ['usersig', '--user', 'pack-user'], { encoding: 'utf8' }).trim();
      const result = execFileSync(process.execPath, ['out/app.js'], {
        cwd: app,
        encoding: 'utf8',
        timeout: 30000,
        env: { ...process.env, WS_URL: wsUrl, USER_SIG: userSig, NATTER_NODE_ADDON: addon },
      });
      const seen = JSON.parse(result.trim().split('\n').pop());
      const want = ['login 0 false', 'sdkStateReady', 'pack-user true number', 'notReady'];
      if (JSON.stringify(seen) !== JSON.stringify(want)) fail(`the installed package ran wrong: ${JSON.stringify(seen)}`);
      else console.log(`installed package ran on the addon: ${JSON.stringify(seen)}`);
    })
    .catch((e) => fail(`running the installed package failed: ${e.message}`))
    .finally(() => server.kill('SIGKILL'));
}

main().then(report);
function report() {
  for (const w of warnings) console.log(`WARNING: ${w}`);
  if (failures.length) {
    for (const f of failures) console.error(`FAIL: ${f}`);
    process.exitCode = 1;
  } else {
    console.log('package check passed');
  }
}
