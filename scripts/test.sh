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
# tests/faults.rs puts toxiproxy between client and server; install it (go install) when missing.
bash scripts/install-toxiproxy.sh >/dev/null
# server/tests/directory.rs and cluster.rs start their own redis-server children; install it (apt) when missing.
bash scripts/install-redis.sh >/dev/null
# Includes tests/faults.rs and the 2,000-client tests/reconnect_storm.rs (10,000: scripts/storm.sh).
cargo test --workspace --locked

stage "rust: benchmarks, quick (natter-bench runs and prints every row; the full run is scripts/bench.sh)"
bash scripts/bench.sh --quick

stage "rust: fuzzing (every cargo-fuzz target for 30 s from the committed corpus)"
bash scripts/fuzz.sh 30

stage "rust: cargo check for the Android ABIs and iOS, and the iOS staticlib (Debian clang, no NDK/Xcode)"
bash scripts/check-targets.sh

stage "swift: bindings and the iOS bridge (XCTest on Linux)"
bash scripts/test-swift.sh

stage "kotlin: bindings and the Android bridge (JUnit on the JVM), Android module compile check"
bash scripts/test-kotlin.sh

stage "typescript: jest end to end through the Node addon, codegen, package, demo"
bash scripts/test-js.sh
stage "all stages passed"
