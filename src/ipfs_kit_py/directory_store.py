"""Directories over the tiers: each file stored under its own CID, the tree in the index.

A directory is imported as ``ipfs add -r`` would (symlinks become UnixFS symlink nodes,
as kubo stores them); its files go to the tiers like any content (a file a target
already holds is not sent again), and the index records the tree (``kind="dir"``:
files, directories, symlinks) so it can be rebuilt and checked against its CID. A tier
that holds directories as such also gets the directory itself
(:mod:`ipfs_kit_py.directory_copies`), and only then is the root recorded there: kubo
imports every directory, HAMT shard and symlink node (``dag import``) and pins the
root; S3 keeps those nodes as one CAR object under the root's key; Storacha takes the
whole DAG as one upload rooted at the directory. Memory and disk hold the files; the
directory itself lives in the index.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING

from ipfs_kit_py import debris
from ipfs_kit_py.content.car import encode_car_block
from ipfs_kit_py.content.cid import cid_key
from ipfs_kit_py.content.dagpb import UnixFSType, decode_node, decode_unixfs
from ipfs_kit_py.content.directory import DirectoryImport, import_directory
from ipfs_kit_py.content.extract_plan import check_tree_symlink
from ipfs_kit_py.content.hamt import KUBO_SHARDING, ShardingPolicy
from ipfs_kit_py.content.unixfs import STORACHA, Block, FileImport, ImportProfile
from ipfs_kit_py.directory_copies import (
    DagStore,
    DagUploader,
    NodeStore,
    TreeStores,
    node_car,
    node_metadata,
    read_node_copy,
)
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
    "check_tree_paths",
    "client_builds_same_root",
    "discover_tree",
    "materialize_tree",
    "restore_tree",
    "stored_tree",
]

logger = logging.getLogger(__name__)

_SPOOL_BYTES = 8 << 20  # directory nodes are spooled in memory up to this, then to disk


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

    Tiers that hold directories as such (kubo, S3, Storacha) then get the directory
    itself, and only then is its root recorded there.
    """
    names = tiers.policy.put_to if to is None else to
    targets = [tiers.tier(name) for name in names]
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as nodes:
        spool = any(isinstance(t, DagStore | NodeStore) for t in targets)
        adding = _TreeAdd(tiers, root, names, profile, pin, nodes if spool else None)
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
            "subdirs": adding.subdirs,
        }
        if sharding != KUBO_SHARDING:
            meta["sharding"] = asdict(sharding)
        if not adding.files:  # no file to find it by: it lives where it was added
            meta["tiers"] = _added_to(tiers, result.cid, names)
        tiers.index.upsert_content(
            result.cid, size=result.size, kind="dir", profile=profile.key(), metadata=meta
        )
        for target in targets:
            if isinstance(target, DagStore):
                _import_nodes(tiers, target, result.cid, nodes, pin)
            elif isinstance(target, NodeStore):
                meta_s3 = node_metadata(profile, hidden, sharding)
                obj = target.put_tree_nodes(result.cid, node_car(result.cid, nodes), meta_s3)
                tiers.index.record(result.cid, target.name, obj.locator, pinned=pin)
            elif isinstance(target, DagUploader):
                _upload_tree(tiers, target, root, result, adding, (profile, hidden, sharding))
                tiers.index.record(result.cid, target.name, f"/ipfs/{result.cid}", pinned=pin)
    return FileImport(result.cid, result.size, result.dag_size)


def _upload_tree(
    tiers: TieredCacheManager,
    target: DagUploader,
    root: Path,
    result: DirectoryImport,
    adding: _TreeAdd,
    how: tuple[ImportProfile, bool, ShardingPolicy],
) -> None:
    """Upload the whole DAG of the tree: in the official client's block order (so its
    CAR shards are the ones ``storacha up DIR`` makes) when that client builds the same
    root, else in the order of ``ipfs add -r``."""
    profile, hidden, sharding = how
    if profile.key() == STORACHA.key() and adding.storacha_shaped():
        from ipfs_kit_py.content.storacha_directory import import_directory_storacha

        def produce(sink: Callable[[Block], None]) -> CID:
            return import_directory_storacha(root, profile, hidden=hidden, on_block=sink).cid
    else:

        def produce(sink: Callable[[Block], None]) -> CID:
            return import_directory(
                root, profile, hidden=hidden, sharding=sharding, on_block=sink
            ).cid

    target.upload_tree(result.cid, produce, result.size)


