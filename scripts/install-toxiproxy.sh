#!/usr/bin/env bash
# Installs toxiproxy-server (Shopify's TCP fault proxy, used by tests/faults.rs) into the cache
# directory with `go install` when missing and prints the binary's path. Idempotent: an installed
# binary of the pinned version is reused at once. GOPATH and the module cache live under the
# cache too, so nothing lands in the user's own Go tree.
set -euo pipefail
NATTER_CACHE="${NATTER_CACHE:-$HOME/.cache/natter}"
# Pinned to a release the Go module proxy serves (`go list -m github.com/Shopify/toxiproxy/v2@v2.12.0`).
# The server's main package is `cmd/server` in every v2 release, so `go install` names the binary
# `server`; it is installed under a scratch GOBIN and renamed to `toxiproxy-server`.
VERSION="${TOXIPROXY_VERSION:-v2.12.0}"
GO_ROOT="$NATTER_CACHE/go"
BIN="$GO_ROOT/bin/toxiproxy-server"
STAMP="$GO_ROOT/bin/.toxiproxy-server.version"
if [ -x "$BIN" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION" ]; then
  echo "$BIN"
  exit 0
fi
if ! command -v go >/dev/null; then
  for candidate in /usr/local/go/bin /usr/lib/go/bin; do
    [ -x "$candidate/go" ] && PATH="$candidate:$PATH"
  done
fi
if ! command -v go >/dev/null; then
  echo "install-toxiproxy: no Go toolchain found; install Go (https://go.dev/dl/) and retry" >&2
  exit 1
fi
mkdir -p "$GO_ROOT/bin"
SCRATCH="$GO_ROOT/bin/.install-toxiproxy"
mkdir -p "$SCRATCH"
GOBIN="$SCRATCH" GOPATH="$GO_ROOT/path" GOMODCACHE="$GO_ROOT/mod" GOCACHE="$GO_ROOT/build-cache" GOFLAGS="-modcacherw -buildvcs=false" \
  go install "github.com/Shopify/toxiproxy/v2/cmd/server@$VERSION" >&2
mv -f "$SCRATCH/server" "$BIN"
rmdir "$SCRATCH"
echo "$VERSION" >"$STAMP"
echo "$BIN"
