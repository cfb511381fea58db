"""Safe extraction of a UnixFS DAG (from a block source or a CAR) to the local disk.

Two steps, like a planned transfer: first :func:`plan_tree` checks the DAG (every name,
every symlink target, no duplicates) and what writing it costs (entries, bytes, depth,
each shared sub-DAG visited once) against :class:`ExtractLimits` and the free space of
the target's file system, without writing anything; then the tree is written into a
fresh staging directory next to the target, each file streamed into a temporary name
and renamed when complete, symlinks last, and the finished tree is renamed onto the
target. On any error the staging directory is removed, so the target either appears
complete or not at all.

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
from typing import TYPE_CHECKING, BinaryIO

from ipfs_kit_py import debris
from ipfs_kit_py.content.blockstore import TempBlockStore
from ipfs_kit_py.content.car import CarReader
from ipfs_kit_py.content.cid import cid_key, parse_cid, short_cid
from ipfs_kit_py.content.dag import (
    BlockGetter,
    BlockSource,
    load_node,
    read_verified_file,
    verified_getter,
)
from ipfs_kit_py.content.extract_plan import (
    ExtractLimits,
    TreePlan,
    directory_entries,
    plan_tree,
    symlink_target,
)
from ipfs_kit_py.content.os_errors import typed_os_errors
from ipfs_kit_py.errors import InputPathError, InvalidInputError, ResourceLimitError

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = ["ExtractLimits", "extract", "extract_car"]

_ENTRY_OVERHEAD = 4096  # a file system block per file, directory or symlink


def extract(
    root: CID | str,
    blocks: BlockSource,
    target: str | os.PathLike[str],
    limits: ExtractLimits | None = None,
) -> None:
    """Write the UnixFS file, directory or tree ``root`` to the new path ``target``.

    ``blocks`` is a ``get_block(cid)`` callable or a store with ``get`` (such as a
    :class:`TempBlockStore`); every block from it is verified. Raises :class:`UnsafePathError` for a
    name or symlink that would escape ``target``, :class:`ResourceLimitError` for a tree
    larger than ``limits`` or the free space, :class:`ContentNotFoundError` for a
    missing block, :class:`ContentMismatchError` for corrupt content, and
    :class:`InputPathError` if ``target`` exists or cannot be written; in every case
    nothing is left at ``target``.
    """
    _extract(parse_cid(root), verified_getter(blocks), os.fspath(target), limits)


def extract_car(
    car_stream: BinaryIO,
    target: str | os.PathLike[str],
    root: CID | str | None = None,
    limits: ExtractLimits | None = None,
) -> CID:
    """Read a CAR (verifying every block), then extract ``root`` to ``target``.

    ``root`` defaults to the CAR's only root; a ``root`` that is neither a root nor a
    block of the CAR is an :class:`InvalidInputError`. A ``target`` ending in a path
    separator, or naming an existing directory, means ``target/<root CID>``. Blocks are
    spilled to a temporary file next to the target, not held in memory. Returns the
    extracted root. Raises :class:`CARFormatError` for a malformed or truncated CAR,
    and what :func:`extract` raises.
    """
    target_path = os.fspath(target)
    into = target_path.endswith(("/", os.sep)) or os.path.isdir(target_path)
    parent = _check_target(os.path.join(target_path, "x") if into else target_path)
    with typed_os_errors("cannot read the CAR"):
        reader = CarReader(car_stream)
    if root is not None:
        root_cid = parse_cid(root)
    elif len(reader.roots) == 1:
        root_cid = reader.roots[0]
    else:
        raise InvalidInputError(f"the CAR has {len(reader.roots)} roots; name the one to extract")
    if into:
        target_path = os.path.join(target_path, cid_key(root_cid))
        _check_target(target_path)
    with typed_os_errors(f"cannot stage the CAR's blocks in {parent}"):
        store = _spill(reader, parent)
    with store:
        _check_root_in_car(root_cid, reader.roots, store)
        _extract(root_cid, verified_getter(store.get, verify=False), target_path, limits)
    return root_cid


def _spill(reader: CarReader, parent: str) -> TempBlockStore:
    """Every block of the CAR (verified by the reader) in a temporary store in ``parent``."""
    store = TempBlockStore(parent)
    try:
        for block in reader:
            store.put(block.cid, block.data)
    except BaseException:
        store.close()
        raise
    return store


def _check_root_in_car(root: CID, roots: list[CID], store: TempBlockStore) -> None:
    if store.has(root) or any(cid_key(r) == cid_key(root) for r in roots):
        return
    listed = ", ".join(short_cid(r) for r in roots[:5]) or "none"
    raise InvalidInputError(f"{short_cid(root)} is not in the CAR (its roots: {listed})")


def _extract(root: CID, get: BlockGetter, target: str, limits: ExtractLimits | None) -> None:
    parent = _check_target(target)
    plan = plan_tree(root, get, limits or ExtractLimits())
    _check_space(plan, parent)
    try:
        staging = debris.mkdtemp(parent, ".ipfs-kit-extract-")
    except OSError as exc:
        raise InputPathError(f"cannot write in {parent}: {exc.strerror or exc}") from exc
    try:
        base = os.path.join(staging, "root")
        _Writer(get, plan.bytes).write(root, base)
        if os.path.lexists(target):
            raise InputPathError(f"{target} already exists")
        os.rename(base, target)
    except OSError as exc:
        raise InputPathError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        debris.release(staging)


def _check_space(plan: TreePlan, parent: str) -> None:
    """Refuse a tree the target's file system has no room (or no inodes) for."""
    need = plan.bytes + plan.entries * _ENTRY_OVERHEAD
    stats = os.statvfs(parent)
    free = stats.f_bavail * stats.f_frsize
    if need > free:
        raise ResourceLimitError(
            f"{short_cid(plan.root)} needs about {need} bytes ({plan.entries} entries, "
            f"{plan.bytes} bytes of files); {parent} has {free} bytes free"
        )
    if stats.f_files and plan.entries > stats.f_favail:
        raise ResourceLimitError(
            f"{short_cid(plan.root)} has {plan.entries} entries; "
            f"{parent} has {stats.f_favail} inodes free"
        )


