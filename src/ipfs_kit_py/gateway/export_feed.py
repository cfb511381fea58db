"""A CAR export as an ordered block feed for a depth-first walk (the gateway's CARs).

A tier that can stream a whole DAG as a CAR (kubo's ``dag export``: one request, blocks
depth-first, each once) is much faster than one ``block/get`` per block. The walk that
decides what a CAR holds (:func:`ipfs_kit_py.gateway.dagwalk.dag_blocks`) stays the
authority: :class:`ExportFeed` answers each block it asks for from the stream when the
stream has it (it usually is the very next section), hashed against the CID asked for
before it is used; a block the stream lacks, sends out of order past a bounded window,
or sends bad bytes is fetched through the fallback getter instead. So the CAR is
exactly what the walk alone would send, block for block, whatever the stream holds.

Sections the walk has not asked for yet are kept in a bounded look-ahead
(:data:`AHEAD_BLOCKS`, :data:`AHEAD_BYTES`): blocks a walk skips (identity blocks,
children of other codecs) cost memory only up to those bounds. The stream is read on a
thread of its own, at most :data:`QUEUED_BATCHES` batches of ~:data:`BATCH_BYTES`
ahead of the walk, so kubo exports while the walk hashes and encodes.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ipfs_kit_py.content.car import MAX_BLOCK_SIZE
from ipfs_kit_py.content.cid import CID, decode_cid_bytes
from ipfs_kit_py.content.cidvalue import Cid
from ipfs_kit_py.content.verify import verify_block
from ipfs_kit_py.errors import CARFormatError, ContentMismatchError, IpfsKitError

__all__ = ["AHEAD_BLOCKS", "AHEAD_BYTES", "DagExporter", "ExportFeed", "car_sections"]

logger = logging.getLogger(__name__)

AHEAD_BLOCKS = 1024  # sections read past the one asked for, at most, per request
AHEAD_BYTES = 16 << 20
_SEARCH = 256  # sections read in search of one block before it is fetched directly
_HEADER_MAX = 1 << 20

if TYPE_CHECKING:
    from ipfs_kit_py.content.random_access import VerifiedBlocks


@runtime_checkable
class DagExporter(Protocol):
    """A block source that can also stream the DAG under a CID as a CARv1 (kubo)."""

    name: str

    def get_block(self, cid: CID) -> bytes: ...

    def export_car(self, cid: CID) -> Iterator[bytes]: ...


class _Bytes:
    """Exact reads over an iterator of byte chunks."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = bytearray()
        self._pos = 0

    def read(self, n: int) -> bytes | None:
        """``n`` bytes; None at a clean end; CARFormatError if the stream ends inside."""
        while len(self._buffer) - self._pos < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                if len(self._buffer) == self._pos:
                    return None
                raise CARFormatError("the exported CAR ends inside a section")
            if self._pos:
                del self._buffer[: self._pos]
                self._pos = 0
            self._buffer += chunk
        data = bytes(self._buffer[self._pos : self._pos + n])
        self._pos += n
        return data

    def varint(self) -> int | None:
        value = shift = 0
        while True:
            byte = self.read(1)
            if byte is None:
                if shift:
                    raise CARFormatError("the exported CAR ends inside a varint")
                return None
            value |= (byte[0] & 0x7F) << shift
            if byte[0] < 0x80:
                return value
            shift += 7
            if shift > 63:
                raise CARFormatError("a varint in the exported CAR is too long")


def _cid_length(section: bytes) -> int:
    """How many leading bytes of a CAR section are its CID (v0 or v1)."""
    if section[:2] == b"\x12\x20":
        return 34
    pos = 0
    for _ in range(3):  # version, codec, hash function
        pos = _skip_varint(section, pos)
    start = pos
    pos = _skip_varint(section, pos)
    digest = _varint_at(section, start)
    if pos + digest > len(section):
        raise CARFormatError("a CID in the exported CAR is cut short")
    return pos + digest


def _skip_varint(data: bytes, pos: int) -> int:
    while pos < len(data) and data[pos] >= 0x80:
        pos += 1
    if pos >= len(data):
        raise CARFormatError("a CID in the exported CAR is cut short")
    return pos + 1


def _varint_at(data: bytes, pos: int) -> int:
    value = shift = 0
    while True:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value
        pos += 1
        shift += 7


def car_sections(chunks: Iterable[bytes]) -> Iterator[tuple[bytes, bytes]]:
    """``(cid bytes, block bytes)`` per section of a streamed CARv1 (header skipped),
    unverified: the caller hashes what it uses. Raises :class:`CARFormatError`."""
    stream = _Bytes(chunks)
    header = stream.varint()
    if header is None or not 0 < header <= _HEADER_MAX or stream.read(header) is None:
        raise CARFormatError("the exported CAR has no header")
    while True:
        length = stream.varint()
        if length is None:
            return
        if not 0 < length <= MAX_BLOCK_SIZE:
            raise CARFormatError(f"CAR section length {length} is out of range")
        section = stream.read(length)
        if section is None:
            raise CARFormatError("the exported CAR ends after a section length")
        split = _cid_length(section)
        yield section[:split], section[split:]


