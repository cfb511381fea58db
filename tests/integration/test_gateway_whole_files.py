"""Files the tiers hold whole (a disk file, an S3 object) served by the gateway through
their layout: a range reads only the leaves under it, nothing is chunked into blocks
first, every leaf is verified (a copy that changed under the gateway is never sent)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.gateway.blocks import serving

from ipfs_kit_py.backends.s3.backend import S3Backend
from ipfs_kit_py.content.car import CarReader
from ipfs_kit_py.content.cid import CID, cid_bytes_key
from ipfs_kit_py.content.random_access import VerifiedBlocks
from ipfs_kit_py.gateway import GatewayApp
from ipfs_kit_py.gateway.file_layouts import LaidOut
from ipfs_kit_py.gateway.kit_source import WholeFileBlocks
from ipfs_kit_py.ipfs_kit import ipfs_kit

DATA = os.urandom(3 * 1024 * 1024 + 12345)  # 13 leaves of 256 KiB under one root
LEAF = 256 * 1024


@pytest.fixture
def disk_kit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ipfs_kit]:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    with ipfs_kit(cache_dir=tmp_path / "cache", index_path=tmp_path / "index.sqlite3") as kit:
        yield kit


def counted(entry: LaidOut) -> list[tuple[int, int]]:
    """Record each span ``entry`` reads from its copy (real reads)."""
    spans: list[tuple[int, int]] = []
    read = entry.read

    def counting(start: int, end: int) -> bytes:
        spans.append((start, end))
        return read(start, end)

    entry.read = counting
    return spans


def serve_whole(kit: ipfs_kit) -> tuple[WholeFileBlocks, GatewayApp]:
    whole = WholeFileBlocks(kit.tiers)
    return whole, GatewayApp(VerifiedBlocks([whole], cache_bytes=0))


def test_a_disk_copy_is_laid_out_not_chunked_and_ranges_read_their_leaves(
    disk_kit: ipfs_kit,
) -> None:
    cid = disk_kit.add(DATA, to=["disk"]).cid
    whole, app = serve_whole(disk_kit)
    with serving(app) as url:
        first = httpx.get(f"{url}/ipfs/{cid}", headers={"Range": "bytes=100-199"}, timeout=60)
        assert first.status_code == 206 and first.content == DATA[100:200]
        entry = whole._laid[cid_bytes_key(cid)]
        assert entry.held_bytes == 0 and len(entry.leaves) == 13  # no copy of the file kept
        spans = counted(entry)
        start = 2 * LEAF + 1000
        named = f"{url}/ipfs/{cid}?filename=a.bin"  # no type sniffed from the first bytes
        r = httpx.get(named, headers={"Range": f"bytes={start}-{start + 99}"})
        assert r.status_code == 206 and r.content == DATA[start : start + 100]
        assert spans == [(2 * LEAF, 3 * LEAF)]  # the one leaf under the range
        assert httpx.get(f"{url}/ipfs/{cid}", timeout=60).content == DATA
        car = httpx.get(f"{url}/ipfs/{cid}?format=car", timeout=60).content
    blocks = list(CarReader(io.BytesIO(car)))  # each verified against its CID
    assert blocks[0].cid == cid and len(blocks) == 14
    whole.close()


def test_a_disk_copy_that_changes_after_its_layout_is_never_sent(disk_kit: ipfs_kit) -> None:
    cid = disk_kit.add(DATA, to=["disk"]).cid
    whole, app = serve_whole(disk_kit)
    with serving(app) as url:
        assert httpx.get(f"{url}/ipfs/{cid}", headers={"Range": "bytes=0-9"}).status_code == 206
        disk = disk_kit.tiers.disk
        assert disk is not None
        path = Path(disk.stat(cid).locator)
        with path.open("r+b") as f:  # one byte of the fifth leaf flips on disk
            f.seek(4 * LEAF + 7)
            f.write(bytes([DATA[4 * LEAF + 7] ^ 0xFF]))
        r = httpx.get(f"{url}/ipfs/{cid}", headers={"Range": f"bytes={4 * LEAF}-{4 * LEAF + 99}"})
        assert r.status_code == 404 and "verified" in r.text
        ok = httpx.get(f"{url}/ipfs/{cid}", headers={"Range": f"bytes={LEAF}-{LEAF + 99}"})
        assert ok.status_code == 206 and ok.content == DATA[LEAF : LEAF + 100]
    whole.close()


def test_a_copy_that_does_not_match_its_cid_is_not_laid_out(disk_kit: ipfs_kit) -> None:
    cid = disk_kit.add(DATA, to=["disk"]).cid
    disk = disk_kit.tiers.disk
    assert disk is not None
    path = Path(disk.stat(cid).locator)
    path.write_bytes(DATA[:-1] + b"!")
    whole, app = serve_whole(disk_kit)
    with serving(app) as url:
        r = httpx.get(f"{url}/ipfs/{cid}", timeout=60)
        assert r.status_code == 404 and DATA[:1000] not in r.content
    assert not whole._laid
    whole.close()


def test_an_s3_copy_is_served_by_its_layout_and_ranged_gets(seaweedfs_kit: ipfs_kit) -> None:
    s3_kit = seaweedfs_kit
    cid: CID = s3_kit.add(DATA, to=["s3"]).cid  # add writes the layout beside the object
    backend = s3_kit.tiers.tier("s3")
    assert isinstance(backend, S3Backend)
    calls: list[tuple[str, int]] = []
    read_range, read_all = backend.read_range, backend.read_unverified

    def ranged(c: Any, start: int, end: int) -> Iterator[bytes]:
        calls.append(("range", end - start))
        return read_range(c, start, end)

    def whole_object(c: Any) -> Iterator[bytes]:
        calls.append(("whole", 0))
        return read_all(c)

    backend.read_range = ranged  # type: ignore[method-assign]
    backend.read_unverified = whole_object  # type: ignore[method-assign]
    whole, app = serve_whole(s3_kit)
    start = 5 * LEAF + 50
    with serving(app) as url:
        named = f"{url}/ipfs/{cid}?filename=a.bin"
        r = httpx.get(named, headers={"Range": f"bytes={start}-{start + 9999}"})
    assert r.status_code == 206 and r.content == DATA[start : start + 10000]
    assert calls == [("range", LEAF)]  # the leaf under the range; the object never whole
    whole.close()