def _check_target(target: str) -> str:
    """Raise unless ``target`` is new and its directory exists; return that directory."""
    parent = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(parent):
        raise InputPathError(f"the directory to extract into does not exist: {parent}")
    if os.path.lexists(target):
        raise InputPathError(f"{target} already exists")
    return parent


class _Writer:
    """Writes a planned tree: directories first, files streamed, symlinks last.

    The plan's byte total is enforced again while writing, so a DAG can never write
    more than was checked against the limits and the free space. A directory or file
    linked many times is read once: later copies reuse its listing or copy the file
    already written, so a shared sub-DAG whose blocks cost more than its bytes (a node
    of many empty links) costs its blocks once, not once per link to it.
    """

    def __init__(self, get: BlockGetter, budget: int) -> None:
        self._get = get
        self._budget = budget
        self._listings: dict[bytes, list[tuple[str, CID]]] = {}  # at most the plan's entries
        self._files: dict[bytes, str] = {}  # file CID -> the first path written

    def write(self, root: CID, base: str) -> None:
        symlinks: list[tuple[str, bytes]] = []
        stack = [(base, root)]
        while stack:
            path, cid = stack.pop()
            key = bytes(cid)
            if key in self._files:
                self._copy_file(self._files[key], path)
                continue
            entries = self._listings.get(key)
            if entries is not None:
                os.mkdir(path)
                stack.extend((os.path.join(path, name), kid) for name, kid in reversed(entries))
                continue
            node = load_node(cid, self._get)
            if node.kind == "directory":
                os.mkdir(path)
                entries = self._listings[key] = directory_entries(node, self._get)
                stack.extend((os.path.join(path, name), kid) for name, kid in reversed(entries))
            elif node.kind == "file":
                self._write_file(path, cid)
                self._files[key] = path
            else:
                symlinks.append((path, symlink_target(node)))
        for path, target in symlinks:  # last, so that no write can pass through one
            os.symlink(os.fsdecode(target), path)

    def _write_file(self, path: str, cid: CID) -> None:
        """Stream the file into a temporary name beside ``path``, then rename it."""
        self._write_chunks(path, read_verified_file(cid, self._get))

    def _copy_file(self, source: str, path: str) -> None:
        """Write another copy of a file already written (and verified) at ``source``."""
        with open(source, "rb") as f:
            self._write_chunks(path, iter(lambda: f.read(1 << 20), b""))

    def _write_chunks(self, path: str, chunks: Iterator[bytes]) -> None:
        directory = os.path.dirname(path)
        temporary = os.path.join(directory, f".ipfs-kit-part-{secrets.token_hex(8)}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(temporary, flags, 0o666)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    self._budget -= len(chunk)
                    if self._budget < 0:
                        raise ResourceLimitError("the DAG wrote more bytes than it declared")
                    out.write(chunk)
            os.rename(temporary, path)
        except BaseException:
            if os.path.lexists(temporary):
                os.unlink(temporary)
            raise
