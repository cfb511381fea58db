"""Identity CIDs read as kubo reads them: ``ipfs cat`` of what ``ipfs add --inline`` made."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipfs_kit_py.backends.disk import DiskBackend
from ipfs_kit_py.backends.memory import MemoryBackend
from ipfs_kit_py.content.cid import parse_cid
from ipfs_kit_py.content.inline import inline_bytes, is_inline
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.tiers.manager import TieredCacheManager
from tests.servers.kubo import KuboNode

CASES = [
    (b"hello", ["--raw-leaves"]),
    (b"hello", []),  # dag-pb leaf: a UnixFS file node inline
    (b"", []),
    (b"0123456789ab", ["--chunker=size-4", "--cid-version=1", "--raw-leaves=false"]),
    (b"0123456789ab", ["--chunker=size-4", "--cid-version=1"]),  # a root over inline leaves
]


@pytest.mark.parametrize(("data", "flags"), CASES)
def test_inline_cids_read_as_kubo_cats_them(
    kubo: KuboNode, tmp_path: Path, data: bytes, flags: list[str]
) -> None:
    argv = ["add", "-Q", "--inline", "--inline-limit=128", *flags]
    added = kubo.cli(*argv, input=data).stdout.decode().strip()
    cid = parse_cid(added)
    assert is_inline(cid), added
    assert kubo.cli("cat", added).stdout == data
    assert inline_bytes(cid) == data
    with MetadataIndex(tmp_path / "index.sqlite3") as index:
        tiers = TieredCacheManager(
            [MemoryBackend(1 << 20), DiskBackend(tmp_path / "c", 1 << 20)], index
        )
        assert tiers.get_bytes(added) == data


def test_the_issue_example(kubo: KuboNode) -> None:
    assert kubo.cli("cat", "bafkqablimvwgy3y").stdout == b"hello"
    assert inline_bytes(parse_cid("bafkqablimvwgy3y")) == b"hello"
