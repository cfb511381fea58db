"""DiskBackend: a byte-bounded, content-addressed file cache shared by processes.

Layout under ``root``: ``objects/<fan>/<cid_key>`` with ``fan`` two characters from the
digest end of the key (1,024 directories), and ``tmp/`` for writes in progress. Every
write goes to a temp file, is fsynced, then ``os.replace``d into place, so a reader in
any process sees either the whole object or nothing. Reads set the file's atime explicitly (so
``noatime`` mounts do not matter), which is the LRU clock for
:meth:`DiskBackend.eviction_plan`; the mtime stays the write time, so a file's
:meth:`DiskBackend.stamp` changes only when it is rewritten.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Self

from ipfs_kit_py.backends.base import BaseBackend, Holding, StoredObject
from ipfs_kit_py.config import Sources, parse_number, xdg_dir
from ipfs_kit_py.content.cid import cid_key
from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.errors import ContentNotFoundError, InvalidInputError
from ipfs_kit_py.staging import Staging
from ipfs_kit_py.streams import CHUNK

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID, AnyCID

__all__ = ["DiskBackend", "DiskEntry", "Staging", "default_cache_dir"]

logger = logging.getLogger(__name__)

RESCAN_S = 60.0


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """Return ``$XDG_CACHE_HOME/ipfs-kit``."""
    return xdg_dir("CACHE", env)


@dataclass(frozen=True, slots=True)
class DiskEntry:
    """One cached file: its key, size and last access (atime, or mtime if later)."""

    key: str
    size: int
    accessed: float


class DiskBackend(BaseBackend):
    """Whole objects as files, keyed by ``cid_key``; the Backend protocol plus staging."""

    def __init__(
        self, root: Path | str | None = None, capacity_bytes: int = 10 << 30, *, name: str = "disk"
    ) -> None:
        if capacity_bytes <= 0:
            raise InvalidInputError(f"disk capacity must be positive, got {capacity_bytes}")
        self.name = name
        self.root = Path(root) if root is not None else default_cache_dir()
        self.capacity = capacity_bytes
        self.objects_dir = self.root / "objects"
        self.tmp_dir = self.root / "tmp"
        self._ensured = False
        # Usage estimate: our own writes and deletes adjust it; a rescan (at most every
        # RESCAN_S, or whenever it says "full") picks up what other processes did.
        self._used: int | None = None
        self._scanned_at = 0.0

    def __repr__(self) -> str:
        return f"DiskBackend({str(self.root)!r}, capacity_bytes={self.capacity})"

    @classmethod
    def from_sources(
        cls,
        args: Mapping[str, Any] | None = None,
        section: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Self:
        """``cache_dir`` and ``disk_bytes`` from args > ``[cache]`` > environment.

        Environment: ``IPFS_KIT_CACHE_DIR`` (default ``$XDG_CACHE_HOME/ipfs-kit``) and
        ``IPFS_KIT_DISK_BYTES`` (default 10 GiB). Nothing is created until first use.
        """
        sources = Sources.of(args, section, env)
        root = sources.get("cache_dir", "IPFS_KIT_CACHE_DIR") or default_cache_dir(sources.env)
        capacity = sources.get("disk_bytes", "IPFS_KIT_DISK_BYTES", default=10 << 30)
        return cls(Path(root), parse_number("disk_bytes", capacity, int, minimum=1))

    def _ensure(self) -> None:
        if not self._ensured:
            self.objects_dir.mkdir(parents=True, exist_ok=True)
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            self._ensured = True

    def path_for_key(self, key: str) -> Path:
        """The one key -> path rule: ``objects/<key[-3:-1]>/<key>``."""
        return self.objects_dir / key[-3:-1] / key

    def path_for(self, cid: AnyCID) -> Path:
        return self.path_for_key(cid_key(cid))

    # -- Backend protocol ---------------------------------------------------------------

    def has(self, cid: CID) -> bool:
        return self.path_for(cid).is_file()

    def stat(self, cid: CID) -> StoredObject:
        path = self.path_for(cid)
        try:
            size = path.stat().st_size
        except FileNotFoundError as exc:
            raise ContentNotFoundError(
                f"{cid} is not in the disk tier", backend="disk", locator=str(path)
            ) from exc
        return StoredObject(cid, size, str(path))

    def get(self, cid: CID) -> Iterator[bytes]:
        return _chunks(self.open(cid))

    def open(self, cid: AnyCID) -> BinaryIO:
        """Open the cached file for reading and mark it recently used."""
        path = self.path_for(cid)
        try:
            f = path.open("rb")
        except FileNotFoundError as exc:
            raise ContentNotFoundError(
                f"{cid} is not in the disk tier", backend="disk", locator=str(path)
            ) from exc
        with contextlib.suppress(OSError):
            st = os.fstat(f.fileno())  # atime is the LRU clock; mtime stays the write time
            os.utime(f.fileno(), ns=(time.time_ns(), st.st_mtime_ns))
        return f

    @staticmethod
    def stamp(f: BinaryIO | Path) -> str:
        """Identity of one written file: inode, size, mtime (ns); a rewrite changes it."""
        st = os.fstat(f.fileno()) if not isinstance(f, Path) else f.stat()
        return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"

    def put(
        self,
        cid: CID,
        chunks: Iterable[bytes],
        size: int | None = None,
        *,
        profile: ImportProfile | None = None,
    ) -> StoredObject:
        with self.stage() as staging:
            for chunk in chunks:
                staging.write(chunk)
            path = self.commit(staging, cid)
        return StoredObject(cid, staging.size, str(path))

    def delete(self, cid: CID) -> None:
        self.delete_key(cid_key(cid))

    # -- staging and eviction -----------------------------------------------------------

    def stage(self) -> Staging:
        """Start an atomic write; :meth:`commit` it under a CID, or abort it."""
        self._ensure()
        return Staging(self.tmp_dir)

    def commit(self, staging: Staging, cid: CID) -> Path:
        """Move a finished staging file into place as ``cid``."""
        path = staging.commit(self.path_for(cid))
        self._account(staging.size)
        return path

    def adopt(self, tmp: Path, cid: CID) -> Path:
        """Move a complete file from :attr:`tmp_dir` (e.g. a download) into place as ``cid``."""
        final = self.path_for(cid)
        final.parent.mkdir(parents=True, exist_ok=True)
        size = tmp.stat().st_size
        os.replace(tmp, final)
        self._account(size)
        return final

    def delete_key(self, key: str) -> None:
        path = self.path_for_key(key)
        with contextlib.suppress(FileNotFoundError):
            size = path.stat().st_size
            path.unlink()
            self._account(-size)

    def _account(self, delta: int) -> None:
        if self._used is not None:
            self._used = max(0, self._used + delta)

    def holdings(self) -> Iterator[Holding]:
        """Every object file, under its key."""
        for entry in self.entries():
            yield entry.key, str(self.path_for_key(entry.key)), entry.size

    def entries(self) -> Iterator[DiskEntry]:
        """Every cached object, by scanning the fan-out directories."""
        if not self.objects_dir.is_dir():
            return
        for fan in os.scandir(self.objects_dir):
            if not fan.is_dir():
                continue
            for entry in os.scandir(fan.path):
                with contextlib.suppress(FileNotFoundError):
                    st = entry.stat()
                    yield DiskEntry(entry.name, st.st_size, max(st.st_atime, st.st_mtime))

    def used_bytes(self) -> int:
        """Bytes of all cached objects, by a full scan."""
        return sum(e.size for e in self.entries())

    def eviction_plan(
        self, incoming: int = 0, low_water: float = 0.9
    ) -> tuple[list[DiskEntry], int]:
        """Entries oldest-access first, and how many bytes to free so ``incoming`` fits.

        Nothing to free while under capacity; once over, free down to ``low_water`` of
        capacity so the next writes do not each pay a scan. The caller may refuse some
        entries (kept content) and continue down the list.
        """
        fresh = time.monotonic() - self._scanned_at < RESCAN_S
        if self._used is not None and fresh and self._used + incoming <= self.capacity:
            return [], 0  # no scan while the estimate says there is room
        entries = list(self.entries())
        used = self._used = sum(e.size for e in entries)
        self._scanned_at = time.monotonic()
        if used + incoming <= self.capacity:
            return [], 0
        entries.sort(key=lambda e: e.accessed)
        return entries, used + incoming - int(self.capacity * low_water)

    def clean_tmp(self, older_than_s: float = 3600.0) -> int:
        """Remove abandoned temp files (crashed writers); return how many."""
        removed = 0
        if not self.tmp_dir.is_dir():
            return 0
        cutoff = time.time() - older_than_s
        for entry in os.scandir(self.tmp_dir):
            with contextlib.suppress(FileNotFoundError):
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
        return removed


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    with f:
        while chunk := f.read(CHUNK):
            yield chunk
