"""Leaf hashing: fill reused buffers, hash their chunks on worker threads, in order.

hashlib releases the GIL on large inputs, so the workers hash on every core at once.
For a regular file each worker also reads its own buffer (``os.preadv`` at an offset,
GIL released), so neither reading nor hashing waits on the caller's thread; other
streams are read by the caller into the same reused buffers. Chunks are memoryview
slices of those buffers: nothing is copied between the read and the hash, and memory
stays at a few buffers whatever the file size.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from collections import deque
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, BinaryIO, TypeAlias

from ipfs_kit_py.content.dagpb import encode_varint

if TYPE_CHECKING:  # the pool is imported where hashing starts, not at import time
    from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["LeafHasher", "iter_leaf_digests", "leaf_digest", "leaf_digests_of", "pb_leaf_frame"]

_BUFFER_BYTES = 1024 * 1024  # one L2 cache: read, then hashed while still in it
_WORKERS = max(2, min(4, os.cpu_count() or 2))
_IN_FLIGHT = 2 * _WORKERS  # buffers being filled or hashed; one more is being yielded

Digests = tuple[int, list[bytes]]  # bytes filled, the digest of each chunk in them


def pb_leaf_frame(size: int) -> tuple[bytes, bytes]:
    """Return (prefix, suffix) such that prefix + chunk + suffix is a dag-pb file leaf.

    The leaf is ``PBNode{Data: UnixFS{Type: File, Data: chunk, filesize: size}}``; an empty
    chunk has no Data field, as kubo writes it.
    """
    tail = b"\x18" + encode_varint(size)
    head = b"\x08\x02" + (b"\x12" + encode_varint(size) if size else b"")
    unixfs_len = len(head) + size + len(tail)
    return b"\x0a" + encode_varint(unixfs_len) + head, tail


def leaf_digest(chunk: bytes | memoryview, raw: bool) -> bytes:
    """sha256 of the leaf block that ``chunk`` becomes (raw, or a dag-pb file leaf)."""
    if raw:
        return hashlib.sha256(chunk).digest()
    prefix, suffix = pb_leaf_frame(len(chunk))
    h = hashlib.sha256(prefix)
    h.update(chunk)
    h.update(suffix)
    return h.digest()


class LeafHasher:
    """Hashes the leaves of one aligned part of a file as its bytes stream in.

    For bytes ``[start, end)`` of a file of ``total`` bytes cut into ``chunk_size``
    leaves (``start`` a multiple of it): :meth:`update` takes the part's bytes in any
    pieces; :attr:`digests` then holds ``(size, sha256 of the leaf block)`` per leaf,
    ready for :meth:`FileImporter.add_leaf_digest`. Lets each download thread hash
    the part it received while the others receive.
    """

    def __init__(self, start: int, end: int, total: int, chunk_size: int, raw: bool) -> None:
        if start % chunk_size:
            raise ValueError(f"a part must start on a leaf boundary, not at {start}")
        self.digests: list[tuple[int, bytes]] = []
        self._pos, self._end, self._total = start, end, total
        self._chunk, self._raw = chunk_size, raw
        self._suffix = b""
        self._left = 0
        self._hash = hashlib.sha256()
        if start < end:
            self._begin()

    def _begin(self) -> None:
        size = min(self._chunk, self._total - self._pos)
        self._size = self._left = size
        self._hash = hashlib.sha256()
        if not self._raw:
            prefix, self._suffix = pb_leaf_frame(size)
            self._hash.update(prefix)

    def update(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            if self._pos >= self._end:
                raise ValueError("more bytes than the part holds")
            take = min(self._left, len(view))
            self._hash.update(view[:take])
            view = view[take:]
            self._left -= take
            self._pos += take
            if self._left == 0:
                self._hash.update(self._suffix)
                self.digests.append((self._size, self._hash.digest()))
                if self._pos < self._end:
                    self._begin()


def _hash_chunks(buf: bytearray, filled: int, chunk_size: int, raw: bool) -> Digests:
    view = memoryview(buf)[:filled]
    return filled, [
        leaf_digest(view[i : i + chunk_size], raw) for i in range(0, filled, chunk_size)
    ]


def _read_full(stream: BinaryIO, buf: bytearray) -> int:
    view = memoryview(buf)
    filled = 0
    while filled < len(buf):
        n = stream.readinto(view[filled:])  # type: ignore[attr-defined]
        if not n:
            break
        filled += n
    return filled


def _pread_full(fd: int, buf: bytearray, offset: int) -> int:
    view = memoryview(buf)
    filled = 0
    while filled < len(buf):
        n = os.preadv(fd, [view[filled:]], offset + filled)
        if not n:
            break
        filled += n
    return filled


def _regular_file_fd(stream: BinaryIO) -> int | None:
    """The descriptor of ``stream`` if it is a plain binary file over a regular file.

    Only ``open(path, "rb")`` objects qualify: wrappers such as ``gzip.GzipFile`` also
    have a ``fileno()``, but their bytes are not the descriptor's bytes.
    """
    raw = stream.raw if type(stream) is io.BufferedReader else stream
    if type(raw) is not io.FileIO or not hasattr(os, "preadv"):
        return None
    fd = raw.fileno()
    return fd if stat.S_ISREG(os.fstat(fd).st_mode) else None


def iter_leaf_digests(
    stream: BinaryIO, chunk_size: int, raw: bool, *, buffer_bytes: int = _BUFFER_BYTES
) -> Iterator[tuple[memoryview, bytes]]:
    """Yield ``(chunk, leaf_digest)`` for each fixed-size chunk of ``stream``, in order.

    Each chunk is a view into a reused buffer, valid until the next item is requested
    (copy it to keep it). The stream is read from its position to its end, and left there.
    Buffers hold ``buffer_bytes`` rounded down to whole chunks (at least one chunk).
    """
    per_buffer = max(1, buffer_bytes // chunk_size)
    fd = _regular_file_fd(stream)
    if fd is None:
        yield from _pipeline(_StreamSource(stream, per_buffer * chunk_size), chunk_size, raw)
        return
    start = stream.tell()
    size_hint = os.fstat(fd).st_size
    # A small file gets one buffer a byte longer than itself: one read finds its end.
    chunks = min(per_buffer, max(size_hint - start, 0) // chunk_size + 1)
    source = _FileSource(fd, start, size_hint, chunks * chunk_size)
    end = yield from _pipeline(source, chunk_size, raw)
    stream.seek(end)


class _StreamSource:
    """Fills buffers from any binary stream, on the caller's thread."""

    def __init__(self, stream: BinaryIO, buffer_bytes: int) -> None:
        self.stream = stream
        self.buffer_bytes = buffer_bytes
        self.position = 0
        self.exhausted = False

    def submit(self, pool: ThreadPoolExecutor, buf: bytearray, chunk: int, raw: bool) -> Job:
        filled = _read_full(self.stream, buf)
        self.exhausted = filled < len(buf)
        return pool.submit(_hash_chunks, buf, filled, chunk, raw)

    def refresh(self) -> None:
        pass


