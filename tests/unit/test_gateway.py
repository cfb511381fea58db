"""The gateway's CAR walk: verified blocks, DAG walked from the root, gaps are errors."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from ipfs_kit_py.backends.gateway import GatewayBackend, _walk_car
from ipfs_kit_py.content.car import encode_car_block, encode_car_header
from ipfs_kit_py.content.unixfs import Block, ImportProfile, import_file
from ipfs_kit_py.errors import (
    BackendError,
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
