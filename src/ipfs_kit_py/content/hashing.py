"""Leaf hashing: read large buffers, hash their chunks on worker threads, in order.

hashlib releases the GIL on large inputs, so two workers hash two chunks at once while
the caller reads the next buffer; memory stays at a few buffers whatever the file size.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

from ipfs_kit_py.content.dagpb import encode_varint

__all__ = ["iter_leaf_digests", "leaf_digest", "pb_leaf_frame"]

_BUFFER_BYTES = 8 * 1024 * 1024
_WORKERS = 2


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


def _hash_all(chunks: list[memoryview], raw: bool) -> list[bytes]:
    return [leaf_digest(c, raw) for c in chunks]


def _read_full(stream: BinaryIO, buf: bytearray) -> int:
    view = memoryview(buf)
    filled = 0
    while filled < len(buf):
        n = stream.readinto(view[filled:])  # type: ignore[attr-defined]
        if not n:
            break
        filled += n
    return filled


def iter_leaf_digests(
    stream: BinaryIO, chunk_size: int, raw: bool
) -> Iterator[tuple[memoryview, bytes]]:
    """Yield ``(chunk, leaf_digest)`` for each fixed-size chunk of ``stream``, in order."""
    per_buffer = max(1, _BUFFER_BYTES // chunk_size)
    buffer_bytes = per_buffer * chunk_size
    pending: deque[tuple[list[memoryview], Future[list[bytes]]]] = deque()
    eof = False
    with ThreadPoolExecutor(_WORKERS, thread_name_prefix="ipfs-kit-hash") as pool:
        while True:
            while not eof and len(pending) < 2 * _WORKERS:
                buf = bytearray(buffer_bytes)
                n = _read_full(stream, buf)
                eof = n < buffer_bytes
                if n:
                    view = memoryview(buf)[:n]
                    chunks = [view[i : i + chunk_size] for i in range(0, n, chunk_size)]
                    pending.append((chunks, pool.submit(_hash_all, chunks, raw)))
            if not pending:
                return
            chunks, future = pending.popleft()
            yield from zip(chunks, future.result(), strict=True)
