"""Blocks of a file held whole (plain bytes: a disk file, an S3 object, memory), served
without chunking the file into blocks first.

A file's *layout* is its internal DAG nodes (~0.05% of the file with kubo's profile).
With it, every block of the file is at hand: an internal node from the layout, a leaf
as its byte span of the file (a raw leaf is those bytes; a dag-pb leaf wraps them).
The caller verifies each block against its CID (``VerifiedBlocks``), so a leaf read
from a copy that changed since is refused, never sent.

A layout comes from where the file is: S3 keeps one beside each object (written by
``add``; :class:`~ipfs_kit_py.tiers.span_layout.SpanTier` builds a missing one once);
for a local file it is one pass of leaf hashing on worker threads (both cores; no
block is written anywhere), which also proves the bytes are the CID's: the pass must
rebuild the root. Verifying any byte needs the root, so no range can be served before
that pass; after it, a range costs only the leaves under it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from ipfs_kit_py.content.cid import CID, DAG_PB, RAW, cid_key, short_cid
from ipfs_kit_py.content.dag import file_parts, load_node
from ipfs_kit_py.content.hashing import iter_leaf_digests, pb_leaf_frame
from ipfs_kit_py.content.random_access import MAX_BLOCK_BYTES
from ipfs_kit_py.content.unixfs import FileImporter, ImportProfile
from ipfs_kit_py.content.verify import candidate_profiles
from ipfs_kit_py.errors import ContentMismatchError, ResourceLimitError
from ipfs_kit_py.tiers.span_layout import LayoutCollector, rooted

__all__ = ["LaidOut", "ReadSpan", "file_reader", "laid_out", "layout_of_stream"]

ReadSpan = Callable[[int, int], bytes]  # the file's bytes [start, end), unverified
_LEAF_ENTRY_COST = 128  # bytes of memory one leaf's entry costs, about
_MAX_DEPTH = 64


@dataclass
class LaidOut:
    """One file's layout and a reader of its bytes: answers any block of its DAG."""

    root: CID
    size: int
    nodes: dict[bytes, bytes]
    leaves: dict[bytes, tuple[int, int]]  # leaf CID bytes -> (offset, size)
    read: ReadSpan
    held_bytes: int = 0  # file bytes kept in memory or spooled for it
    on_close: Callable[[], None] = field(default=lambda: None)
    _users: int = 0  # reads in progress: the copy is closed after the last of them
    _closing: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def cost(self) -> int:
        """What keeping it costs: its nodes, its leaf entries and the bytes it holds."""
        nodes = sum(len(data) for data in self.nodes.values())
        return nodes + _LEAF_ENTRY_COST * len(self.leaves) + self.held_bytes

    def block(self, cid: CID) -> bytes | None:
        """The (unverified) block ``cid`` if it is part of this file, else None."""
        key = bytes(cid)
        node = self.nodes.get(key)
        if node is not None:
            return node
        span = self.leaves.get(key)
        if span is None:
            return None
        with self._lock:
            if self._closing:
                return None
            self._users += 1
        try:
            data = self.read(span[0], span[0] + span[1])
        finally:
            self._release()
        if cid.codec.code != DAG_PB:
            return data
        prefix, suffix = pb_leaf_frame(len(data))
        return b"".join((prefix, data, suffix))

    def close(self) -> None:
        """Close the copy once no read is using it (at once if none is)."""
        with self._lock:
            self._closing = True
        self._release(0)

    def _release(self, reads: int = 1) -> None:
        with self._lock:
            self._users -= reads
            last = self._closing and self._users == 0
            if last:
                self._closing, self._users = True, -1  # closed once only
        if last:
            self.on_close()


def laid_out(
    root: CID,
    nodes: dict[bytes, bytes],
    size: int,
    read: ReadSpan,
    *,
    held_bytes: int = 0,
    on_close: Callable[[], None] = lambda: None,
) -> LaidOut:
    """A :class:`LaidOut` from a verified layout (``nodes`` rooted at ``root``)."""
    return LaidOut(root, size, nodes, _leaves(root, nodes, size), read, held_bytes, on_close)


def _leaves(root: CID, nodes: dict[bytes, bytes], size: int) -> dict[bytes, tuple[int, int]]:
    """Each leaf of the layout's file and its span (the root itself for a one-leaf file)."""
    if bytes(root) not in nodes:
        if size > MAX_BLOCK_BYTES:
            raise ResourceLimitError(f"{short_cid(root)} is one block of {size} bytes")
        return {bytes(root): (0, size)}
    leaves: dict[bytes, tuple[int, int]] = {}
    stack: list[tuple[CID, int, int]] = [(root, 0, 0)]
    while stack:
        cid, offset, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise ResourceLimitError(f"{short_cid(root)} nests deeper than {_MAX_DEPTH}")
        data, children = file_parts(load_node(cid, _giver(nodes)))
        offset += len(data)
        for child, child_size in children:
            if bytes(child) in nodes and child.codec.code != RAW:
                stack.append((child, offset, depth + 1))
            elif child_size:
                leaves.setdefault(bytes(child), (offset, child_size))
            offset += child_size
    return leaves


def _giver(nodes: dict[bytes, bytes]) -> Callable[[CID], bytes]:
    return lambda cid: nodes[bytes(cid)]


def layout_of_stream(
    root: CID, f: BinaryIO, profile: ImportProfile | None
) -> tuple[dict[bytes, bytes], int]:
    """The internal nodes of file ``root`` from one pass over ``f`` (leaves hashed on
    worker threads), tried with ``profile`` else each candidate profile in turn, and the
    file's size. Raises :class:`ContentMismatchError` if no profile rebuilds ``root``."""
    profiles = [profile] if profile is not None else candidate_profiles(root)
    if root.codec.code != DAG_PB:
        profiles = [p for p in profiles if p.raw_leaves] or profiles
    found: list[str] = []
    for candidate in profiles:
        f.seek(0)
        collector = LayoutCollector()
        importer = FileImporter(candidate, collector, leaves=False)
        for chunk, digest in iter_leaf_digests(f, candidate.chunk_size, candidate.raw_leaves):
            importer.add_leaf_digest(len(chunk), digest)
        result = importer.finish()
        if cid_key(result.cid) == cid_key(root):
            if collector.nodes is None:
                raise ResourceLimitError(f"the DAG of {short_cid(root)} has too many nodes")
            return rooted(root, collector.nodes), result.size
        found.append(f"{short_cid(result.cid)} ({candidate.key()})")
    raise ContentMismatchError(
        f"the copy of {short_cid(root)} imports to {', '.join(found)}", cid=str(root)
    )


def file_reader(f: BinaryIO) -> ReadSpan:
    """Reads spans of an open file: ``pread`` on a real file (no shared position),
    else seek and read under a lock."""
    try:
        fd = f.fileno()
    except (OSError, AttributeError, ValueError):
        fd = -1
    if fd >= 0 and hasattr(os, "pread"):
        return lambda start, end: _pread(fd, start, end)
    lock = threading.Lock()

    def read(start: int, end: int) -> bytes:
        with lock:
            f.seek(start)
            return f.read(end - start)

    return read


def _pread(fd: int, start: int, end: int) -> bytes:
    parts = []
    while start < end:
        data = os.pread(fd, end - start, start)
        if not data:
            break
        parts.append(data)
        start += len(data)
    return b"".join(parts)
