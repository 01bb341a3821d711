#!/usr/bin/env bash
# Builds libnatter.so for the Android ABIs into android/src/main/jniLibs/<abi>/ (git-ignored),
# which the Gradle module in android/ packages with the RN module and the Kotlin bindings.
#
# Needs: the Android NDK r26 or later (ANDROID_NDK_HOME, or ANDROID_HOME/ndk/<version>),
# cargo-ndk (`cargo install cargo-ndk`), and the Rust targets
#   rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
# Not run by CI (no NDK on the test machines); the Kotlin side is tested on the JVM by
# scripts/test-kotlin.sh and compile-checked against the Android/RN jars.
#
# Segments are linked 16 KB-aligned (.cargo/config.toml, `-z max-page-size=16384`), as Android 15+
# and Google Play require; this script checks every library it built.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${PROFILE:-release}"
api="${ANDROID_API:-24}"
abis=(arm64-v8a armeabi-v7a x86_64)

command -v cargo-ndk >/dev/null || { echo "error: cargo-ndk missing: cargo install cargo-ndk" >&2; exit 1; }
if [ -z "${ANDROID_NDK_HOME:-}" ] && [ -n "${ANDROID_HOME:-}" ] && [ -d "$ANDROID_HOME/ndk" ]; then
  ANDROID_NDK_HOME="$ANDROID_HOME/ndk/$(ls "$ANDROID_HOME/ndk" | sort -V | tail -1)"
  export ANDROID_NDK_HOME
fi
[ -n "${ANDROID_NDK_HOME:-}" ] || { echo "error: set ANDROID_NDK_HOME (NDK r26+)" >&2; exit 1; }

args=()
for abi in "${abis[@]}"; do args+=(-t "$abi"); done
flag=()
[ "$profile" = release ] && flag=(--release)
# The cdylib alone (`rustc --crate-type cdylib`, which cargo-ndk passes on like `build`): built
# beside the rlib, LTO keeps every public Rust item of the crate alive and the .so is ~25 %
# bigger (docs/performance.md, size).
cargo ndk "${args[@]}" --platform "$api" -o android/src/main/jniLibs rustc --locked -p natter --lib --crate-type cdylib "${flag[@]}"

# 16 KB alignment check: every LOAD segment's alignment must be at least 2**14.
readelf="$(ls "$ANDROID_NDK_HOME"/toolchains/llvm/prebuilt/*/bin/llvm-readelf 2>/dev/null | head -1)"
readelf="${readelf:-readelf}"
status=0
for abi in "${abis[@]}"; do
  so="android/src/main/jniLibs/$abi/libnatter.so"
  [ -f "$so" ] || { echo "error: $so was not built" >&2; status=1; continue; }
  bad=""
  for align in $("$readelf" -lW "$so" | awk '$1 == "LOAD" { print $NF }'); do
    [ "$((align))" -ge 16384 ] || bad="$bad $align"
  done
  if [ -n "$bad" ]; then
    echo "error: $so has LOAD segments aligned to $bad (< 16 KB)" >&2
    status=1
  else
    printf '%s: %s bytes, 16 KB aligned\n' "$so" "$(stat -c %s "$so")"
  fi
done
exit "$status"
