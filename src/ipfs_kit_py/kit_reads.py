"""The kit's verified random access: ``open``, ``stat``, ``resolve`` and ``iter_range``.

A target is a CID or a CID with a path: ``<cid>``, ``<cid>/a/b``, ``/ipfs/<cid>/a/b`` or
``ipfs://<cid>/a/b`` (already percent-decoded). Paths resolve through the directory
nodes the block sources serve (kubo, gateways; HAMT shards too) or, for a directory the
kit keeps in its index (``add`` of a directory without kubo), through the index's tree.

A file held by the memory or disk tier is read from there (verified as the tier manager
does); otherwise from the block and span sources (:mod:`ipfs_kit_py.tiers.blocks`),
fetching only the blocks under the range, each verified; content only a whole-file tier
holds (Storacha) is fetched whole by the tier manager, verified, then read.
"""

from __future__ import annotations

import io
import posixpath
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO, cast

from ipfs_kit_py.content.cid import parse_cid, short_cid
from ipfs_kit_py.content.inline import check_inline_file
from ipfs_kit_py.content.random_access import RandomAccessFile, UnixFSFile, VerifiedBlocks
from ipfs_kit_py.content.resolve import DirEntry, NodeStat, resolve, split_path, stat
from ipfs_kit_py.directory_store import DagStore, StoredTree, stored_tree
from ipfs_kit_py.errors import (
    ContentNotFoundError,
    InvalidInputError,
    NotADirectoryPathError,
    NotAFileError,
    PathNotFoundError,
)
from ipfs_kit_py.streams import CHUNK
from ipfs_kit_py.tiers.blocks import verified_blocks
from ipfs_kit_py.tiers.manager import TieredCacheManager

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = ["KitReader", "split_target"]

_SCHEMES = ("ipfs://", "/ipfs/", "ipfs/")


def split_target(target: CID | str) -> tuple[CID, str]:
    """The root CID and the path (``""`` for none) of a target string."""
    if not isinstance(target, str):
        return parse_cid(target), ""
    text = target.lstrip()  # a name may end in a space: only the CID side is trimmed
    for scheme in _SCHEMES:
        if text.startswith(scheme):
            text = text[len(scheme) :]
            break
    head, _, path = text.partition("/")
    if not head:
        raise InvalidInputError(f"no CID in {target!r:.200}")
    split_path(path)  # checked once here, before anything is fetched
    return parse_cid(head), path.strip("/")


