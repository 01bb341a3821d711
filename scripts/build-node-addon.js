#!/usr/bin/env node
/**
 * Builds the Node addon (crate natter-node, bindings/node) with cargo and copies the shared
 * library to bindings/node/natter.node, where js/src/backend.ts looks for it.
 *
 *   node scripts/build-node-addon.js               debug build
 *   node scripts/build-node-addon.js --release     release build
 *   node scripts/build-node-addon.js --if-missing  build only when natter.node is absent
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
console.log(`built ${path.relative(root, out)} (${release ? 'release' : 'debug'}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
