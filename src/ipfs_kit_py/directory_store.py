"""Directories over the tiers: each file stored under its own CID, the tree in the index.

A directory is imported as ``ipfs add -r`` would (symlinks become UnixFS symlink nodes,
as kubo stores them); its files go to the tiers like any content, and the index records
the tree (``kind="dir"``: files, directories, symlinks) so it can be rebuilt and checked
against its CID. A tier that stores DAGs (kubo) also gets every directory, HAMT shard
and symlink node (one ``dag import`` of those blocks) and pins the root recursively:
only then is the root recorded there, and ``ipfs get`` / ``dag export`` of it work on
the node. The other tiers hold the files; the directory itself lives in the index.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol, runtime_checkable

from ipfs_kit_py import debris
from ipfs_kit_py.content.car import encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import cid_key
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.hamt import KUBO_SHARDING, ShardingPolicy
from ipfs_kit_py.content.unixfs import Block, FileImport, ImportProfile
from ipfs_kit_py.errors import ContentMismatchError, InputPathError, IpfsKitError, UnsafePathError
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.streams import read_chunks
from ipfs_kit_py.tiers.manager import TieredCacheManager

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = [
    "DagStore",
    "StoredTree",
    "add_directory",
    "materialize_tree",
    "restore_tree",
    "stored_tree",
]

_SPOOL_BYTES = 8 << 20  # directory nodes are spooled in memory up to this, then to disk


@runtime_checkable
class DagStore(Protocol):
    """A tier that stores whole DAGs from a CAR (kubo)."""

    name: str

    def import_car(self, car: Iterable[bytes], *, pin: bool = True) -> list[CID]: ...


@dataclass(frozen=True, slots=True)
class StoredTree:
    """A stored directory: file path -> file CID, its (sub)directories and symlinks."""

    files: dict[str, str]
    dirs: list[str]
    profile: ImportProfile
    hidden: bool
    links: dict[str, str]  # path -> symlink target, as read by os.readlink
    sharding: ShardingPolicy = KUBO_SHARDING
    tiers: tuple[str, ...] = ()  # where a tree without files was added (it has no file copies)


def add_directory(
    tiers: TieredCacheManager,
    root: Path,
    to: Sequence[str] | None,
    profile: ImportProfile,
    pin: bool,
    hidden: bool,
    sharding: ShardingPolicy = KUBO_SHARDING,
) -> FileImport:
    """Import a tree as ``ipfs add -r``; store each file under its CID; record the tree.

    DAG-storing targets (kubo) then receive the directory nodes and pin the root.
    """
    names = tiers.policy.put_to if to is None else to
    dag_stores = [t for t in map(tiers.tier, names) if isinstance(t, DagStore)]
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as nodes:
        adding = _TreeAdd(tiers, root, to, profile, pin, nodes if dag_stores else None)
        result = import_directory(
            root,
            profile,
            hidden=hidden,
            sharding=sharding,
            on_entry=adding.on_entry,
            on_node=adding.on_node,
        )
        meta: dict[str, object] = {
            "files": adding.files,
            "dirs": adding.dirs,
            "hidden": hidden,
            "links": adding.links,
        }
        if sharding != KUBO_SHARDING:
            meta["sharding"] = asdict(sharding)
        if not adding.files:  # no file to find it by: it lives where it was added
            meta["tiers"] = _added_to(tiers, result.cid, names)
        tiers.index.upsert_content(
            result.cid, size=result.size, kind="dir", profile=profile.key(), metadata=meta
        )
        for store in dag_stores:
            _import_nodes(tiers, store, result.cid, nodes, pin)
    return FileImport(result.cid, result.size, result.dag_size)


def _added_to(tiers: TieredCacheManager, cid: CID, names: Sequence[str]) -> list[str]:
    """The tiers (not DAG stores) a tree without files was added to, now and before."""
    before = stored_tree(tiers.index, cid)
    now = [n for n in names if not isinstance(tiers.tier(n), DagStore)]
    return list(dict.fromkeys([*(before.tiers if before else ()), *now]))


class _TreeAdd:
    """The callbacks of one directory add: store files, note directories and symlinks."""

    def __init__(
        self,
        tiers: TieredCacheManager,
        root: Path,
        to: Sequence[str] | None,
        profile: ImportProfile,
        pin: bool,
        nodes: IO[bytes] | None,
    ) -> None:
        self.tiers, self.root, self.to, self.profile, self.pin = tiers, root, to, profile, pin
        self.nodes = nodes
        self.files: dict[str, str] = {}
        self.dirs: list[str] = []
        self.links: dict[str, str] = {}

    def on_node(self, block: Block) -> None:
        if self.nodes is not None:
            self.nodes.write(encode_car_block(block.cid, block.data))

    def on_entry(self, rel: str, cid: CID, size: int) -> None:
        inner = rel.split("/", 1)[1] if "/" in rel else ""
        fs_path = self.root / inner if inner else self.root
        if inner and fs_path.is_symlink():
            self.links[inner] = os.readlink(fs_path)  # its node is one of the directory nodes
            return
        if fs_path.is_dir():
            if inner:
                self.dirs.append(inner)
            return
        with fs_path.open("rb") as f:
            stored = self.tiers.add(
                read_chunks(f), profile=self.profile, to=self.to, pinned=self.pin
            )
        if stored.cid != cid:
            raise ContentMismatchError(f"{fs_path} changed while it was added", cid=str(cid))
        self.files[inner] = str(cid)


def _import_nodes(
    tiers: TieredCacheManager, store: DagStore, root: CID, nodes: IO[bytes], pin: bool
) -> None:
    """``dag import`` the directory nodes (the files are there already); pin and record."""

    def car() -> Iterator[bytes]:
        yield encode_car_header([root])
        nodes.seek(0)
        while chunk := nodes.read(1 << 20):
            yield chunk

    roots = store.import_car(car(), pin=True)
    if [cid_key(r) for r in roots] != [cid_key(root)]:
        raise ContentMismatchError(f"{store.name} imported {roots}, not {root}", cid=str(root))
    tiers.index.record(root, store.name, f"/ipfs/{root}", pinned=pin)


def stored_tree(index: MetadataIndex, cid: CID | str) -> StoredTree | None:
    record = index.content(cid)
    if record is None or record.kind != "dir" or record.profile is None:
        return None
    meta = record.metadata
    profile = ImportProfile.parse(record.profile)
    sharding = ShardingPolicy(**meta["sharding"]) if "sharding" in meta else KUBO_SHARDING
    return StoredTree(
        dict(meta.get("files", {})),
        list(meta.get("dirs", [])),
        profile,
        bool(meta.get("hidden")),
        dict(meta.get("links", {})),
        sharding,
        tuple(meta.get("tiers", ())),
    )


def materialize_tree(tiers: TieredCacheManager, cid: CID, tree: StoredTree, target: Path) -> Path:
    """Rebuild a stored tree next to ``target``, check its CID, then rename it into place."""
    if os.path.lexists(target):
        raise InputPathError(f"{target} already exists")
    try:
        staging = _staging_dir(target)
    except OSError as exc:
        raise InputPathError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        for inner in [*tree.dirs, *tree.files, *tree.links]:
            if Path(inner).is_absolute() or ".." in Path(inner).parts:
                raise UnsafePathError(f"index entry {inner!r} of {cid} escapes its directory")
        for inner in tree.dirs:
            (staging / inner).mkdir(parents=True, exist_ok=True)
        for inner, file_cid in tree.files.items():
            (staging / inner).parent.mkdir(parents=True, exist_ok=True)
            with (staging / inner).open("wb") as out:
                for chunk in tiers.get(file_cid):
                    out.write(chunk)
        for inner, link_target in tree.links.items():  # last: nothing is written through them
            (staging / inner).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(link_target, staging / inner)
        rebuilt = import_directory(
            staging, tree.profile, hidden=tree.hidden, sharding=tree.sharding
        ).cid
        if cid_key(rebuilt) != cid_key(cid):
            raise ContentMismatchError(f"rebuilt tree is {rebuilt}, not {cid}", cid=str(cid))
        os.replace(staging, target)
    except OSError as exc:
        raise InputPathError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        debris.release(staging)
    return target


def restore_tree(tiers: TieredCacheManager, cid: CID, targets: Sequence[str]) -> dict[str, str]:
    """Write the stored tree ``cid`` again into ``targets`` (e.g. a kubo node that lost
    its pin), rebuilt from the files' good copies and checked against ``cid`` first.

    Returns the targets that failed, with why.
    """
    tree = stored_tree(tiers.index, cid)
    if tree is None:
        raise InputPathError(f"{cid} is not a stored directory")
    pinned = {loc.backend for loc in tiers.index.locations(cid, include_bad=True) if loc.pinned}
    failed: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="ipfs-kit-restore-") as tmp:
        path = materialize_tree(tiers, cid, tree, Path(tmp) / "tree")
        for target in targets:
            try:
                add_directory(tiers, path, [target], tree.profile, target in pinned, tree.hidden)
            except (IpfsKitError, OSError) as exc:
                failed[target] = f"{type(exc).__name__}: {exc}"
    return failed


def _staging_dir(target: Path) -> Path:
    """A new directory beside ``target``, with the mode ``mkdir`` gives (umask honoured),
    recorded in the temp-path journal (before it exists) so a killed process's is swept."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name[:200]}.{secrets.token_hex(6)}{debris.SUFFIX}"
    debris.record(staging)
    try:
        staging.mkdir(0o777)
    except BaseException:
        debris.release(staging)
        raise
    return staging
