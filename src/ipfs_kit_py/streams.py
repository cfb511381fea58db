"""Byte streams, once: a file read in chunks, and chunks read as a file."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

__all__ = ["CHUNK", "IterStream", "read_chunks", "reader"]

# measured (docs/s3.md): larger pieces cost page faults, smaller ones Python calls
CHUNK = 1 << 20


def read_chunks(f: BinaryIO, size: int = CHUNK) -> Iterator[bytes]:
    """Read a binary file in ``size`` pieces until EOF (the file stays open)."""
    while chunk := f.read(size):
        yield chunk


class IterStream(io.RawIOBase):
    """A read-only raw file over an iterable of byte chunks (empty chunks are skipped)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def reader(chunks: Iterable[bytes], buffer_size: int = io.DEFAULT_BUFFER_SIZE) -> io.BufferedReader:
    """A buffered binary file reading ``chunks`` in order (for tarfile, CAR readers)."""
    return io.BufferedReader(IterStream(chunks), buffer_size)
