#!/usr/bin/env bash
# TypeScript stage of the test command: the react-native-natter package end to end on Node.
#   npm ci → build the Node addon (natter-node; local build + the prebuilt platform package) → build natter-server → typecheck + build (tsc)
#   → jest (e2e against real servers through the addon, the RN path with a fake TurboModule,
#   codegen over NativeNatter.ts, type-level compatibility with @tencentcloud/chat)
#   → the npm package check (scripts/check-pack.js) → npm run demo.
# Exits non-zero on the first failure; prints the time of every step.
set -euo pipefail
cd "$(dirname "$0")/.."

timings=()
step() {
  local name="$1"
  shift
  printf '\n---- js: %s ----\n' "$name"
  local t0=$SECONDS
  "$@"
  timings+=("$(printf '%-22s %4ss' "$name" $((SECONDS - t0)))")
}
summary() {
  local rc=$?
  printf '\n---- js: timings ----\n'
  for t in "${timings[@]}"; do printf '  %s\n' "$t"; done
  if [ "$rc" -eq 0 ]; then echo "js stage passed"; else echo "js stage FAILED (exit $rc)"; fi
}
trap summary EXIT

command -v node >/dev/null || { echo "node (>= 20) is required" >&2; exit 1; }
command -v cargo >/dev/null || { echo "cargo is required" >&2; exit 1; }

step "npm ci" npm ci --no-audit --no-fund --loglevel=error
step "build node addon" env NATTER_CARGO_LOCKED=1 node scripts/build-node-addon.js --prebuilt
step "build natter-server" cargo build -p natter-server --locked
step "typecheck" npx tsc -p tsconfig.json
step "build lib/" npx tsc -p tsconfig.build.json
step "jest" npx jest --ci
step "package check" node scripts/check-pack.js
step "demo" npm run --silent demo
