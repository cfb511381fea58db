"""The gateway's blocks over a kit: tiers that answer blocks (kubo, gateways) and the
blocks of files the tiers hold whole (memory, disk, S3, Storacha).

A file held whole is served through its layout (:mod:`ipfs_kit_py.gateway.file_layouts`):
its internal nodes, with each leaf read as its byte span of the copy when asked for,
never the whole file chunked into blocks first. Where the copy is, in order: the memory
tier (its bytes), the disk tier (the file, read with ``pread``), a tier holding plain
bytes by ranges (S3: the layout stored beside the object, leaves by ranged GETs), else
the tier manager's verified read (Storacha: the file fetched once, kept open); a file
kubo holds is left to kubo's ``block/get`` (no whole-file read first). A local
copy's layout costs one pass of parallel leaf hashing, which rebuilds the root: a copy
that does not is left to the tier manager, which refuses it and reads another.

Layouts are kept for at most ``max_files`` roots and ``max_bytes`` (their nodes, their
leaf entries and any file bytes they hold; the newest root is always kept), least
recently used dropped first. Layouts of different files are made concurrently (at most
:data:`PARALLEL_LAYOUTS` at once); two requests for one file share one pass.
A disk copy's layout is also kept in the cache directory for the next process
(:class:`~ipfs_kit_py.gateway.layout_store.LayoutStore`), tied to that very copy.
"""

from __future__ import annotations

import io
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ipfs_kit_py.content.cid import CID, cid_bytes_key, cid_key, short_cid
from ipfs_kit_py.content.dag import file_parts, load_node
from ipfs_kit_py.content.random_access import Source, VerifiedBlocks
from ipfs_kit_py.errors import ContentMismatchError, ContentNotFoundError, IpfsKitError
from ipfs_kit_py.gateway.file_layouts import LaidOut, file_reader, laid_out, layout_of_stream
from ipfs_kit_py.gateway.layout_store import LayoutStore
from ipfs_kit_py.gateway.node_source import DirectoryNodes, TreeMembers
from ipfs_kit_py.tiers.blocks import block_readers, block_sources, range_readers
from ipfs_kit_py.tiers.span_layout import SpanTier

if TYPE_CHECKING:
    from ipfs_kit_py.backends.base import RangeReader
    from ipfs_kit_py.ipfs_kit import ipfs_kit
    from ipfs_kit_py.tiers.manager import TieredCacheManager

__all__ = ["PARALLEL_LAYOUTS", "WholeFileBlocks", "kit_blocks"]

PARALLEL_LAYOUTS = 2  # local layout passes at once: each keeps both cores busy


