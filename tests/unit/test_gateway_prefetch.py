"""Read-ahead: blocks come back in any order asked, each fetched once when wanted,
errors surface from ``get``, and at most ``depth`` fetches run at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.cid import CID, sha256_cid
from ipfs_kit_py.errors import ContentNotFoundError
from ipfs_kit_py.gateway.prefetch import Prefetcher

BLOCKS = {bytes(sha256_cid(0x55, bytes([i]))): bytes([i]) for i in range(40)}
CIDS = [sha256_cid(0x55, bytes([i])) for i in range(40)]
POOL = ThreadPoolExecutor(4)


class Counting:
    def __init__(self) -> None:
        self.calls: dict[bytes, int] = {}
        self.lock = threading.Lock()
        self.running = self.peak = 0

    def __call__(self, cid: CID) -> bytes:
        with self.lock:
            self.calls[bytes(cid)] = self.calls.get(bytes(cid), 0) + 1
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            if bytes(cid) not in BLOCKS:
                raise ContentNotFoundError("absent")
            return BLOCKS[bytes(cid)]
        finally:
            with self.lock:
                self.running -= 1


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 39), max_size=30),
    st.lists(st.integers(0, 39), max_size=30),
    st.integers(1, 8),
)
def test_gets_answer_the_right_block_and_fetch_each_wanted_once(
    wanted: list[int], asked: list[int], depth: int
) -> None:
    get = Counting()
    ahead = Prefetcher(get, POOL, depth=depth)
    ahead.want(CIDS[i] for i in wanted)
    for i in asked:
        assert ahead.get(CIDS[i]) == bytes([i])
    ahead.close()
    assert get.peak <= depth + 1  # the read-ahead, plus one direct read
    for i in set(wanted) - set(asked):
        assert get.calls.get(bytes(CIDS[i]), 0) <= 1


def test_an_error_surfaces_from_get() -> None:
    absent = sha256_cid(0x55, b"absent")
    ahead = Prefetcher(Counting(), POOL)
    ahead.want([absent, CIDS[0]])
    with pytest.raises(ContentNotFoundError):
        ahead.get(absent)
    assert ahead.get(CIDS[0]) == b"\x00"