class ExportFeed:
    """A block getter answering from an exported CAR stream in walk order (see the
    module); ``fallback`` serves what the stream does not. Not thread-safe: one per
    response. ``hits`` and ``misses`` count blocks from the stream and from ``fallback``.

    ``open_export`` starts the stream, at the first block the walk needs that
    ``blocks`` does not have cached (a DAG read a moment ago costs no export); blocks
    from the stream are cached there once verified.
    """

    def __init__(self, open_export: Callable[[], Iterable[bytes]], blocks: VerifiedBlocks) -> None:
        self._open_export: Callable[[], Iterable[bytes]] | None = open_export
        self._reader: _SectionReader | None = None
        self._batch: deque[tuple[bytes, bytes]] = deque()
        self._blocks = blocks
        self._ahead: OrderedDict[bytes, bytes] = OrderedDict()
        self._ahead_bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, cid: CID) -> bytes:
        """The block ``cid``, verified: cached, else from the stream when it has good
        bytes, else from the fallback."""
        cached = self._blocks.cached(cid)
        if cached is not None:
            return cached
        key = bytes(cid)
        data = self._take(key)
        if data is None:
            data = self._search(key)
        if data is not None:
            try:
                verify_block(cid, data)
            except ContentMismatchError as exc:
                logger.warning("the exported CAR holds a bad block: %s", exc)
            else:
                self.hits += 1
                self._blocks.keep(cid, data)
                return data
        self.misses += 1
        if isinstance(cid, Cid):  # a light CID from the walk: the sources take full ones
            cid = decode_cid_bytes(bytes(cid))
        return self._blocks.get(cid)

    def close(self) -> None:
        """Stop reading the stream (its request is closed by the reading thread)."""
        self._open_export = None
        self._ahead.clear()
        self._batch.clear()
        if self._reader is not None:
            self._reader.stop()
            self._reader = None

    def _take(self, key: bytes) -> bytes | None:
        data = self._ahead.pop(key, None)
        if data is not None:
            self._ahead_bytes -= len(data)
        return data

    def _search(self, key: bytes) -> bytes | None:
        for _ in range(_SEARCH):
            section = self._next()
            if section is None:
                return None
            found, data = section
            if found == key:
                return data
            self._keep(found, data)
        return None

    def _next(self) -> tuple[bytes, bytes] | None:
        if self._open_export is not None:
            opened, self._open_export = self._open_export, None
            self._reader = _SectionReader(opened)
        while not self._batch:
            if self._reader is None:
                return None
            batch = self._reader.next_batch()
            if batch is None:
                self._reader = None
                return None
            self._batch.extend(batch)
        return self._batch.popleft()

    def _keep(self, key: bytes, data: bytes) -> None:
        if key in self._ahead:
            return
        self._ahead[key] = data
        self._ahead_bytes += len(data)
        while self._ahead and (len(self._ahead) > AHEAD_BLOCKS or self._ahead_bytes > AHEAD_BYTES):
            _, dropped = self._ahead.popitem(last=False)
            self._ahead_bytes -= len(dropped)


_END = None
BATCH_BYTES = 256 * 1024  # sections handed over per queue item, about
QUEUED_BATCHES = 8  # at most ~2 MiB (plus one block per batch) read ahead of the walk
WAIT_S = 300.0  # a stream silent this long (past the transport's own timeouts) is dead


class _SectionReader:
    """Reads the exported CAR on its own thread, a few batches ahead of the walk, so
    kubo streams at its own pace while the walk hashes and encodes. Stops at the end,
    at an error (logged; the walk falls back to single blocks) or when told to."""

    def __init__(self, opened: Callable[[], Iterable[bytes]]) -> None:
        self._queue: queue.Queue[list[tuple[bytes, bytes]] | None] = queue.Queue(QUEUED_BATCHES)
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(opened,), name="ipfs-kit-car-export", daemon=True
        )
        self._thread.start()

    def next_batch(self) -> list[tuple[bytes, bytes]] | None:
        """The next sections, None at the end of the stream."""
        try:
            return self._queue.get(timeout=WAIT_S)
        except queue.Empty:
            logger.info("the exported CAR stream went silent")
            self.stop()
            return None

    def stop(self) -> None:
        self._stopped.set()

    def _run(self, opened: Callable[[], Iterable[bytes]]) -> None:
        source: Iterable[bytes] | None = None
        try:
            source = opened()
            batch: list[tuple[bytes, bytes]] = []
            size = 0
            for section in car_sections(source):
                batch.append(section)
                size += len(section[1])
                if size >= BATCH_BYTES and not self._put(batch):
                    return
                if size >= BATCH_BYTES:
                    batch, size = [], 0
            if batch and not self._put(batch):
                return
        except (IpfsKitError, OSError) as exc:  # the rest comes from single blocks
            logger.info("the exported CAR stream failed: %s", exc)
        except Exception:
            logger.warning("reading the exported CAR failed", exc_info=True)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
        self._put(_END)

    def _put(self, item: list[tuple[bytes, bytes]] | None) -> bool:
        """Queue ``item`` unless the feed stopped; False once it has."""
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False
