#!/usr/bin/env bash
# The JS conformance peers (tests/conformance/js): ipfs-unixfs-importer, @ipld/car,
# @helia/verified-fetch (a real client of `ipfs-kit serve`) and the
# Storacha client's encoder, installed from package-lock.json with `npm ci`.
# Idempotent: skipped when node_modules was installed from the same lock file.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$(dirname "$0")/../../tests/conformance/js"
if ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm >/dev/null
fi
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.installed-from-lock
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > "$stamp"
fi
echo "conformance js peers: node $(node --version) in $(pwd)/node_modules"
