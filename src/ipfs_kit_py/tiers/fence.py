"""Fences: a copy is recorded only while its writer still holds the right to make it.

A policy worker makes copies under a lease (:mod:`ipfs_kit_py.repair_queue`). Paused
past its expiry (stopped, swapped out, starved of CPU), it may resume after another
worker took the CID over and made the copy the policy needed. The tier manager asks the
fence of the thread's current CID, in the same transaction that would record a copy of
it (and, for a disk copy, before the file is moved into place): a fence no longer held
refuses with :class:`~ipfs_kit_py.errors.LeaseLostError` and nothing is recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from ipfs_kit_py.content.cid import AnyCID, cid_key
from ipfs_kit_py.errors import LeaseLostError

__all__ = ["CopyFence", "Fences"]


class CopyFence(Protocol):
    """The right to record copies of one CID (``cid``: its key)."""

    cid: str

    def held(self) -> bool:
        """Still held? Called in the recording transaction; may lock until it ends."""
        ...

    def others_may_write(self) -> bool:
        """May another writer be writing the same object now? (In a transaction.)"""
        ...


class Fences:
    """The fence of each thread's current work (none: every copy is recorded)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __repr__(self) -> str:
        return "Fences()"

    @contextmanager
    def kept(self, fence: CopyFence) -> Iterator[None]:
        """Fence this thread's copies of ``fence.cid`` while the body runs."""
        previous = getattr(self._local, "fence", None)
        self._local.fence = fence
        try:
            yield
        finally:
            self._local.fence = previous

    def current(self, cid: AnyCID) -> CopyFence | None:
        """This thread's fence on ``cid``, if any."""
        fence: CopyFence | None = getattr(self._local, "fence", None)
        if fence is None or fence.cid != cid_key(cid):
            return None
        return fence

    def check(self, cid: AnyCID) -> None:
        """Inside a recording transaction: raise LeaseLostError if ``cid``'s fence is lost."""
        fence = self.current(cid)
        if fence is not None and not fence.held():
            raise LeaseLostError(
                f"{cid}: another worker took it over while this one was paused past its "
                "lease; this copy is not recorded"
            )
