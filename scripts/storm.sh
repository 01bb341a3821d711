#!/usr/bin/env bash
# The heavy reconnect storm: N logged-in clients (default 10,000), the natter-server binary
# SIGKILLed and restarted on the same port; prints the figures (time until all ready, peak
# resume rate). The default test command runs the same test with 2,000 clients.
#   scripts/storm.sh [CLIENTS] [--release]
set -euo pipefail
cd "$(dirname "$0")/.."
clients=10000
profile=()
for arg in "$@"; do
  case "$arg" in
    --release) profile=(--release) ;;
    *[!0-9]* | "") echo "usage: scripts/storm.sh [CLIENTS] [--release]" >&2; exit 2 ;;
    *) clients="$arg" ;;
  esac
done
# The test runs the server binary of its own build profile.
cargo build --locked "${profile[@]}" -p natter-server
NATTER_STORM_CLIENTS="$clients" cargo test --locked "${profile[@]}" --test reconnect_storm -- --nocapture
