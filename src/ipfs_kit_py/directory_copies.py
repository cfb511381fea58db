"""A directory's copy on a tier that is not a DAG store: S3's nodes, Storacha's upload.

Three ways a tier can hold a directory (besides its files under their own CIDs):

- a :class:`DagStore` (kubo) imports the directory nodes and pins the root;
- a :class:`NodeStore` (S3) keeps the directory nodes (directories, HAMT shards,
  symlink nodes) as one CAR object under the root's key, beside the file objects; the
  tree can be listed from that CAR alone (:func:`read_tree_nodes`), so a kit with an
  empty index finds it, and ``verify`` checks every node and every file;
- a :class:`DagUploader` (Storacha) takes the whole DAG (files and nodes) as one
  upload whose root is the directory, as ``storacha up DIR`` makes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from typing import IO, TYPE_CHECKING, Protocol, runtime_checkable

from ipfs_kit_py.content.car import encode_car_header
from ipfs_kit_py.content.cid import parse_cid
from ipfs_kit_py.content.hamt import KUBO_SHARDING, ShardingPolicy
from ipfs_kit_py.content.unixfs import Block, ImportProfile
from ipfs_kit_py.errors import ContentMismatchError

if TYPE_CHECKING:
    from pathlib import Path

    from ipfs_kit_py.backends.base import StoredObject
    from ipfs_kit_py.content.cid import CID
    from ipfs_kit_py.content.tree_nodes import TreeListing
    from ipfs_kit_py.tiers.manager import TieredCacheManager

__all__ = [
    "DagStore",
    "DagUploader",
    "NodeStore",
    "TreeStores",
    "check_node_copy",
    "node_car",
    "node_metadata",
    "read_node_copy",
]

PROFILE_KEY = "import-profile"
HIDDEN_KEY = "hidden"
SHARDING_KEY = "sharding"


@runtime_checkable
class DagStore(Protocol):
    """A tier that stores whole DAGs from a CAR (kubo)."""

    name: str

    def import_car(self, car: Iterable[bytes], *, pin: bool = True) -> list[CID]: ...


@runtime_checkable
class NodeStore(Protocol):
    """A tier that keeps a directory's nodes as one CAR beside its files (S3)."""

    name: str

    def put_tree_nodes(
        self, root: CID, car: Iterable[bytes], metadata: dict[str, str]
    ) -> StoredObject: ...

    def open_tree_nodes(self, root: CID) -> tuple[dict[str, str], Iterator[bytes]] | None: ...


@runtime_checkable
class DagUploader(Protocol):
    """A tier that takes a directory as one upload of its whole DAG (Storacha)."""

    name: str

    def upload_tree(
        self, root: CID, produce: Callable[[Callable[[Block], None]], CID], input_size: int
    ) -> StoredObject: ...

    def get_tree(self, cid: CID, dest: Path) -> Path | None: ...

    def holds_directory(self, cid: CID) -> bool: ...


TreeStores = (DagStore, NodeStore, DagUploader)  # tiers that hold a directory as such


def node_car(root: CID, nodes: IO[bytes]) -> Iterator[bytes]:
    """A CAR rooted at ``root`` of the node blocks spooled in ``nodes``."""
    yield encode_car_header([root])
    nodes.seek(0)
    while chunk := nodes.read(1 << 20):
        yield chunk


def node_metadata(profile: ImportProfile, hidden: bool, sharding: ShardingPolicy) -> dict[str, str]:
    """What a node object records so that the tree can be rebuilt and checked from it."""
    meta = {PROFILE_KEY: profile.key(), HIDDEN_KEY: "1" if hidden else "0"}
    if sharding != KUBO_SHARDING:
        meta[SHARDING_KEY] = json.dumps(asdict(sharding), sort_keys=True)
    return meta


def read_node_copy(
    store: NodeStore, root: CID
) -> tuple[TreeListing, ImportProfile, bool, ShardingPolicy] | None:
    """The tree ``store`` keeps for ``root`` (nodes verified), with the profile, hidden
    flag and sharding it was added with; None if ``store`` holds ``root`` as a file.

    Raises ContentNotFoundError (no object) and ContentMismatchError (damaged nodes).
    """
    from ipfs_kit_py.content.tree_nodes import read_tree_nodes  # only directory reads need it

    opened = store.open_tree_nodes(root)
    if opened is None:
        return None
    metadata, chunks = opened
    listing = read_tree_nodes(root, chunks)
    try:
        profile = ImportProfile.parse(metadata[PROFILE_KEY])
        sharding = (
            ShardingPolicy(**json.loads(metadata[SHARDING_KEY]))
            if SHARDING_KEY in metadata
            else KUBO_SHARDING
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ContentMismatchError(
            f"{store.name}'s directory nodes of {root} carry bad metadata: {exc}",
            cid=str(root),
        ) from exc
    return listing, profile, metadata.get(HIDDEN_KEY) == "1", sharding


def check_node_copy(tiers: TieredCacheManager, store: NodeStore, root: CID) -> None:
    """Check ``store``'s copy of directory ``root``: every node, then every file, verified.

    Raises ContentNotFoundError (the node object or a file is gone) or
    ContentMismatchError (a node or a file does not match its CID).
    """
    found = read_node_copy(store, root)
    if found is None:
        raise ContentMismatchError(f"{store.name} holds {root} as a file, not a directory")
    listing, recorded, _, _ = found
    for file_cid in dict.fromkeys(listing.files.values()):
        cid = parse_cid(file_cid)
        file_profile = tiers.profile_of(cid) or recorded
        for _ in tiers.verified_chunks(store, cid, file_profile):  # type: ignore[arg-type]
            pass
