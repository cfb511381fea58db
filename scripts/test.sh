#!/usr/bin/env bash
# Install everything the tests need (Python venv, Debian peers, SeaweedFS, kubo, Node
# packages), then lint, type-check and run the whole test suite. Extra args go to pytest.
# One line per step; each step's full output is in the log file it names on failure
# (IPFS_KIT_VERBOSE=1 prints everything).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
estimate() {
  case $1 in
    00-python) echo "venv and packages, ~1 min on a fresh machine" ;;
    30-kubo)
      [ -x "${IPFS_KIT_BUILD_CACHE:-$HOME/.cache/ipfs-kit-build}/kubo-${KUBO_VERSION:-v0.43.1}/ipfs" ] \
        || echo "building kubo from the Go module proxy, ~3-15 min" ;;
    *-node) echo "npm ci, ~30 s the first time" ;;
  esac
}
for script in scripts/install/*.sh; do
  name=$(basename "$script" .sh)
  step "install-$name" "$(estimate "$name")" bash "$script"
done
step ruff "" bash -c '.venv/bin/ruff check src tests bench && .venv/bin/ruff format --check src tests bench'
step mypy "" .venv/bin/mypy
echo "== pytest"
.venv/bin/pytest "$@"
