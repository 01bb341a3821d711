#!/usr/bin/env node
/**
 * Checks the npm packages as published: `npm pack` of react-native-natter (prepack builds lib/
 * and runs scripts/native-artifacts.js) and of every platform package under npm/ whose prebuilt
 * Node addon is built (this machine's must be: scripts/build-node-addon.js --prebuilt), then
 * 1. the main tarball holds what a React Native app and a Node app need — package.json, the
 *    podspec, android/ (Gradle + Kotlin module), ios/, js/src (Metro and codegen read the TS
 *    sources), lib/ (JS + typings), the addon's crate sources, the generated Kotlin/Swift
 *    bindings and every native binary that is built (jniLibs/<abi>/libnatter.so,
 *    ios/Natter.xcframework) — and no other build output (target/, *.node, other *.so/*.a,
 *    android/build, tsbuildinfo, tests); `optionalDependencies` lists every platform package at
 *    the same version, and each platform tarball holds its addon;
 * 2. both tarballs install offline into a scratch app, a strict TypeScript app compiles against
 *    it without react-native (and without @types/node), and runs — on the prebuilt addon of the
 *    platform package, no NATTER_NODE_ADDON, no checkout above it — against a natter-server it
 *    spawns (login → SDK_READY → logout → destroy); without the platform package, create()
 *    fails with 9003 naming the platform.
 * NATTER_RELEASE=1: the native binaries of a release are required (the pack itself fails without
 * them); otherwise the check prints what a release would require. Exits non-zero on a failure.
 */
'use strict';
const { execFileSync, spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const targetDir = process.env.CARGO_TARGET_DIR ? path.resolve(root, process.env.CARGO_TARGET_DIR) : path.join(root, 'target');
const serverBin = process.env.NATTER_SERVER_BIN ?? path.join(targetDir, 'debug', 'natter-server');
const native = require('./native-artifacts');
const failures = [];
const warnings = [];
const fail = (m) => failures.push(m);

async function main() {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'natter-pack-'));
  try {
    // ---- 1. contents ----
    const packed = pack(root, scratch);
    const files = packed.files.map((f) => f.path);
    const tarball = path.join(scratch, packed.filename);
    const platformTarballs = checkPlatformPackages(scratch);

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
    if (!files.some((f) => /^ios\/.+\.mm$/.test(f))) fail('missing from the package: ios/*.mm');
    checkNativeBinaries(files);
    // The native binaries of a release are the only binaries allowed in the package.
    const shipped = [/^android\/src\/main\/jniLibs\/[^/]+\/libnatter\.so$/, /^ios\/Natter\.xcframework\//];
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
      if (!shipped.some((re) => re.test(f)) && forbidden.some((re) => re.test(f))) fail(`build output or dev file in the package: ${f}`);
    }

    // ---- 2. install + strict typecheck without react-native + run ----
    const app = path.join(scratch, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'natter-pack-check', private: true, dependencies: { 'react-native-natter': `file:${tarball}` } }),
    );
    // Offline, from the tarballs only: the platform package satisfies the main package's optional
    // dependency (as the registry copy would for an app installing react-native-natter alone).
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', ...platformTarballs], {
      cwd: app,
      stdio: 'inherit',
    });
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
      const out = execFileSync(process.execPath, [script], { cwd: app, encoding: 'utf8', timeout: 30000, env: appEnv() });
      console.log(`${script}: ${out.trim()}`);
    } catch (e) {
      fail(`${script} failed in the installed package: ${e.stdout ?? ''}${e.stderr ?? e.message}`);
    }
  }

  if (failures.length === 0) {
    if (!fs.existsSync(serverBin)) fail(`natter-server is not built (${serverBin})`);
    else await runApp(app);
  }
  if (failures.length === 0) checkMissingPlatformPackage(app);
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
        env: { ...appEnv(), WS_URL: wsUrl, USER_SIG: userSig },
      });
      const seen = JSON.parse(result.trim().split('\n').pop());
      const want = ['login 0 false', 'sdkStateReady', 'pack-user true number', 'notReady'];
      if (JSON.stringify(seen) !== JSON.stringify(want)) fail(`the installed package ran wrong: ${JSON.stringify(seen)}`);
      else console.log(`installed package ran on the addon: ${JSON.stringify(seen)}`);
      const env = { ...appEnv(), WS_URL: wsUrl };
      const keepSig = execFileSync(serverBin, ['usersig', '--user', 'keep-user'], { encoding: 'utf8' }).trim();
      return checkKeepAlive(app, { ...env, USER_SIG: keepSig }, 'logout').then(() => checkKeepAlive(app, { ...env, USER_SIG: keepSig }, 'destroy'));
    })
    .catch((e) => fail(`running the installed package failed: ${e.message}`))
    .finally(() => server.kill('SIGKILL'));
}

/** `npm pack` of the package in `dir` into `dest`; returns npm's JSON record of the tarball. */
function pack(dir, dest) {
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', dest], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }),
  )[0];
  console.log(`packed ${packed.filename}: ${packed.files.length} files, ${(packed.size / 1024).toFixed(0)} KiB`);
  return packed;
}

/** The app's environment: no NATTER_NODE_ADDON, so the installed package finds its addon itself. */
function appEnv() {
  const env = { ...process.env };
  delete env.NATTER_NODE_ADDON;
  return env;
}

/**
 * The native binaries: each built one must be in the tarball; a missing one fails a release
 * check (NATTER_RELEASE=1: `npm pack` itself already failed in prepack) and is listed otherwise.
 */