class WholeFileBlocks:
    """A block source over the files the tier manager holds whole (see the module)."""

    name = "tiers"

    def __init__(
        self,
        tiers: TieredCacheManager,
        *,
        max_files: int = 64,
        max_bytes: int = 4 << 30,
        kept: LayoutStore | None = None,
    ) -> None:
        self.tiers = tiers
        self.kept = kept  # disk copies' layouts kept across processes
        self.max_files = max_files
        self.max_bytes = max_bytes
        self._laid: OrderedDict[bytes, LaidOut] = OrderedDict()
        self._lock = threading.Lock()
        self._making: dict[bytes, threading.Lock] = {}
        self._passes = threading.Semaphore(PARALLEL_LAYOUTS)

    def get_block(self, cid: CID) -> bytes:
        """The block ``cid`` (unverified: the caller checks it) of a file laid out
        already, or the root of a file the tiers hold (laid out now). Raises
        ``ContentNotFoundError`` otherwise."""
        found = self._lookup(cid)
        if found is not None:
            return found
        if not self._held(cid):
            raise ContentNotFoundError("no tier holds it as a file")  # no CID: base58 is ~2 ms
        key = cid_bytes_key(cid)
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        with making:  # one pass per file; other files are not held up
            try:
                found = self._lookup(cid)
                if found is None:
                    with self._passes:
                        entry = self._lay_out(cid)
                    self._keep(key, entry)
                    found = entry.block(cid)
            finally:
                with self._lock:
                    self._making.pop(key, None)
        if found is None:
            raise ContentNotFoundError(f"{short_cid(cid)} is not the root of its layout")
        return found

    def close(self) -> None:
        with self._lock:
            for entry in self._laid.values():
                entry.close()
            self._laid.clear()

    def _lookup(self, cid: CID) -> bytes | None:
        with self._lock:
            entries = list(reversed(self._laid.items()))
        for key, entry in entries:
            block = entry.block(cid)
            if block is not None:
                with self._lock:
                    if key in self._laid:
                        self._laid.move_to_end(key)
                return block
        return None

    def _held(self, cid: CID) -> bool:
        """Whether a tier holds ``cid`` as a whole file (one index query for the many
        blocks that are no file's root)."""
        if self.tiers.whereis(cid):
            record = self.tiers.index.content(cid)
            return record is None or record.kind == "file"
        memory = self.tiers.memory  # per process, never in the index
        return memory is not None and memory.lookup(cid_key(cid), count_miss=False) is not None

    def _lay_out(self, cid: CID) -> LaidOut:
        """The layout of file ``cid`` from the first copy that gives one (the module)."""
        memory = self.tiers.memory
        data = memory.lookup(cid_key(cid), count_miss=False) if memory is not None else None
        if data is not None:
            nodes, size = layout_of_stream(cid, io.BytesIO(data), self.tiers.profile_of(cid))
            held = data
            return laid_out(cid, nodes, size, lambda a, b: held[a:b], held_bytes=len(data))
        where = set(self.tiers.whereis(cid))
        local = self._from_disk(cid, where)
        if local is not None:
            return local
        for tier in range_readers(self.tiers.tiers):
            if tier.name in where:
                ranged = self._from_ranges(cid, tier)
                if ranged is not None:
                    return ranged
        if any(t.name in where for t in block_readers(self.tiers.tiers)):
            # kubo answers each block itself: no whole-file read before the first byte
            raise ContentNotFoundError(f"{short_cid(cid)} is served by a block tier")
        return self._from_file(cid, self.tiers.open(cid), held=True)

    def _from_disk(self, cid: CID, where: set[str]) -> LaidOut | None:
        disk = self.tiers.disk
        if disk is None or disk.name not in where:
            return None
        try:
            f = disk.open(cid)
        except (IpfsKitError, OSError):
            return None
        try:
            copy = os.fstat(f.fileno())
            kept = self._kept(cid, f, copy)
            if kept is not None:
                return kept
            entry = self._from_file(cid, f, held=False)
        except ContentMismatchError:
            return None  # the tier manager's read decides about that copy
        except OSError:
            f.close()
            return None
        if self.kept is not None:
            self.kept.save(cid, entry.nodes, copy)
        return entry

    def _kept(self, cid: CID, f: BinaryIO, copy: os.stat_result) -> LaidOut | None:
        """The layout a previous process made of this very copy, if it fits it."""
        found = self.kept.load(cid, copy) if self.kept is not None else None
        if found is None:
            return None
        nodes, size = found
        try:
            declared = _declared_size(cid, nodes)
            entry = laid_out(cid, nodes, size, file_reader(f), on_close=f.close)
        except (IpfsKitError, KeyError, ValueError):
            declared, entry = -1, None
        if entry is None or declared != size:  # the copy is not the file's length
            assert self.kept is not None
            self.kept.drop(cid)
            return None
        return entry

    def _from_file(self, cid: CID, f: BinaryIO, *, held: bool) -> LaidOut:
        """The layout of ``cid`` from an open copy (closed on failure or eviction)."""
        try:
            nodes, size = layout_of_stream(cid, f, self.tiers.profile_of(cid))
        except BaseException:
            f.close()
            raise
        return laid_out(
            cid, nodes, size, file_reader(f), held_bytes=size if held else 0, on_close=f.close
        )

    def _from_ranges(self, cid: CID, tier: RangeReader) -> LaidOut | None:
        layout = SpanTier(tier, self.tiers.profile_of).layout(cid)
        if layout is None:
            return None

        def read(start: int, end: int) -> bytes:
            return b"".join(tier.read_range(cid, start, end))

        return laid_out(cid, dict(layout.nodes), layout.size, read)

    def _keep(self, key: bytes, entry: LaidOut) -> None:
        dropped = []
        with self._lock:
            old = self._laid.pop(key, None)
            if old is not None:
                dropped.append(old)
            self._laid[key] = entry
            while len(self._laid) > 1 and (
                len(self._laid) > self.max_files
                or sum(e.cost for e in self._laid.values()) > self.max_bytes
            ):
                dropped.append(self._laid.popitem(last=False)[1])
        for old in dropped:
            old.close()


def _declared_size(root: CID, nodes: dict[bytes, bytes]) -> int:
    """The byte size the (verified) root node of a file declares."""
    data, children = file_parts(load_node(root, lambda cid: nodes[bytes(cid)]))
    return len(data) + sum(size for _, size in children)


def kit_blocks(kit: ipfs_kit, *, cache_bytes: int = 64 << 20) -> VerifiedBlocks:
    """Verified blocks over a kit's tiers: files the tiers hold whole first (served
    through their layouts), the nodes of the directories the index records
    (:class:`~ipfs_kit_py.gateway.node_source.DirectoryNodes`: S3's node CAR,
    Storacha, else rebuilt from the listing), then the tiers that answer blocks (kubo,
    gateways; S3 layouts serve file ranges), as
    :func:`~ipfs_kit_py.tiers.blocks.block_sources`, and last sub-directories by their
    own CID and directories found in S3
    (:class:`~ipfs_kit_py.gateway.node_source.TreeMembers`). A kit that serves other
    nodes is built with ``peer_tier=False`` (as ``ipfs-kit serve`` does), so a request
    is never forwarded to a third node."""
    tiers = kit.tiers
    cache_dir = getattr(tiers.disk, "root", None)  # the disk tier's directory
    kept = LayoutStore(Path(cache_dir) / "layouts") if isinstance(cache_dir, Path) else None
    files, dirs = WholeFileBlocks(tiers, kept=kept), DirectoryNodes(tiers)
    sources: list[Source] = [files, dirs]
    sources += block_sources(tiers.tiers, tiers.profile_of)
    sources.append(TreeMembers(dirs, files))  # last: a miss there may cost an index scan, a GET
    blocks = VerifiedBlocks(sources, cache_bytes=cache_bytes)
    dirs.file_blocks = blocks.get
    return blocks