def _added_to(tiers: TieredCacheManager, cid: CID, names: Sequence[str]) -> list[str]:
    """The tiers (not those holding directories as such) a tree without files was added
    to, now and before."""
    before = stored_tree(tiers.index, cid)
    now = [n for n in names if not isinstance(tiers.tier(n), TreeStores)]
    return list(dict.fromkeys([*(before.tiers if before else ()), *now]))


class _TreeAdd:
    """The callbacks of one directory add: store files, note directories and symlinks."""

    def __init__(
        self,
        tiers: TieredCacheManager,
        root: Path,
        to: Sequence[str],
        profile: ImportProfile,
        pin: bool,
        nodes: IO[bytes] | None,
    ) -> None:
        self.tiers, self.root, self.to, self.profile, self.pin = tiers, root, to, profile, pin
        self.nodes = nodes
        self.files: dict[str, str] = {}
        self.dirs: list[str] = []
        self.subdirs: dict[str, str] = {}  # path -> the directory's CID (its normal key)
        self.links: dict[str, str] = {}
        self.sharded = False

    def on_node(self, block: Block) -> None:
        if self.nodes is not None:
            self.nodes.write(encode_car_block(block.cid, block.data))
        data = decode_node(block.data).data
        if data is not None and decode_unixfs(data).type == UnixFSType.HAMT_SHARD:
            self.sharded = True

    def on_entry(self, rel: str, cid: CID, size: int) -> None:
        inner = rel.split("/", 1)[1] if "/" in rel else ""
        fs_path = self.root / inner if inner else self.root
        if inner and fs_path.is_symlink():
            self.links[inner] = os.readlink(fs_path)  # its node is one of the directory nodes
            return
        if fs_path.is_dir():
            if inner:
                self.dirs.append(inner)
                self.subdirs[inner] = cid_key(cid)
            return
        self.files[inner] = str(cid)
        todo = self._lacking(cid, size)
        if not todo:
            if self.pin:
                self.tiers.index.set_pinned(cid, True)
            return
        with fs_path.open("rb") as f:
            stored = self.tiers.add(read_chunks(f), profile=self.profile, to=todo, pinned=self.pin)
        if stored.cid != cid:
            raise ContentMismatchError(f"{fs_path} changed while it was added", cid=str(cid))

    def _lacking(self, cid: CID, size: int) -> list[str]:
        """The targets that do not hold ``cid`` yet: not listed good in the index, or
        not there when asked (Storacha, whose ``has`` lists every upload, is not asked).
        An object store (S3) is asked even when the index does not list the file (a
        HEAD instead of a PUT); one found there is recorded, not sent again."""
        listed = {loc.backend for loc in self.tiers.index.locations(cid)}
        todo = []
        for name in self.to:
            tier = self.tiers.tier(name)
            if tier.name in listed:
                if not (isinstance(tier, DagUploader) or tier.has(cid)):
                    todo.append(name)
            elif isinstance(tier, NodeStore) and tier.has(cid):
                self.tiers.index.upsert_content(cid, size=size, profile=self.profile.key())
                self.tiers.index.record(cid, tier.name, tier.stat(cid).locator, pinned=self.pin)
            else:
                todo.append(name)
        return todo

    def storacha_shaped(self) -> bool:
        return client_builds_same_root(self.files, self.dirs, bool(self.links), self.sharded)


def client_builds_same_root(
    files: Iterable[str], dirs: Iterable[str], links: bool, sharded: bool
) -> bool:
    """True if @storacha/client's ``uploadDirectory`` builds the root that ``ipfs add -r``
    with the Storacha profile gives a tree of these ``files`` and ``dirs`` (relative
    paths): no symlink, empty directory or HAMT shard (``links``, ``sharded``), no
    directory wide enough for the client to shard, and no single top directory holding
    every file (the client would make that directory the root)."""
    from ipfs_kit_py.content.storacha_directory import SHARD_THRESHOLD

    files, dirs = list(files), list(dirs)
    widths = Counter(path.rpartition("/")[0] for path in [*files, *dirs])
    if links or sharded or not files or max(widths.values()) > SHARD_THRESHOLD:
        return False
    tops = {path.split("/", 1)[0] for path in files}
    if len(tops) == 1 and all("/" in path for path in files):
        return False
    parents = {
        "/".join(parts[:i])
        for parts in (path.split("/") for path in files)
        for i in range(1, len(parts))
    }
    return all(d in parents for d in dirs)


