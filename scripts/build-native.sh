#!/usr/bin/env bash
# Builds every native binary of a react-native-natter release that this machine can build, and
# says which it cannot (and why), then lists the state with scripts/native-artifacts.js:
#   - the prebuilt Node addon of this platform (npm/<platform>/, release build), always;
#   - android/src/main/jniLibs/<abi>/libnatter.so, when the Android NDK is there (build-android.sh);
#   - ios/Natter.xcframework, on macOS with Xcode (build-ios.sh).
# A release collects the outputs of several machines into one checkout, then runs
# `NATTER_RELEASE=1 npm pack` (fails unless all are there) and `npm pack` in each npm/<platform>.
# Exits non-zero when a build it attempted failed (a skipped build is not a failure here).
set -euo pipefail
cd "$(dirname "$0")/.."

node scripts/build-node-addon.js --prebuilt --release

if [ -n "${ANDROID_NDK_HOME:-}" ] || { [ -n "${ANDROID_HOME:-}" ] && [ -d "$ANDROID_HOME/ndk" ]; }; then
  scripts/build-android.sh
else
  echo "skipped Android: no NDK (set ANDROID_NDK_HOME, or ANDROID_HOME with ndk/<version>)" >&2
fi

if [ "$(uname)" = Darwin ] && command -v xcodebuild >/dev/null; then
  scripts/build-ios.sh
else
  echo "skipped iOS: ios/Natter.xcframework needs macOS with Xcode" >&2
fi

node scripts/native-artifacts.js
