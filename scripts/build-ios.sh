#!/usr/bin/env bash
# Builds ios/Natter.xcframework (the Rust core as a static library for device and simulator,
# with the UniFFI C header as module NatterFFI) for the CocoaPods package.
# Needs macOS with Xcode and the Rust targets aarch64-apple-ios, aarch64-apple-ios-sim and
# x86_64-apple-ios (`rustup target add …`); it cannot run on Linux, so CI does not run it. The
# Swift code itself (bindings + ios/NatterBridge.swift) is compiled and tested on Linux by
# scripts/test-swift.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(uname)" = Darwin ] || { echo "build-ios.sh needs macOS with Xcode" >&2; exit 1; }
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
# The staticlib alone: built beside the rlib (plain `cargo build`), LTO keeps every public Rust
# item of the crate alive (docs/performance.md, size).
for t in "${targets[@]}"; do
  cargo rustc --locked --release -p natter --lib --target "$t" --crate-type staticlib
done
out=target/ios
mkdir -p "$out/headers" "$out/sim"
cp bindings/swift/NatterFFI.h "$out/headers/"
printf 'module NatterFFI {\n    header "NatterFFI.h"\n    export *\n}\n' > "$out/headers/module.modulemap"
lipo -create target/aarch64-apple-ios-sim/release/libnatter.a target/x86_64-apple-ios/release/libnatter.a \
  -output "$out/sim/libnatter.a"
rm -rf ios/Natter.xcframework
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release/libnatter.a -headers "$out/headers" \
  -library "$out/sim/libnatter.a" -headers "$out/headers" \
  -output ios/Natter.xcframework
echo "wrote ios/Natter.xcframework"
