#!/usr/bin/env bash
# Installs redis-server from Debian's packages when it is missing (the Redis engine's tests start
# their own redis-server child on a free loopback port). Runs as root on CI and dev machines.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be stale or absent on a fresh machine: refresh them only if needed.
if ! $SUDO apt-get install -y --no-install-recommends redis-server; then
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends redis-server
fi
# Debian's package starts a system service on 6379; the tests never use it, so stop it if it runs.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl stop redis-server >/dev/null 2>&1 || true; fi
command -v redis-server >/dev/null || { echo "install-redis.sh: redis-server still missing" >&2; exit 1; }
redis-server --version
