"""Identity CIDs are content: read from the CID itself, by the helper and by the tiers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.disk import DiskBackend
from ipfs_kit_py.backends.memory import MemoryBackend
from ipfs_kit_py.cli.main import main
from ipfs_kit_py.content.cid import CID, DAG_CBOR, DAG_PB, RAW, parse_cid, sha256_cid
from ipfs_kit_py.content.dagpb import PBLink, UnixFSType, encode_node, encode_unixfs, encode_varint
from ipfs_kit_py.content.inline import check_inline_file, inline_bytes, is_inline
from ipfs_kit_py.errors import ContentMismatchError, ContentNotFoundError, NotAFileError
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.ipfs_kit import ipfs_kit
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


@settings(max_examples=60, deadline=None)
@given(codec=st.sampled_from([DAG_CBOR, 0x0129, 0x0202, 0x0200]), block=st.binary(max_size=60))
def test_an_inline_block_of_another_codec_is_not_a_file_and_says_so(
    codec: int, block: bytes
) -> None:
    cid = CID("base32", 1, codec, ("identity", block))
    with pytest.raises(
        NotAFileError, match=rf"inline {cid.codec.name} block: its {len(block)} bytes"
    ):
        inline_bytes(cid)
    with pytest.raises(NotAFileError, match="not a UnixFS file"):
        check_inline_file(cid)
    check_inline_file(identity(RAW, block))  # raw and dag-pb are read as files
    check_inline_file(sha256_cid(codec, block))  # a stored block: for the tiers to find


def test_every_read_of_an_inline_dag_cbor_cid_says_what_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for kind in ("CACHE", "DATA", "CONFIG"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.delenv("IPFS_API_URL", raising=False)
    cid = identity(DAG_CBOR, b"\xa1\x61\x61\x01")  # {"a": 1}
    with ipfs_kit() as kit:
        reads = [
            kit.cat,
            lambda c: b"".join(kit.get(c)),
            lambda c: kit.get_to_path(c, tmp_path / "out"),
            kit.open,
            kit.stat,
            lambda c: list(kit.iter_range(c)),
        ]
        for read in reads:
            with pytest.raises(NotAFileError, match="inline dag-cbor block: its 4 bytes"):
                read(cid)
        assert kit.ipfs_cat(cid)["error_type"] == "NotAFileError"
    assert not (tmp_path / "out").exists()
    assert main(["cat", str(cid)]) == 2
    assert "inline dag-cbor block" in capsys.readouterr().err
    assert main(["whereis", str(cid)]) == 0
    assert "inline" in capsys.readouterr().out


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
