"""Directories over the tiers: each file stored under its own CID, the tree in the index.

A directory is imported as ``ipfs add -r`` would; its files go to the tiers like any
content, and the index records the tree (``kind="dir"``) so it can be rebuilt and
checked against its CID.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ipfs_kit_py.content.cid import CID, cid_key
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.hamt import KUBO_SHARDING, ShardingPolicy
from ipfs_kit_py.content.unixfs import FileImport, ImportProfile
from ipfs_kit_py.errors import ContentMismatchError, InputPathError, UnsafePathError
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.streams import read_chunks
from ipfs_kit_py.tiers.manager import TieredCacheManager

__all__ = ["StoredTree", "add_directory", "materialize_tree", "stored_tree"]


@dataclass(frozen=True, slots=True)
class StoredTree:
    """A stored directory: relative file path -> file CID, and its (sub)directories."""

    files: dict[str, str]
    dirs: list[str]
    profile: ImportProfile
    hidden: bool
    sharding: ShardingPolicy = KUBO_SHARDING


def add_directory(
    tiers: TieredCacheManager,
    root: Path,
    to: Sequence[str] | None,
    profile: ImportProfile,
    pin: bool,
    hidden: bool,
    sharding: ShardingPolicy = KUBO_SHARDING,
) -> FileImport:
    """Import a tree as ``ipfs add -r``; store each file under its CID; record the tree."""
    files: dict[str, str] = {}
    dirs: list[str] = []

    def on_entry(rel: str, cid: CID, size: int) -> None:
        inner = rel.split("/", 1)[1] if "/" in rel else ""
        fs_path = root / inner if inner else root
        if fs_path.is_symlink():
            raise InputPathError(f"{fs_path}: symlinks inside directories cannot be stored yet")
        if fs_path.is_dir():
            if inner:
                dirs.append(inner)
            return
        with fs_path.open("rb") as f:
            stored = tiers.add(read_chunks(f), profile=profile, to=to, pinned=pin)
        if stored.cid != cid:
            raise ContentMismatchError(f"{fs_path} changed while it was added", cid=str(cid))
        files[inner] = str(cid)

    result = import_directory(root, profile, hidden=hidden, sharding=sharding, on_entry=on_entry)
    meta: dict[str, object] = {"files": files, "dirs": dirs, "hidden": hidden}
    if sharding != KUBO_SHARDING:
        meta["sharding"] = asdict(sharding)
    tiers.index.upsert_content(
        result.cid, size=result.size, kind="dir", profile=profile.key(), metadata=meta
    )
    return FileImport(result.cid, result.size, result.dag_size)


def stored_tree(index: MetadataIndex, cid: CID | str) -> StoredTree | None:
    record = index.content(cid)
    if record is None or record.kind != "dir" or record.profile is None:
        return None
    meta = record.metadata
    profile = ImportProfile.parse(record.profile)
    sharding = ShardingPolicy(**meta["sharding"]) if "sharding" in meta else KUBO_SHARDING
    files, dirs, hidden = (
        dict(meta.get("files", {})),
        list(meta.get("dirs", [])),
        meta.get("hidden"),
    )
    return StoredTree(files, dirs, profile, bool(hidden), sharding)


def materialize_tree(tiers: TieredCacheManager, cid: CID, tree: StoredTree, target: Path) -> Path:
    """Rebuild a stored tree next to ``target``, check its CID, then rename it into place."""
    if os.path.lexists(target):
        raise InputPathError(f"{target} already exists")
    try:
        staging = _staging_dir(target)
    except OSError as exc:
        raise InputPathError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        for inner in [*tree.dirs, *tree.files]:
            if Path(inner).is_absolute() or ".." in Path(inner).parts:
                raise UnsafePathError(f"index entry {inner!r} of {cid} escapes its directory")
        for inner in tree.dirs:
            (staging / inner).mkdir(parents=True, exist_ok=True)
        for inner, file_cid in tree.files.items():
            (staging / inner).parent.mkdir(parents=True, exist_ok=True)
            with (staging / inner).open("wb") as out:
                for chunk in tiers.get(file_cid):
                    out.write(chunk)
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
    return target


def _staging_dir(target: Path) -> Path:
    """A new directory beside ``target``, with the mode ``mkdir`` gives (umask honoured)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name[:200]}.{secrets.token_hex(6)}"
    staging.mkdir(0o777)
    return staging
