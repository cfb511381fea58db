"""Paths inside UnixFS DAGs: ``resolve(root, "a/b")``, ``stat`` and directory listings.

``resolve`` walks basic directories by name and HAMT shards by the murmur3 hash of the
name (only the shards on the name's path are fetched), through
:class:`~ipfs_kit_py.content.random_access.VerifiedBlocks`, so every node on the way is
verified. Paths are UnixFS names joined by ``/``: already percent-decoded (decoding a
URL is the caller's job), with no ``.``, ``..`` or empty segment (a trailing ``/`` is
allowed), at most :data:`MAX_PATH_BYTES` bytes and :data:`MAX_SEGMENTS` segments.
Symlinks are not followed (a path through one is an error, as in a gateway).

Errors (``ipfs_kit_py.errors``): ``PathNotFoundError`` (no such name; a
``ContentNotFoundError``), ``NotADirectoryPathError`` (a segment that is a file; an
``InvalidInputError``),
:class:`UnsafePathError` / ``InvalidInputError`` for a malformed path, and what
reading the blocks raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ipfs_kit_py.content.cid import DAG_PB, RAW, parse_cid, short_cid
from ipfs_kit_py.content.dag import UnixFSNode, _file_parts, iter_directory, load_node
from ipfs_kit_py.content.dagpb import PBLink, UnixFSType
from ipfs_kit_py.content.hamt import MURMUR3_X64_64, hamt_hash
from ipfs_kit_py.content.random_access import VerifiedBlocks
from ipfs_kit_py.errors import (
    ContentMismatchError,
    InvalidInputError,
    NotADirectoryPathError,
    PathNotFoundError,
    ResourceLimitError,
    UnsafePathError,
)

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID


__all__ = [
    "MAX_LISTING",
    "MAX_PATH_BYTES",
    "MAX_SEGMENTS",
    "DirEntry",
    "NodeStat",
    "list_directory",
    "load",
    "resolve",
    "split_path",
    "stat",
]

MAX_PATH_BYTES = 4096
MAX_SEGMENTS = 256
MAX_LISTING = 100_000
_HASH_BITS = 64


@dataclass(frozen=True, slots=True)
class DirEntry:
    """One directory entry: name, CID, size (file bytes, else the DAG size), type.

    ``cid`` is None only for a sub-directory the kit keeps in its index alone.
    """

    name: str
    cid: CID | None
    size: int | None
    type: str  # "file", "directory", "symlink" or "unknown" (not resolved)


@dataclass(frozen=True, slots=True)
class NodeStat:
    """What a CID (or path) is: type, size and, for a directory, its entries.

    ``cid`` is None only for a sub-directory the kit keeps in its index alone.
    """

    cid: CID | None
    type: str  # "file", "directory" or "symlink"
    size: int
    entries: list[DirEntry] = field(default_factory=list)


def split_path(path: str) -> list[str]:
    """The segments of ``path`` (a leading or trailing ``/`` is ignored), checked."""
    if len(path.encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
        raise InvalidInputError(f"a path has at most {MAX_PATH_BYTES} bytes")
    if "\0" in path:
        raise UnsafePathError("a path must not contain NUL")
    trimmed = path.strip("/")
    if not trimmed:
        return []
    segments = trimmed.split("/")
    if len(segments) > MAX_SEGMENTS:
        raise InvalidInputError(f"a path has at most {MAX_SEGMENTS} segments")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise UnsafePathError(f"invalid path segment {segment!r} in {path!r:.200}")
    return segments


def load(cid: CID, blocks: VerifiedBlocks) -> UnixFSNode:
    """The decoded UnixFS node ``cid`` (a raw block is a file), verified."""
    return load_node(cid, blocks.get)


def resolve(root: CID | str, path: str, blocks: VerifiedBlocks) -> tuple[CID, UnixFSNode]:
    """The CID and node that ``path`` names under ``root`` (``""``: the root itself)."""
    cid = parse_cid(root)
    node = load(cid, blocks)
    walked: list[str] = []
    for segment in split_path(path):
        if node.kind != "directory":
            where = "/".join(walked) or short_cid(cid)
            raise NotADirectoryPathError(f"{where} is a {node.kind}, not a directory")
        link = _find(node, segment, blocks)
        walked.append(segment)
        if link is None:
            raise PathNotFoundError(f"no entry {'/'.join(walked)!r:.300} under {short_cid(root)}")
        cid = link.cid
        node = load(cid, blocks)
    return cid, node


def _find(node: UnixFSNode, name: str, blocks: VerifiedBlocks) -> PBLink | None:
    unixfs = node.unixfs
    assert unixfs is not None
    if unixfs.type == UnixFSType.DIRECTORY:
        return next((link for link in node.links if link.name == name), None)
    return _find_in_shard(node, name, blocks)


def _find_in_shard(node: UnixFSNode, name: str, blocks: VerifiedBlocks) -> PBLink | None:
    """Follow ``name``'s hash down the HAMT: one shard per level."""
    digest = hamt_hash(name)
    depth = 0
    while True:
        fanout = _shard_fanout(node)
        bits = fanout.bit_length() - 1
        shift = _HASH_BITS - (depth + 1) * bits
        if shift < 0:
            raise ContentMismatchError("HAMT shard is nested deeper than its hash allows")
        prefix = f"{(digest >> shift) & (fanout - 1):0{len(f'{fanout - 1:X}')}X}"
        child = _shard_slot(node, prefix, name)
        if child is None or child.name != prefix:
            return child
        node = load(child.cid, blocks)
        depth += 1


