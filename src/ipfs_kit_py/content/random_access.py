"""Verified random access to UnixFS files: fetch only the blocks a byte range needs.

The API (stable: the gateway and the fsspec filesystem are built on it)::

    blocks = VerifiedBlocks([kubo_source, s3_spans, gateway_source])  # fastest first
    cid, node = resolve(root, "docs/a.txt", blocks)       # content/resolve.py
    info = stat(root, "docs", blocks)                      # content/resolve.py
    with RandomAccessFile(cid, blocks) as f:               # io.RawIOBase: read/readinto/
        f.seek(1 << 30); f.read(1 << 20)                   #   seek/tell/size/readall
    for chunk in iter_range(cid, blocks, start, end): ...  # verified bytes [start, end)

Sources come in two kinds. A :class:`BlockSource` answers one block by CID
(``get_block``: kubo ``block/get``, a gateway's ``?format=raw``, a cache). A
:class:`SpanSource` holds a file's plain bytes under its root CID (an S3 object) and,
through a :class:`SpanLayout`, the file's internal DAG nodes: a range read then costs
the layout (once) plus one ranged request for the leaves covering the range.

Every block is checked against its CID before use, from whichever source it came: a
leaf read from a span is hashed as the block it stands for (raw, or wrapped as a dag-pb
leaf) and, if it does not match, fetched again from the next source; when no source
has good bytes the read raises :class:`ContentMismatchError` and no bad byte is ever
returned. Sizes are checked against what each verified parent declares, so a reader
gets exactly the bytes of the root or an error. ``VerifiedBlocks`` keeps a small LRU of
verified blocks (``cache_bytes``) and counts what it fetched (:class:`FetchStats`).

Errors: :class:`ContentNotFoundError` (no source holds a block),
:class:`ContentMismatchError` (bad bytes, not a file, sizes that do not add up),
:class:`ResourceLimitError` (a block or DAG past the bounds), :class:`NotAFileError`
(the CID is a directory or symlink), ``InvalidInputError`` (a bad range or seek),
and what a source raises when it fails (``BackendError`` kinds).
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ipfs_kit_py.content.cid import DAG_PB, IDENTITY, RAW, SHA2_256, parse_cid, short_cid
from ipfs_kit_py.content.cidvalue import raw_digest_of
from ipfs_kit_py.content.dag import UnixFSNode, _file_parts, load_node
from ipfs_kit_py.content.dagpb import decode_node, decode_unixfs
from ipfs_kit_py.content.hashing import pb_leaf_frame
from ipfs_kit_py.content.verify import verify_block
from ipfs_kit_py.errors import (
    BackendError,
    ContentMismatchError,
    ContentNotFoundError,
    InvalidInputError,
    IpfsKitError,
    NotAFileError,
    ResourceLimitError,
)

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = [
    "DEFAULT_CACHE_BYTES",
    "MAX_BLOCK_BYTES",
    "MAX_DEPTH",
    "BlockSource",
    "FetchStats",
    "LeafSpan",
    "RandomAccessFile",
    "SpanLayout",
    "SpanSource",
    "UnixFSFile",
    "VerifiedBlocks",
    "iter_range",
]

MAX_BLOCK_BYTES = 4 * 1024 * 1024  # kubo refuses larger blocks; a bigger one is hostile
MAX_DEPTH = 64  # a balanced DAG of 2^64 bytes is ~8 levels deep
DEFAULT_CACHE_BYTES = 8 * 1024 * 1024
SPAN_BATCH_BYTES = 8 * 1024 * 1024  # leaves read per ranged request while streaming
LAYOUT_MISS_TTL_S = 60.0
MAX_LAYOUTS = 256  # layouts kept per VerifiedBlocks (~200 KB each for 1 GB files)


@runtime_checkable
class BlockSource(Protocol):
    """Answers one block by CID; the bytes may be unverified (the caller verifies).

    ``get_block`` raises :class:`ContentNotFoundError` when the source lacks the block.
    """

    name: str

    def get_block(self, cid: CID) -> bytes: ...


@dataclass(frozen=True, slots=True)
class LeafSpan:
    """A leaf of a file: its CID and where its bytes sit in the file."""

    cid: CID
    offset: int
    size: int


class SpanLayout(Protocol):
    """A file held as plain bytes, with the internal nodes of its DAG at hand."""

    size: int

    def node(self, cid: CID) -> bytes | None:
        """The (unverified) block of an internal node, None for a leaf."""
        ...

    def read_spans(self, spans: Sequence[LeafSpan]) -> Iterator[bytes]:
        """Yield the bytes of contiguous ``spans`` in order, in one ranged request."""
        ...


@runtime_checkable
class SpanSource(Protocol):
    """Holds files as plain bytes under their root CIDs (an object store)."""

    name: str

    def layout(self, root: CID) -> SpanLayout | None:
        """The layout of ``root``, or None when this source cannot serve it by ranges."""
        ...


Source = BlockSource | SpanSource


@dataclass(slots=True)
class FetchStats:
    """What a :class:`VerifiedBlocks` fetched: requests, blocks and bytes from sources."""

    requests: int = 0
    blocks: int = 0
    bytes: int = 0
    cache_hits: int = 0

    def reset(self) -> None:
        self.requests = self.blocks = self.bytes = self.cache_hits = 0


class VerifiedBlocks:
    """Verified blocks and leaf spans from ordered sources, with a bounded LRU cache.

    Thread-safe. A source that fails (not found, unavailable, bad bytes) is skipped
    for that block and the next one asked; the first error is raised if none serves.
    """

    def __init__(
        self, sources: Sequence[Source], *, cache_bytes: int = DEFAULT_CACHE_BYTES
    ) -> None:
        if cache_bytes < 0:
            raise InvalidInputError("cache_bytes must not be negative")
        self.sources = list(sources)
        self.cache_bytes = cache_bytes
        self.stats = FetchStats()
        self._cache: OrderedDict[bytes, bytes] = OrderedDict()
        self._cached = 0
        self._layouts: dict[bytes, tuple[SpanLayout | None, float]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"VerifiedBlocks(sources={[s.name for s in self.sources]})"

    # -- single blocks --------------------------------------------------------------

    def get(self, cid: CID) -> bytes:
        """The block ``cid``, verified; identity CIDs are answered from the CID."""
        if cid.hashfun.code == IDENTITY:
            return bytes(cid.raw_digest)
        cached = self._lookup(cid)
        if cached is not None:
            return cached
        failures: list[Exception] = []
        for source in self.sources:
            if not isinstance(source, BlockSource):
                continue
            try:
                data = source.get_block(cid)
                self._count(1, 1, len(data))
                _check_block_size(cid, len(data))
                verify_block(cid, data)
            except (IpfsKitError, KeyError) as exc:
                failures.append(exc)
                continue
            self._store(cid, data)
            return data
        raise _worst(cid, failures)

    def cached(self, cid: CID) -> bytes | None:
        """The block ``cid`` if the cache holds it (verified when it was stored)."""
        return self._lookup(cid)

    def keep(self, cid: CID, data: bytes) -> None:
        """Cache ``data`` as the block ``cid``: the caller verified it against ``cid``."""
        self._store(cid, data)

    def layout(self, root: CID) -> SpanLayout | None:
        """The first span layout a source offers for ``root``; a layout is kept, a miss
        is asked again after :data:`LAYOUT_MISS_TTL_S` (a source may have been down)."""
        key = bytes(root)
        now = time.monotonic()
        with self._lock:
            known = self._layouts.get(key)
        if known is not None and (known[0] is not None or now - known[1] < LAYOUT_MISS_TTL_S):
            return known[0]
        found: SpanLayout | None = None
        for source in self.sources:
            if isinstance(source, SpanSource) and not isinstance(source, BlockSource):
                found = source.layout(root)
                if found is not None:
                    break
        with self._lock:
            if len(self._layouts) >= MAX_LAYOUTS:
                self._layouts.clear()
            self._layouts[key] = (found, now)
        return found

    def node_from(self, layout: SpanLayout | None, cid: CID) -> bytes | None:
        """An internal node from ``layout`` (verified), None if it is a leaf there."""
        if layout is None:
            return self.get(cid)
        cached = self._lookup(cid)
        if cached is not None:
            return cached
        data = layout.node(cid)
        if data is None:
            return None
        _check_block_size(cid, len(data))
        try:
            verify_block(cid, data)
        except ContentMismatchError:
            return self.get(cid)  # a damaged layout: another source may hold the node
        self._store(cid, data)
        return data

    # -- leaves ---------------------------------------------------------------------

    def read_leaves(self, layout: SpanLayout, spans: Sequence[LeafSpan]) -> Iterator[bytes]:
        """The content of contiguous leaf ``spans``, each verified, in order.

        Leaves in the cache are not fetched again; each run of uncached leaves costs
        one ranged request to the layout.
        """
        todo = list(spans)
        while todo:
            hit = self._lookup(_leaf_key(todo[0].cid))
            if hit is not None:
                todo.pop(0)
                yield hit
                continue
            run = [todo[0]]
            for span in todo[1:]:
                if self._peek(_leaf_key(span.cid)):
                    break
                run.append(span)
            del todo[: len(run)]
            yield from self._read_run(layout, run)

    def _read_run(self, layout: SpanLayout, run: list[LeafSpan]) -> Iterator[bytes]:
        """One ranged request for ``run``; if the span source fails part-way, the rest
        comes from the block sources (or the span source's error is raised)."""
        done = 0
        try:
            self._count(1, 0, 0)
            pieces = layout.read_spans(run)
            for span in run:
                data = next(pieces, None)
                if data is None:
                    raise ContentNotFoundError(
                        f"the span source ended before leaf {short_cid(span.cid)}"
                    )
                self._count(0, 1, len(data))
                checked = self._checked_leaf(span, data)
                done += 1
                yield checked
        except (BackendError, ContentNotFoundError) as exc:
            for span in run[done:]:
                try:
                    block = self.get(span.cid)
                except ContentNotFoundError:
                    raise exc from None
                yield leaf_content(span, block)

    def _checked_leaf(self, span: LeafSpan, data: bytes) -> bytes:
        """``data`` if it is the leaf ``span.cid``, else the leaf from a block source."""
        if len(data) != span.size or not _leaf_matches(span.cid, data):
            try:
                block = self.get(span.cid)  # another source may hold the good leaf
            except ContentNotFoundError as exc:
                raise ContentMismatchError(
                    f"leaf {short_cid(span.cid)} at bytes {span.offset}..{span.offset + span.size}"
                    " does not match its CID and no other source holds it",
                    cid=str(span.cid),
                ) from exc
            data = leaf_content(span, block)
        self._put(_leaf_key(span.cid), data)
        return data

    def leaf_content(self, span: LeafSpan) -> bytes:
        """The content of one leaf fetched as a block (raw or a dag-pb leaf), checked."""
        return leaf_content(span, self.get(span.cid))

    # -- cache ----------------------------------------------------------------------

    def _peek(self, key: bytes) -> bool:
        with self._lock:
            return key in self._cache

    def _lookup(self, cid: CID | bytes) -> bytes | None:
        key = cid if isinstance(cid, bytes) else bytes(cid)
        with self._lock:
            data = self._cache.get(key)
            if data is not None:
                self._cache.move_to_end(key)
                self.stats.cache_hits += 1
            return data

    def _store(self, cid: CID, data: bytes) -> None:
        self._put(bytes(cid), data)

    def _put(self, key: bytes, data: bytes) -> None:
        if len(data) > self.cache_bytes:
            return
        with self._lock:
            old = self._cache.pop(key, None)
            self._cached += len(data) - (len(old) if old is not None else 0)
            self._cache[key] = data
            while self._cached > self.cache_bytes:
                _, evicted = self._cache.popitem(last=False)
                self._cached -= len(evicted)

    def _count(self, requests: int, blocks: int, size: int) -> None:
        with self._lock:
            self.stats.requests += requests
            self.stats.blocks += blocks
            self.stats.bytes += size


def _worst(cid: CID, failures: list[Exception]) -> Exception:
    """What to raise when no source served ``cid``: bad bytes first, then a source that
    failed (the block may exist), else not found."""
    for kind in (ContentMismatchError, ResourceLimitError):
        for exc in failures:
            if isinstance(exc, kind):
                return exc
    for exc in failures:
        if not isinstance(exc, ContentNotFoundError | KeyError):
            return exc
    found = ContentNotFoundError(f"no source holds block {short_cid(cid)}")
    found.__cause__ = failures[0] if failures else None
    return found


def _leaf_key(cid: CID) -> bytes:
    """The cache key of a leaf's content (beside its block, cached under its CID)."""
    return b"leaf:" + bytes(cid)


def leaf_content(span: LeafSpan, block: bytes) -> bytes:
    """The file bytes of a verified leaf block (raw, or a dag-pb leaf), size checked."""
    if span.cid.codec.code == DAG_PB:
        node = decode_node(block)
        if node.links or node.data is None:
            raise ContentMismatchError(f"{short_cid(span.cid)} is not a file leaf")
        content = decode_unixfs(node.data).data or b""
    else:
        content = block
    if len(content) != span.size:
        raise ContentMismatchError(
            f"file block {short_cid(span.cid)} holds {len(content)} bytes "
            f"but its parent says {span.size}"
        )
    return content


def _check_block_size(cid: CID, size: int) -> None:
    if size > MAX_BLOCK_BYTES:
        raise ResourceLimitError(
            f"block {short_cid(cid)} has {size} bytes, more than {MAX_BLOCK_BYTES}"
        )


def _leaf_matches(cid: CID, content: bytes) -> bool:
    """Whether ``content`` is the leaf ``cid``: a raw block, or a canonical dag-pb leaf."""
    code = cid.codec.code
    if code not in (RAW, DAG_PB):
        return False
    if cid.hashfun.code != SHA2_256:
        block = content if code == RAW else b"".join(_framed(content))
        try:
            verify_block(cid, block)
        except (ContentMismatchError, InvalidInputError):
            return False
        return True
    h = hashlib.sha256()
    for part in (content,) if code == RAW else _framed(content):
        h.update(part)
    return h.digest() == raw_digest_of(cid)


def _framed(content: bytes) -> tuple[bytes, bytes, bytes]:
    prefix, suffix = pb_leaf_frame(len(content))
    return prefix, content, suffix


class UnixFSFile:
    """One UnixFS file (or raw block) by its root CID, read by ranges, verified."""

    def __init__(self, cid: CID | str, blocks: VerifiedBlocks) -> None:
        self.cid = parse_cid(cid)
        self.blocks = blocks
        self._layout = blocks.layout(self.cid)
        self._root: UnixFSNode | None = None
        self._root_block = b""
        self.size = self._size()

    def __repr__(self) -> str:
        return f"UnixFSFile({self.cid}, size={self.size})"

    def _size(self) -> int:
        layout = self._layout
        block = self.blocks.node_from(layout, self.cid)
        if block is None:  # the root is a single leaf of the layout's file
            assert layout is not None
            _check_block_size(self.cid, layout.size)
            return layout.size
        self._root = load_node(self.cid, lambda _cid: block)
        self._root_block = block
        if self._root.kind != "file":
            raise NotAFileError(f"{short_cid(self.cid)} is a {self._root.kind}, not a file")
        if self._root.unixfs is None:
            return len(self._root.raw)
        data, children = _file_parts(self._root)
        return len(data) + sum(size for _, size in children)

    def iter_range(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield the verified bytes ``[start, end)`` (``end`` None: to the end)."""
        start, end = _clamp(start, end, self.size)
        if start >= end:
            return
        pending: list[LeafSpan] = []
        for item in self._walk(start, end):
            if isinstance(item, LeafSpan):
                pending.append(item)
                if sum(s.size for s in pending) >= SPAN_BATCH_BYTES:
                    yield from self._flush(pending, start, end)
                continue
            yield from self._flush(pending, start, end)
            offset, data = item
            yield from _trimmed(offset, data, start, end)
        yield from self._flush(pending, start, end)

    def _flush(self, pending: list[LeafSpan], start: int, end: int) -> Iterator[bytes]:
        if not pending:
            return
        spans = pending[:]
        pending.clear()
        if self._layout is None:
            contents: Iterator[bytes] = (self.blocks.leaf_content(s) for s in spans)
        else:
            contents = self.blocks.read_leaves(self._layout, spans)
        for span, data in zip(spans, contents, strict=False):
            yield from _trimmed(span.offset, data, start, end)

    def iter_blocks(self, start: int = 0, end: int | None = None) -> Iterator[tuple[CID, bytes]]:
        """Yield ``(cid, block)`` for every block the bytes ``[start, end)`` need, verified,
        in depth-first order (parents before children): the blocks of a trustless
        gateway's CAR for ``dag-scope=entity`` with ``entity-bytes``. The root always.
        """
        start, end = _clamp(start, end, self.size)
        nodes: list[tuple[CID, bytes]] = []
        pending: list[LeafSpan] = []
        if self._root is None:  # a one-leaf file held as plain bytes
            yield from self._leaf_blocks([LeafSpan(self.cid, 0, self.size)])
            return
        if start >= end:
            yield self.cid, self._root_block
            return
        for item in self._walk(start, end, lambda cid, block: nodes.append((cid, block))):
            if nodes:
                yield from self._leaf_blocks(pending)
                yield from nodes
                nodes.clear()
            if isinstance(item, LeafSpan):
                pending.append(item)
                if sum(s.size for s in pending) >= SPAN_BATCH_BYTES:
                    yield from self._leaf_blocks(pending)
        yield from self._leaf_blocks(pending)
        yield from nodes

    def _leaf_blocks(self, pending: list[LeafSpan]) -> Iterator[tuple[CID, bytes]]:
        spans = pending[:]
        pending.clear()
        if not spans:
            return
        if self._layout is None:
            for span in spans:
                yield span.cid, self.blocks.get(span.cid)
            return
        for span, content in zip(spans, self.blocks.read_leaves(self._layout, spans), strict=True):
            yield span.cid, self._leaf_block(span.cid, content)

    def _leaf_block(self, cid: CID, content: bytes) -> bytes:
        """The block of a verified leaf from its content (raw, or the canonical dag-pb
        leaf that hashed to ``cid``; any other form is fetched as a block)."""
        if cid.codec.code != DAG_PB:
            return content
        block = b"".join(_framed(content))
        try:
            verify_block(cid, block)
        except ContentMismatchError:
            return self.blocks.get(cid)
        return block

    def _walk(
        self, start: int, end: int, on_node: Callable[[CID, bytes], None] | None = None
    ) -> Iterator[LeafSpan | tuple[int, bytes]]:
        """Leaves (as spans) and inline data (as ``(offset, bytes)``) over the range;
        ``on_node`` sees each internal node (the root too) as it is reached."""
        stack: list[tuple[CID, int, int, int]] = [(self.cid, 0, self.size, 0)]
        while stack:
            cid, offset, size, depth = stack.pop()
            if offset >= end or offset + size <= start or size == 0:
                continue
            if depth > MAX_DEPTH:
                raise ResourceLimitError(f"{short_cid(self.cid)} nests deeper than {MAX_DEPTH}")
            found = self._node(cid, depth)
            if found is None:
                _check_block_size(cid, size)
                yield LeafSpan(cid, offset, size)
                continue
            node, block = found
            if on_node is not None:
                on_node(cid, block)
            data, children = _checked_parts(node, size)
            if data:
                yield offset, data
            child_offset = offset + len(data)
            pushed = []
            for child, child_size in children:
                pushed.append((child, child_offset, child_size, depth + 1))
                child_offset += child_size
            stack.extend(reversed(pushed))

    def _node(self, cid: CID, depth: int) -> tuple[UnixFSNode, bytes] | None:
        """The decoded internal node ``cid`` and its block, or None for a leaf to read as
        a span."""
        if depth == 0 and self._root is not None:
            return self._root, self._root_block
        if cid.codec.code == RAW and cid.hashfun.code != IDENTITY:
            return None
        block = self.blocks.node_from(self._layout, cid)
        if block is None:
            return None
        return load_node(cid, lambda _cid: block), block


def _checked_parts(node: UnixFSNode, expected: int) -> tuple[bytes, list[tuple[CID, int]]]:
    """A file node's inline data and children, checked against the size its parent gave."""
    children: list[tuple[CID, int]] = []
    if node.unixfs is None:
        data = node.raw
    else:
        data, children = _file_parts(node)
    actual = len(data) + sum(size for _, size in children)
    if actual != expected:
        raise ContentMismatchError(
            f"file block {short_cid(node.cid)} holds {actual} bytes but its parent says {expected}"
        )
    return data, children


def _trimmed(offset: int, data: bytes, start: int, end: int) -> Iterator[bytes]:
    lo, hi = max(start - offset, 0), min(end - offset, len(data))
    if lo < hi:
        yield data if (lo, hi) == (0, len(data)) else data[lo:hi]


def _clamp(start: int, end: int | None, size: int) -> tuple[int, int]:
    if start < 0 or (end is not None and end < 0):
        raise InvalidInputError(f"a byte range must not be negative: {start}..{end}")
    return min(start, size), size if end is None else min(end, size)


def iter_range(
    cid: CID | str, blocks: VerifiedBlocks, start: int = 0, end: int | None = None
) -> Iterator[bytes]:
    """Yield the verified bytes ``[start, end)`` of the file ``cid`` (``end`` exclusive).

    The range is clamped to the file; only the blocks covering it are fetched.
    """
    return UnixFSFile(cid, blocks).iter_range(start, end)


class RandomAccessFile(io.RawIOBase):
    """A seekable, read-only binary file over a UnixFS file, every block verified.

    ``read(n)`` after ``seek(k)`` fetches only the blocks covering ``[k, k+n)``.
    ``size`` is the file's length; ``stats`` what was fetched for it.
    """

    def __init__(self, cid: CID | str, blocks: VerifiedBlocks, *, name: str = "") -> None:
        super().__init__()
        self.file = UnixFSFile(cid, blocks)
        self.name = name or str(self.file.cid)
        self._pos = 0

    @property
    def cid(self) -> CID:
        return self.file.cid

    @property
    def size(self) -> int:
        return self.file.size

    @property
    def stats(self) -> FetchStats:
        return self.file.blocks.stats

    def __repr__(self) -> str:
        return f"RandomAccessFile({self.file.cid}, size={self.size}, pos={self._pos})"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._checkClosed()
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._checkClosed()
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = self.size + offset
        else:
            raise InvalidInputError(f"invalid whence {whence}")
        if target < 0:
            raise InvalidInputError(f"negative seek position {target}")
        self._pos = target
        return target

    def readinto(self, buffer: Any) -> int:
        self._checkClosed()
        view = memoryview(buffer).cast("B")
        filled = 0
        for chunk in self.file.iter_range(self._pos, self._pos + len(view)):
            view[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
        self._pos += filled
        return filled

    def readall(self) -> bytes:
        self._checkClosed()
        data = b"".join(self.file.iter_range(self._pos))
        self._pos += len(data)
        return data