def _import_nodes(
    tiers: TieredCacheManager, store: DagStore, root: CID, nodes: IO[bytes], pin: bool
) -> None:
    """``dag import`` the directory nodes (the files are there already); pin and record."""
    roots = store.import_car(node_car(root, nodes), pin=True)
    if [cid_key(r) for r in roots] != [cid_key(root)]:
        raise ContentMismatchError(f"{store.name} imported {roots}, not {root}", cid=str(root))
    tiers.index.record(root, store.name, f"/ipfs/{root}", pinned=pin)


def discover_tree(tiers: TieredCacheManager, cid: CID) -> StoredTree | None:
    """A directory the index does not know, found as nodes in a :class:`NodeStore` (S3):
    recorded in the index (the tree, the root's copy there) and returned; else None."""
    for store in tiers.tiers:
        if not isinstance(store, NodeStore):
            continue
        try:
            found = read_node_copy(store, cid)
        except (IpfsKitError, OSError) as exc:
            logger.info("no directory %s in %s: %s", cid, store.name, exc)
            continue
        if found is None:
            continue
        listing, profile, hidden, sharding = found
        meta: dict[str, object] = {
            "files": listing.files,
            "dirs": listing.dirs,
            "hidden": hidden,
            "links": listing.links,
            "subdirs": listing.subdirs,
        }
        if sharding != KUBO_SHARDING:
            meta["sharding"] = asdict(sharding)
        if not listing.files:
            meta["tiers"] = [store.name]
        tiers.index.upsert_content(cid, kind="dir", profile=profile.key(), metadata=meta)
        tiers.index.record(cid, store.name, store.stat(cid).locator)
        logger.info("found directory %s in %s (%d files)", cid, store.name, len(listing.files))
        return stored_tree(tiers.index, cid)
    return None


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


def materialize_tree(
    tiers: TieredCacheManager,
    cid: CID,
    tree: StoredTree,
    target: Path,
    *,
    keep_escaping_symlinks: bool = False,
) -> Path:
    """Rebuild a stored tree next to ``target``, check its CID, then rename it into place.

    As ``car extract`` does, a symlink whose target is absolute or climbs out of the tree
    is refused (:class:`UnsafePathError`, before anything is written) unless
    ``keep_escaping_symlinks``; either way no entry may lie under a symlink, and the
    symlinks are made last, so nothing is ever written through one.
    """
    if os.path.lexists(target):
        raise InputPathError(f"{target} already exists")
    check_tree_paths(cid, tree, keep_escaping_symlinks=keep_escaping_symlinks)
    try:
        staging = _staging_dir(target)
    except OSError as exc:
        raise InputPathError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
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


def check_tree_paths(cid: CID, tree: StoredTree, *, keep_escaping_symlinks: bool = False) -> None:
    """Raise :class:`UnsafePathError` for an entry of ``tree`` that would escape its
    directory (absolute, ``..``, NUL), lie under one of its symlinks, or (unless
    ``keep_escaping_symlinks``) be a symlink pointing out of the tree."""
    links = {PurePosixPath(inner) for inner in tree.links}
    for inner in [*tree.dirs, *tree.files, *tree.links]:
        path = PurePosixPath(inner)
        if not inner or "\0" in inner or path.is_absolute() or ".." in path.parts:
            raise UnsafePathError(f"index entry {inner!r:.200} of {cid} escapes its directory")
        if any(parent in links for parent in path.parents):
            raise UnsafePathError(f"index entry {inner!r:.200} of {cid} lies under a symlink")
    for inner, link_target in tree.links.items():
        if "\0" in link_target or not link_target:
            raise UnsafePathError(f"symlink {inner!r:.200} of {cid} has an empty or NUL target")
        if not keep_escaping_symlinks:
            check_tree_symlink(inner, link_target)


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
        # a private staging copy: its symlinks are kept as they are, so the CID holds
        path = materialize_tree(tiers, cid, tree, Path(tmp) / "tree", keep_escaping_symlinks=True)
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
