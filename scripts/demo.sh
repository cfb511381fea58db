#!/usr/bin/env bash
# Install the package and run the main job on the embedded default (memory + disk tiers,
# SQLite index, no server): add a file, print its CID, read it back verified, show where
# it lives. Uses the default XDG cache/data dirs unless they are set. The install is
# skipped when .venv is current.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
step python "venv and packages, ~1 min the first time" bash scripts/install/00-python.sh
kit=.venv/bin/ipfs-kit
sample=$(mktemp -d)/hello-ipfs-kit.txt
trap 'rm -rf "$(dirname "$sample")"' EXIT
printf 'Hello from ipfs_kit_py at %s\n' "$(date -u +%FT%TZ)" > "$sample"
echo "\$ ipfs-kit add $sample"
cid=$($kit add -Q "$sample")
echo "$cid"
echo "\$ ipfs-kit add --only-hash $sample   # the CID kubo's 'ipfs add -n' prints"
$kit add --only-hash "$sample"
echo "\$ ipfs-kit cat $cid"
$kit cat "$cid"
echo "\$ ipfs-kit whereis $cid"
$kit whereis "$cid"
echo "\$ ipfs-kit backends"
$kit backends
