"""A directory's nodes rebuilt from its listing, as ``ipfs add -r`` made them.

A tree the index records (its files by CID, its directories and symlinks by path) is
all a directory's nodes depend on, with each file's cumulative DAG size (the ``Tsize``
of its link). :func:`rebuild_tree_nodes` encodes them again (basic nodes or HAMT
shards, as the tree's sharding policy decides) without reading any file's bytes; the
caller checks the root it returns against the directory's CID, which proves every node.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ipfs_kit_py.content.cid import DAG_PB, make_cid
from ipfs_kit_py.content.dagpb import PBLink, UnixFSType, encode_node, encode_unixfs
from ipfs_kit_py.content.directory import BlockSink, directory_node
from ipfs_kit_py.content.unixfs import Block
from ipfs_kit_py.errors import ContentMismatchError

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID
    from ipfs_kit_py.content.hamt import ShardingPolicy

__all__ = ["rebuild_tree_nodes"]


@dataclass(slots=True)
class _Dir:
    dirs: dict[str, _Dir] = field(default_factory=dict)
    files: dict[str, CID] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    result: PBLink | None = None


def rebuild_tree_nodes(
    files: Mapping[str, CID],
    dirs: Iterable[str],
    links: Mapping[str, str],
    *,
    cid_version: int,
    sharding: ShardingPolicy,
    tsize_of: Callable[[CID], int],
    emit: BlockSink,
) -> CID:
    """The root CID of the tree with ``files`` (path -> CID), ``dirs`` and symlinks
    ``links`` (path -> target); every directory, shard and symlink node goes to
    ``emit``. Paths are relative and ``/``-separated. Raises ContentMismatchError for a
    path that cannot be part of a tree (empty, ``.``, ``..`` components or a name used
    twice)."""
    root = _Dir()
    for path in dirs:
        _parent(root, path, last=True)
    for path, cid in files.items():
        parent, name = _place(root, path)
        parent.files[name] = cid
    for path, target in links.items():
        parent, name = _place(root, path)
        parent.links[name] = target
    return _encode(root, cid_version, sharding, tsize_of, emit)


def _parts(path: str) -> list[str]:
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ContentMismatchError(f"the tree lists a bad path {path!r}")
    return parts


def _parent(root: _Dir, path: str, *, last: bool = False) -> _Dir:
    """The directory holding ``path`` (or ``path`` itself with ``last``), made as needed."""
    parts = _parts(path)
    here = root
    for part in parts if last else parts[:-1]:
        here = here.dirs.setdefault(part, _Dir())
    return here


def _place(root: _Dir, path: str) -> tuple[_Dir, str]:
    parent = _parent(root, path)
    name = _parts(path)[-1]
    if name in parent.dirs or name in parent.files or name in parent.links:
        raise ContentMismatchError(f"the tree lists {path!r} twice")
    return parent, name


def _encode(
    root: _Dir,
    cid_version: int,
    sharding: ShardingPolicy,
    tsize_of: Callable[[CID], int],
    emit: BlockSink,
) -> CID:
    """Encode each directory after its sub-directories (an explicit stack: any depth)."""
    stack: list[tuple[str, _Dir, bool]] = [("", root, False)]
    while stack:
        name, here, expanded = stack.pop()
        if not expanded:
            stack.append((name, here, True))
            stack.extend((n, d, False) for n, d in here.dirs.items())
            continue
        entries: list[PBLink] = []
        for sub, child in here.dirs.items():
            if sub in here.files or sub in here.links:
                raise ContentMismatchError(f"the tree lists {sub!r} twice")
            assert child.result is not None
            entries.append(PBLink(child.result.cid, sub, child.result.tsize))
        entries += [PBLink(cid, n, tsize_of(cid)) for n, cid in here.files.items()]
        entries += [_symlink(n, t, cid_version, emit) for n, t in here.links.items()]
        entries.sort(key=lambda link: os.fsencode(link.name or ""))
        cid, dag_size, _ = directory_node(entries, cid_version, sharding, emit)
        here.result = PBLink(cid, name, dag_size)
    assert root.result is not None
    return root.result.cid


def _symlink(name: str, target: str, cid_version: int, emit: BlockSink) -> PBLink:
    data = encode_node(encode_unixfs(UnixFSType.SYMLINK, data=os.fsencode(target)))
    cid = make_cid(DAG_PB, hashlib.sha256(data).digest(), cid_version)
    emit(Block(cid, data))
    return PBLink(cid, name, len(data))
