"""Path resolution through basic directories and HAMT shards, stat and listings."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.hamt import ShardingPolicy
from ipfs_kit_py.content.random_access import RandomAccessFile, VerifiedBlocks
from ipfs_kit_py.content.resolve import (
    MAX_PATH_BYTES,
    MAX_SEGMENTS,
    resolve,
    split_path,
    stat,
)
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, ImportProfile
from ipfs_kit_py.errors import (
    InvalidInputError,
    NotADirectoryPathError,
    PathNotFoundError,
    UnsafePathError,
)
from ipfs_kit_py.kit_reads import split_target
from tests.unit.test_random_access import MemoryBlocks

SHARD_ALWAYS = ShardingPolicy(threshold=1, fanout=16)


def make_tree(root: Path, files: int) -> dict[str, bytes]:
    rng = random.Random(files)
    contents: dict[str, bytes] = {}
    (root / "sub" / "deep").mkdir(parents=True)
    for i in range(files):
        name = f"file-{i:04d}.bin"
        data = rng.randbytes(rng.randint(0, 3000))
        (root / name).write_bytes(data)
        contents[name] = data
    (root / "sub" / "deep" / "leaf.txt").write_bytes(b"deep leaf")
    contents["sub/deep/leaf.txt"] = b"deep leaf"
    (root / "sub" / "link").symlink_to("deep/leaf.txt")
    return contents


def imported_tree(
    tmp_path: Path, files: int, sharding: ShardingPolicy, profile: ImportProfile = KUBO_CID_V1
) -> tuple[CID, MemoryBlocks, dict[str, bytes]]:
    root = tmp_path / "tree"
    root.mkdir()
    contents = make_tree(root, files)
    source = MemoryBlocks()
    result = import_directory(
        root,
        ImportProfile(chunk_size=1024, raw_leaves=True, cid_version=1),
        sharding=sharding,
        on_block=source.add,
    )
    return result.cid, source, contents


@pytest.mark.parametrize(
    "sharding", [ShardingPolicy(threshold=0), SHARD_ALWAYS], ids=["basic", "hamt"]
)
def test_every_path_resolves_to_its_bytes(tmp_path: Path, sharding: ShardingPolicy) -> None:
    root, source, contents = imported_tree(tmp_path, 300, sharding)
    blocks = VerifiedBlocks([source])
    for path, data in contents.items():
        cid, node = resolve(root, path, blocks)
        assert node.kind == "file"
        assert RandomAccessFile(cid, blocks).read() == data
    listing = stat(root, "", blocks)
    assert listing.type == "directory"
    assert sorted(e.name for e in listing.entries) == sorted(
        [*(p for p in contents if "/" not in p), "sub"]
    )
    types = {e.name: e.type for e in listing.entries}
    assert types["sub"] == "directory" and types["file-0000.bin"] == "file"
    sizes = {e.name: e.size for e in listing.entries if e.type == "file"}
    assert all(sizes[name] == len(contents[name]) for name in sizes)
    link = stat(root, "sub/link", blocks)
    assert link.type == "symlink" and link.size == len("deep/leaf.txt")
    assert stat(root, "/sub/deep/leaf.txt/", blocks).size == len(b"deep leaf")


def test_hamt_lookup_fetches_only_the_shards_on_the_names_path(tmp_path: Path) -> None:
    root, source, _ = imported_tree(tmp_path, 2000, SHARD_ALWAYS)
    blocks = VerifiedBlocks([source], cache_bytes=0)
    resolve(root, "file-1234.bin", blocks)
    # fanout 16 over 2000 names: about three levels, plus the root and the target
    assert blocks.stats.blocks <= 6
    total_shards = len(source.blocks)
    assert total_shards > 100


def test_missing_names_and_files_as_directories(tmp_path: Path) -> None:
    root, source, _ = imported_tree(tmp_path, 20, SHARD_ALWAYS)
    blocks = VerifiedBlocks([source])
    with pytest.raises(PathNotFoundError):
        resolve(root, "nope", blocks)
    with pytest.raises(PathNotFoundError):
        resolve(root, "sub/deep/nope", blocks)
    with pytest.raises(NotADirectoryPathError):
        resolve(root, "file-0001.bin/x", blocks)
    with pytest.raises(NotADirectoryPathError):
        resolve(root, "sub/link/x", blocks)  # symlinks are not followed
    for bad in ("a/../b", "./a", "a//b", "a/\0"):
        with pytest.raises(UnsafePathError):
            resolve(root, bad, blocks)


def test_path_bounds() -> None:
    assert split_path("") == [] and split_path("/") == [] and split_path("/a/b/") == ["a", "b"]
    with pytest.raises(InvalidInputError):
        split_path("a" * (MAX_PATH_BYTES + 1))
    with pytest.raises(InvalidInputError):
        split_path("/".join(["a"] * (MAX_SEGMENTS + 1)))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_split_path_answers_any_text_with_segments_or_invalid_input(text: str) -> None:
    try:
        segments = split_path(text)
    except InvalidInputError:
        return
    assert all(s not in ("", ".", "..") and "/" not in s and "\0" not in s for s in segments)
    assert "/".join(segments) == text.strip("/")


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.sampled_from(["", "/ipfs/", "ipfs://", "ipfs/"]),
    path=st.lists(st.text("abc.-_é ", min_size=1, max_size=8), max_size=4),
    junk=st.text(max_size=40),
)
def test_split_target_parses_cid_and_path_or_raises_invalid_input(
    prefix: str, path: list[str], junk: str
) -> None:
    cid = "bafkqablimvwgy3y"
    try:
        root, rest = split_target(prefix + cid + ("/" + "/".join(path) if path else ""))
    except InvalidInputError:
        assert any(p in (".", "..") for p in path)
    else:
        assert str(root) == cid and rest == "/".join(path)
    with contextlib.suppress(InvalidInputError):
        split_target(junk)  # any text: a target or InvalidInputError, nothing else
