#!/usr/bin/env bash
# The project's virtualenv (.venv) with the package (editable) and its dev extra.
# The C toolchain for the optional native extension (ipfs_kit_py._piece) is installed first
# (10-debian.sh --build-deps); without it pip still succeeds and piece.py uses pure Python.
# Versions are the exact ones in constraints.txt (pyproject.toml has compatible ranges;
# scripts/freeze-constraints.sh regenerates the file). Skipped when .venv was installed
# from the same pyproject.toml, constraints.txt, setup.py and piece.c (an editable install
# sees source changes by itself). PYTHON picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
hold_lock .venv/.install.lock  # two runs take turns: never two pip installs into one venv
PY=${PYTHON:-python3}
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 required"'
stamp=.venv/.installed-from
want=$(cat pyproject.toml constraints.txt setup.py src/ipfs_kit_py/_native/piece.c | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "python: .venv is current ($(.venv/bin/python --version))"
  exit 0
fi
PYTHON="$PY" bash scripts/install/10-debian.sh --build-deps \
  || echo "python: C toolchain not installed; the piece CID falls back to pure Python" >&2
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints.txt -e '.[dev]'
echo "$want" > "$stamp"
native=$(.venv/bin/python -c 'import ipfs_kit_py._piece' 2>/dev/null && echo yes || echo no)
echo "python: $(.venv/bin/python --version) in .venv (native piece extension: $native)"
