#!/usr/bin/env bash
# Installs a Swift 6 toolchain for Linux into a Debian trixie root under the cache directory
# (Swift needs glibc >= 2.38; this machine is bookworm) and prints the root's path. Idempotent:
# a finished root (marker file) is reused. Needs root (debootstrap, chroot).
#
# Safety: test-swift.sh bind-mounts the checkout, /proc and /dev into this root. A half-built
# root is therefore only ever removed after checking that nothing is mounted below it, and with
# --one-file-system, so a stale mount can never take the checkout (or the host's /dev) with it.
set -euo pipefail
NATTER_CACHE="${NATTER_CACHE:-$HOME/.cache/natter}"
ROOT="$NATTER_CACHE/swift-root"
READY="$ROOT/.natter-ready"
if [ -f "$READY" ]; then
  echo "$ROOT"
  exit 0
fi
if [ -e "$ROOT" ]; then
  if awk -v r="$ROOT" '$2 == r || index($2, r "/") == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    echo "install-swift: something is still mounted under $ROOT; refusing to delete it" >&2
    exit 1
  fi
  rm -rf --one-file-system "$ROOT"
fi
mirror=$( (grep -rhE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null || true) \
  | grep -oE 'https?://[^ ]*/debian/?( |$)' | head -1 | tr -d ' ')
mirror="${mirror:-http://deb.debian.org/debian}"
if ! command -v debootstrap >/dev/null; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap >&2
fi
mkdir -p "$ROOT"
debootstrap --variant=minbase trixie "$ROOT" "$mirror" >&2
chroot "$ROOT" bash -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends swiftlang libc6-dev ca-certificates" >&2
touch "$READY"
echo "$ROOT"
