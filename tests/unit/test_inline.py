"""Identity CIDs are content: read from the CID itself, by the helper and by the tiers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from ipfs_kit_py.backends.disk import DiskBackend
from ipfs_kit_py.backends.memory import MemoryBackend
from ipfs_kit_py.content.cid import CID, DAG_CBOR, DAG_PB, RAW, parse_cid, sha256_cid
from ipfs_kit_py.content.dagpb import PBLink, UnixFSType, encode_node, encode_unixfs, encode_varint
from ipfs_kit_py.content.inline import inline_bytes, is_inline
from ipfs_kit_py.errors import ContentMismatchError, ContentNotFoundError
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.tiers.manager import TieredCacheManager

HELLO = "bafkqablimvwgy3y"  # raw, identity: the five bytes "hello"


def identity(codec: int, block: bytes) -> CID:
    return CID.decode(bytes([0x01, codec, 0x00]) + encode_varint(len(block)) + block)


def file_node(data: bytes = b"", children: Sequence[tuple[CID, int]] = ()) -> bytes:
    sizes = [size for _, size in children]
    unixfs = encode_unixfs(
        UnixFSType.FILE, data=data, filesize=len(data) + sum(sizes), blocksizes=sizes
    )
    return encode_node(unixfs, [PBLink(cid, "", size) for cid, size in children])


def test_raw_identity_is_its_digest() -> None:
    cid = parse_cid(HELLO)
    assert is_inline(cid) and inline_bytes(cid) == b"hello"
    assert inline_bytes(identity(RAW, b"")) == b""
    assert inline_bytes(sha256_cid(RAW, b"hello")) is None


def test_dag_pb_identity_file_of_inline_leaves() -> None:
    leaves = [identity(RAW, b"abc"), identity(RAW, b"defg")]
    root = identity(DAG_PB, file_node(b"", [(leaves[0], 3), (leaves[1], 4)]))
    assert inline_bytes(root) == b"abcdefg"
    assert inline_bytes(identity(DAG_PB, file_node(b"inline data"))) == b"inline data"


def test_dag_pb_identity_linking_stored_blocks_is_left_to_the_tiers() -> None:
    stored = sha256_cid(RAW, b"elsewhere")
    assert inline_bytes(identity(DAG_PB, file_node(b"", [(stored, 9)]))) is None
    assert inline_bytes(identity(DAG_CBOR, b"\xa0")) is None


def test_inline_nodes_that_are_not_files_are_typed_errors() -> None:
    directory = identity(DAG_PB, encode_node(encode_unixfs(UnixFSType.DIRECTORY)))
    with pytest.raises(ContentMismatchError, match="not part of a file"):
        inline_bytes(directory)
    liar = identity(DAG_PB, file_node(b"", [(identity(RAW, b"abc"), 4)]))
    with pytest.raises(ContentMismatchError):
        inline_bytes(liar)
    with pytest.raises(ContentMismatchError):
        inline_bytes(identity(DAG_PB, b"\xff\xff"))


def test_tiers_serve_identity_cids_without_asking_any_tier(tmp_path: Path) -> None:
    with MetadataIndex(tmp_path / "index.sqlite3") as index:
        tiers = TieredCacheManager(
            [MemoryBackend(1 << 20), DiskBackend(tmp_path / "cache", 1 << 20)], index
        )
        assert tiers.get_bytes(HELLO) == b"hello"
        with tiers.open(HELLO) as f:
            assert f.read() == b"hello"
        assert b"".join(tiers.get(parse_cid(HELLO))) == b"hello"
        leaf = identity(RAW, b"xyz")
        assert tiers.get_bytes(identity(DAG_PB, file_node(b"", [(leaf, 3)]))) == b"xyz"
        assert index.locations(HELLO) == []  # nothing was stored or recorded
        with pytest.raises(ContentNotFoundError):  # an ordinary CID still asks the tiers
            tiers.get_bytes(sha256_cid(RAW, b"hello"))
