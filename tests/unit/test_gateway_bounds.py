"""The gateway's CAR walk holds a bounded set of early blocks and stops on repeats.

Hypothesis sends the blocks of a real DAG in any order, repeated, with junk blocks in
between, under small bounds: the walk yields exactly the file or raises a typed error
(:class:`ProtocolError` for a bound, :class:`ContentMismatchError` for a gap).
"""

from __future__ import annotations

import io
import random
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends import gateway
from ipfs_kit_py.backends.gateway import _walk_car
from ipfs_kit_py.content.car import encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import RAW, sha256_cid
from ipfs_kit_py.content.dagpb import decode_node
from ipfs_kit_py.content.unixfs import Block, ImportProfile, import_file
from ipfs_kit_py.errors import ContentMismatchError, ProtocolError

SMALL = ImportProfile(chunk_size=1024, raw_leaves=True, cid_version=1, max_links=4)
DATA = random.Random(5).randbytes(12_000)
BLOCKS: list[Block] = []
ROOT = import_file([DATA], SMALL, on_block=BLOCKS.append).cid


def junk(n: int) -> Block:
    data = b"junk %d" % n
    return Block(sha256_cid(RAW, data), data)


def stream(blocks: list[Block]) -> io.BytesIO:
    body = encode_car_header([ROOT]) + b"".join(encode_car_block(b.cid, b.data) for b in blocks)
    return io.BytesIO(body)


@st.composite
def sendings(draw: st.DrawFn) -> list[Block]:
    """Some of the DAG's blocks, in any order, some repeated, junk mixed in."""
    picks = draw(st.lists(st.integers(0, len(BLOCKS) - 1), max_size=40))
    sent = [BLOCKS[i] for i in picks]
    if draw(st.booleans()):
        sent += BLOCKS  # all of them, after whatever came first
    for n in draw(st.lists(st.integers(0, 50), max_size=10)):
        sent.insert(draw(st.integers(0, len(sent))), junk(n))
    return sent


@settings(max_examples=150, deadline=None)
@given(sendings(), st.integers(1, 8), st.integers(1, 6))
def test_any_sending_gives_the_file_or_a_typed_error(
    sent: list[Block], max_blocks: int, max_repeats: int
) -> None:
    with (
        mock.patch.object(gateway, "MAX_PENDING_BLOCKS", max_blocks),
        mock.patch.object(gateway, "MAX_REPEATED_BLOCKS", max_repeats),
    ):
        try:
            out = b"".join(_walk_car(ROOT, stream(sent)))
        except (ProtocolError, ContentMismatchError):
            return
    assert out == DATA


def test_dfs_order_needs_no_pending_block() -> None:
    with mock.patch.object(gateway, "MAX_PENDING_BLOCKS", 0):
        assert b"".join(_walk_car(ROOT, stream(_dfs(BLOCKS)))) == DATA


def _dfs(blocks: list[Block]) -> list[Block]:
    """Parents first, as a gateway sends ``order=dfs`` (the importer emits leaves first)."""
    by_cid = {b.cid: b for b in blocks}
    out, todo = [], [ROOT]
    while todo:
        block = by_cid[todo.pop()]
        out.append(block)
        if block.cid.codec.code != RAW:
            todo.extend(link.cid for link in reversed(decode_node(block.data).links))
    return out


def test_a_block_repeated_forever_stops() -> None:
    root = next(b for b in BLOCKS if b.cid == ROOT)
    endless = [root] * (gateway.MAX_REPEATED_BLOCKS + 10)
    try:
        b"".join(_walk_car(ROOT, stream(endless)))
    except ProtocolError as exc:
        assert "repeats" in str(exc)
    else:
        raise AssertionError("a CAR repeating its root must not be walked to its end")


def test_unneeded_blocks_are_bounded_in_count() -> None:
    many = [junk(n) for n in range(gateway.MAX_PENDING_BLOCKS + 1)]
    try:
        b"".join(_walk_car(ROOT, stream(many)))
    except ProtocolError as exc:
        assert "not (yet) needed" in str(exc)
    else:
        raise AssertionError("junk blocks must not pile up without bound")