def _shard_slot(node: UnixFSNode, prefix: str, name: str) -> PBLink | None:
    """The link of ``node`` for the slot ``prefix``: the entry ``name`` or a sub-shard."""
    for link in node.links:
        link_name = link.name or ""
        if link_name == prefix or link_name == prefix + name:
            return link
    return None


def _shard_fanout(node: UnixFSNode) -> int:
    unixfs = node.unixfs
    if unixfs is None or unixfs.type != UnixFSType.HAMT_SHARD:
        raise ContentMismatchError(f"{short_cid(node.cid)} is not a HAMT shard")
    fanout = unixfs.fanout
    if unixfs.hash_type != MURMUR3_X64_64 or fanout is None:
        raise ContentMismatchError(f"HAMT shard {short_cid(node.cid)} has an unsupported hash")
    if not (8 <= fanout <= 1024 and fanout & (fanout - 1) == 0):
        raise ContentMismatchError(f"HAMT shard {short_cid(node.cid)} has fanout {fanout}")
    return fanout


def stat(
    root: CID | str, path: str, blocks: VerifiedBlocks, *, resolve_types: bool = True
) -> NodeStat:
    """Type, size and (for a directory) entries of ``path`` under ``root``.

    A file's size is its byte length; a directory's the sum of its entries' DAG sizes
    (as kubo reports it); a symlink's the length of its target. ``resolve_types``
    fetches each entry's root block to tell files from directories (else ``unknown``
    for dag-pb entries).
    """
    cid, node = resolve(root, path, blocks)
    if node.kind == "directory":
        entries = list_directory(node, blocks, resolve_types=resolve_types)
        return NodeStat(cid, "directory", sum(e.size or 0 for e in entries), entries)
    return NodeStat(cid, node.kind, node_size(node))


def node_size(node: UnixFSNode) -> int:
    """The byte length of a file node (checked) or symlink target."""
    if node.unixfs is None:
        return len(node.raw)
    if node.kind == "symlink":
        return len(node.unixfs.data or b"")
    data, children = _file_parts(node)
    return len(data) + sum(size for _, size in children)


def list_directory(
    node: UnixFSNode, blocks: VerifiedBlocks, *, resolve_types: bool = True
) -> list[DirEntry]:
    """The entries of a basic or HAMT directory node, in stored order (at most
    :data:`MAX_LISTING`)."""
    entries: list[DirEntry] = []
    for name, link in _iter_entries(node, blocks):
        if len(entries) >= MAX_LISTING:
            raise ResourceLimitError(f"directory {short_cid(node.cid)} has over {MAX_LISTING}")
        entries.append(_entry(name, link, blocks, resolve_types))
    return entries


def _iter_entries(node: UnixFSNode, blocks: VerifiedBlocks) -> Iterator[tuple[str, PBLink]]:
    return iter_directory(node, blocks.get)


def _entry(name: str, link: PBLink, blocks: VerifiedBlocks, resolve_types: bool) -> DirEntry:
    code = link.cid.codec.code
    if code == RAW:
        return DirEntry(name, link.cid, link.tsize, "file")
    if code != DAG_PB or not resolve_types:
        return DirEntry(name, link.cid, link.tsize, "unknown")
    child = load(link.cid, blocks)
    if child.kind == "directory":
        return DirEntry(name, link.cid, link.tsize, "directory")
    return DirEntry(name, link.cid, node_size(child), child.kind)
