"""Transfer plumbing for S3: counted uploads, parallel ranged downloads.

Progress goes to subscribers (:mod:`ipfs_kit_py.progress`) attached per transfer;
``on_progress`` may be called from worker threads.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast

from ipfs_kit_py import debris
from ipfs_kit_py.content.hashing import LeafHasher
from ipfs_kit_py.errors import InputPathError, InvalidInputError
from ipfs_kit_py.outfile import temp_beside
from ipfs_kit_py.progress import Subscribers
from ipfs_kit_py.sources import open_regular_file
from ipfs_kit_py.streams import CHUNK, read_chunks

__all__ = [
    "ByteSink",
    "ChunkSource",
    "SourceGuard",
    "Subscribers",
    "UploadSource",
    "count_chunks",
    "download_ranges",
    "peek_first_part",
    "source_size",
]

logger = logging.getLogger(__name__)


class ByteSink(Protocol):
    """Consumes downloaded bytes in order (a CID verifier)."""

    def update(self, data: bytes | bytearray | memoryview) -> None: ...

    def finish(self) -> object: ...


def count_chunks(
    chunks: Iterable[bytes | bytearray | memoryview], on_chunk: Callable[[int], None]
) -> Iterator[bytes | bytearray | memoryview]:
    """Pass ``chunks`` through, reporting each length to ``on_chunk``; skip empty ones."""
    for chunk in chunks:
        if len(chunk):
            on_chunk(len(chunk))
            yield chunk


def open_source(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a local file for upload, raising InputPathError when it cannot be read."""
    return open_regular_file(Path(path))  # a FIFO or a device is refused, not read forever


FetchRange = Callable[[int, int], Iterable[bytes | memoryview]]


