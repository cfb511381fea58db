"""The gateway's CAR walk: verified blocks, DAG walked from the root, gaps are errors."""

from __future__ import annotations

import io
import itertools
import random
from pathlib import Path

import pytest

from ipfs_kit_py.backends import gateway as gateway_module
from ipfs_kit_py.backends.gateway import GatewayBackend, _walk_car
from ipfs_kit_py.content.car import encode_car_block, encode_car_header
from ipfs_kit_py.content.dagpb import decode_node
from ipfs_kit_py.content.unixfs import Block, ImportProfile, import_file
from ipfs_kit_py.errors import (
    BackendError,
    BackendTimeoutError,
    CARFormatError,
    ContentMismatchError,
    ContentNotFoundError,
)

SMALL = ImportProfile(chunk_size=1024, raw_leaves=True, cid_version=1, max_links=4)
PB_LEAVES = ImportProfile(chunk_size=1024, raw_leaves=False, cid_version=0, max_links=4)


def dag(data: bytes, profile: ImportProfile = SMALL) -> tuple[Block, list[Block]]:
    blocks: list[Block] = []
    root = import_file([data], profile, on_block=blocks.append).cid
    return next(b for b in blocks if b.cid == root), blocks


def car(root: Block, blocks: list[Block]) -> io.BytesIO:
    body = encode_car_header([root.cid]) + b"".join(encode_car_block(b.cid, b.data) for b in blocks)
    return io.BytesIO(body)


DATA = random.Random(5).randbytes(20_000)


@pytest.mark.parametrize("profile", [SMALL, PB_LEAVES])
def test_walk_in_dfs_and_in_any_order(profile: ImportProfile) -> None:
    root, blocks = dag(DATA, profile)
    assert b"".join(_walk_car(root.cid, car(root, blocks))) == DATA  # leaves first
    shuffled = blocks[:]
    random.Random(1).shuffle(shuffled)
    assert b"".join(_walk_car(root.cid, car(root, shuffled))) == DATA


def test_missing_block_is_an_error() -> None:
    root, blocks = dag(DATA)
    with pytest.raises(ContentMismatchError, match="lacks block"):
        b"".join(_walk_car(root.cid, car(root, blocks[1:])))


def test_tampered_block_is_an_error() -> None:
    root, blocks = dag(DATA)
    bad = [Block(blocks[0].cid, b"x" + blocks[0].data[1:]), *blocks[1:]]
    with pytest.raises(ContentMismatchError):
        b"".join(_walk_car(root.cid, car(root, bad)))


def test_single_raw_block_file() -> None:
    root, blocks = dag(b"hello")
    assert b"".join(_walk_car(root.cid, car(root, blocks))) == b"hello"


def test_gateway_backend_is_read_only(tmp_path: Path) -> None:
    with GatewayBackend("http://127.0.0.1:9") as gateway:
        assert gateway.name == "gateway" and gateway.base_url == "http://127.0.0.1:9/ipfs"
        root, _ = dag(b"x")
        with pytest.raises(BackendError, match="read-only"):
            gateway.put(root.cid, [b"x"])
        with pytest.raises(BackendError, match="read-only"):
            gateway.delete(root.cid)


KUBO_BREAK = b"\n\n[Gateway Error: CAR stream truncated, response is incomplete]"


def test_a_car_broken_off_before_the_root_is_content_not_found() -> None:
    root, _ = dag(DATA)
    stream = io.BytesIO(encode_car_header([root.cid]) + KUBO_BREAK)  # kubo, lacking the root
    with pytest.raises(ContentNotFoundError) as info:
        b"".join(_walk_car(root.cid, stream, "http://gw/ipfs/x"))
    assert isinstance(info.value.__cause__, CARFormatError)
    assert (info.value.backend, info.value.locator) == ("gateway", "http://gw/ipfs/x")


def test_a_car_broken_off_after_the_root_stays_a_format_error() -> None:
    root, blocks = dag(DATA)
    ordered = [root, *(b for b in blocks if b.cid != root.cid)]
    body = encode_car_header([root.cid]) + encode_car_block(root.cid, root.data)
    body += encode_car_block(ordered[1].cid, ordered[1].data) + KUBO_BREAK
    with pytest.raises(CARFormatError):
        b"".join(_walk_car(root.cid, io.BytesIO(body)))


def _ticking_clock(monkeypatch: pytest.MonkeyPatch, step: float) -> None:
    """The gateway module's clock advances ``step`` seconds at every reading."""
    ticks = itertools.count()
    monkeypatch.setattr(gateway_module.time, "monotonic", lambda: next(ticks) * step)


def test_unneeded_blocks_for_longer_than_the_window_end_the_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a gateway sending blocks nobody asked for just above min_rate: cut by time, not
    # only after 32 MiB of them
    root, blocks = dag(DATA)
    junk = [dag(b"junk %d" % i)[0] for i in range(20)]
    _ticking_clock(monkeypatch, 1.0)
    with pytest.raises(BackendTimeoutError, match="not needed for 5s"):
        b"".join(_walk_car(root.cid, car(root, junk + blocks), junk_window=5.0))


def test_a_slow_answer_of_needed_blocks_is_not_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    root, blocks = dag(DATA)
    by_cid, ordered, todo = {b.cid: b for b in blocks}, [], [root.cid]
    while todo:  # depth first, as the walk asks for them: nothing unneeded ever arrives
        block = by_cid[todo.pop()]
        ordered.append(block)
        if block.cid.codec.name == "dag-pb":
            todo.extend(link.cid for link in reversed(decode_node(block.data).links))
    _ticking_clock(monkeypatch, 100.0)  # every block much later than the window
    assert b"".join(_walk_car(root.cid, car(root, ordered), junk_window=5.0)) == DATA
