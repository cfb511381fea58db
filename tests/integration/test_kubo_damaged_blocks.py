"""A damaged block in a real kubo repo: reads and verify mark the copy bad, not "good"."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.servers.kubo import KuboNode

from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.content.dagpb import decode_node
from ipfs_kit_py.errors import ContentMismatchError, ContentNotFoundError
from ipfs_kit_py.ipfs_kit import ipfs_kit


@pytest.fixture
def kit(kubo_private: KuboNode, tmp_path: Path) -> Iterator[ipfs_kit]:
    with ipfs_kit(
        config={},
        cache_dir=tmp_path / "cache",
        index_path=tmp_path / "index.sqlite3",
        kubo={"api_url": kubo_private.api_url},
    ) as k:
        yield k


def _block_file(node: KuboNode, cid: CID) -> Path:
    key = base64.b32encode(bytes(cid.digest)).decode().rstrip("=")  # flatfs: the multihash
    return node.repo / "blocks" / key[-3:-1] / f"{key}.data"


def _damage(path: Path, kind: str) -> None:
    raw = bytearray(path.read_bytes())
    if kind == "truncated":
        raw = raw[: len(raw) // 2]
    else:
        raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def _leaf(node: KuboNode, root: CID) -> CID:
    """The first child of the file root ``root`` (read from the repo before damage)."""
    return decode_node(_block_file(node, root).read_bytes()).links[0].cid


@pytest.mark.parametrize("kind", ["truncated", "corrupted"])
@pytest.mark.parametrize("where", ["root", "leaf"])
def test_a_damaged_block_marks_the_kubo_copy_bad_on_read_and_on_verify(
    kit: ipfs_kit, kubo_private: KuboNode, kind: str, where: str
) -> None:
    size = 200_000 if where == "root" else 700_000  # one block, or a root and 3 leaves
    data = os.urandom(size)
    cid = kit.add(data, to=["ipfs"]).cid
    block = cid if where == "root" else _leaf(kubo_private, cid)
    _damage(_block_file(kubo_private, block), kind)
    assert kit.tiers.tier("ipfs").has(cid)  # still pinned: only the bytes tell

    check = kit.verify(cid)
    assert check.bad == ("ipfs",) and not check.good and not check.unreachable
    [loc] = kit.index.locations(cid, include_bad=True)
    assert loc.state == "bad" and "verify" in (loc.reason or "")

    kit.index.mark_verified(cid, "ipfs", ok=True)  # as if verify had not run: now a read
    with pytest.raises(ContentNotFoundError, match="ipfs: mismatch"):
        kit.cat(cid)
    [loc] = kit.index.locations(cid, include_bad=True)
    assert loc.state == "bad" and loc.marked_at is not None


def test_the_backend_raises_a_mismatch_for_a_truncated_block(
    kit: ipfs_kit, kubo_private: KuboNode
) -> None:
    data = os.urandom(150_000)
    cid = kit.add(data, to=["ipfs"]).cid
    _damage(_block_file(kubo_private, cid), "truncated")
    with pytest.raises(ContentMismatchError, match=r"damaged block|does not match"):
        b"".join(kit.tiers.tier("ipfs").get(cid))


def test_an_intact_copy_stays_good(kit: ipfs_kit) -> None:
    data = os.urandom(700_000)
    cid = kit.add(data, to=["ipfs"]).cid
    assert kit.verify(cid).good == ("ipfs",)
    kit.tiers.tier("disk").delete(cid)
    assert kit.cat(cid) == data
