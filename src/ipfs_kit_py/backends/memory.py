"""MemoryBackend: an in-process, byte-bounded ARC (adaptive replacement cache).

ARC (Megiddo & Modha) keeps two LRU lists of cached objects, T1 (seen once recently)
and T2 (seen at least twice), and two *ghost* lists B1/B2 of keys recently evicted from
them. A hit in a ghost list shows which list was too small, and moves the target size
``p`` of T1 towards it. Here every size is counted in bytes, not items, so one large
object cannot pin the cache to a handful of entries and many small ones are not
under-counted. Objects larger than ``max_object_bytes`` are never cached.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from ipfs_kit_py.backends.base import BaseBackend, StoredObject
from ipfs_kit_py.config import Sources, parse_number
from ipfs_kit_py.content.cid import cid_key
from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.errors import ContentNotFoundError, InvalidInputError

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = ["ArcStats", "MemoryBackend"]

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class ArcStats:
    """A snapshot of the ARC lists, in bytes, and the adaptive target ``p``."""

    capacity: int
    target_t1: int
    t1: int
    t2: int
    b1: int
    b2: int
    hits: int
    misses: int


class MemoryBackend(BaseBackend):
    """Byte-bounded ARC cache of whole objects, keyed by ``cid_key``; thread-safe."""

    durable = False  # gone with the process: never counts as a copy for replication

    def __init__(
        self,
        capacity_bytes: int = 256 << 20,
        *,
        max_object_bytes: int | None = None,
        name: str = "memory",
    ) -> None:
        if capacity_bytes <= 0:
            raise InvalidInputError(f"memory capacity must be positive, got {capacity_bytes}")
        self.name = name
        self.capacity = capacity_bytes
        self.max_object_bytes = (
            capacity_bytes // 4 if max_object_bytes is None else max_object_bytes
        )
        self._t1: OrderedDict[str, bytes] = OrderedDict()
        self._t2: OrderedDict[str, bytes] = OrderedDict()
        self._b1: OrderedDict[str, int] = OrderedDict()
        self._b2: OrderedDict[str, int] = OrderedDict()
        self._size = {"t1": 0, "t2": 0, "b1": 0, "b2": 0}
        self._p = 0
        self._hits = 0
        self._misses = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryBackend(capacity_bytes={self.capacity})"

    @classmethod
    def from_sources(
        cls,
        args: Mapping[str, Any] | None = None,
        section: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Self:
        """``memory_bytes`` from args > ``[cache]`` > ``IPFS_KIT_MEMORY_BYTES`` (256 MiB)."""
        sources = Sources.of(args, section, env)
        capacity = sources.get("memory_bytes", "IPFS_KIT_MEMORY_BYTES", default=256 << 20)
        return cls(parse_number("memory_bytes", capacity, int, minimum=1))

    # -- Backend protocol ---------------------------------------------------------------

    def has(self, cid: CID) -> bool:
        key = cid_key(cid)
        return key in self._t1 or key in self._t2

    def stat(self, cid: CID) -> StoredObject:
        data = self.peek(cid_key(cid))
        if data is None:
            raise ContentNotFoundError(f"{cid} is not in the memory tier", backend="memory")
        return StoredObject(cid, len(data), f"memory:{cid_key(cid)}")

    def get(self, cid: CID) -> Iterator[bytes]:
        data = self.lookup(cid_key(cid))
        if data is None:
            raise ContentNotFoundError(f"{cid} is not in the memory tier", backend="memory")
        view = memoryview(data)
        return (bytes(view[i : i + _CHUNK]) for i in range(0, max(len(data), 1), _CHUNK))

    def put(
        self,
        cid: CID,
        chunks: Iterable[bytes],
        size: int | None = None,
        *,
        profile: ImportProfile | None = None,
    ) -> StoredObject:
        if size is not None and not self.fits(size):
            raise InvalidInputError(f"{cid}: {size} bytes do not fit the memory tier")
        data = bytearray()
        for chunk in chunks:
            data += chunk
            if not self.fits(len(data)):
                raise InvalidInputError(f"{cid}: more bytes than fit the memory tier")
        self.insert(cid_key(cid), bytes(data))
        return StoredObject(cid, len(data), f"memory:{cid_key(cid)}")

    def delete(self, cid: CID) -> None:
        key = cid_key(cid)
        with self._lock:
            for name, lst in (("t1", self._t1), ("t2", self._t2)):
                data = lst.pop(key, None)
                if data is not None:
                    self._size[name] -= len(data)

    # -- ARC ----------------------------------------------------------------------------

    def lookup(self, key: str, *, count_miss: bool = True) -> bytes | None:
        """Return the bytes cached under ``key`` and record the hit (T1 -> T2)."""
        with self._lock:
            data = self._t1.pop(key, None)
            if data is not None:
                self._size["t1"] -= len(data)
                self._t2[key] = data
                self._size["t2"] += len(data)
                self._hits += 1
                return data
            data = self._t2.get(key)
            if data is not None:
                self._t2.move_to_end(key)
                self._hits += 1
                return data
            self._misses += count_miss
            return None

    def peek(self, key: str) -> bytes | None:
        """Return the cached bytes without counting an access."""
        with self._lock:
            data = self._t1.get(key)
            return data if data is not None else self._t2.get(key)  # b"" is content too

    def fits(self, size: int) -> bool:
        """True if an object of ``size`` bytes may be cached."""
        return size <= self.max_object_bytes and size <= self.capacity

    def insert(self, key: str, data: bytes) -> bool:
        """Cache ``data`` under ``key``; return False if it is too large to cache."""
        if not self.fits(len(data)):
            return False
        size = len(data)
        with self._lock:
            if key in self._t1 or key in self._t2:
                self._promote(key)
                return True
            if key in self._b1:
                self._adapt(grow_t1=True, size=size)
                self._size["b1"] -= self._b1.pop(key)
                self._replace(size, in_b2=False)
                self._add("t2", self._t2, key, data)
            elif key in self._b2:
                self._adapt(grow_t1=False, size=size)
                self._size["b2"] -= self._b2.pop(key)
                self._replace(size, in_b2=True)
                self._add("t2", self._t2, key, data)
            else:
                self._replace(size, in_b2=False)
                self._add("t1", self._t1, key, data)
            self._trim_ghosts()
        return True

    def _promote(self, key: str) -> None:
        """Move an already-cached ``key`` to the MRU end of T2 (caller holds the lock)."""
        data = self._t1.pop(key, None)
        if data is not None:
            self._size["t1"] -= len(data)
            self._add("t2", self._t2, key, data)
        else:
            self._t2.move_to_end(key)

    def stats(self) -> ArcStats:
        """Return the current list sizes in bytes."""
        with self._lock:
            s = self._size
            return ArcStats(
                self.capacity,
                self._p,
                s["t1"],
                s["t2"],
                s["b1"],
                s["b2"],
                self._hits,
                self._misses,
            )

    @property
    def used_bytes(self) -> int:
        return self._size["t1"] + self._size["t2"]

    def _add(self, name: str, lst: OrderedDict[str, bytes], key: str, data: bytes) -> None:
        lst[key] = data
        self._size[name] += len(data)

    def _adapt(self, *, grow_t1: bool, size: int) -> None:
        # The byte form of ARC's delta: scale by the relative weight of the other ghost.
        b1, b2 = max(self._size["b1"], 1), max(self._size["b2"], 1)
        if grow_t1:
            self._p = min(self.capacity, self._p + max(size, size * b2 // b1))
        else:
            self._p = max(0, self._p - max(size, size * b1 // b2))

    def _replace(self, incoming: int, *, in_b2: bool) -> None:
        while self.used_bytes + incoming > self.capacity and (self._t1 or self._t2):
            t1 = self._size["t1"]
            if self._t1 and (t1 > self._p or (in_b2 and t1 >= self._p) or not self._t2):
                key, data = self._t1.popitem(last=False)
                self._size["t1"] -= len(data)
                self._b1[key] = len(data)
                self._size["b1"] += len(data)
            else:
                key, data = self._t2.popitem(last=False)
                self._size["t2"] -= len(data)
                self._b2[key] = len(data)
                self._size["b2"] += len(data)
            logger.debug("memory tier evicted %s (%d bytes)", key, len(data))

    def _trim_ghosts(self) -> None:
        # Ghosts remember at most one cache's worth of bytes per side, like ARC's |L1| <= c.
        while self._b1 and self._size["t1"] + self._size["b1"] > self.capacity:
            self._size["b1"] -= self._b1.popitem(last=False)[1]
        while (
            self._b2 and self.used_bytes + self._size["b1"] + self._size["b2"] > 2 * self.capacity
        ):
            self._size["b2"] -= self._b2.popitem(last=False)[1]
