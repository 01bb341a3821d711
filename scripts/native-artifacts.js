#!/usr/bin/env node
/**
 * The native binaries a release of react-native-natter ships, and whether they are built:
 *   - android/src/main/jniLibs/<abi>/libnatter.so for arm64-v8a, armeabi-v7a, x86_64
 *     (scripts/build-android.sh; needs the Android NDK),
 *   - ios/Natter.xcframework (scripts/build-ios.sh; needs macOS + Xcode),
 *   - the prebuilt Node addon of every platform package under npm/ (scripts/build-node-addon.js
 *     --prebuilt [--release]), e.g. npm/linux-x64-gnu/natter.linux-x64-gnu.node.
 *
 *   node scripts/native-artifacts.js            list them: what is built, what is missing
 *   NATTER_RELEASE=1 node scripts/native-artifacts.js
 *                                               exit 1 when any is missing (a release pack)
 *   node scripts/native-artifacts.js --node-package npm/linux-x64-gnu
 *                                               exit 1 unless that platform package holds its addon
 *
 * `npm pack` runs it from prepack, so a release pack (`NATTER_RELEASE=1 npm pack`) fails without
 * the binaries while a development pack passes and says what a release would need.
 */
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const ANDROID_ABIS = ['arm64-v8a', 'armeabi-v7a', 'x86_64'];

/** Every platform package under npm/ (the napi-rs `optionalDependencies` layout). */
function nodePackages() {
  const dir = path.join(root, 'npm');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((d) => fs.existsSync(path.join(dir, d, 'package.json')))
    .map((d) => {
      const pkgDir = path.join(dir, d);
      const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
      return { dir: pkgDir, platform: d, pkg, binary: path.join(pkgDir, pkg.main) };
    });
}

/** `{path, built, howToBuild}` for every binary a release needs (paths relative to the package root). */
function releaseArtifacts() {
  const artifacts = ANDROID_ABIS.map((abi) => ({
    path: `android/src/main/jniLibs/${abi}/libnatter.so`,
    howToBuild: 'scripts/build-android.sh (Android NDK r26+, cargo-ndk)',
  }));
  artifacts.push({
    path: 'ios/Natter.xcframework',
    howToBuild: 'scripts/build-ios.sh (macOS with Xcode)',
    // An xcframework is a folder; it counts as built once its manifest is there.
    probe: 'ios/Natter.xcframework/Info.plist',
  });
  for (const p of nodePackages()) {
    artifacts.push({
      path: path.relative(root, p.binary),
      howToBuild: `node scripts/build-node-addon.js --prebuilt --release (on ${p.platform})`,
    });
  }
  return artifacts.map((a) => ({ ...a, built: fs.existsSync(path.join(root, a.probe ?? a.path)) }));
}

function isRelease() {
  const v = process.env.NATTER_RELEASE;
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}

// Reports go to stderr: `npm pack --json` prints its JSON on stdout, prepack output included.
function main(args) {
  const at = args.indexOf('--node-package');
  if (at >= 0) {
    const dir = path.resolve(args[at + 1] ?? '.');
    const p = nodePackages().find((n) => n.dir === dir);
    if (!p) return fail(`${dir} is not a platform package under npm/`);
    if (!fs.existsSync(p.binary)) {
      return fail(`${p.pkg.name} has no addon ${path.relative(root, p.binary)}: run node scripts/build-node-addon.js --prebuilt --release`);
    }
    console.error(`${p.pkg.name}: ${path.relative(root, p.binary)} present`);
    return 0;
  }
  const artifacts = releaseArtifacts();
  const missing = artifacts.filter((a) => !a.built);
  for (const a of artifacts) console.error(`${a.built ? 'built  ' : 'MISSING'} ${a.path}${a.built ? '' : `  <- ${a.howToBuild}`}`);
  if (missing.length === 0) {
    console.error('every native binary of a release is built');
    return 0;
  }
  if (isRelease()) {
    return fail(`NATTER_RELEASE is set and ${missing.length} native binaries are missing: a release package must carry them`);
  }
  console.error(`development pack: ${missing.length} native binaries missing; a release (NATTER_RELEASE=1) requires all of them`);
  return 0;
}

function fail(message) {
  console.error(`error: ${message}`);
  return 1;
}

module.exports = { ANDROID_ABIS, nodePackages, releaseArtifacts, isRelease };
if (require.main === module) process.exitCode = main(process.argv.slice(2));
