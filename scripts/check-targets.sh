#!/usr/bin/env bash
# Cross-checks the client core for the mobile targets without the NDK or Xcode:
#   cargo check -p natter --lib for aarch64/armv7/x86_64 Android and aarch64-apple-ios, then a
#   release-less iOS staticlib build (`cargo rustc --crate-type staticlib`; the cdylib needs an
#   Apple linker, the staticlib does not: Xcode links it into the app).
#
# The only C in the core is ring's (rustls' crypto provider). Its build script compiles it even
# for `cargo check`, so each target needs a C compiler: Debian's clang with `--target=<triple>`.
# No target libc headers are needed: ring's own cross mode (RING_CORE_NOSTDLIBINC, with
# -ffreestanding -nostdlibinc) uses only clang's builtin headers.
#
# Installs what is missing (rustup targets; clang and llvm via apt-get when root). Uses its own
# target dir ($NATTER_CACHE/cross-target/<checkout>) so it never blocks the host build. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
# Under the cache, so a later run in the same checkout only rebuilds what changed; one dir per
# checkout path, as in fuzz.sh (artifacts of another checkout of the same crates can be taken as fresh).
export CARGO_TARGET_DIR="${CROSS_TARGET_DIR:-${NATTER_CACHE:-$HOME/.cache/natter}/cross-target/$(pwd -P | sha1sum | cut -c1-12)}"
# A check, not a development build: no incremental cache or debug info (disk space).
export CARGO_INCREMENTAL=0 CARGO_PROFILE_DEV_DEBUG=0

# rust triple → clang triple (Android API 24, the module's minSdk; iOS 13).
declare -A clang_triple=(
  [aarch64-linux-android]=aarch64-linux-android24
  [armv7-linux-androideabi]=armv7a-linux-androideabi24
  [x86_64-linux-android]=x86_64-linux-android24
  [aarch64-apple-ios]=arm64-apple-ios13.0
)
targets=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android aarch64-apple-ios)

if ! command -v clang >/dev/null || ! command -v llvm-ar >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y --no-install-recommends clang llvm >/dev/null || { apt-get update >/dev/null && apt-get install -y --no-install-recommends clang llvm >/dev/null; }
  fi
  command -v clang >/dev/null && command -v llvm-ar >/dev/null || { echo "error: clang and llvm-ar are needed (apt-get install clang llvm)" >&2; exit 1; }
fi
installed="$(rustup target list --installed)"
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done

# cc-rs reads CC_<triple>, CFLAGS_<triple>, AR_<triple> with '-' turned into '_'.
for t in "${targets[@]}"; do
  v="${t//-/_}"
  export "CC_$v=clang" "AR_$v=llvm-ar"
  export "CFLAGS_$v=--target=${clang_triple[$t]} -ffreestanding -nostdlibinc -DRING_CORE_NOSTDLIBINC=1"
done

# cc-rs asks xcrun for the iOS SDK unless SDKROOT is set. Without libc headers or linking, the
# one SDK header ring reads is TargetConditionals.h (which Apple OS it is); a stand-in folder
# provides just those macros for an iPhone device build.
export SDKROOT="$CARGO_TARGET_DIR/no-ios-sdk"
mkdir -p "$SDKROOT/usr/include"
cat >"$SDKROOT/usr/include/TargetConditionals.h" <<'H'
/* Stand-in written by scripts/check-targets.sh: an iOS device target. */
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 0
#define TARGET_OS_IPHONE 1
#define TARGET_OS_IOS 1
#define TARGET_OS_SIMULATOR 0
H
export CFLAGS_aarch64_apple_ios="$CFLAGS_aarch64_apple_ios -isystem $SDKROOT/usr/include"

timings=()
step() {
  local name="$1" t0=$SECONDS
  shift
  printf '\n---- targets: %s ----\n' "$name"
  "$@"
  timings+=("$(printf '%-34s %4ss' "$name" $((SECONDS - t0)))")
}
for t in "${targets[@]}"; do
  step "check $t" cargo check -p natter --lib --locked --target "$t"
done
step "staticlib aarch64-apple-ios" cargo rustc -p natter --lib --locked --target aarch64-apple-ios --crate-type staticlib
lib="$CARGO_TARGET_DIR/aarch64-apple-ios/debug/libnatter.a"
[ -s "$lib" ] || { echo "error: $lib was not built" >&2; exit 1; }
# The archive must hold arm64 Mach-O objects, ring's C among them.
grep -q 'MH_MAGIC_64 *ARM64' < <(llvm-objdump --macho --private-header "$lib" 2>/dev/null) || { echo "error: $lib holds no arm64 Mach-O objects" >&2; exit 1; }
grep -q ' T _ring_core_0_17_[0-9]*__x25519' < <(llvm-nm "$lib" 2>/dev/null) || { echo "error: ring's C is missing from $lib" >&2; exit 1; }
printf '\n---- targets: timings ----\n'
for t in "${timings[@]}"; do printf '  %s\n' "$t"; done
echo "targets check passed ($(du -h "$lib" | cut -f1) iOS staticlib)"
