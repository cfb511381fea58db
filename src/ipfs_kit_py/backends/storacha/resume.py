"""What an interrupted upload already stored, so that running it again sends only the rest.

An upload is known by its :class:`UploadSource` (the file or directory, and the options
that shape its shards) in one space; its :class:`UploadState` lists the shards the
service accepted (position, CAR CID, size, the piece CID once offered) and the index
once registered. A shard is skipped only when the one encoded again at that position
has the recorded CID, so a stale state can never put wrong bytes in an upload; a
source whose identity stamp (size, mtime, inode) changed starts over. Where the state
is kept is the :class:`UploadJournal`'s business (the metadata index, see
:mod:`ipfs_kit_py.storacha_ledger`); the backend never opens the index itself.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from ipfs_kit_py.errors import MetadataIndexError

__all__ = [
    "SavedShard",
    "UploadJournal",
    "UploadSource",
    "UploadState",
    "directory_source",
    "file_source",
]


@dataclass(frozen=True, slots=True)
class UploadSource:
    """Which upload: ``source`` names it, ``stamp`` tells whether it changed since."""

    source: str  # "file:/abs/path" or "dir:/abs/path"
    stamp: str
    options: str  # what else shapes the shards: shard size, hidden files


@dataclass(frozen=True, slots=True)
class SavedShard:
    """A shard the service accepted (blob/accept), and its piece CID once offered."""

    position: int
    cid: str
    size: int
    piece: str | None = None


class UploadJournal(Protocol):
    """Where upload states are kept (writes happen as the upload goes)."""

    def shard_stored(self, upload: str, shard: SavedShard) -> None: ...

    def piece_offered(self, upload: str, position: int, piece: str) -> None: ...

    def indexed(self, upload: str, index: str) -> None: ...

    def finish(self, upload: str) -> None: ...


@dataclass
class UploadState:
    """One upload's progress: read at the start, written through ``journal``.

    A write that fails (the index went away) is logged and ends the writing: the
    upload goes on, it only becomes less resumable.
    """

    upload: str
    journal: UploadJournal
    shards: dict[int, SavedShard] = field(default_factory=dict)
    index: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _broken: bool = field(default=False, repr=False)

    def accepted(self, position: int, cid: str) -> SavedShard | None:
        """The saved shard at ``position`` if it is the shard ``cid``, else None."""
        saved = self.shards.get(position)
        return saved if saved is not None and saved.cid == cid else None

    def shard_stored(self, position: int, cid: str, size: int) -> None:
        saved = SavedShard(position, cid, size)
        with self._lock:
            self.shards[position] = saved
        self._write(self.journal.shard_stored, self.upload, saved)

    def piece_offered(self, position: int, piece: str) -> None:
        with self._lock:
            saved = self.shards.get(position)
            if saved is not None:
                self.shards[position] = SavedShard(position, saved.cid, saved.size, piece)
        self._write(self.journal.piece_offered, self.upload, position, piece)

    def indexed(self, index: str) -> None:
        self.index = index
        self._write(self.journal.indexed, self.upload, index)

    def finish(self) -> None:
        """The upload is registered: forget its state."""
        self._write(self.journal.finish, self.upload)

    def _write(self, call: Callable[..., None], *args: object) -> None:
        if self._broken:
            return
        try:
            call(*args)
        except MetadataIndexError as exc:
            self._broken = True
            logger.warning("upload state not written (%s): resuming may resend more", exc)


logger = logging.getLogger(__name__)


def upload_id(space: str, source: UploadSource) -> str:
    """The key of an upload state: the space, the source and its options."""
    text = "\0".join((space, source.source, source.options))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _stamp(st: os.stat_result) -> str:
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{st.st_dev}"


def file_source(path: str | os.PathLike[str], shard_size: int) -> UploadSource:
    """The identity of an upload of the file at ``path``."""
    real = os.path.realpath(path)
    return UploadSource(f"file:{real}", _stamp(os.stat(real)), f"shard_size={shard_size}")


def directory_source(
    path: str | os.PathLike[str], files: Iterable[str], shard_size: int, hidden: bool
) -> UploadSource:
    """The identity of an upload of a directory: every listed file's name and stamp."""
    digest = hashlib.sha256()
    for name in files:
        digest.update(f"{name}\0{_stamp(os.stat(name))}\n".encode(errors="surrogateescape"))
    options = f"shard_size={shard_size};hidden={int(hidden)}"
    return UploadSource(f"dir:{os.path.realpath(path)}", digest.hexdigest(), options)
