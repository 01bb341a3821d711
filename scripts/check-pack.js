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
      'lib/mock.js',
      'lib/mock.d.ts',
      'js/esm/index.mjs',
      'js/esm/index.d.mts',
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

  writeEntryChecks(app);
  for (const script of ['esm.mjs', 'cjs.js', 'jest-mock.js']) {
    try {
      const out = execFileSync(process.execPath, [script], { cwd: app, encoding: 'utf8', timeout: 30000, env: { ...process.env, NATTER_NODE_ADDON: addon } });
      console.log(`${script}: ${out.trim()}`);
    } catch (e) {
      fail(`${script} failed in the installed package: ${e.stdout ?? ''}${e.stderr ?? e.message}`);
    }
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
      const env = { ...process.env, WS_URL: wsUrl, NATTER_NODE_ADDON: addon };
      const keepSig = execFileSync(serverBin, ['usersig', '--user', 'keep-user'], { encoding: 'utf8' }).trim();
      return checkKeepAlive(app, { ...env, USER_SIG: keepSig }, 'logout').then(() => checkKeepAlive(app, { ...env, USER_SIG: keepSig }, 'destroy'));
    })
    .catch((e) => fail(`running the installed package failed: ${e.message}`))
    .finally(() => server.kill('SIGKILL'));
}

/** The entry points as a Node app imports them: ESM default + named, CJS `.create` and `.default.create`, the Jest mock. */
function writeEntryChecks(app) {
  fs.writeFileSync(
    path.join(app, 'esm.mjs'),
    `import TencentCloudChat, { create, EVENT } from 'react-native-natter';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
assert.equal(typeof TencentCloudChat.create, 'function', 'ESM default import has create()');
assert.equal(TencentCloudChat.EVENT.SDK_READY, 'sdkStateReady');
assert.equal(EVENT, TencentCloudChat.EVENT);
assert.equal(create, TencentCloudChat.create);
const cjs = createRequire(import.meta.url)('react-native-natter');
assert.equal(cjs.default, TencentCloudChat, 'ESM and CJS share one module');
console.log('ESM default and named imports work');
`,
  );
  fs.writeFileSync(
    path.join(app, 'cjs.js'),
    `const assert = require('node:assert/strict');
const natter = require('react-native-natter');
assert.equal(typeof natter.create, 'function', "require('react-native-natter').create");
assert.equal(natter.create, natter.default.create, '.create is .default.create');
assert.equal(natter.EVENT.KICKED_OUT, 'kickedOut');
const chat = natter.create({ SDKAppID: 1400000001, proxyServer: 'ws://127.0.0.1:1/ws' });
assert.equal(chat, natter.default.create({ SDKAppID: 1400000001, proxyServer: 'ws://127.0.0.1:1/ws' }));
chat.destroy().then(() => console.log('CJS .create and .default.create work'));
`,
  );
  fs.writeFileSync(
    path.join(app, 'jest-mock.js'),
    `const assert = require('node:assert/strict');
const { default: TencentCloudChat, natterMock, EVENT } = require('react-native-natter/jest');
(async () => {
  const chat = TencentCloudChat.create({ SDKAppID: 1400000001 });
  const seen = [];
  chat.on(EVENT.SDK_READY, () => seen.push('ready'));
  chat.on(EVENT.KICKED_OUT, (e) => seen.push(e.data.type));
  const r = await chat.login({ userID: 'u1', userSig: 'sig' });
  assert.deepEqual(r.data, { repeatLogin: false });
  await new Promise((resolve) => chat.on(EVENT.SDK_READY, resolve));
  assert.equal(chat.getLoginUser(), 'u1');
  natterMock.kickOut('u1');
  await new Promise((resolve) => chat.on(EVENT.SDK_NOT_READY, resolve));
  assert.deepEqual(seen, ['ready', 'multipleAccount']);
  await assert.rejects(chat.logout(), (e) => e.code === 2024);
  console.log('react-native-natter/jest resolves and runs without the addon');
})().catch((e) => { console.error(e); process.exitCode = 1; });
`,
  );
}

/**
 * A logged-in Node script stays alive by itself (no timers of its own; a signal handler does not
 * keep Node alive) until it logs out or destroys the instance, and then exits by itself.
 */
function checkKeepAlive(app, env, release) {
  fs.writeFileSync(
    path.join(app, 'keepalive.js'),
    `const natter = require('react-native-natter');
const chat = natter.create({ SDKAppID: 1400000001, proxyServer: process.env.WS_URL });
chat.login({ userID: 'keep-user', userSig: process.env.USER_SIG }).then(() => {
  process.once('SIGUSR2', () => chat[process.argv[2]]().then(() => console.log('released')));
  console.log('logged-in');
});
`,
  );
  const child = spawn(process.execPath, ['keepalive.js', release], { cwd: app, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const within = (p, ms, what) =>
    Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(what)), ms))]);
  const loggedIn = new Promise((resolve) => child.stdout.on('data', () => out.includes('logged-in') && resolve()));
  return within(Promise.race([loggedIn, exited.then((c) => Promise.reject(new Error(`exited (${c}) before logging in: ${out}`)))]), 15000, 'no login within 15 s')
    // The 2 s wait is the thing tested: nothing in the script but the login keeps it running.
    .then(() => within(exited.then((c) => Promise.reject(new Error(`exited (${c}) while logged in`))), 2000, 'alive').catch((e) => {
      if (e.message !== 'alive') throw e;
    }))
    .then(() => {
      child.kill('SIGUSR2');
      return within(exited, 10000, `still running 10 s after ${release}()`);
    })
    .then((code) => {
      if (code !== 0 || !out.includes('released')) throw new Error(`exit ${code} after ${release}(): ${out}`);
      console.log(`a logged-in Node script stays alive and exits by itself after ${release}()`);
    })
    .catch((e) => fail(`keep-alive (${release}): ${e.message}`))
    .finally(() => child.kill('SIGKILL'));
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
