#!/usr/bin/env bash
# Generates the Kotlin and Swift bindings from ONE debug build of the library (library mode:
# uniffi-bindgen reads the metadata embedded in libnatter.so, and uniffi.toml for names).
#   scripts/gen-bindings.sh [OUT_DIR]     (default: bindings/, the committed copies)
# Writes OUT_DIR/kotlin/dev/natter/natter.kt and OUT_DIR/swift/{Natter.swift,NatterFFI.h,
# NatterFFI.modulemap}. --no-format keeps the output stable (no ktlint/swift-format needed).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-bindings}"

cargo build --locked -p natter -p uniffi-bindgen
target="${CARGO_TARGET_DIR:-target}"
lib="$target/debug/libnatter.so"
[ -f "$lib" ] || lib="$target/debug/libnatter.dylib"
bindgen="$target/debug/uniffi-bindgen"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$bindgen" generate --no-format "$lib" --language kotlin --out-dir "$tmp/kotlin" >/dev/null
"$bindgen" generate --no-format "$lib" --language swift --out-dir "$tmp/swift" >/dev/null

mkdir -p "$out/kotlin/dev/natter" "$out/swift"
cp "$tmp/kotlin/dev/natter/natter.kt" "$out/kotlin/dev/natter/natter.kt"
for f in Natter.swift NatterFFI.h NatterFFI.modulemap; do
  cp "$tmp/swift/$f" "$out/swift/$f"
done
echo "bindings written to $out/kotlin and $out/swift"
