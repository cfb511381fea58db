"""The one small protocol every storage backend implements.

A backend stores *content* keyed by its root CID: the bytes of a file (or a single
raw block), streamed in and out. Everything generic (verification against the CID,
retries, index bookkeeping, promotion) lives above the backends, in ``tiers.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.content.unixfs import ImportProfile


class ProgressSubscriber(Protocol):
    """Progress hooks for one transfer: any object with these three methods (a CLI bar)."""

    def on_start(self, key: str, total: int | None) -> None: ...

    def on_progress(self, key: str, nbytes: int) -> None: ...

    def on_done(self, key: str, error: BaseException | None) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredObject:
    """What a backend knows about one stored copy."""

    cid: CID
    size: int
    locator: str  # where it lives in that backend: a path, bucket/key, space DID, ...


@runtime_checkable
class Backend(Protocol):
    """has / get / put / delete / stat over content addressed by CID.

    ``get`` streams the bytes the backend holds, *unverified*, and callers verify, unless
    the backend sets ``verifies_reads = True``: then its ``get`` raises
    ``ContentMismatchError`` (at the latest after the last chunk) itself. Every
    method raises from :mod:`ipfs_kit_py.errors`: ``ContentNotFoundError`` for a CID the
    backend lacks, ``BackendUnavailableError`` when it cannot be reached.
    """

    name: str

    def has(self, cid: CID) -> bool:
        """Return True if this backend holds ``cid``."""
        ...

    def stat(self, cid: CID) -> StoredObject:
        """Describe the stored copy of ``cid``; raise ``ContentNotFoundError`` if absent."""
        ...

    def get(self, cid: CID) -> Iterator[bytes]:
        """Stream the stored bytes of ``cid`` in chunks."""
        ...

    def put(
        self,
        cid: CID,
        chunks: Iterable[bytes],
        size: int | None = None,
        *,
        profile: ImportProfile | None = None,
    ) -> StoredObject:
        """Store ``chunks`` as the content of ``cid``; durable when this returns.

        ``profile`` is how ``cid`` was imported, for backends that rebuild the DAG
        themselves (kubo, Storacha); None means: guess from the CID.
        """
        ...

    def delete(self, cid: CID) -> None:
        """Remove ``cid``; removing an absent CID is not an error."""
        ...
