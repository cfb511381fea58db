#!/usr/bin/env bash
# Debian packages the tests and benchmarks use: ipfs-cid (ipfs_cid, a CID conformance peer)
# and rclone (an S3 client benchmarked side by side).
set -euo pipefail
need=()
command -v ipfs_cid >/dev/null 2>&1 || need+=(ipfs-cid)
command -v rclone >/dev/null 2>&1 || need+=(rclone)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "debian: ipfs_cid=$(command -v ipfs_cid) rclone=$(command -v rclone)"
