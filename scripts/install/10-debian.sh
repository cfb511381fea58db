#!/usr/bin/env bash
# Debian packages: the C toolchain for the optional native piece-CID extension
# (ipfs_kit_py._piece: gcc, libssl-dev, and python3-dev if the interpreter has no headers),
# ipfs-cid (ipfs_cid, a CID conformance peer), rclone (an S3 client benchmarked side by
# side), hey (the HTTP load generator of bench/gateway.py), chromium (the headless
# browser that checks the gateway's directory pages) and postgresql (the shared-index
# tests' server, run from a temp dir). `10-debian.sh --build-deps` installs the toolchain
# only: 00-python.sh runs it before `pip install -e` so the extension gets built on a
# fresh machine.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
PY=${PYTHON:-python3}
need=()
command -v gcc >/dev/null 2>&1 || need+=(gcc)
dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev)
include=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null || true)
[ -f "$include/Python.h" ] || need+=(python3-dev)
if [ "${1:-}" != "--build-deps" ]; then
  command -v ipfs_cid >/dev/null 2>&1 || need+=(ipfs-cid)
  command -v rclone >/dev/null 2>&1 || need+=(rclone)
  command -v hey >/dev/null 2>&1 || need+=(hey)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
fi
if [ ${#need[@]} -gt 0 ]; then
  apt_install "${need[@]}" >/dev/null
fi
if [ "${1:-}" = "--build-deps" ]; then
  echo "debian: gcc=$(command -v gcc) libssl-dev=$(dpkg-query -W -f='${Version}' libssl-dev)"
else
  echo "debian: ipfs_cid=$(command -v ipfs_cid) rclone=$(command -v rclone) gcc=$(command -v gcc)" \
    "hey=$(command -v hey) chromium=$(command -v chromium)" \
    "initdb=$(ls /usr/lib/postgresql/*/bin/initdb | tail -1)"
fi
