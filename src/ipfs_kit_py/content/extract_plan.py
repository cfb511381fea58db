"""Planning an extraction: check a UnixFS DAG, and what writing it would cost, first.

A DAG can share sub-DAGs: a directory may link the same child under two names, and a
file node may repeat a leaf. Written out, such a DAG is exponentially larger than its
blocks (a 2.5 KB CAR can name 524k files; a 364 KB one a 262 GB file). So the planner
visits each distinct node once, in post-order, and adds up per node what its subtree
would write (entries, file bytes, depth, how far its symlinks climb); the totals are
checked against :class:`ExtractLimits` before anything is written. Names and symlink
targets are checked here too, once per directory block.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ipfs_kit_py.content.cid import short_cid
from ipfs_kit_py.content.dag import BlockGetter, UnixFSNode, iter_directory, load_node
from ipfs_kit_py.errors import (
    ContentMismatchError,
    InvalidInputError,
    ResourceLimitError,
    UnsafePathError,
)

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_ENTRIES",
    "ExtractLimits",
    "TreePlan",
    "check_tree_symlink",
    "directory_entries",
    "plan_tree",
    "symlink_target",
]

DEFAULT_MAX_ENTRIES = 100_000
DEFAULT_MAX_DEPTH = 256
_SEPARATORS = {"/", os.sep} | ({os.altsep} if os.altsep else set())


@dataclass(frozen=True, slots=True)
class ExtractLimits:
    """Budgets for one extraction.

    ``max_bytes`` caps the file bytes written (None: only the free space of the target's
    file system limits them); ``max_entries`` the files, directories and symlinks (a
    DAG whose directories share sub-directories can name exponentially many);
    ``max_depth`` how deep directories nest.
    """

    max_bytes: int | None = None
    max_entries: int = DEFAULT_MAX_ENTRIES
    max_depth: int = DEFAULT_MAX_DEPTH

    def __post_init__(self) -> None:
        if (self.max_bytes is not None and self.max_bytes < 0) or self.max_entries < 1:
            raise InvalidInputError("extraction limits must be positive")
        if self.max_depth < 0:
            raise InvalidInputError("the maximum depth must not be negative")


@dataclass(frozen=True, slots=True)
class TreePlan:
    """What extracting ``root`` writes: entries, file bytes, deepest nesting."""

    root: CID
    kind: str
    entries: int
    bytes: int
    depth: int


@dataclass(frozen=True, slots=True)
class _Cost:
    """What one subtree writes; ``climb`` is how deep it must sit for its symlinks."""

    entries: int
    size: int
    depth: int
    climb: int = 0
    culprit: str = ""


def plan_tree(root: CID, get: BlockGetter, limits: ExtractLimits) -> TreePlan:
    """Check the tree under ``root`` and what it costs; raise before anything is written.

    Raises :class:`UnsafePathError` for an unsafe name or symlink, a duplicate name or
    a root symlink, :class:`ResourceLimitError` when a budget of ``limits`` is passed,
    and what reading the blocks raises.
    """
    costs: dict[bytes, _Cost] = {}
    kind = load_node(root, get).kind
    if kind == "symlink":
        raise UnsafePathError(f"the root {short_cid(root)} is a symlink pointing outside the tree")
    stack: list[tuple[CID, int, list[CID] | None]] = [(root, 0, None)]
    while stack:
        cid, depth, children = stack.pop()
        key = bytes(cid)
        if children is not None:
            costs[key] = _combine(cid, [costs[bytes(c)] for c in children], limits)
            continue
        if key in costs:
            continue
        if depth > limits.max_depth:
            raise ResourceLimitError(f"the tree nests deeper than {limits.max_depth} levels")
        node = load_node(cid, get)
        if node.kind != "directory":
            costs[key] = _leaf_cost(node)
            continue
        kids = [kid for _, kid in directory_entries(node, get, limits.max_entries - 1)]
        stack.append((cid, depth, kids))
        stack.extend((kid, depth + 1, None) for kid in kids if bytes(kid) not in costs)
    cost = costs[bytes(root)]
    if cost.climb > 0:
        raise UnsafePathError(f"symlink pointing outside the extracted tree: {cost.culprit}")
    return TreePlan(root, kind, cost.entries, cost.size, cost.depth)


def _combine(cid: CID, children: list[_Cost], limits: ExtractLimits) -> _Cost:
    entries = 1 + sum(c.entries for c in children)
    size = sum(c.size for c in children)
    depth = 1 + max((c.depth for c in children), default=-1)
    if depth > limits.max_depth:
        raise ResourceLimitError(f"the tree nests deeper than {limits.max_depth} levels")
    if entries > limits.max_entries:
        raise ResourceLimitError(
            f"directory {short_cid(cid)} expands to {entries} entries, "
            f"more than the limit of {limits.max_entries}"
        )
    if limits.max_bytes is not None and size > limits.max_bytes:
        raise ResourceLimitError(
            f"directory {short_cid(cid)} holds {size} bytes of files, "
            f"more than the limit of {limits.max_bytes}"
        )
    worst = max(children, key=lambda c: c.climb, default=None)
    if worst is None or worst.climb <= 1:
        return _Cost(entries, size, depth)
    return _Cost(entries, size, depth, worst.climb - 1, worst.culprit)


def _leaf_cost(node: UnixFSNode) -> _Cost:
    if node.kind == "symlink":
        target = symlink_target(node)
        return _Cost(1, 0, 0, _climbs(target) + 1, f"{target!r:.200} ({short_cid(node.cid)})")
    if node.unixfs is None:
        return _Cost(1, len(node.raw), 0)
    data = node.unixfs.data or b""
    declared = len(data) + sum(node.unixfs.blocksizes)
    if node.unixfs.filesize is not None and node.unixfs.filesize != declared:
        raise ContentMismatchError(
            f"file node {short_cid(node.cid)} declares {node.unixfs.filesize} bytes "
            f"but holds {declared}"
        )
    return _Cost(1, declared, 0)


def directory_entries(
    node: UnixFSNode, get: BlockGetter, limit: int | None = None
) -> list[tuple[str, CID]]:
    """A directory's entries, each name checked and distinct (at most ``limit``)."""
    seen: set[str] = set()
    children: list[tuple[str, CID]] = []
    for name, link in iter_directory(node, get):
        if limit is not None and len(children) >= limit:
            raise ResourceLimitError(
                f"directory {short_cid(node.cid)} has more than {limit} entries"
            )
        _check_name(name)
        if name in seen:
            raise UnsafePathError(f"directory {short_cid(node.cid)} lists {name!r:.200} twice")
        seen.add(name)
        children.append((name, link.cid))
    return children