function checkNativeBinaries(files) {
  const missing = [];
  for (const a of native.releaseArtifacts().filter((x) => !x.path.endsWith('.node'))) {
    if (!a.built) missing.push(a);
    else if (!files.some((f) => f === a.path || f.startsWith(`${a.path}/`))) fail(`built but missing from the package: ${a.path}`);
    else console.log(`native binary in the package: ${a.path}`);
  }
  if (missing.length === 0) return;
  const list = missing.map((a) => `${a.path} (${a.howToBuild})`).join('; ');
  if (native.isRelease()) return fail(`a release package needs ${list}`);
  warnings.push(`not built here, so not in this development package; a release (NATTER_RELEASE=1) requires: ${list}`);
  // The release gate itself: prepack runs it, and with NATTER_RELEASE it must refuse this tree.
  const main = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  if (!/node scripts\/native-artifacts\.js/.test(main.scripts?.prepack ?? '')) fail('prepack does not run scripts/native-artifacts.js');
  const gate = spawnSync(process.execPath, [path.join(__dirname, 'native-artifacts.js')], {
    encoding: 'utf8',
    env: { ...process.env, NATTER_RELEASE: '1' },
  });
  if (gate.status !== 1 || !missing.every((a) => gate.stderr.includes(a.path))) {
    fail(`NATTER_RELEASE=1 must refuse a pack without ${missing.map((a) => a.path).join(', ')}: exit ${gate.status}, ${gate.stderr}`);
  } else {
    console.log(`a release pack (NATTER_RELEASE=1) is refused here: ${missing.length} native binaries missing`);
  }
}

/**
 * The platform packages under npm/ (napi-rs layout): listed in the main package's
 * optionalDependencies at its version, os/cpu set, and — when built (this machine's must be) —
 * packed with their addon. Returns the tarballs to install.
 */
function checkPlatformPackages(scratch) {
  const main = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const optional = main.optionalDependencies ?? {};
  const packages = native.nodePackages();
  const hostPackage = `react-native-natter-${hostPlatform()}`;
  if (!packages.some((p) => p.pkg.name === hostPackage)) fail(`no platform package for this machine (${hostPackage}) under npm/`);
  const tarballs = [];
  for (const p of packages) {
    if (optional[p.pkg.name] !== main.version) fail(`optionalDependencies must list ${p.pkg.name} at ${main.version}, not ${optional[p.pkg.name]}`);
    if (p.pkg.version !== main.version) fail(`${p.pkg.name} is at ${p.pkg.version}, the main package at ${main.version}`);
    if (!Array.isArray(p.pkg.os) || !Array.isArray(p.pkg.cpu)) fail(`${p.pkg.name} must set os and cpu`);
    if (!fs.existsSync(p.binary)) {
      if (p.pkg.name === hostPackage) fail(`${path.relative(root, p.binary)} is not built: run node scripts/build-node-addon.js --prebuilt`);
      else warnings.push(`${p.pkg.name}: no prebuilt addon here (built on its own platform for a release)`);
      continue;
    }
    const packed = pack(p.dir, scratch);
    const files = packed.files.map((f) => f.path).sort();
    const want = ['README.md', p.pkg.main, 'package.json'].sort();
    if (JSON.stringify(files) !== JSON.stringify(want)) fail(`${packed.filename} holds ${files.join(', ')}, not ${want.join(', ')}`);
    tarballs.push(path.join(scratch, packed.filename));
  }
  for (const name of Object.keys(optional)) {
    if (!packages.some((p) => p.pkg.name === name)) fail(`optionalDependencies lists ${name}, which has no folder under npm/`);
  }
  return tarballs;
}

/** This machine's platform, as the package's loader computes it. */
function hostPlatform() {
  const app = path.join(root, 'lib', 'backend.js');
  return require(app).nodePlatform();
}

/**
 * The installed app loads the platform package's addon (nothing else is there to load), and
 * without that package `create()` fails with 9003 naming the platform and the missing package.
 */
function checkMissingPlatformPackage(app) {
  const backend = path.join(app, 'node_modules', 'react-native-natter', 'lib', 'backend.js');
  const probe = (label) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [
          '-e',
          `const b = require(${JSON.stringify(backend)});
const natter = require('react-native-natter');
let error = null;
try { natter.create({ SDKAppID: 1400000001 }); } catch (e) { error = { code: e.code, message: e.message }; }
console.log(JSON.stringify({ platform: b.nodePlatform(), found: b.findAddon(), error }));`,
        ],
        { cwd: app, encoding: 'utf8', env: appEnv() },
      ),
    );
  const withPackage = probe();
  const pkgDir = path.join(app, 'node_modules', `react-native-natter-${withPackage.platform}`);
  if (!withPackage.found.path || !withPackage.found.path.startsWith(pkgDir + path.sep)) {
    fail(`the installed package did not load the prebuilt addon of ${pkgDir}: ${JSON.stringify(withPackage.found)}`);
  } else {
    console.log(`the installed package loads its prebuilt addon: ${path.relative(app, withPackage.found.path)}`);
  }
  fs.rmSync(pkgDir, { recursive: true, force: true });
  const without = probe();
  const e = without.error;
  if (!e || e.code !== 9003 || !e.message.includes(without.platform) || !e.message.includes(`react-native-natter-${without.platform}`)) {
    fail(`without the platform package, create() must fail with 9003 naming the platform: ${JSON.stringify(without)}`);
  } else {
    console.log(`without the platform package: 9003 "${e.message.slice(0, 90)}…"`);
  }
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