def download_ranges(
    fetch: FetchRange,
    size: int,
    dest: Path,
    *,
    part_size: int,
    pool: ThreadPoolExecutor,
    sink: ByteSink | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> None:
    """Download ``size`` bytes with parallel ranged ``fetch(start, end)`` calls into ``dest``.

    Bytes land in a temporary file next to ``dest``; ``sink`` (a verifier) reads them back
    in order while later parts are still downloading, or, when it takes leaf digests
    (:class:`LeafSink`) and parts hold whole leaves, each download thread hashes the
    leaves of its part as they arrive and the sink gets the digests in order (the hashing
    spreads over the cores instead of one thread re-reading the file). Only a complete
    (and, with a sink, verified) file is renamed to ``dest``; on any failure nothing is
    left behind.
    """
    dest = Path(dest)
    plan = _leaf_plan(sink, part_size)
    # the mode open() would give, not mkstemp's 0600; recorded in the debris journal
    fd, tmp_name = temp_beside(dest)
    try:
        os.ftruncate(fd, size)
        starts = range(0, size, part_size)
        futures = [
            pool.submit(
                _fetch_into,
                fetch,
                fd,
                start,
                min(size, start + part_size),
                on_bytes,
                _hasher(plan, start, min(size, start + part_size), size),
            )
            for start in starts
        ]
        try:
            for start, future in zip(starts, futures, strict=True):
                leaves = future.result()
                if plan is not None and leaves is not None:
                    cast(LeafSink, sink).add_leaf_digests(leaves)
                elif sink is not None:
                    _feed(sink, fd, start, min(size, start + part_size))
        except BaseException:
            for future in futures:
                future.cancel()
            _wait_all(futures)
            raise
        if sink is not None:
            sink.finish()
        os.close(fd)
        fd = -1
        os.replace(tmp_name, dest)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    finally:
        debris.release(tmp_name)


class LeafSink(ByteSink, Protocol):
    """A verifier that can take leaf digests instead of bytes (``ContentVerifier``)."""

    def leaf_plan(self) -> tuple[int, bool] | None: ...

    def add_leaf_digests(self, leaves: list[tuple[int, bytes]]) -> None: ...


def _leaf_plan(sink: ByteSink | None, part_size: int) -> tuple[int, bool] | None:
    """``(chunk_size, raw_leaves)`` if ``sink`` takes digests of leaves parts hold whole."""
    plan_of = getattr(sink, "leaf_plan", None)
    plan = plan_of() if plan_of is not None else None
    if plan is None or part_size % plan[0]:
        return None
    return cast(tuple[int, bool], plan)


def _hasher(plan: tuple[int, bool] | None, start: int, end: int, total: int) -> LeafHasher | None:
    return None if plan is None else LeafHasher(start, end, total, plan[0], plan[1])


def _fetch_into(
    fetch: FetchRange,
    fd: int,
    start: int,
    end: int,
    on_bytes: Callable[[int], None] | None,
    hasher: LeafHasher | None = None,
) -> list[tuple[int, bytes]] | None:
    offset = start
    for chunk in fetch(start, end):
        view = memoryview(chunk)
        if hasher is not None:
            hasher.update(view)
        while view:
            written = os.pwrite(fd, view, offset)
            view = view[written:]
            offset += written
        if on_bytes is not None:
            on_bytes(len(chunk))
    if offset != end:
        raise OSError(f"short read: range {start}-{end} ended at {offset}")
    return hasher.digests if hasher is not None else None


def _feed(sink: ByteSink, fd: int, start: int, end: int) -> None:
    offset = start
    while offset < end:
        data = os.pread(fd, min(CHUNK, end - offset), offset)
        if not data:
            raise OSError(f"temporary file shorter than expected at {offset}")
        sink.update(data)
        offset += len(data)


def _wait_all(futures: Sequence[Future[Any]]) -> None:
    for future in futures:
        if not future.cancelled():
            with contextlib.suppress(BaseException):
                future.result()


UploadSource = str | Path | bytes | bytearray | memoryview | BinaryIO | Iterable[bytes]


class SourceGuard:
    """Iterates an upload source, remembering a failure of the source itself."""

    def __init__(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        self._chunks = iter(chunks)
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[bytes | bytearray | memoryview]:
        return self

    def __next__(self) -> bytes | bytearray | memoryview:
        try:
            return next(self._chunks)
        except StopIteration:
            raise
        except BaseException as exc:
            self.error = exc
            raise

    def failure(self) -> BaseException:
        """The source's own error; OS errors become InputPathError."""
        error = self.error
        if isinstance(error, OSError):
            failure = InputPathError(f"reading the upload source failed: {error}")
            failure.__cause__ = error
            return failure
        return error if error is not None else RuntimeError("upload source failed")


def _bytes_only(chunks: Iterable[Any]) -> Iterator[bytes | bytearray | memoryview]:
    """The chunks of a byte iterable; InvalidInputError at the first that is not bytes."""
    for chunk in chunks:
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise InvalidInputError(f"an upload's byte iterable yielded a {type(chunk).__name__}")
        yield chunk


def peek_first_part(
    chunks: Iterable[bytes | bytearray | memoryview], limit: int
) -> tuple[bytes, Iterator[bytes | bytearray | memoryview] | None]:
    """Read up to ``limit`` bytes: all of a small source (None after it) or a first part."""
    iterator = iter(chunks)
    buffer = bytearray()
    for chunk in iterator:
        buffer += chunk
        if len(buffer) >= limit:
            return bytes(buffer), iterator
    return bytes(buffer), None


def source_size(source: UploadSource) -> int | None:
    if isinstance(source, bytes | bytearray | memoryview):
        return len(source)
    if isinstance(source, str | Path):
        try:
            return Path(source).stat().st_size
        except (OSError, ValueError):
            return None
    return None


class ChunkSource:
    """Context manager giving ``source`` as byte chunks; closes files it opened."""

    def __init__(self, source: UploadSource) -> None:
        self.source = source
        self._opened: BinaryIO | None = None

    def __enter__(self) -> Iterable[bytes | bytearray | memoryview]:
        src = self.source
        if isinstance(src, bytes | bytearray | memoryview):
            return [src]
        if isinstance(src, str | Path):
            self._opened = open_source(src)
            return read_chunks(self._opened)
        if hasattr(src, "read"):
            return read_chunks(src)  # type: ignore[arg-type]
        if isinstance(src, Iterable) and not isinstance(src, Mapping):
            return _bytes_only(src)
        raise InvalidInputError(f"cannot upload a {type(src).__name__}")

    def __exit__(self, *exc: object) -> None:
        if self._opened is not None:
            self._opened.close()
