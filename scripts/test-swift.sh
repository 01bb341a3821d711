#!/usr/bin/env bash
# Swift stage: the generated Swift bindings and the iOS module's bridge (ios/NatterBridge.swift),
# compiled with Swift 6 on Linux and run with XCTest against the real cdylib and real
# natter-server child processes. The toolchain lives in a Debian trixie root under the cache
# (scripts/install-swift.sh).
#
# Nothing of the host is bind-mounted into that root: the package, the cdylib and the server
# binary are copied in, and only a fresh procfs (swiftc needs /proc) is mounted, and unmounted
# again on every exit path.
set -euo pipefail
cd "$(dirname "$0")/.."
export NATTER_CACHE="${NATTER_CACHE:-$HOME/.cache/natter}"
ROOT=$(bash scripts/install-swift.sh)

cargo build --locked -p natter -p natter-server

# Stage a SwiftPM package from the committed bindings and ios/, so what is tested is exactly
# what ships. .build/ stays between runs for speed.
RUN="$ROOT/natter-run"
PKG="$RUN/pkg"
mkdir -p "$PKG" "$RUN/lib"
rm -rf --one-file-system "$PKG/Sources" "$PKG/Tests"
mkdir -p "$PKG/Sources/NatterFFI" "$PKG/Sources/Natter" "$PKG/Sources/NatterBridge"
cp swift-tests/Package.swift "$PKG/"
cp -r swift-tests/Tests "$PKG/"
cp bindings/swift/NatterFFI.h "$PKG/Sources/NatterFFI/"
printf 'module NatterFFI {\n    header "NatterFFI.h"\n    link "natter"\n    export *\n}\n' > "$PKG/Sources/NatterFFI/module.modulemap"
cp bindings/swift/Natter.swift "$PKG/Sources/Natter/"
cp ios/NatterBridge.swift "$PKG/Sources/NatterBridge/"
cp target/debug/libnatter.so target/debug/natter-server "$RUN/lib/"

mkdir -p "$ROOT/proc"
cleanup() { umount -l "$ROOT/proc" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"

lib=/natter-run/lib
chroot "$ROOT" env -i PATH=/usr/bin:/bin HOME=/root NATTER_SERVER_BIN="$lib/natter-server" \
  bash -c "cd /natter-run/pkg && timeout 900 swift test --disable-swift-testing ${SWIFT_TEST_ARGS:-} -Xlinker -L$lib -Xlinker -rpath -Xlinker $lib 2>&1"
