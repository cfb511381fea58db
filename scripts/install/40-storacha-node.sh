#!/usr/bin/env bash
# Install the local Storacha test service and the official JS client/CLI (interop peers):
# `npm ci` in tests/servers/storacha from the committed lock file. Idempotent: skipped when
# node_modules was installed from the same lock file.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/tests/servers/storacha"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install nodejs npm
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
    echo "40-storacha-node: Node >= 20 required, found $(node --version)" >&2
    exit 1
fi

stamp="$dir/node_modules/.installed-from-lock"
want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
# No dependency needs an install script (the only one, protobufjs's postinstall, just
# prints a version warning), so --ignore-scripts keeps npm 10 and 11 alike.
(cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
echo "$want" > "$stamp"