class KitReader:
    """Resolves targets and reads them by ranges over one kit's tiers."""

    def __init__(self, tiers: TieredCacheManager, *, cache_bytes: int | None = None) -> None:
        self.tiers = tiers
        kwargs = {} if cache_bytes is None else {"cache_bytes": cache_bytes}
        self.blocks: VerifiedBlocks = verified_blocks(tiers.tiers, tiers.profile_of, **kwargs)

    def resolve(self, target: CID | str) -> CID:
        """The CID a target names (the root itself when it has no path)."""
        root, path = split_target(target)
        if not path:
            return root
        tree = self._index_tree(root)
        if tree is not None:
            found = _tree_lookup(root, tree, path)
            if found is not None:
                return found
        return resolve(root, path, self.blocks)[0]

    def open(self, target: CID | str) -> BinaryIO:
        """A seekable binary file of the verified file a target names.

        Not from a local tier: a :class:`RandomAccessFile` (unbuffered: ``read(n)``
        fetches exactly the blocks under the ``n`` bytes).
        """
        cid = self.resolve(target)
        check_inline_file(cid)
        if self._held_locally(cid):
            return self.tiers.open(cid)
        source = self._ranged(cid)
        if source is None:
            return self.tiers.open(cid)  # a whole-file tier (Storacha): fetched, verified
        return cast(BinaryIO, RandomAccessFile(cid, self.blocks))

    def iter_range(
        self, target: CID | str, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        """Yield the verified bytes ``[start, end)`` of the file a target names."""
        cid = self.resolve(target)
        check_inline_file(cid)
        source = None if self._held_locally(cid) else self._ranged(cid)
        if source is not None:
            return source.iter_range(start, end)
        return _file_range(self.tiers.open(cid), start, end)

    def iter_blocks(
        self, target: CID | str, start: int = 0, end: int | None = None
    ) -> Iterator[tuple[CID, bytes]]:
        """``(cid, block)`` for every block of the file a target names that the bytes
        ``[start, end)`` need, verified, depth-first (a trustless CAR's blocks).

        Served by the block and span sources only (kubo, gateways, S3 through layouts):
        ``ContentNotFoundError`` for a file only whole-file tiers hold.
        """
        cid = self.resolve(target)
        source = self._ranged(cid)
        if source is None:
            raise ContentNotFoundError(f"no block or span source holds {short_cid(cid)}")
        return source.iter_blocks(start, end)

    def _ranged(self, cid: CID) -> UnixFSFile | None:
        """``cid`` over the block and span sources, or None when none holds it."""
        if stored_tree(self.tiers.index, cid) is not None:
            raise NotAFileError(f"{short_cid(cid)} is a directory, not a file")
        try:
            return UnixFSFile(cid, self.blocks)
        except PathNotFoundError:
            raise
        except ContentNotFoundError:
            return None

    def stat(self, target: CID | str) -> NodeStat:
        """Type, size and (for a directory) entries of what a target names."""
        root, path = split_target(target)
        tree = self._index_tree(root)
        if tree is not None:
            found = _tree_stat(self.tiers, root, tree, path)
            if found is not None:
                return found
        cid = self.resolve(target)
        check_inline_file(cid)
        if not path and self._held_locally(cid):
            return self._file_stat(cid)
        try:
            return stat(cid, "", self.blocks)
        except ContentNotFoundError:
            return self._file_stat(cid)

    def _file_stat(self, cid: CID) -> NodeStat:
        record = self.tiers.index.content(cid)
        if record is not None and record.size is not None and record.kind != "dir":
            return NodeStat(cid, "file", record.size)
        with self.tiers.open(cid) as f:
            return NodeStat(cid, "file", f.seek(0, io.SEEK_END))

    def _index_tree(self, root: CID) -> StoredTree | None:
        """The index's tree of ``root``, unless a kubo tier holds its directory nodes."""
        tree = stored_tree(self.tiers.index, root)
        if tree is None:
            return None
        kubo = {s.name for s in self.blocks.sources if isinstance(s, DagStore)}
        if any(loc.backend in kubo for loc in self.tiers.index.locations(root)):
            return None
        return tree

    def _held_locally(self, cid: CID) -> bool:
        memory = self.tiers.memory
        if memory is not None and memory.has(cid):  # never recorded in the shared index
            return True
        local = {t.name for t in (self.tiers.memory, self.tiers.disk) if t is not None}
        if not local:
            return False
        return any(loc.backend in local for loc in self.tiers.index.locations(cid))


def _file_range(f: BinaryIO, start: int, end: int | None) -> Iterator[bytes]:
    with f:
        f.seek(start)
        left = None if end is None else max(end - start, 0)
        while left is None or left > 0:
            chunk = f.read(CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk


def _tree_lookup(root: CID, tree: StoredTree, path: str) -> CID | None:
    """The file CID ``path`` names in a stored tree; None for a directory of it."""
    if path in tree.files:
        return parse_cid(tree.files[path])
    if path in tree.dirs:
        return None
    _check_tree_parents(root, tree, path)
    raise PathNotFoundError(f"no entry {path!r:.300} under {short_cid(root)}")


def _check_tree_parents(root: CID, tree: StoredTree, path: str) -> None:
    parent = posixpath.dirname(path)
    while parent:
        if parent in tree.files or parent in tree.links:
            raise NotADirectoryPathError(f"{parent} under {short_cid(root)} is not a directory")
        parent = posixpath.dirname(parent)


def _tree_stat(
    tiers: TieredCacheManager, root: CID, tree: StoredTree, path: str
) -> NodeStat | None:
    """A stored tree's directory ``path`` listed from the index (None: not a directory).

    The index keeps no CID for sub-directories: their entries carry ``cid=None``.
    """
    if path and path not in tree.dirs:
        if path in tree.files:
            return None
        _tree_lookup(root, tree, path)
    entries: list[DirEntry] = []
    prefix = f"{path}/" if path else ""
    for inner in sorted({*tree.files, *tree.dirs, *tree.links}):
        if not inner.startswith(prefix) or "/" in inner[len(prefix) :]:
            continue
        name = inner[len(prefix) :]
        if inner in tree.files:
            cid = parse_cid(tree.files[inner])
            record = tiers.index.content(cid)
            size = record.size if record is not None else None
            entries.append(DirEntry(name, cid, size, "file"))
        elif inner in tree.links:
            entries.append(DirEntry(name, None, len(tree.links[inner]), "symlink"))
        else:
            entries.append(DirEntry(name, None, None, "directory"))
    total = sum(e.size or 0 for e in entries)
    return NodeStat(None if path else root, "directory", total, entries)