class _FileSource:
    """Fills buffers from a regular file on the workers, each at its own offset.

    Reads stop being submitted past the size the file had (``size_hint``); if the last
    of them comes back full, the file grew, and :meth:`refresh` reads its size again.
    """

    def __init__(self, fd: int, start: int, size_hint: int, buffer_bytes: int) -> None:
        self.fd = fd
        self.position = start
        self.next_offset = start
        self.size_hint = size_hint
        self.buffer_bytes = buffer_bytes

    @property
    def exhausted(self) -> bool:
        return self.next_offset > self.size_hint

    def submit(self, pool: ThreadPoolExecutor, buf: bytearray, chunk: int, raw: bool) -> Job:
        offset = self.next_offset
        self.next_offset += len(buf)
        return pool.submit(self._read_and_hash, buf, offset, chunk, raw)

    def _read_and_hash(self, buf: bytearray, offset: int, chunk: int, raw: bool) -> Digests:
        return _hash_chunks(buf, _pread_full(self.fd, buf, offset), chunk, raw)

    def refresh(self) -> None:
        self.size_hint = os.fstat(self.fd).st_size


Job: TypeAlias = "Future[Digests]"


def _pipeline(
    source: _StreamSource | _FileSource, chunk: int, raw: bool
) -> Generator[tuple[memoryview, bytes], None, int]:
    """Keep ``_IN_FLIGHT`` buffers filling and hashing; yield their chunks in order.

    Returns the stream offset after the last byte. The first buffer that comes back
    short is the end: anything read after it is dropped, so a file that changes size
    while it is read is cut at one consistent point.
    """
    position = source.position
    free: list[bytearray] = []
    pending: deque[tuple[bytearray, Job]] = deque()
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(_WORKERS, thread_name_prefix="ipfs-kit-hash") as pool:
        while True:
            while len(pending) < _IN_FLIGHT and not source.exhausted:
                buf = free.pop() if free else bytearray(source.buffer_bytes)
                pending.append((buf, source.submit(pool, buf, chunk, raw)))
            if not pending:
                return position
            buf, job = pending.popleft()
            filled, digests = job.result()
            view = memoryview(buf)
            for index, digest in enumerate(digests):
                start = index * chunk
                yield view[start : min(start + chunk, filled)], digest
            position += filled
            if filled < len(buf):
                return position
            free.append(buf)
            if not pending:
                source.refresh()


def leaf_digests_of(
    data: bytes | memoryview, chunk_size: int, raw: bool
) -> Iterator[tuple[memoryview, bytes]]:
    """Yield ``(chunk, leaf_digest)`` for each chunk of ``data`` in memory, in order,
    hashed on worker threads (views of ``data``: nothing is copied)."""
    view = memoryview(data)
    part = max(1, _BUFFER_BYTES // chunk_size) * chunk_size
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(_WORKERS, thread_name_prefix="ipfs-kit-hash") as pool:
        starts = range(0, len(view), part)
        jobs = [pool.submit(_hash_region, view[at : at + part], chunk_size, raw) for at in starts]
        for at, job in zip(starts, jobs, strict=True):
            for index, digest in enumerate(job.result()):
                start = at + index * chunk_size
                yield view[start : min(start + chunk_size, len(view))], digest


def _hash_region(region: memoryview, chunk_size: int, raw: bool) -> list[bytes]:
    return [leaf_digest(region[i : i + chunk_size], raw) for i in range(0, len(region), chunk_size)]
