"""Safe extraction of a UnixFS DAG (from a block source or a CAR) to the local disk.

Two steps, like a planned transfer: first the DAG's structure is walked and checked
(every name, every symlink target, no duplicates) without writing anything; then the
tree is written into a fresh staging directory next to the target, each file streamed
into a temporary name and renamed when complete, symlinks last, and the finished tree
is renamed onto the target. On any error the staging directory is removed, so the
target either appears complete or not at all.

A symlink is allowed only if it provably stays inside the extracted tree: a relative
target whose leading ``..`` components do not climb above the root and which has no
``..`` after its first normal component (so it cannot climb back out through another
symlink).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ipfs_kit_py import debris
from ipfs_kit_py.content.blockstore import TempBlockStore
from ipfs_kit_py.content.car import CarReader
from ipfs_kit_py.content.cid import CID, parse_cid
from ipfs_kit_py.content.dag import (
    BlockGetter,
    BlockSource,
    UnixFSNode,
    iter_directory,
    load_node,
    read_verified_file,
    verified_getter,
)
from ipfs_kit_py.errors import InputPathError, InvalidInputError, UnsafePathError

__all__ = ["extract", "extract_car"]

_SEPARATORS = {"/", os.sep} | ({os.altsep} if os.altsep else set())


@dataclass(frozen=True, slots=True)
class _Entry:
    """One thing to write: its path below the root, its kind, its CID."""

    parts: tuple[str, ...]
    kind: str  # "directory", "file" or "symlink"
    cid: CID
    target: bytes = b""


def extract(root: CID | str, blocks: BlockSource, target: str | os.PathLike[str]) -> None:
    """Write the UnixFS file, directory or tree ``root`` to the new path ``target``.

    ``blocks`` is a ``get_block(cid)`` callable or a store with ``get`` (such as a
    :class:`TempBlockStore`); every block from it is verified. Raises :class:`UnsafePathError` for a
    name or symlink that would escape ``target``, :class:`ContentNotFoundError` for a
    missing block, :class:`ContentMismatchError` for corrupt content, and
    :class:`InputPathError` if ``target`` exists or cannot be written; in every case
    nothing is left at ``target``.
    """
    _extract(parse_cid(root), verified_getter(blocks), os.fspath(target))


def extract_car(
    car_stream: BinaryIO, target: str | os.PathLike[str], root: CID | str | None = None
) -> CID:
    """Read a CAR (verifying every block), then extract ``root`` to ``target``.

    ``root`` defaults to the CAR's only root. Blocks are spilled to a temporary file
    next to the target, not held in memory. Returns the extracted root. Raises
    :class:`CARFormatError` for a malformed or truncated CAR, and what :func:`extract`
    raises.
    """
    target_path = os.fspath(target)
    parent = _check_target(target_path)
    reader = CarReader(car_stream)
    if root is not None:
        root_cid = parse_cid(root)
    elif len(reader.roots) == 1:
        root_cid = reader.roots[0]
    else:
        raise InvalidInputError(f"the CAR has {len(reader.roots)} roots; name the one to extract")
    with TempBlockStore(parent) as store:
        for block in reader:  # verified by the reader
            store.put(block.cid, block.data)
        _extract(root_cid, verified_getter(store.get, verify=False), target_path)
    return root_cid


def _extract(root: CID, get: BlockGetter, target: str) -> None:
    parent = _check_target(target)
    entries = list(_plan(root, get))
    try:
        staging = debris.mkdtemp(parent, ".ipfs-kit-extract-")
    except OSError as exc:
        raise InputPathError(f"cannot write in {parent}: {exc.strerror or exc}") from exc
    try:
        base = os.path.join(staging, "root")
        _write(entries, base, get)
        if os.path.lexists(target):
            raise InputPathError(f"{target} already exists")
        os.rename(base, target)
    except OSError as exc:
        raise InputPathError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        debris.release(staging)


def _check_target(target: str) -> str:
    """Raise unless ``target`` is new and its directory exists; return that directory."""
    parent = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(parent):
        raise InputPathError(f"the directory to extract into does not exist: {parent}")
    if os.path.lexists(target):
        raise InputPathError(f"{target} already exists")
    return parent


def _plan(root: CID, get: BlockGetter) -> Iterator[_Entry]:
    """Yield the entries of the tree, each directory before its contents, checking every
    name and symlink target; the caller takes them all before writing anything."""
    stack: list[tuple[tuple[str, ...], CID]] = [((), root)]
    while stack:
        parts, cid = stack.pop()
        node = load_node(cid, get)
        kind = node.kind
        if kind == "symlink":
            assert node.unixfs is not None
            target = node.unixfs.data or b""
            _check_symlink(parts, target)
            yield _Entry(parts, kind, cid, target)
            continue
        yield _Entry(parts, kind, cid)
        if kind == "directory":
            children = _children(node, get)
            stack.extend(((*parts, name), child) for name, child in reversed(children))


def _children(node: UnixFSNode, get: BlockGetter) -> list[tuple[str, CID]]:
    """A directory's entries, each name checked and distinct."""
    seen: set[str] = set()
    children = []
    for name, link in iter_directory(node, get):
        _check_name(name)
        if name in seen:
            raise UnsafePathError(f"directory {node.cid} lists {name!r:.200} twice")
        seen.add(name)
        children.append((name, link.cid))
    return children


def _check_name(name: str) -> None:
    if name in ("", ".", "..") or "\0" in name or any(s in name for s in _SEPARATORS):
        raise UnsafePathError(f"unsafe name in directory: {name!r:.200}")


def _check_symlink(parts: tuple[str, ...], target: bytes) -> None:
    shown = f"{'/'.join(parts) or '<root>'} -> {target!r:.200}"
    if not parts:
        raise UnsafePathError(f"the root is a symlink pointing outside the tree: {shown}")
    if not target or b"\0" in target or target.startswith(b"/") or os.path.isabs(target):
        raise UnsafePathError(f"symlink with an absolute or empty target: {shown}")
    components = [c for c in target.replace(b"\\", b"/").split(b"/") if c not in (b"", b".")]
    climbs = 0
    while climbs < len(components) and components[climbs] == b"..":
        climbs += 1
    if b".." in components[climbs:] or climbs > len(parts) - 1:
        raise UnsafePathError(f"symlink pointing outside the extracted tree: {shown}")


def _write(entries: list[_Entry], base: str, get: BlockGetter) -> None:
    symlinks: list[_Entry] = []
    for entry in entries:
        path = os.path.join(base, *entry.parts)
        if entry.kind == "directory":
            os.mkdir(path)
        elif entry.kind == "file":
            _write_file(path, entry.cid, get)
        else:
            symlinks.append(entry)
    for entry in symlinks:  # last, so that no write can pass through one
        os.symlink(os.fsdecode(entry.target), os.path.join(base, *entry.parts))


def _write_file(path: str, cid: CID, get: BlockGetter) -> None:
    """Stream the file into a temporary name beside ``path``, then rename it."""
    directory = os.path.dirname(path)
    temporary = os.path.join(directory, f".ipfs-kit-part-{secrets.token_hex(8)}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in read_verified_file(cid, get):
                out.write(chunk)
        os.rename(temporary, path)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise
