"""The pieces of a verified read from a tier: downloaders and one-pass checks.

A copy leaves a tier as a :class:`Fetched`: an open file (or its bytes) already checked
against its CID, so nothing unverified reaches a caller or a faster tier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

from ipfs_kit_py.backends.base import StoredObject
from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.content.verify import read_verified, verify_seekable
from ipfs_kit_py.progress import Subscribers

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = [
    "Fetched",
    "VerifiedDownloader",
    "verify_file",
]


@runtime_checkable
class VerifiedDownloader(Protocol):
    """A backend that can fetch ``cid`` into a file itself (e.g. parallel ranged GETs).

    ``download`` must verify the bytes against ``cid`` (with :mod:`content.verify`) and
    create ``dest`` only once they match, raising :class:`ContentMismatchError` if not.
    """

    name: str

    def download(self, cid: CID, dest: Path, *, subscribers: Subscribers = ()) -> StoredObject: ...


@dataclass
class Fetched:
    """A verified copy: an open file positioned at 0 (or bytes), and where it came from."""

    tier: str
    size: int
    file: BinaryIO
    data: bytes | None = field(default=None, repr=False)


def verify_file(
    f: BinaryIO, cid: CID, profile: ImportProfile | None, name: str, want_bytes: bool
) -> Fetched:
    """Verify an open regular file; keep its bytes if asked, else rewind it.

    Either way the file is read once: its bytes are hashed while they are read, a large
    file's by the parallel leaf hasher.
    """
    data: bytes | None = None
    try:
        if want_bytes:
            data = read_verified(f, cid, profile)
            size = len(data)
        else:
            size = verify_seekable(f, cid, profile)
    except BaseException:
        f.close()
        raise
    f.seek(0)
    return Fetched(name, size, f, data)
