"""A directory read back from its nodes alone: which paths are files, dirs and symlinks.

A tier that keeps files by CID (S3) keeps a directory as its *nodes* (directories, HAMT
shards, symlink nodes) in one CAR beside the files. :func:`read_tree_nodes` checks such a
CAR (every block against its CID, the root present, every directory reachable) and lists
the tree: a link to a block of the CAR (or an inline one) is a directory or a symlink,
any other link is a file stored under its own CID.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ipfs_kit_py.content.blockstore import TempBlockStore
from ipfs_kit_py.content.car import CarReader
from ipfs_kit_py.content.cid import cid_key, short_cid
from ipfs_kit_py.content.dag import load_node, verified_getter
from ipfs_kit_py.content.extract_plan import directory_entries
from ipfs_kit_py.errors import (
    CARFormatError,
    ContentMismatchError,
    InvalidInputError,
    ResourceLimitError,
)
from ipfs_kit_py.streams import reader

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = ["MAX_TREE_ENTRIES", "TreeListing", "read_tree_nodes"]

MAX_TREE_ENTRIES = 1_000_000  # files, directories and symlinks of one tree
_IDENTITY = 0x00


@dataclass(slots=True)
class TreeListing:
    """The paths of a tree (relative, ``/``-separated): files by CID, dirs, symlinks;
    ``subdirs`` gives each directory's CID (its normal key)."""

    files: dict[str, str] = field(default_factory=dict)
    dirs: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)
    subdirs: dict[str, str] = field(default_factory=dict)

    @property
    def entries(self) -> int:
        return len(self.files) + len(self.dirs) + len(self.links)


def read_tree_nodes(
    root: CID, car: Iterable[bytes], *, max_entries: int = MAX_TREE_ENTRIES
) -> TreeListing:
    """List the directory ``root`` from a CAR of its nodes, every block verified.

    Raises :class:`ContentMismatchError` (a malformed CAR, a block that does not match its
    CID, a CAR for another root, a root that is not a directory, an unsafe name),
    :class:`ContentNotFoundError` (a sub-shard missing) and :class:`ResourceLimitError`
    (more than ``max_entries``).
    """
    with TempBlockStore() as store:
        try:
            roots = _load(car, store)
            if [cid_key(r) for r in roots] != [cid_key(root)] or not _held(store, root):
                raise ContentMismatchError(f"the nodes name {roots} as root, not {root}")
            return _walk(root, store, max_entries)
        except (CARFormatError, InvalidInputError) as exc:  # a malformed CAR, an unsafe name
            raise ContentMismatchError(
                f"the directory nodes of {short_cid(root)} are damaged: {exc}", cid=str(root)
            ) from exc


def _load(car: Iterable[bytes], store: TempBlockStore) -> list[CID]:
    car_reader = CarReader(reader(car), verify=True)
    for block in car_reader:
        store.put(block.cid, block.data)
    return list(car_reader.roots)


def _held(store: TempBlockStore, cid: CID) -> bool:
    return cid.hashfun.code == _IDENTITY or store.has(cid)


def _walk(root: CID, store: TempBlockStore, max_entries: int) -> TreeListing:
    get = verified_getter(store, verify=False)  # verified as the CAR was read
    listing = TreeListing()
    stack: list[tuple[CID, str]] = [(root, "")]
    while stack:
        cid, path = stack.pop()
        node = load_node(cid, get)
        if node.kind != "directory":
            raise ContentMismatchError(f"{short_cid(cid)} is a {node.kind}, not a directory")
        for name, child in directory_entries(node, get, max_entries):
            inner = f"{path}/{name}" if path else name
            if not _held(store, child):
                listing.files[inner] = str(child)
            elif (kind := load_node(child, get).kind) == "directory":
                listing.dirs.append(inner)
                listing.subdirs[inner] = cid_key(child)
                stack.append((child, inner))
            elif kind == "symlink":
                listing.links[inner] = os.fsdecode(load_node(child, get).unixfs.data or b"")  # type: ignore[union-attr]
            else:
                listing.files[inner] = str(child)
            if listing.entries > max_entries:
                raise ResourceLimitError(f"{short_cid(root)} has more than {max_entries} entries")
    return listing
