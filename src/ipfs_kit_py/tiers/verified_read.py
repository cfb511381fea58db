"""The pieces of a verified read from a tier: progress events, downloaders, one-pass checks.

A copy leaves a tier as a :class:`Fetched`: an open file (or its bytes) already checked
against its CID, so nothing unverified reaches a caller or a faster tier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from ipfs_kit_py.backends.base import ProgressSubscriber, StoredObject
from ipfs_kit_py.backends.disk import CHUNK
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.content.verify import ContentVerifier

__all__ = [
    "Fetched",
    "TransferEvents",
    "TransferSubscriber",
    "VerifiedDownloader",
    "verify_file",
]


# progress hooks for reads from remote tiers (the CLI's progress bars plug in here)
TransferSubscriber = ProgressSubscriber


@runtime_checkable
class VerifiedDownloader(Protocol):
    """A backend that can fetch ``cid`` into a file itself (e.g. parallel ranged GETs).

    ``download`` must verify the bytes against ``cid`` (with :mod:`content.verify`) and
    create ``dest`` only once they match, raising :class:`ContentMismatchError` if not.
    """

    name: str

    def download(
        self, cid: CID, dest: Path, *, subscribers: Sequence[TransferSubscriber] = ()
    ) -> StoredObject: ...


@dataclass
class Fetched:
    """A verified copy: an open file positioned at 0 (or bytes), and where it came from."""

    tier: str
    size: int
    file: BinaryIO
    data: bytes | None = field(default=None, repr=False)


class TransferEvents:
    """Fans one remote read out to the subscribers: start, progress, done."""

    def __init__(self, key: str, subscribers: Sequence[TransferSubscriber]) -> None:
        self.key, self.subscribers = key, tuple(subscribers)

    def __enter__(self) -> TransferEvents:
        for s in self.subscribers:
            s.on_start(self.key, None)
        return self

    def progress(self, nbytes: int) -> None:
        for s in self.subscribers:
            s.on_progress(self.key, nbytes)

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        for s in self.subscribers:
            s.on_done(self.key, exc)


def verify_file(
    f: BinaryIO, cid: CID, profile: ImportProfile | None, name: str, want_bytes: bool
) -> Fetched:
    """Verify an open file in one pass; keep its bytes if asked, else rewind it."""
    verifier = ContentVerifier(cid, profile)
    data: bytes | None = None
    try:
        if want_bytes:
            data = f.read()
            view = memoryview(data)
            for start in range(0, len(data), CHUNK):
                verifier.update(view[start : start + CHUNK])
        else:
            while chunk := f.read(CHUNK):
                verifier.update(chunk)
        verifier.finish()
    except BaseException:
        f.close()
        raise
    f.seek(0)
    return Fetched(name, verifier.size, f, data)
