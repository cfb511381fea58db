"""A temporary, disk-backed block store: blocks appended to one file, indexed in memory.

Used where a DAG must be walked in an order other than the one it arrives in (exporting
a CAR root-first, extracting a CAR to disk) without holding its bytes in memory.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from ipfs_kit_py.content.cid import cid_bytes_key, short_cid
from ipfs_kit_py.errors import ContentNotFoundError

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = ["TempBlockStore"]


class TempBlockStore:
    """Blocks keyed by CID in an unlinked temporary file; close() frees it."""

    def __init__(self, directory: str | Path | None = None) -> None:
        fd, name = tempfile.mkstemp(prefix="ipfs-kit-blocks-", dir=directory)
        os.unlink(name)  # nothing to clean up even if the process dies
        self._fd = fd
        self._end = 0
        self._index: dict[bytes, tuple[int, int]] = {}

    def put(self, cid: CID, data: bytes) -> None:
        """Store ``data`` under ``cid`` (a second put of the same CID is ignored)."""
        key = cid_bytes_key(cid)
        if key in self._index:
            return
        os.pwrite(self._fd, data, self._end)
        self._index[key] = (self._end, len(data))
        self._end += len(data)

    def has(self, cid: CID) -> bool:
        return cid_bytes_key(cid) in self._index

    def get(self, cid: CID) -> bytes:
        """Return the bytes of ``cid``; raise :class:`ContentNotFoundError` if absent."""
        try:
            offset, length = self._index[cid_bytes_key(cid)]
        except KeyError as exc:
            raise ContentNotFoundError(f"block {short_cid(cid)} is missing from the DAG") from exc
        return os.pread(self._fd, length, offset)

    def __len__(self) -> int:
        return len(self._index)

    def close(self) -> None:
        """Release the temporary file; idempotent."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> TempBlockStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
