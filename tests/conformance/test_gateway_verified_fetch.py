"""``@helia/verified-fetch`` (Node) with our gateway as its only trustless gateway:
files, files inside directories (basic and HAMT) and a directory as a CAR come back
byte-identical; the client verified every block it got from us."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from ipfs_kit_py.content.car import CarReader
from ipfs_kit_py.content.hamt import ShardingPolicy
from ipfs_kit_py.content.unixfs import KUBO_CID_V1
from tests.gateway.blocks import MemoryBlocks, add_file, add_tree, gateway, serving

JS = Path(__file__).parent / "js"
BIG = os.urandom(1_200_000)


def verified_fetch(url: str, out: Path, *resources: str) -> list[dict[str, object]]:
    node = shutil.which("node")
    assert node, "node missing: run scripts/install/45-conformance-node.sh"
    assert (JS / "node_modules" / "@helia" / "verified-fetch").is_dir(), (
        "@helia/verified-fetch missing: run scripts/install/45-conformance-node.sh"
    )
    done = subprocess.run(
        [node, str(JS / "verified_fetch.mjs"), url, str(out), *resources],
        capture_output=True,
        timeout=300,
        cwd=JS,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return [json.loads(line) for line in done.stdout.decode().splitlines() if line]


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> tuple[MemoryBlocks, dict[str, str]]:
    tree = tmp_path_factory.mktemp("vf")
    (tree / "docs").mkdir()
    (tree / "docs" / "a.txt").write_text("alpha\n")
    (tree / "big.bin").write_bytes(BIG)
    for i in range(30):
        (tree / "docs" / f"n{i}.txt").write_text(f"{i}")
    blocks = MemoryBlocks()
    cids = {
        "file": str(add_file(blocks, BIG)),
        "file_v1": str(add_file(blocks, BIG, KUBO_CID_V1)),
        "tree": str(add_tree(blocks, tree)),
        "hamt": str(add_tree(blocks, tree, KUBO_CID_V1, ShardingPolicy(threshold=1, fanout=8))),
    }
    return blocks, cids


def test_files_and_directories_byte_identical(
    content: tuple[MemoryBlocks, dict[str, str]], tmp_path: Path
) -> None:
    blocks, cids = content
    wanted = {
        f"ipfs://{cids['file']}": BIG,
        f"ipfs://{cids['file_v1']}": BIG,
        f"ipfs://{cids['tree']}/big.bin": BIG,
        f"ipfs://{cids['tree']}/docs/a.txt": b"alpha\n",
        f"ipfs://{cids['hamt']}/docs/n17.txt": b"17",
        f"ipfs://{cids['hamt']}/big.bin": BIG,
    }
    with serving(gateway(blocks)) as url:
        results = verified_fetch(url, tmp_path, *wanted)
    for n, (resource, data) in enumerate(wanted.items()):
        assert results[n]["resource"] == resource and results[n]["status"] == 200, results[n]
        assert (tmp_path / str(n)).read_bytes() == data, resource


def test_a_directory_as_a_car_has_our_blocks(
    content: tuple[MemoryBlocks, dict[str, str]], tmp_path: Path
) -> None:
    blocks, cids = content
    with serving(gateway(blocks)) as url:
        resource = f"ipfs://{cids['tree']} car"
        (result,) = verified_fetch(url, tmp_path, resource)
        ours = httpx.get(f"{url}/ipfs/{cids['tree']}?format=car", timeout=60).content
    assert result["status"] == 200, result
    theirs = [bytes(b.cid) for b in CarReader(io.BytesIO((tmp_path / "0").read_bytes()))]
    assert sorted(theirs) == sorted(bytes(b.cid) for b in CarReader(io.BytesIO(ours)))
