#!/usr/bin/env bash
# Every test of the project, from a clean checkout on a fresh machine: Rust (lint + unit +
# integration against the real server), then the Swift, Kotlin and TypeScript stages, each of
# which installs its own toolchain into the cache directory when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export NATTER_CACHE="${NATTER_CACHE:-$HOME/.cache/natter}"
mkdir -p "$NATTER_CACHE"

stage() { printf '\n==== %s ====\n' "$*"; }

stage "rust: format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

stage "rust: unit and integration tests"
cargo test --workspace --locked

stage "swift: bindings and the iOS bridge (XCTest on Linux)"
bash scripts/test-swift.sh

for extra in scripts/test-kotlin.sh scripts/test-js.sh; do
  if [ -x "$extra" ]; then
    stage "$extra"
    "$extra"
  fi
done
stage "all stages passed"
