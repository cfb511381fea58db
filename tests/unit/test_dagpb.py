from __future__ import annotations

import pytest

from ipfs_kit_py.content.cid import DAG_PB, RAW, sha256_cid
from ipfs_kit_py.content.dagpb import (
    PBLink,
    UnixFSType,
    decode_node,
    decode_unixfs,
    encode_node,
    encode_unixfs,
)
from ipfs_kit_py.errors import ContentMismatchError


def test_known_nodes_hash_to_kubo_cids() -> None:
    hello = encode_node(encode_unixfs(UnixFSType.FILE, data=b"hello\n", filesize=6))
    empty_file = encode_node(encode_unixfs(UnixFSType.FILE, filesize=0))
    empty_dir = encode_node(encode_unixfs(UnixFSType.DIRECTORY))
    assert str(sha256_cid(DAG_PB, hello, 0)) == "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"
    assert (
        str(sha256_cid(DAG_PB, empty_file, 0)) == "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
    )
    assert str(sha256_cid(DAG_PB, empty_dir, 0)) == "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"


def test_round_trip_with_links_and_blocksizes() -> None:
    child = sha256_cid(RAW, b"x" * 300)
    data = encode_unixfs(UnixFSType.FILE, filesize=600, blocksizes=[300, 300])
    node = encode_node(data, [PBLink(child, "", 300), PBLink(child, "", 300)])
    decoded = decode_node(node)
    assert [link.cid for link in decoded.links] == [child, child]
    assert [link.tsize for link in decoded.links] == [300, 300]
    assert decoded.links[0].name == ""
    unixfs = decode_unixfs(decoded.data or b"")
    assert unixfs.type is UnixFSType.FILE
    assert unixfs.filesize == 600
    assert unixfs.blocksizes == (300, 300)


def test_links_come_before_data_in_canonical_form() -> None:
    child = sha256_cid(RAW, b"a")
    node = encode_node(b"\x08\x01", [PBLink(child, "a", 1)])
    assert node[0] == 0x12  # field 2 (Links), wire type 2


@pytest.mark.parametrize("bad", [b"\xff", b"\x0a\x05ab", b"\x12\x02\x0a\x00", b"\x1a\x00"])
def test_malformed_nodes_raise_a_typed_error(bad: bytes) -> None:
    with pytest.raises(ContentMismatchError, match="malformed"):
        decode_node(bad)


def test_unknown_unixfs_type_is_refused() -> None:
    with pytest.raises(ContentMismatchError, match="type"):
        decode_unixfs(b"\x08\x09")


def test_decoded_link_cids_print_in_base32() -> None:
    child = sha256_cid(RAW, b"a")
    node = decode_node(encode_node(None, [PBLink(child, "a", 1)]))
    assert str(node.links[0].cid) == str(child)
    assert str(child).startswith("bafk")
