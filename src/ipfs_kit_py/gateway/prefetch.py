"""Read-ahead of blocks on worker threads: while one block is sent, the next ones are
fetched and verified (hashing releases the GIL, so it runs on the other cores).

A walk says which blocks it will visit (:meth:`Prefetcher.want`, newest first, as a
depth-first stack pops them); at most ``depth`` fetches are in flight, so memory stays
bounded by ``depth`` blocks. :meth:`Prefetcher.get` answers from a finished or running
fetch, else fetches at once. Errors surface from ``get``, in visit order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from ipfs_kit_py.content.cid import CID

__all__ = ["Prefetcher"]

BlockGetter = Callable[[CID], bytes]


class Prefetcher:
    """A block getter with read-ahead; use one per response (it is not thread-safe)."""

    def __init__(self, get: BlockGetter, pool: ThreadPoolExecutor, depth: int = 16) -> None:
        self._get = get
        self._pool = pool
        self._depth = depth
        self._running: dict[bytes, Future[bytes]] = {}
        self._backlog: deque[CID] = deque()
        self._fetched: set[bytes] = set()  # read without read-ahead: never fetch again

    def want(self, cids: Iterable[CID]) -> None:
        """Blocks a depth-first walk will visit next, in visit order."""
        self._backlog.extendleft(reversed(list(cids)))
        self._top_up()

    def get(self, cid: CID) -> bytes:
        """The block ``cid`` (verified by the wrapped getter)."""
        key = bytes(cid)
        running = self._running.pop(key, None)
        if running is None:
            self._fetched.add(key)
        self._top_up()
        return self._get(cid) if running is None else running.result()

    def close(self) -> None:
        """Cancel what has not started; results still running are dropped."""
        for future in self._running.values():
            future.cancel()
        self._running.clear()
        self._backlog.clear()

    def _top_up(self) -> None:
        while self._backlog and len(self._running) < self._depth:
            cid = self._backlog.popleft()
            key = bytes(cid)
            if key not in self._running and key not in self._fetched:
                self._running[key] = self._pool.submit(self._get, cid)
