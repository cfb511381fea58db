"""Disk layouts kept across server processes: a new gateway over the same cache answers
a range of a large disk file from the kept layout (no pass over the file), and a kept
layout that is damaged, or was made from another copy, is dropped and made again."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.gateway.blocks import serving

from ipfs_kit_py.gateway import GatewayApp, kit_source
from ipfs_kit_py.gateway.kit_source import kit_blocks
from ipfs_kit_py.ipfs_kit import ipfs_kit

DATA = os.urandom(3 * 1024 * 1024 + 17)  # 13 leaves of kubo's 256 KiB


@pytest.fixture
def kit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ipfs_kit]:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    with ipfs_kit(cache_dir=tmp_path / "cache", index_path=tmp_path / "index.sqlite3") as k:
        yield k


@pytest.fixture
def passes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The layout passes made (a spy on the real function: it still runs)."""
    made: list[str] = []
    real = kit_source.layout_of_stream

    def spy(root, f, profile):  # type: ignore[no-untyped-def]
        made.append(str(root))
        return real(root, f, profile)

    monkeypatch.setattr(kit_source, "layout_of_stream", spy)
    return made


def ranged(kit: ipfs_kit, cid: object) -> httpx.Response:
    with serving(GatewayApp(kit_blocks(kit))) as url:  # a new server: nothing in memory
        return httpx.get(
            f"{url}/ipfs/{cid}", headers={"range": "bytes=1048576-2097151"}, timeout=60
        )


@pytest.mark.parametrize("data", [DATA, bytes(len(DATA))], ids=["random", "zeros"])
def test_a_new_server_answers_a_range_from_the_kept_layout(
    kit: ipfs_kit, tmp_path: Path, passes: list[str], data: bytes
) -> None:
    cid = kit.add(data, to=["disk"]).cid  # zeros: every leaf is the same block
    first = ranged(kit, cid)
    assert first.status_code == 206 and first.content == data[1048576:2097152]
    assert passes == [str(cid)]
    kept = list((tmp_path / "cache" / "layouts").glob("*.layout"))
    assert len(kept) == 1
    again = ranged(kit, cid)
    assert again.status_code == 206 and again.content == data[1048576:2097152]
    assert passes == [str(cid)]  # no second pass


def test_a_damaged_kept_layout_is_dropped_and_made_again(
    kit: ipfs_kit, tmp_path: Path, passes: list[str]
) -> None:
    cid = kit.add(DATA, to=["disk"]).cid
    assert ranged(kit, cid).status_code == 206
    (kept,) = (tmp_path / "cache" / "layouts").glob("*.layout")
    raw = bytearray(kept.read_bytes())
    raw[-3] ^= 0xFF
    kept.write_bytes(bytes(raw))
    r = ranged(kit, cid)
    assert r.status_code == 206 and r.content == DATA[1048576:2097152]
    assert passes == [str(cid), str(cid)]
    assert ranged(kit, cid).status_code == 206  # the remade one is good
    assert len(passes) == 2


def test_a_kept_layout_of_a_replaced_copy_is_not_used(
    kit: ipfs_kit, tmp_path: Path, passes: list[str]
) -> None:
    cid = kit.add(DATA, to=["disk"]).cid
    assert ranged(kit, cid).status_code == 206
    with kit.tiers.disk.open(cid) as f:  # type: ignore[union-attr]
        name = f.name
    changed = bytearray(DATA)
    changed[1048576] ^= 0xFF  # same size, other bytes
    Path(name).write_bytes(bytes(changed))
    r = ranged(kit, cid)
    assert len(passes) == 2  # the copy changed: a pass, which refuses it
    assert r.status_code == 404 and "Traceback" not in r.text
