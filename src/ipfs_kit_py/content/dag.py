"""Reading UnixFS DAGs block by block: files as byte streams, directories as entries.

Every block is checked against its CID as it is read (:func:`verified_getter`); file
nodes are checked for consistent sizes (each child's size is the ``blocksizes`` entry
its parent declares, and ``filesize`` is data plus children), so a reader gets exactly
the bytes the root promises or an error. Walks use explicit stacks, not recursion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ipfs_kit_py.content.cid import DAG_PB, RAW, parse_cid, short_cid
from ipfs_kit_py.content.dagpb import PBLink, UnixFSData, UnixFSType, decode_node, decode_unixfs
from ipfs_kit_py.content.hamt import iter_shard
from ipfs_kit_py.content.verify import verify_block
from ipfs_kit_py.errors import ContentMismatchError, ContentNotFoundError, IpfsKitError

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = [
    "BlockGetter",
    "BlockSource",
    "BlockStore",
    "UnixFSNode",
    "check_size",
    "file_parts",
    "iter_directory",
    "load_node",
    "read_file",
    "verified_getter",
]

BlockGetter = Callable[["CID"], bytes]


class BlockStore(Protocol):
    """Anything with ``get(cid) -> bytes``, such as :class:`TempBlockStore`."""

    def get(self, cid: CID) -> bytes: ...


BlockSource = BlockGetter | BlockStore
_IDENTITY = 0x00
_FILE_TYPES = (UnixFSType.FILE, UnixFSType.RAW)


def verified_getter(source: BlockSource, *, verify: bool = True) -> BlockGetter:
    """Wrap a block source (a ``get_block(cid)`` callable or a store with ``get``) so
    that every block is verified against its CID.

    Identity CIDs (kubo's ``--inline``) are answered from the CID itself; a
    ``KeyError`` from ``get_block`` becomes :class:`ContentNotFoundError`.
    ``verify=False`` is for a source whose blocks were verified on the way in.
    """

    get_block = source if callable(source) else source.get

    def get(cid: CID) -> bytes:
        if cid.hashfun.code == _IDENTITY:
            return bytes(cid.raw_digest)
        try:
            data = get_block(cid)
        except KeyError as exc:
            raise ContentNotFoundError(f"block {short_cid(cid)} is missing from the DAG") from exc
        if verify:
            verify_block(cid, data)
        return data

    return get


@dataclass(frozen=True, slots=True)
class UnixFSNode:
    """One decoded UnixFS node: a raw leaf (``unixfs`` is None) or a dag-pb node."""

    cid: CID
    unixfs: UnixFSData | None
    links: list[PBLink] = field(default_factory=list)
    raw: bytes = b""

    @property
    def kind(self) -> str:
        """``file``, ``directory`` (basic or HAMT) or ``symlink``."""
        if self.unixfs is None or self.unixfs.type in _FILE_TYPES:
            return "file"
        if self.unixfs.type in (UnixFSType.DIRECTORY, UnixFSType.HAMT_SHARD):
            return "directory"
        if self.unixfs.type == UnixFSType.SYMLINK:
            return "symlink"
        raise ContentMismatchError(
            f"{short_cid(self.cid)} is UnixFS {self.unixfs.type.name}, unsupported"
        )


def load_node(cid: CID, get: BlockGetter) -> UnixFSNode:
    """Fetch and decode the block ``cid``; raise :class:`ContentMismatchError` if it is
    not UnixFS (raw or dag-pb with UnixFS data)."""
    data = get(cid)
    code = cid.codec.code
    if code == RAW:
        return UnixFSNode(cid, None, raw=data)
    if code != DAG_PB:
        raise ContentMismatchError(f"{short_cid(cid)} is {cid.codec.name}, not a UnixFS block")
    node = decode_node(data)
    if node.data is None:
        raise ContentMismatchError(f"dag-pb node {short_cid(cid)} has no UnixFS data")
    return UnixFSNode(cid, decode_unixfs(node.data), node.links)


def is_file_node(cid: CID, data: bytes) -> bool:
    """True unless ``data`` is the intact block of ``cid`` and a UnixFS node of no file
    (a directory, HAMT shard or symlink): anything else may be part of a file."""
    try:
        node = load_node(cid, verified_getter(lambda _: data))
    except (IpfsKitError, ValueError):
        return True
    return node.unixfs is None or node.unixfs.type in _FILE_TYPES


def read_file(root: CID | str, get_block: BlockSource) -> Iterator[bytes]:
    """Yield the bytes of the UnixFS file ``root``, verifying every block.

    Raises :class:`ContentNotFoundError` for a missing block and
    :class:`ContentMismatchError` for a block that does not match its CID, a node that
    is not part of a file, or sizes that do not add up.
    """
    return read_verified_file(parse_cid(root), verified_getter(get_block))


def read_verified_file(root: CID, get: BlockGetter) -> Iterator[bytes]:
    """:func:`read_file` over a getter that already verifies blocks.

    A child declared empty is read once per CID: sub-DAGs that add no bytes could
    otherwise be linked exponentially often (a work bomb with nothing to show).
    """
    stack: list[tuple[CID, int | None]] = [(root, None)]
    empty_seen: set[bytes] = set()
    while stack:
        cid, expected = stack.pop()
        if expected == 0:
            key = bytes(cid)
            if key in empty_seen:
                continue
            empty_seen.add(key)
        node = load_node(cid, get)
        if node.unixfs is None:
            check_size(cid, len(node.raw), expected)
            if node.raw:
                yield node.raw
            continue
        data, children = file_parts(node)
        check_size(cid, len(data) + sum(size for _, size in children), expected)
        if data:
            yield data
        stack.extend((child, size) for child, size in reversed(children))


def file_parts(node: UnixFSNode) -> tuple[bytes, list[tuple[CID, int]]]:
    """A file node's inline data and its children with their declared sizes."""
    unixfs = node.unixfs
    if unixfs is None or unixfs.type not in _FILE_TYPES:
        kind = unixfs.type.name if unixfs else "raw"
        raise ContentMismatchError(f"{short_cid(node.cid)} is UnixFS {kind}, not part of a file")
    if len(unixfs.blocksizes) != len(node.links):
        raise ContentMismatchError(
            f"file node {short_cid(node.cid)} has {len(node.links)} links "
            f"but {len(unixfs.blocksizes)} block sizes"
        )
    data = unixfs.data or b""
    total = len(data) + sum(unixfs.blocksizes)
    if unixfs.filesize is not None and unixfs.filesize != total:
        raise ContentMismatchError(
            f"file node {short_cid(node.cid)} declares {unixfs.filesize} bytes but holds {total}"
        )
    return data, [
        (link.cid, size) for link, size in zip(node.links, unixfs.blocksizes, strict=True)
    ]


_file_parts = file_parts  # the name other modules imported before it was public


def check_size(cid: CID, actual: int, expected: int | None) -> None:
    """Raise :class:`ContentMismatchError` unless a file block holds what its parent says."""
    if expected is not None and actual != expected:
        raise ContentMismatchError(
            f"file block {short_cid(cid)} holds {actual} bytes but its parent says {expected}"
        )


def iter_directory(node: UnixFSNode, get: BlockGetter) -> Iterator[tuple[str, PBLink]]:
    """Yield ``(name, link)`` for each entry of a basic or HAMT directory node.

    Names are returned as stored (decoded with ``surrogateescape``); checking them is
    the caller's job.
    """
    unixfs = node.unixfs
    if unixfs is not None and unixfs.type == UnixFSType.DIRECTORY:
        for link in node.links:
            yield link.name or "", link
        return
    if unixfs is None or unixfs.type != UnixFSType.HAMT_SHARD:
        raise ContentMismatchError(f"{short_cid(node.cid)} is not a directory")

    def load(cid: CID) -> tuple[UnixFSData, list[PBLink]]:
        child = load_node(cid, get)
        if child.unixfs is None:
            raise ContentMismatchError(f"HAMT sub-shard {short_cid(cid)} is a raw block")
        return child.unixfs, child.links

    yield from iter_shard(unixfs, node.links, load)