def _check_name(name: str) -> None:
    if name in ("", ".", "..") or "\0" in name or any(s in name for s in _SEPARATORS):
        raise UnsafePathError(f"unsafe name in directory: {name!r:.200}")


def symlink_target(node: UnixFSNode) -> bytes:
    """The target of a symlink node, if it is relative and never climbs back out once
    inside (no ``..`` after its first normal component); else :class:`UnsafePathError`."""
    assert node.unixfs is not None
    target = node.unixfs.data or b""
    _check_link_target(target, f"{short_cid(node.cid)} -> {target!r:.200}")
    return target


def check_tree_symlink(inner: str, target: str | bytes) -> None:
    """Raise :class:`UnsafePathError` unless a symlink at ``inner`` (a relative
    ``/``-separated path in a tree) to ``target`` stays inside the tree, by the rule of
    :func:`symlink_target`: relative, and its leading ``..`` climb no higher than the
    directory holding it sits."""
    raw = os.fsencode(target)
    shown = f"{inner!r:.200} -> {raw!r:.200}"
    climbs = _check_link_target(raw, shown)
    depth = sum(1 for c in inner.split("/") if c not in ("", ".")) - 1  # "\\" is a name here
    if climbs > depth:
        raise UnsafePathError(f"symlink pointing outside the extracted tree: {shown}")


def _check_link_target(target: bytes, shown: str) -> int:
    """Check ``target`` as :func:`symlink_target` does; return its leading ``..`` count."""
    if not target or b"\0" in target or target.startswith(b"/") or os.path.isabs(target):
        raise UnsafePathError(f"symlink with an absolute or empty target: {shown}")
    climbs = _climbs(target)
    if b".." in _components(target)[climbs:]:
        raise UnsafePathError(f"symlink pointing outside the extracted tree: {shown}")
    return climbs


def _components(target: bytes) -> list[bytes]:
    return [c for c in target.replace(b"\\", b"/").split(b"/") if c not in (b"", b".")]


def _climbs(target: bytes) -> int:
    """How many leading ``..`` components ``target`` has."""
    components = _components(target)
    climbs = 0
    while climbs < len(components) and components[climbs] == b"..":
        climbs += 1
    return climbs
