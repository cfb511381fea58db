"""Atomic writes: a temp file that becomes its final file only when complete.

Shared by the disk tier (its ``tmp/`` directory) and the tier manager (a spool when the
disk tier is backed off), so neither reaches into the other.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

__all__ = ["Staging"]


class Staging:
    """A temp file being written; :meth:`commit` moves it into place atomically.

    The final name is given at commit time, so content can be written before its CID
    is known (the importer computes it while the bytes stream in).
    """

    def __init__(self, tmp_dir: Path) -> None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp_dir, suffix=".part")
        self.path = Path(name)
        self.file: BinaryIO = os.fdopen(fd, "wb")
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        self.file.write(data)
        self.size += len(data)

    def reopen(self) -> BinaryIO:
        """Flush and open the staged bytes for reading (the handle survives commit)."""
        self.file.flush()
        return self.path.open("rb")

    def commit(self, final: Path) -> Path:
        """fsync and rename into ``final``; durable when this returns."""
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, final)
        return final

    def abort(self) -> None:
        """Drop the temp file; safe after commit and safe twice."""
        self.file.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()
