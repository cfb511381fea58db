"""Walking a DAG block by block for the gateway: resolve ``/ipfs/{cid}/a/b``, read a
byte range of a UnixFS file, and list the blocks a CAR of a given ``dag-scope`` holds.

Every block comes from a getter that verifies it against its CID (or raises), so what
these functions yield is verified. Walks use explicit stacks, never recursion.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import cast

from ipfs_kit_py.content.cid import CID, DAG_CBOR, DAG_PB, RAW, parse_cid
from ipfs_kit_py.content.cidvalue import Cid
from ipfs_kit_py.content.dag import UnixFSNode, iter_directory, load_node
from ipfs_kit_py.content.dagpb import PBLink, UnixFSType, decode_node
from ipfs_kit_py.content.hamt import hamt_hash
from ipfs_kit_py.errors import ContentMismatchError, InvalidCIDError
from ipfs_kit_py.gateway.params import HTTPError

__all__ = [
    "Block",
    "BlockGetter",
    "Resolved",
    "dag_blocks",
    "file_range_blocks",
    "file_size",
    "resolve",
]

BlockGetter = Callable[[CID], bytes]
Want = Callable[[Iterable[CID]], None]
Block = tuple[CID, bytes]
_HASH_BITS = 64
_IDENTITY = 0x00


@dataclass
class Resolved:
    """The end of a path: its CID, its root block (decoded when UnixFS), the blocks
    walked to reach it (root and directories, HAMT shards too), and the CID of each
    logical segment (``X-Ipfs-Roots``)."""

    cid: CID
    data: bytes
    node: UnixFSNode | None
    path_blocks: list[Block] = field(default_factory=list)
    roots: list[CID] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """``file``, ``directory``, ``symlink``, or ``other`` for a non-UnixFS block."""
        return self.node.kind if self.node is not None else "other"


def _node(cid: CID, data: bytes) -> UnixFSNode | None:
    """The block decoded as UnixFS, or None for another codec."""
    if cid.codec.code not in (RAW, DAG_PB):
        return None
    return _decoded(cid, data)


def _decoded(cid: CID, data: bytes) -> UnixFSNode:
    """A fetched (verified) block decoded as UnixFS."""

    def give(_: CID) -> bytes:
        return data

    return load_node(cid, give)


def resolve(root: CID, segments: tuple[str, ...], get: BlockGetter) -> Resolved:
    """Follow ``segments`` from ``root``; 404 naming the missing part, 501 for a path
    that ends inside, or goes through, non-UnixFS data other than a dag-cbor or
    dag-json link."""
    data = get(root)
    here = Resolved(root, data, _node(root, data), [], [root])
    depth = 0
    while depth < len(segments):
        here.path_blocks.append((here.cid, here.data))
        roots = here.roots
        if here.node is None:  # as kubo: a segment inside the block names the block
            target, after = _through_data(here, segments, depth)
            roots = [*roots, *[here.cid] * (after - depth - 1)]
            depth = after
        else:
            target = _child(here, segments, depth, root, get)
            depth += 1
        data = get(target)
        here = Resolved(target, data, _node(target, data), here.path_blocks, [*roots, target])
    return here


def _child(
    here: Resolved, segments: tuple[str, ...], depth: int, root: CID, get: BlockGetter
) -> CID:
    """The CID that ``segments[depth]`` names in the UnixFS directory ``here``."""
    assert here.node is not None
    if here.kind != "directory":
        shown = "/".join(segments[: depth + 1])
        raise HTTPError(
            404,
            f"no link named {shown!r}: {segments[depth - 1 : depth] or root} is not a directory",
        )
    link = _lookup(here.node, segments[depth], get, here.path_blocks)
    if link is None:
        raise HTTPError(404, f"no link named {'/'.join(segments[: depth + 1])!r} under {root}")
    return link.cid


DAG_JSON = 0x0129


def _through_data(here: Resolved, segments: tuple[str, ...], depth: int) -> tuple[CID, int]:
    """Follow ``segments`` from ``depth`` inside the dag-cbor or dag-json block ``here``
    (map keys, list indexes) up to a link: the linked CID and the depth after it. 501
    for another codec, or a path that ends inside the block; 404 for a field that is
    not there."""
    codec = here.cid.codec
    value = _decode_data(here)
    while depth < len(segments):
        name = segments[depth]
        depth += 1
        if isinstance(value, dict) and name in value:
            value = value[name]
        elif isinstance(value, list) and name.isdecimal() and int(name) < len(value):
            value = value[int(name)]
        else:
            raise HTTPError(404, f"no field {'/'.join(segments[:depth])!r} in {here.cid}")
        if codec.code == DAG_JSON:
            value = _json_link(value, here.cid)
        if isinstance(value, CID):  # decoded links print in base58btc: as kubo, base32
            return (value.set(base="base32") if value.version == 1 else value), depth
    raise HTTPError(501, f"the path ends inside {codec.name} data of {here.cid}, not at a link")


def _decode_data(here: Resolved) -> object:
    """The verified block ``here`` decoded (dag-cbor or dag-json); 501 otherwise."""
    code = here.cid.codec.code
    if code == DAG_JSON:
        try:  # a verified block of bounded size; nesting past Python's limit is refused
            return json.loads(here.data)
        except (ValueError, RecursionError) as exc:
            reason = type(exc).__name__  # never the bytes
            raise HTTPError(501, f"cannot walk a path inside dag-json data ({reason})") from None
    if code != DAG_CBOR:
        raise HTTPError(501, f"cannot walk a path inside {here.cid.codec.name} data")
    import dag_cbor  # only paths through dag-cbor need it
    from dag_cbor.encoding.err import CBORError

    try:
        return dag_cbor.decode(here.data)
    except (CBORError, ValueError, RecursionError) as exc:
        reason = type(exc).__name__
        raise HTTPError(501, f"cannot walk a path inside this dag-cbor block ({reason})") from None


def _json_link(value: object, where: CID) -> object:
    """A dag-json link (``{"/": "<cid>"}``) as its CID; any other value as it is. A
    link whose text is no CID is bad data: 501."""
    if not (isinstance(value, dict) and len(value) == 1 and isinstance(value.get("/"), str)):
        return value
    try:
        return parse_cid(value["/"])
    except InvalidCIDError:
        raise HTTPError(501, f"a link in the dag-json block {where} is not a CID") from None


def _lookup(node: UnixFSNode, name: str, get: BlockGetter, walked: list[Block]) -> PBLink | None:
    """The link called ``name`` in a directory (first match) or a HAMT (by hash)."""
    unixfs = node.unixfs
    assert unixfs is not None
    if unixfs.type == UnixFSType.DIRECTORY:
        return next((link for link in node.links if link.name == name), None)
    return _hamt_lookup(node, name, get, walked)


def _hamt_lookup(
    node: UnixFSNode, name: str, get: BlockGetter, walked: list[Block]
) -> PBLink | None:
    unixfs = node.unixfs
    assert unixfs is not None
    fanout = unixfs.fanout
    if fanout is None or fanout < 2 or fanout & (fanout - 1) or fanout > 1024:
        raise ContentMismatchError(f"HAMT shard {node.cid} has an invalid fanout {fanout}")
    bits = fanout.bit_length() - 1
    width = len(f"{fanout - 1:X}")
    digest = hamt_hash(name)
    links = node.links
    for depth in range(_HASH_BITS // bits):
        prefix = f"{(digest >> (_HASH_BITS - (depth + 1) * bits)) & (fanout - 1):0{width}X}"
        shard = next((lk for lk in links if lk.name == prefix), None)
        if shard is None:
            return next((lk for lk in links if lk.name == prefix + name), None)
        data = get(shard.cid)
        walked.append((shard.cid, data))
        child = _decoded(shard.cid, data)
        if child.unixfs is None or child.unixfs.type != UnixFSType.HAMT_SHARD:
            raise ContentMismatchError(f"HAMT sub-shard {shard.cid} is not a shard")
        links = child.links
    return None


def file_size(node: UnixFSNode) -> int:
    """The byte size of a UnixFS file (or raw) node: what its data and block sizes
    hold. Raises :class:`ContentMismatchError` when its ``filesize`` says otherwise
    (a Content-Length taken from it would not match the body)."""
    if node.unixfs is None:
        return len(node.raw)
    unixfs = node.unixfs
    if unixfs.type not in (UnixFSType.FILE, UnixFSType.RAW):
        raise ContentMismatchError(f"{node.cid} is UnixFS {unixfs.type.name}, not a file")
    if len(unixfs.blocksizes) != len(node.links):
        raise ContentMismatchError(f"file node {node.cid}: links and block sizes differ")
    size = len(unixfs.data or b"") + sum(unixfs.blocksizes)
    if unixfs.filesize is not None and unixfs.filesize != size:
        raise ContentMismatchError(
            f"file node {node.cid} says {unixfs.filesize} bytes, its blocks hold {size}"
        )
    return size


def file_range_blocks(
    root: CID, data: bytes, start: int, stop: int, get: BlockGetter, want: Want | None = None
) -> Iterator[tuple[CID, bytes, bytes]]:
    """Yield ``(cid, block, payload)`` depth-first for each block of a UnixFS file that
    covers ``[start, stop)``, ``payload`` cut to the range; only those blocks are fetched.

    ``want`` hears the blocks the walk will visit next (read-ahead). Raises
    :class:`ContentMismatchError` where declared sizes disagree with the data.
    """
    stack: list[tuple[CID, bytes | None, int, int | None]] = [(root, data, 0, None)]
    while stack:
        cid, block, offset, expected = stack.pop()
        if block is None:
            block = get(cid)
        node = _decoded(cid, block)
        inline, children = _file_parts(node, expected)
        piece = inline[max(start - offset, 0) : max(stop - offset, 0)]
        yield cid, block, piece
        pos = offset + len(inline)
        pending = []
        for child, size in children:
            # an empty child covers no byte: visited, a few nodes linking one twice per
            # level would cost 2**levels loads for a 2-byte range
            if size > 0 and pos < stop and pos + size > start:
                pending.append((child, None, pos, size))
            pos += size
        if want is not None:
            want(child for child, _, _, _ in pending)
        stack.extend(reversed(pending))


def _file_parts(node: UnixFSNode, expected: int | None) -> tuple[bytes, list[tuple[CID, int]]]:
    if node.unixfs is None:
        _check(node.cid, len(node.raw), expected)
        return node.raw, []
    unixfs = node.unixfs
    if unixfs.type not in (UnixFSType.FILE, UnixFSType.RAW):
        raise ContentMismatchError(f"{node.cid} is UnixFS {unixfs.type.name}, not part of a file")
    if len(unixfs.blocksizes) != len(node.links):
        raise ContentMismatchError(f"file node {node.cid}: links and block sizes differ")
    inline = unixfs.data or b""
    _check(node.cid, len(inline) + sum(unixfs.blocksizes), expected)
    children = [(lk.cid, size) for lk, size in zip(node.links, unixfs.blocksizes, strict=True)]
    return inline, children


def _check(cid: CID, actual: int, expected: int | None) -> None:
    if expected is not None and actual != expected:
        raise ContentMismatchError(
            f"file block {cid} holds {actual} bytes, its parent says {expected}"
        )


def dag_blocks(
    root: CID,
    data: bytes,
    get: BlockGetter,
    *,
    entity_only: bool,
    dups: bool = False,
    want: Want | None = None,
) -> Iterator[Block]:
    """Yield ``root`` and every block below it, depth-first, each once unless ``dups``
    (identity CIDs skipped). ``entity_only``: below a directory, only its HAMT shards
    (what listing it needs), never its entries."""
    seen: set[bytes] = set()
    stack: list[tuple[CID, bytes | None]] = [(root, data)]
    while stack:
        cid, block = stack.pop()
        key = bytes(cid)
        if (key in seen and not dups) or cid.hashfun.code == _IDENTITY:
            continue
        seen.add(key)
        if block is None:
            block = get(cid)
        yield cid, block
        if cid.codec.code != DAG_PB:
            continue
        if entity_only or want is not None:
            links = _links(block)
            if entity_only:
                links = _entity_links(cid, block, links)
            if want is not None:
                want(link.cid for link in links if dups or bytes(link.cid) not in seen)
            children = [link.cid for link in links]
        else:
            children = _child_cids(block)
        stack.extend((child, None) for child in reversed(children))


def _child_cids(block: bytes) -> list[CID]:
    """The CIDs a dag-pb block links to, in order. A canonical block's links are read
    as light :class:`~ipfs_kit_py.content.cidvalue.Cid` values (bytes, codec and hash
    code without multiformats: a tenth of the cost); any other block is decoded."""
    light = _light_links(block)
    if light is None:
        return [link.cid for link in _links(block)]
    return cast(list[CID], light)  # the walk needs bytes(), codec.code, hashfun.code


def _light_links(block: bytes) -> list[Cid] | None:
    """The link CIDs of a block of canonical dag-pb (links, then at most one Data
    field) whose CIDs are all light kinds; None for any other block. Whatever it
    accepts, :func:`decode_node` decodes to the same links."""
    cids: list[Cid] = []
    pos, end = 0, len(block)
    while pos < end and block[pos] == 0x12:
        length, pos = _uvarint(block, pos + 1)
        stop = pos + length
        if length < 0 or stop > end:
            return None
        cid = _link_cid(block, pos, stop)
        if cid is None:
            return None
        cids.append(cid)
        pos = stop
    if pos < end:
        if block[pos] != 0x0A:
            return None
        length, pos = _uvarint(block, pos + 1)
        if length < 0 or pos + length != end:
            return None
    return cids


def _link_cid(block: bytes, pos: int, stop: int) -> Cid | None:
    """The hash of a PBLink (hash, then an optional name and size) at ``[pos, stop)``."""
    if pos >= stop or block[pos] != 0x0A:
        return None
    length, pos = _uvarint(block, pos + 1)
    if length < 0 or pos + length > stop:
        return None
    cid = Cid.from_bytes(block[pos : pos + length])
    pos += length
    if pos < stop and block[pos] == 0x12:  # Name
        length, pos = _uvarint(block, pos + 1)
        if length < 0:
            return None
        pos += length
    if pos < stop and block[pos] == 0x18:  # Tsize
        _, pos = _uvarint(block, pos + 1)
    return cid if pos == stop else None


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    """A varint at ``pos`` (at most 10 bytes) and the position after it; -1 if bad."""
    value = 0
    for index in range(pos, min(pos + 10, len(data))):
        byte = data[index]
        value |= (byte & 0x7F) << (7 * (index - pos))
        if byte < 0x80:
            return value, index + 1
    return -1, len(data) + 1


def _links(block: bytes) -> list[PBLink]:
    """The links of a dag-pb block. A block that is one Data field and nothing else
    (a file leaf) has none, known without decoding it; any other is decoded."""
    if block[:1] == b"\x0a":
        length = pos = 0
        for pos in range(1, min(len(block), 11)):
            length |= (block[pos] & 0x7F) << (7 * (pos - 1))
            if block[pos] < 0x80:
                if pos + 1 + length == len(block):
                    return []
                break
    return decode_node(block).links


def _entity_links(cid: CID, block: bytes, links: list[PBLink]) -> list[PBLink]:
    """The links of a node that belong to the same entity (file chunks, HAMT shards)."""
    node = _decoded(cid, block)
    if node.unixfs is None or node.unixfs.type in (UnixFSType.FILE, UnixFSType.RAW):
        return links
    if node.unixfs.type == UnixFSType.HAMT_SHARD:
        width = len(f"{(node.unixfs.fanout or 256) - 1:X}")
        return [lk for lk in links if len(lk.name or "") == width]
    return []


def directory_entries(node: UnixFSNode, get: BlockGetter) -> Iterator[tuple[str, PBLink]]:
    """``(name, link)`` for each entry of a basic or HAMT directory."""
    return iter_directory(node, get)
