"""dag-pb and UnixFS: encode/decode round trips; arbitrary bytes decode or raise typed."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.cid import DAG_PB, RAW, sha256_cid
from ipfs_kit_py.content.dag import load_node, read_verified_file, verified_getter
from ipfs_kit_py.content.dagpb import (
    PBNode,
    UnixFSData,
    decode_node,
    decode_unixfs,
    encode_node,
    encode_unixfs,
)
from ipfs_kit_py.errors import ContentMismatchError, IpfsKitError
from tests.property.strategies import mutated, pb_nodes, unixfs_data


@settings(max_examples=300, deadline=None)
@given(pb_nodes)
def test_nodes_round_trip_canonically(node: PBNode) -> None:
    encoded = encode_node(node.data, node.links)
    decoded = decode_node(encoded)
    assert decoded == node
    assert encode_node(decoded.data, decoded.links) == encoded


@settings(max_examples=300, deadline=None)
@given(unixfs_data)
def test_unixfs_data_round_trips(data: UnixFSData) -> None:
    encoded = encode_unixfs(
        data.type,
        data=data.data,
        filesize=data.filesize,
        blocksizes=data.blocksizes,
        hash_type=data.hash_type,
        fanout=data.fanout,
    )
    assert decode_unixfs(encoded) == data


def _decode_or_typed_error(buf: bytes) -> None:
    try:
        node = decode_node(buf)
    except ContentMismatchError:
        return
    assert isinstance(node, PBNode)
    if node.data is not None:
        with contextlib.suppress(ContentMismatchError):
            decode_unixfs(node.data)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_decode_or_raise_typed(buf: bytes) -> None:
    _decode_or_typed_error(buf)
    with contextlib.suppress(ContentMismatchError):
        decode_unixfs(buf)


@settings(max_examples=500, deadline=None)
@given(pb_nodes.flatmap(lambda n: mutated(encode_node(n.data, n.links))))
def test_mutated_nodes_decode_or_raise_typed(buf: bytes) -> None:
    _decode_or_typed_error(buf)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([RAW, DAG_PB]))
def test_reading_any_block_as_a_file_yields_bytes_or_a_typed_error(buf: bytes, codec: int) -> None:
    cid = sha256_cid(codec, buf)
    blocks = {bytes(cid): buf}
    get = verified_getter(lambda c: blocks[bytes(c)])
    try:
        content = b"".join(read_verified_file(cid, get))
        load_node(cid, get)
    except IpfsKitError:
        return
    assert codec == DAG_PB or content == buf
