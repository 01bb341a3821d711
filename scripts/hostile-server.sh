#!/usr/bin/env bash
# The server's bad-input suite (server/tests/hostile_clients.rs) on its own, printing its table:
# every hostile input against the real natter-server binary while a probe keeps logging in.
#   scripts/hostile-server.sh          default run (20 tries per case, a few seconds; also part of
#                                      `cargo test --workspace`)
#   scripts/hostile-server.sh --long   10x the tries per case
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  --long) export NATTER_HOSTILE_LONG=1 ;;
  "") ;;
  *) echo "usage: $0 [--long]" >&2; exit 2 ;;
esac
exec cargo test --locked -p natter-server --test hostile_clients -- --nocapture
