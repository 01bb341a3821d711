#!/usr/bin/env node
/**
 * Builds the Node addon (crate natter-node, bindings/node) with cargo and copies the shared
 * library to bindings/node/natter.node (the local build js/src/backend.ts falls back to) and into
 * this machine's platform package, npm/<platform>/natter.<platform>.node (the prebuilt addon the
 * loader picks first; napi-rs `optionalDependencies` layout), debug info stripped.
 *
 *   node scripts/build-node-addon.js               debug build
 *   node scripts/build-node-addon.js --release     release build
 *   node scripts/build-node-addon.js --prebuilt    also fill the platform package when its copy is
 *                                                  absent (a build always refreshes an existing one,
 *                                                  so a stale prebuilt never shadows a fresh build)
 *   node scripts/build-node-addon.js --if-missing  build only when natter.node is absent
 * A release runs `--prebuilt --release` on every platform listed in package.json's
 * optionalDependencies (linux-x64-gnu here).
 *
 * Honours CARGO_TARGET_DIR. Exits non-zero when cargo fails.
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'bindings', 'node', 'natter.node');
const args = process.argv.slice(2);
const release = args.includes('--release');

if (args.includes('--if-missing') && fs.existsSync(out)) {
  console.log(`natter.node present: ${path.relative(root, out)}`);
  process.exit(0);
}

const cargoArgs = ['build', '-p', 'natter-node'];
if (release) cargoArgs.push('--release');
if (process.env.NATTER_CARGO_LOCKED) cargoArgs.push('--locked');
const started = Date.now();
const r = spawnSync('cargo', cargoArgs, { cwd: root, stdio: 'inherit' });
if (r.error) {
  console.error(`cannot run cargo (${r.error.message}): install Rust from https://rustup.rs`);
  process.exit(1);
}
if (r.status !== 0) process.exit(r.status ?? 1);

const targetDir = process.env.CARGO_TARGET_DIR ? path.resolve(root, process.env.CARGO_TARGET_DIR) : path.join(root, 'target');
const profileDir = path.join(targetDir, release ? 'release' : 'debug');
const names = { linux: 'libnatter_node.so', darwin: 'libnatter_node.dylib', win32: 'natter_node.dll' };
const lib = path.join(profileDir, names[process.platform] ?? 'libnatter_node.so');
if (!fs.existsSync(lib)) {
  console.error(`cargo succeeded but ${lib} is missing`);
  process.exit(1);
}
// Copy through a temp name and rename: a process that has the old file loaded keeps its mapping.
const tmp = `${out}.${process.pid}.tmp`;
fs.copyFileSync(lib, tmp);
fs.renameSync(tmp, out);

const platform = nodePlatform();
const pkgDir = path.join(root, 'npm', platform);
const prebuilt = path.join(pkgDir, `natter.${platform}.node`);
if (fs.existsSync(path.join(pkgDir, 'package.json')) && (args.includes('--prebuilt') || fs.existsSync(prebuilt))) {
  const tmpPrebuilt = `${prebuilt}.${process.pid}.tmp`;
  fs.copyFileSync(lib, tmpPrebuilt);
  // Debug info is most of a debug build's size; the package does not need it.
  if (process.platform === 'linux') spawnSync('strip', ['--strip-debug', tmpPrebuilt], { stdio: 'inherit' });
  fs.renameSync(tmpPrebuilt, prebuilt);
  console.log(`prebuilt ${path.relative(root, prebuilt)} (${(fs.statSync(prebuilt).size / 1048576).toFixed(1)} MiB)`);
} else if (args.includes('--prebuilt')) {
  console.error(`no platform package npm/${platform} for this machine: add one like npm/linux-x64-gnu`);
  process.exit(1);
}
/** The platform package's suffix, as js/src/backend.ts computes it: linux-x64-gnu, darwin-arm64, win32-x64-msvc, … */
function nodePlatform() {
  if (process.platform === 'linux') {
    const glibc = process.report?.getReport?.()?.header?.glibcVersionRuntime;
    return `linux-${process.arch}-${glibc ? 'gnu' : 'musl'}`;
  }
  if (process.platform === 'win32') return `win32-${process.arch}-msvc`;
  return `${process.platform}-${process.arch}`;
}

console.log(`built ${path.relative(root, out)} (${release ? 'release' : 'debug'}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
