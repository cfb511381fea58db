"""dag-pb nodes and UnixFS data, encoded by hand to the canonical protobuf bytes.

Both are tiny proto2 schemas (the dag-pb and UnixFS specs); the canonical form puts a
node's Links (field 2) before its Data (field 1), and UnixFS fields in field order with
``blocksizes`` unpacked, as go-unixfs and js-ipfs-unixfs write them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from ipfs_kit_py.content.cid import CID, decode_cid_bytes
from ipfs_kit_py.errors import ContentMismatchError

__all__ = [
    "PBLink",
    "PBNode",
    "UnixFSData",
    "UnixFSType",
    "decode_node",
    "decode_unixfs",
    "encode_node",
    "encode_unixfs",
    "encode_varint",
]


class UnixFSType(IntEnum):
    """The ``Type`` field of UnixFS data."""

    RAW = 0
    DIRECTORY = 1
    FILE = 2
    METADATA = 3
    SYMLINK = 4
    HAMT_SHARD = 5


@dataclass(frozen=True, slots=True)
class PBLink:
    """A dag-pb link: the child's CID, its name, and the cumulative size of its DAG."""

    cid: CID
    name: str | None = ""
    tsize: int | None = None


@dataclass(frozen=True, slots=True)
class PBNode:
    """A decoded dag-pb node."""

    data: bytes | None
    links: list[PBLink] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class UnixFSData:
    """Decoded UnixFS ``Data`` message (mode and mtime are kept as raw values)."""

    type: UnixFSType
    data: bytes | None = None
    filesize: int | None = None
    blocksizes: tuple[int, ...] = ()
    hash_type: int | None = None
    fanout: int | None = None


def encode_varint(value: int) -> bytes:
    """Encode an unsigned LEB128 varint."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _bytes_field(number: int, value: bytes) -> bytes:
    return encode_varint(number << 3 | 2) + encode_varint(len(value)) + value


def _varint_field(number: int, value: int) -> bytes:
    return encode_varint(number << 3) + encode_varint(value)


def encode_unixfs(
    type_: UnixFSType,
    *,
    data: bytes | None = None,
    filesize: int | None = None,
    blocksizes: tuple[int, ...] | list[int] = (),
    hash_type: int | None = None,
    fanout: int | None = None,
) -> bytes:
    """Encode a UnixFS ``Data`` message; ``None`` fields and empty data are omitted."""
    parts = [_varint_field(1, int(type_))]
    if data:
        parts.append(_bytes_field(2, data))
    if filesize is not None:
        parts.append(_varint_field(3, filesize))
    parts.extend(_varint_field(4, size) for size in blocksizes)
    if hash_type is not None:
        parts.append(_varint_field(5, hash_type))
    if fanout is not None:
        parts.append(_varint_field(6, fanout))
    return b"".join(parts)


def encode_link(link: PBLink) -> bytes:
    """Encode one PBLink message (without its field tag)."""
    parts = [_bytes_field(1, bytes(link.cid))]
    if link.name is not None:
        parts.append(_bytes_field(2, link.name.encode()))
    if link.tsize is not None:
        parts.append(_varint_field(3, link.tsize))
    return b"".join(parts)


def encode_node(data: bytes | None, links: list[PBLink] | tuple[PBLink, ...] = ()) -> bytes:
    """Encode a dag-pb node in canonical form: links first, then data."""
    parts = [_bytes_field(2, encode_link(link)) for link in links]
    if data is not None:
        parts.append(_bytes_field(1, data))
    return b"".join(parts)


class _Reader:
    """A cursor over protobuf bytes that raises ``ContentMismatchError`` on bad input."""

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def done(self) -> bool:
        return self.pos >= len(self.buf)

    def varint(self) -> int:
        result = shift = 0
        while True:
            if self.pos >= len(self.buf) or shift > 63:
                raise ContentMismatchError("malformed protobuf: bad varint")
            byte = self.buf[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    def field(self) -> tuple[int, int | bytes]:
        key = self.varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            return number, self.varint()
        if wire == 2:
            length = self.varint()
            end = self.pos + length
            if end > len(self.buf):
                raise ContentMismatchError("malformed protobuf: field runs past the end")
            value = self.buf[self.pos : end]
            self.pos = end
            return number, value
        raise ContentMismatchError(f"malformed protobuf: unsupported wire type {wire}")


def _decode_link(buf: bytes) -> PBLink:
    cid: CID | None = None
    name: str | None = None
    tsize: int | None = None
    reader = _Reader(buf)
    while not reader.done():
        number, value = reader.field()
        if number == 1 and isinstance(value, bytes):
            cid = decode_cid_bytes(value)
        elif number == 2 and isinstance(value, bytes):
            name = value.decode("utf-8", errors="surrogateescape")
        elif number == 3 and isinstance(value, int):
            tsize = value
    if cid is None:
        raise ContentMismatchError("malformed dag-pb: link without a hash")
    return PBLink(cid, name, tsize)


def decode_node(buf: bytes) -> PBNode:
    """Decode a dag-pb node."""
    data: bytes | None = None
    links: list[PBLink] = []
    reader = _Reader(buf)
    try:
        while not reader.done():
            number, value = reader.field()
            if number == 2 and isinstance(value, bytes):
                links.append(_decode_link(value))
            elif number == 1 and isinstance(value, bytes):
                data = value
            else:
                raise ContentMismatchError(f"malformed dag-pb: unexpected field {number}")
    except (ValueError, KeyError) as exc:  # a link's bytes that are not a CID
        raise ContentMismatchError(f"malformed dag-pb: {exc}") from exc
    return PBNode(data, links)


def decode_unixfs(buf: bytes) -> UnixFSData:
    """Decode UnixFS ``Data`` bytes (the ``data`` of a dag-pb node)."""
    values: dict[int, int | bytes] = {}
    blocksizes: list[int] = []
    reader = _Reader(buf)
    while not reader.done():
        number, value = reader.field()
        if number == 4 and isinstance(value, int):
            blocksizes.append(value)
        else:
            values[number] = value
    raw_type = values.get(1)
    try:
        type_ = UnixFSType(raw_type if isinstance(raw_type, int) else -1)
    except ValueError as exc:
        raise ContentMismatchError("malformed UnixFS data: missing or unknown type") from exc
    data = values.get(2)
    return UnixFSData(
        type=type_,
        data=data if isinstance(data, bytes) else None,
        filesize=_int_or_none(values.get(3)),
        blocksizes=tuple(blocksizes),
        hash_type=_int_or_none(values.get(5)),
        fanout=_int_or_none(values.get(6)),
    )


def _int_or_none(value: int | bytes | None) -> int | None:
    return value if isinstance(value, int) else None
