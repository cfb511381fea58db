#!/usr/bin/env bash
# Install everything the tests need (Python venv, Debian peers, SeaweedFS, kubo, Node
# packages), then lint, type-check and run the whole test suite. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
for script in scripts/install/*.sh; do
  echo "== install: $script"
  start=$(date +%s)
  bash "$script"
  echo "   ($(( $(date +%s) - start ))s)"
done
echo "== ruff"
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
.venv/bin/pytest "$@"
