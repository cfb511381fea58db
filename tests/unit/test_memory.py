"""MemoryBackend: byte-bounded ARC, ghost lists that adapt the T1 target."""

from __future__ import annotations

import pytest

from ipfs_kit_py.backends.base import Backend
from ipfs_kit_py.backends.memory import MemoryBackend
from ipfs_kit_py.content.cid import RAW, sha256_cid
from ipfs_kit_py.errors import ContentNotFoundError, InvalidInputError

KB = 1024


def fill(cache: MemoryBackend, names: list[str], size: int) -> None:
    for name in names:
        assert cache.insert(name, bytes(size))


def test_is_a_backend_and_round_trips() -> None:
    cache = MemoryBackend(1 << 20)
    assert isinstance(cache, Backend)
    cid = sha256_cid(RAW, b"hello")
    obj = cache.put(cid, [b"hel", b"lo"])
    assert (obj.size, cache.has(cid)) == (5, True)
    assert b"".join(cache.get(cid)) == b"hello"
    cache.delete(cid)
    cache.delete(cid)
    with pytest.raises(ContentNotFoundError):
        cache.get(cid)
    with pytest.raises(ContentNotFoundError):
        cache.stat(cid)


def test_bound_is_bytes_not_items() -> None:
    cache = MemoryBackend(100 * KB, max_object_bytes=100 * KB)
    fill(cache, [f"s{i}" for i in range(50)], 1 * KB)  # 50 small objects fit
    assert cache.used_bytes == 50 * KB
    fill(cache, ["big1", "big2"], 40 * KB)
    assert cache.used_bytes <= 100 * KB
    assert cache.peek("big1") is not None and cache.peek("big2") is not None
    assert sum(cache.peek(f"s{i}") is not None for i in range(50)) == 20


def test_objects_over_the_limit_are_not_cached() -> None:
    cache = MemoryBackend(100 * KB)  # default max object: a quarter
    assert not cache.insert("huge", bytes(26 * KB))
    assert cache.insert("ok", bytes(25 * KB))
    with pytest.raises(InvalidInputError):
        MemoryBackend(0)


def test_second_access_moves_to_t2_and_survives_a_scan() -> None:
    cache = MemoryBackend(10 * KB, max_object_bytes=10 * KB)
    fill(cache, ["hot"], KB)
    assert cache.lookup("hot") is not None  # now frequent (T2)
    fill(cache, [f"scan{i}" for i in range(30)], KB)  # one-time scan through T1
    assert cache.peek("hot") is not None
    stats = cache.stats()
    assert stats.t1 + stats.t2 <= 10 * KB and stats.t2 == KB


def test_ghost_hit_in_b1_grows_t1_target() -> None:
    cache = MemoryBackend(10 * KB, max_object_bytes=10 * KB)
    fill(cache, [f"h{i}" for i in range(5)], KB)
    for i in range(5):
        cache.lookup(f"h{i}")  # T2: 5 KB of frequent objects
    fill(cache, [f"a{i}" for i in range(5)], KB)
    fill(cache, [f"b{i}" for i in range(3)], KB)  # a0..a2 leave T1 as B1 ghosts
    assert (cache.stats().b1, cache.stats().target_t1) == (3 * KB, 0)
    fill(cache, ["a0"], KB)  # a ghost hit: the recency side was too small
    stats = cache.stats()
    assert stats.target_t1 >= KB
    assert "a0" in cache._t2 and stats.t2 == 6 * KB


def test_ghost_hit_in_b2_shrinks_t1_target() -> None:
    cache = MemoryBackend(4 * KB, max_object_bytes=4 * KB)
    fill(cache, ["x", "y", "z", "w"], KB)
    for key in ("x", "y", "z", "w"):
        cache.lookup(key)  # all frequent: T1 empty
    fill(cache, ["v"], KB)  # T1 is under target, so T2's LRU x becomes a B2 ghost
    fill(cache, ["u"], KB)  # v leaves T1 as a B1 ghost
    fill(cache, ["v"], KB)  # B1 hit: target grows
    grown = cache.stats().target_t1
    assert grown >= KB and "x" in cache._b2
    fill(cache, ["x"], KB)  # B2 hit: the frequency side was too small
    assert cache.stats().target_t1 < grown
    assert "x" in cache._t2


def test_ghost_lists_are_bounded() -> None:
    cache = MemoryBackend(8 * KB, max_object_bytes=8 * KB)
    fill(cache, [f"k{i}" for i in range(1000)], KB)
    stats = cache.stats()
    assert stats.t1 + stats.b1 <= 8 * KB
    assert stats.t1 + stats.t2 + stats.b1 + stats.b2 <= 16 * KB


def test_hit_and_miss_counters() -> None:
    cache = MemoryBackend(8 * KB)
    fill(cache, ["a"], KB)
    cache.lookup("a")
    cache.lookup("b")
    assert (cache.stats().hits, cache.stats().misses) == (1, 1)
