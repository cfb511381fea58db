"""The nodes of directories the kit holds without a block store: S3's node CAR, Storacha.

A directory added to S3 keeps its nodes (directories, HAMT shards, symlink nodes) as
one CAR object beside its files; added to Storacha, they are part of one upload of its
whole DAG (:mod:`ipfs_kit_py.directory_copies`). Neither tier answers blocks by CID, so
the gateway could not resolve a path inside such a directory. :class:`DirectoryNodes`
answers the blocks of a directory root the index records (``kind="dir"``) and of every
node below it, loaded once from the first tier listed as holding the root:

- a :class:`~ipfs_kit_py.directory_copies.NodeStore` (S3): its node CAR, one GET;
- a tier with ``dag_block`` (Storacha): the nodes walked from the root, one block at a
  time; a link to one of the tree's files (the index lists their CIDs) is not followed.

A tree no tier holds as such (added to memory or disk only: the index records it, the
tiers hold its files) has its nodes rebuilt from the index's listing
(:func:`~ipfs_kit_py.content.tree_rebuild.rebuild_tree_nodes`), each file's link size
read from the file's root block; the rebuilt root must be the directory's CID.

:class:`TreeMembers`, the gateway's last source, answers what the others did not: a
sub-directory asked for by its own CID (the index lists each tree's sub-directories:
the tree that records it is loaded), a directory the index does not know that a
NodeStore holds under its CID (found, recorded as ``ipfs-kit get`` records it, loaded),
and a file the index does not list that a NodeStore holds (one HEAD; recorded, as
``add`` records a file it finds there). A sub-directory of a tree no index records
has no sound way to its root (a node does not name its parent): 404.

Every block is checked against its CID as it is loaded (the gateway checks it again).
The tree's files come from the tiers that hold them whole
(:class:`~ipfs_kit_py.gateway.kit_source.WholeFileBlocks`). Nodes are kept in an
unlinked temporary store per root, ``max_trees`` roots at most, least recently used
dropped first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ipfs_kit_py.content.blockstore import TempBlockStore
from ipfs_kit_py.content.car import CarReader
from ipfs_kit_py.content.cid import DAG_PB, cid_bytes_key, cid_key, parse_cid, short_cid
from ipfs_kit_py.content.dag import load_node, verified_getter
from ipfs_kit_py.content.dagpb import UnixFSType, decode_node
from ipfs_kit_py.content.tree_nodes import MAX_TREE_ENTRIES
from ipfs_kit_py.content.tree_rebuild import rebuild_tree_nodes
from ipfs_kit_py.directory_copies import NodeStore, TreeStores
from ipfs_kit_py.directory_store import discover_tree, stored_tree
from ipfs_kit_py.errors import (
    ContentMismatchError,
    ContentNotFoundError,
    IpfsKitError,
    ResourceLimitError,
)
from ipfs_kit_py.streams import reader

if TYPE_CHECKING:
    from ipfs_kit_py.backends.base import StoredObject
    from ipfs_kit_py.content.cid import CID
    from ipfs_kit_py.content.random_access import BlockSource
    from ipfs_kit_py.tiers.manager import TieredCacheManager

__all__ = ["DagBlockTier", "DirectoryNodes", "TreeMembers"]

_IDENTITY = 0x00
_NODE_TYPES = (UnixFSType.DIRECTORY, UnixFSType.HAMT_SHARD, UnixFSType.SYMLINK)


@runtime_checkable
class DagBlockTier(Protocol):
    """A tier that answers one block of a DAG it holds (Storacha, through its gateway)."""

    name: str

    def dag_block(self, cid: CID) -> bytes: ...


@runtime_checkable
class _Stats(Protocol):
    """A tier that answers whether it holds a CID, and how large its copy is."""

    def has(self, cid: CID) -> bool: ...

    def stat(self, cid: CID) -> StoredObject: ...


class DirectoryNodes:
    """A block source over the nodes of directories the index records (see the module)."""

    name = "directory-nodes"

    def __init__(
        self,
        tiers: TieredCacheManager,
        *,
        max_trees: int = 64,
        file_blocks: Callable[[CID], bytes] | None = None,
    ) -> None:
        self.tiers = tiers
        self.max_trees = max_trees
        self.file_blocks = file_blocks  # verified blocks of the files, to rebuild a tree
        self._trees: OrderedDict[bytes, TempBlockStore] = OrderedDict()
        self._lock = threading.Lock()
        self._loading = threading.RLock()

    def get_block(self, cid: CID) -> bytes:
        """The block ``cid`` of a loaded tree, or the root of a directory the index
        records (its nodes loaded now). Raises ``ContentNotFoundError`` otherwise."""
        found = self._lookup(cid)
        if found is not None:
            return found
        files = self._tree_files(cid)
        with self._loading:  # one tree loaded at a time
            found = self._lookup(cid)
            if found is None:
                store = self._load(cid, files)
                self._keep(cid, store)
                found = store.get(cid)
        return found

    def close(self) -> None:
        with self._lock:
            for store in self._trees.values():
                store.close()
            self._trees.clear()

    def lookup(self, cid: CID) -> bytes | None:
        """The block ``cid`` if a loaded tree holds it."""
        return self._lookup(cid)

    def _lookup(self, cid: CID) -> bytes | None:
        with self._lock:
            for key, store in reversed(self._trees.items()):
                if store.has(cid):
                    self._trees.move_to_end(key)
                    return store.get(cid)
        return None

    def _tree_files(self, cid: CID) -> set[bytes]:
        """The CIDs of the files of directory ``cid`` as the index records it."""
        record = self.tiers.index.content(cid) if cid.codec.code == DAG_PB else None
        if record is None or record.kind != "dir":
            # no CID in the text: printing one costs ~2 ms, paid on every block of a CAR
            raise ContentNotFoundError("not a directory the index records")
        files = record.metadata.get("files", {})
        return {cid_bytes_key(parse_cid(c)) for c in files.values()}

    def _load(self, root: CID, files: set[bytes]) -> TempBlockStore:
        """The nodes of ``root`` from the first tier that gives them; the last error if
        none does."""
        error: IpfsKitError = ContentNotFoundError(
            f"no tier holds the nodes of directory {short_cid(root)}"
        )
        tried = False  # a tier that holds directories as such (kubo answers blocks itself)
        for location in self.tiers.index.locations(root):
            try:
                tier = self.tiers.tier(location.backend)
                tried = tried or isinstance(tier, TreeStores)
                if isinstance(tier, NodeStore):
                    store = _from_node_car(tier, root)
                elif isinstance(tier, DagBlockTier):
                    store = _walk_nodes(root, verified_getter(tier.dag_block), files)
                else:
                    continue
            except IpfsKitError as exc:
                error = exc
                continue
            if store is not None:
                return store
        if not tried:  # memory or disk only: the tiers hold the files, the index the tree
            return self._rebuild(root)
        raise error

    def _rebuild(self, root: CID) -> TempBlockStore:
        """The nodes of ``root`` rebuilt from the index's listing of the tree; the
        rebuilt root must be ``root``."""
        tree = stored_tree(self.tiers.index, root)
        if tree is None or self.file_blocks is None:
            raise ContentNotFoundError(f"no tier holds the nodes of {short_cid(root)}")
        store = TempBlockStore()
        try:
            built = rebuild_tree_nodes(
                {path: parse_cid(c) for path, c in tree.files.items()},
                tree.dirs,
                tree.links,
                cid_version=tree.profile.cid_version,
                sharding=tree.sharding,
                tsize_of=self._tsize,
                emit=lambda block: store.put(block.cid, block.data),
            )
            if cid_key(built) != cid_key(root):
                raise ContentMismatchError(
                    f"the tree the index records rebuilds to {short_cid(built)}, "
                    f"not {short_cid(root)}",
                    cid=str(root),
                )
        except BaseException:
            store.close()
            raise
        return store

    def _tsize(self, cid: CID) -> int:
        """The cumulative DAG size of file ``cid``, from its root block (verified)."""
        assert self.file_blocks is not None
        block = self.file_blocks(cid)
        if cid.codec.code != DAG_PB:
            return len(block)
        return len(block) + sum(link.tsize or 0 for link in decode_node(block).links)

    def _keep(self, root: CID, store: TempBlockStore) -> None:
        with self._lock:
            self._trees[cid_bytes_key(root)] = store
            while len(self._trees) > self.max_trees:
                _, old = self._trees.popitem(last=False)
                old.close()


class TreeMembers:
    """The last block source: a sub-directory of a tree the index records, asked for
    by its own CID; a directory only a NodeStore knows, and a file a NodeStore holds
    that the index does not list (see the module)."""

    name = "tree-members"

    def __init__(self, dirs: DirectoryNodes, files: BlockSource | None = None) -> None:
        self.dirs = dirs
        self.files = files  # the source of whole files, asked again once one is found

    def get_block(self, cid: CID) -> bytes:
        index = self.dirs.tiers.index
        if cid.codec.code == DAG_PB:
            found = self._in_trees(cid)
            if found is not None:
                return found
        if index.content(cid) is None and self.files is not None and self._discover_file(cid):
            return self.files.get_block(cid)
        raise ContentNotFoundError("no stored tree holds it")

    def _in_trees(self, cid: CID) -> bytes | None:
        found = self.dirs.lookup(cid)
        if found is not None:
            return found
        tiers = self.dirs.tiers
        for root in tiers.index.trees_containing(cid):
            try:
                self.dirs.get_block(parse_cid(root))
            except IpfsKitError:
                continue  # another tree that holds it may load
            found = self.dirs.lookup(cid)
            if found is not None:
                return found
        record = tiers.index.content(cid)
        if (record is None or record.profile is None) and discover_tree(tiers, cid) is not None:
            return self.dirs.get_block(cid)
        return None

    def _discover_file(self, cid: CID) -> bool:
        """Record the copy of ``cid`` a NodeStore (S3) holds, as ``add`` finds one."""
        tiers = self.dirs.tiers
        for tier in tiers.tiers:
            if isinstance(tier, NodeStore) and isinstance(tier, _Stats):
                try:
                    if not tier.has(cid):
                        continue
                    stat = tier.stat(cid)
                except IpfsKitError:
                    continue
                tiers.index.upsert_content(cid, size=stat.size)
                tiers.index.record(cid, tier.name, stat.locator)
                return True
        return False


def _from_node_car(tier: NodeStore, root: CID) -> TempBlockStore | None:
    """``tier``'s node CAR of ``root`` in a store, every block verified; None if the
    tier holds ``root`` as something else."""
    opened = tier.open_tree_nodes(root)
    if opened is None:
        return None
    _, chunks = opened
    return _store_car(root, chunks, f"{tier.name}'s nodes of {short_cid(root)}")


def _store_car(root: CID, chunks: Iterable[bytes], what: str) -> TempBlockStore:
    store = TempBlockStore()
    try:
        car = CarReader(reader(chunks), verify=True)
        if [cid_key(r) for r in car.roots] != [cid_key(root)]:
            raise ContentMismatchError(f"{what} name {car.roots} as root", cid=str(root))
        for count, block in enumerate(car, 1):
            if count > MAX_TREE_ENTRIES:
                raise ResourceLimitError(f"{what} hold over {MAX_TREE_ENTRIES} blocks")
            store.put(block.cid, block.data)
        if not store.has(root):
            raise ContentMismatchError(f"{what} lack the root block", cid=str(root))
    except BaseException:
        store.close()
        raise
    return store


def _walk_nodes(root: CID, get: Callable[[CID], bytes], files: set[bytes]) -> TempBlockStore:
    """The node blocks of directory ``root`` fetched with ``get`` (verified): every
    link followed except those to the tree's ``files`` and to raw blocks."""
    store = TempBlockStore()
    try:
        stack = [root]
        while stack:
            cid = stack.pop()
            if store.has(cid):
                continue
            node = load_node(cid, lambda c: _put(store, c, get(c)))
            if node.unixfs is None or node.unixfs.type not in _NODE_TYPES:
                continue
            if len(store) > MAX_TREE_ENTRIES:
                raise ResourceLimitError(f"{short_cid(root)} has over {MAX_TREE_ENTRIES} nodes")
            for link in node.links:
                child = link.cid
                wanted = child.codec.code == DAG_PB and child.hashfun.code != _IDENTITY
                if wanted and cid_bytes_key(child) not in files:
                    stack.append(child)
    except BaseException:
        store.close()
        raise
    return store


def _put(store: TempBlockStore, cid: CID, data: bytes) -> bytes:
    store.put(cid, data)
    return data
