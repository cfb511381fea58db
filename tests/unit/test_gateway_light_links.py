"""The CAR walk's fast link reader (light CIDs) against the dag-pb decoder: the same
links for every block, canonical or not, and the same refusals."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.cid import DAG_PB, RAW, make_cid
from ipfs_kit_py.content.dagpb import PBLink, decode_node, encode_node
from ipfs_kit_py.errors import ContentMismatchError
from ipfs_kit_py.gateway.dagwalk import _child_cids, _light_links

cids = st.builds(
    lambda codec, digest, v0: make_cid(codec, digest, 0 if v0 and codec == DAG_PB else 1),
    st.sampled_from([DAG_PB, RAW]),
    st.binary(min_size=32, max_size=32),
    st.booleans(),
)
links = st.builds(
    PBLink,
    cids,
    st.one_of(st.none(), st.text(max_size=12)),
    st.one_of(st.none(), st.integers(0, 1 << 40)),
)


def decoded(block: bytes) -> list[bytes] | None:
    try:
        return [bytes(link.cid) for link in decode_node(block).links]
    except ContentMismatchError:
        return None


def fast(block: bytes) -> list[bytes] | None:
    try:
        return [bytes(cid) for cid in _child_cids(block)]
    except ContentMismatchError:
        return None


@settings(max_examples=200, deadline=None)
@given(st.lists(links, max_size=6), st.one_of(st.none(), st.binary(max_size=40)))
def test_canonical_nodes_are_read_light_with_the_decoders_links(
    node_links: list[PBLink], data: bytes | None
) -> None:
    block = encode_node(data, node_links)
    light = _light_links(block)
    assert light is not None
    assert [bytes(c) for c in light] == decoded(block)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(links, max_size=4), st.binary(max_size=30), st.integers(0, 200), st.binary(max_size=6)
)
def test_any_block_gives_the_decoders_answer(
    node_links: list[PBLink], data: bytes, cut: int, junk: bytes
) -> None:
    """Cut, spliced or junk blocks: the same links, or both refuse."""
    block = encode_node(data, node_links)
    for variant in (block[:cut], block[:cut] + junk + block[cut:], junk, data + block):
        assert fast(variant) == decoded(variant)
