"""CARv1 (content archives): a streaming writer and a reader that verifies every block.

Format: ``varint(len) dag-cbor{roots, version: 1}`` then, per block,
``varint(len(cid) + len(data)) cid data``. The reader also accepts CARv2 by reading
its inner CARv1 payload.
"""

from __future__ import annotations

import io
import reprlib
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, BinaryIO

from ipfs_kit_py.content.cid import DAG_PB, MAX_CID_BYTES, base32, decode_cid_bytes, is_cid
from ipfs_kit_py.content.dagpb import decode_node, encode_varint
from ipfs_kit_py.content.unixfs import Block
from ipfs_kit_py.content.verify import verify_block
from ipfs_kit_py.errors import CARFormatError

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = [
    "MAX_BLOCK_SIZE",
    "CarReader",
    "CarWriter",
    "encode_car_block",
    "encode_car_header",
    "export_dag",
    "write_car",
]

MAX_BLOCK_SIZE = 16 * 1024 * 1024  # kubo's limit is 4 MiB; anything far past it is corrupt
_MAX_HEADER_SIZE = 1024 * 1024
_CARV2_PRAGMA = bytes.fromhex("0aa16776657273696f6e02")
_SKIP_CHUNK = 1024 * 1024


def encode_car_header(roots: Sequence[CID]) -> bytes:
    """Return the framed CARv1 header naming ``roots``."""
    import dag_cbor  # loaded with the first CAR: `cat` of a cached file never needs it

    header: bytes = dag_cbor.encode({"roots": list(roots), "version": 1})
    return encode_varint(len(header)) + header


def encode_car_block(cid: CID, data: bytes) -> bytes:
    """Return one framed CAR section: length, CID bytes, block bytes."""
    cid_bytes = bytes(cid)
    return encode_varint(len(cid_bytes) + len(data)) + cid_bytes + data


class CarWriter:
    """Write a CARv1 to a binary file object, block by block."""

    def __init__(self, out: BinaryIO, roots: Sequence[CID]) -> None:
        self._out = out
        self.bytes_written = 0
        self._put(encode_car_header(roots))

    def _put(self, data: bytes) -> None:
        self._out.write(data)
        self.bytes_written += len(data)

    def write_block(self, cid: CID, data: bytes) -> None:
        """Append one block."""
        cid_bytes = bytes(cid)
        self._put(encode_varint(len(cid_bytes) + len(data)) + cid_bytes)
        self._put(data)

    def write(self, block: Block) -> None:
        """Append one :class:`Block`."""
        self.write_block(block.cid, block.data)


def write_car(out: BinaryIO, roots: Sequence[CID], blocks: Iterable[Block]) -> int:
    """Write a whole CAR; return the number of bytes written."""
    writer = CarWriter(out, roots)
    for block in blocks:
        writer.write(block)
    return writer.bytes_written


class CarReader:
    """Read a CAR from a stream; iterating yields blocks, each verified against its CID.

    Raises :class:`CARFormatError` for a malformed or truncated CAR and
    :class:`ContentMismatchError` for a block whose bytes do not match its CID.
    """

    def __init__(self, stream: BinaryIO, verify: bool = True) -> None:
        self._stream = stream
        self._verify = verify
        self._remaining: int | None = None  # payload bytes left, for CARv2
        self._pushback = b""
        self._size = _stream_size(stream)  # bytes from here to the end, if it can seek
        self.roots: list[CID] = self._read_header(allow_v2=True)

    def __iter__(self) -> Iterator[Block]:
        while True:
            length = self._read_varint(allow_eof=True)
            if length is None:
                return
            if not 0 < length <= MAX_BLOCK_SIZE:
                raise CARFormatError(f"CAR section length {length} is out of range")
            section = self._read_exact(length)
            cid, offset = _split_cid(section)
            data = section[offset:]
            if self._verify:
                verify_block(cid, data)
            yield Block(cid, data)

    def _read_header(self, *, allow_v2: bool) -> list[CID]:
        first = self._read_raw(len(_CARV2_PRAGMA))
        if first == _CARV2_PRAGMA:
            if not allow_v2:
                raise CARFormatError("a CARv2 payload must be a CARv1, not another CARv2")
            self._enter_v2_payload()
            return self._read_header(allow_v2=False)
        self._pushback = first
        length = self._read_varint(allow_eof=False)
        if length is None or not 0 < length <= _MAX_HEADER_SIZE:
            raise CARFormatError(f"CAR header length {length} is out of range")
        raw = self._read_exact(length)  # the stream's own errors (a stall, a reset) are its own
        try:
            import dag_cbor

            header = dag_cbor.decode(raw)
        except Exception as exc:
            raise CARFormatError(f"CAR header is not valid dag-cbor: {exc}") from exc
        if not isinstance(header, dict) or header.get("version") != 1:
            raise CARFormatError(f"unsupported CAR header {_short_repr(header)}")
        return _header_roots(header.get("roots", []))

    def _enter_v2_payload(self) -> None:
        """Skip the CARv2 header (and any padding) to its CARv1 payload.

        The offsets are checked against the file's size when the stream can seek, and a
        gap before the payload is skipped without holding it, never read into memory.
        """
        fixed = self._read_exact_raw(40)
        data_offset, data_size = struct.unpack_from("<QQ", fixed, 16)
        header_end = len(_CARV2_PRAGMA) + 40
        if data_offset < header_end:
            raise CARFormatError("CARv2 data offset points inside its header")
        if self._size is not None and data_offset + data_size > self._size:
            raise CARFormatError(
                f"CARv2 payload ({data_size} bytes at offset {data_offset}) runs past "
                f"the end of the file ({self._size} bytes)"
            )
        self._skip(data_offset - header_end)
        self._remaining = data_size

    def _skip(self, n: int) -> None:
        if self._size is not None:
            self._stream.seek(n, io.SEEK_CUR)
            return
        while n > 0:
            n -= len(self._read_exact_raw(min(n, _SKIP_CHUNK)))

    def _read_raw(self, n: int) -> bytes:
        out = b""
        if self._pushback:
            out, self._pushback = self._pushback[:n], self._pushback[n:]
        while len(out) < n:  # a pipe or socket may answer short reads before its end
            more = self._stream.read(n - len(out))
            if not more:
                break
            out += more
        return out

    def _read_exact_raw(self, n: int) -> bytes:
        data = self._read_raw(n)
        if len(data) != n:
            raise CARFormatError(f"truncated CAR: wanted {n} bytes, got {len(data)}")
        return data

    def _read_exact(self, n: int) -> bytes:
        if self._remaining is not None:
            if n > self._remaining:
                raise CARFormatError("truncated CAR: section runs past the CARv2 payload")
            self._remaining -= n
        return self._read_exact_raw(n)

    def _read_varint(self, *, allow_eof: bool) -> int | None:
        if self._remaining == 0:
            return None
        result = shift = 0
        for index in range(10):
            byte = self._read_raw(1)
            if not byte:
                if index == 0 and allow_eof:
                    return None
                raise CARFormatError("truncated CAR: stream ends inside a length prefix")
            if self._remaining is not None:
                if self._remaining <= 0:
                    raise CARFormatError("truncated CAR: a length prefix runs past the payload")
                self._remaining -= 1
            result |= (byte[0] & 0x7F) << shift
            if not byte[0] & 0x80:
                return result
            shift += 7
        raise CARFormatError("CAR length prefix is too long")


def _stream_size(stream: BinaryIO) -> int | None:
    """How many bytes ``stream`` holds from its position on, or None if it cannot seek."""
    try:
        if not stream.seekable():
            return None
        here = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(here)
    except (OSError, ValueError, AttributeError):
        return None
    return max(0, end - here)


def _short_repr(value: object) -> str:
    text = reprlib.repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


def _header_roots(roots: object) -> list[CID]:
    """The roots of a CAR header: a list of CIDs, none longer than a CID may be."""
    if not isinstance(roots, list) or not all(is_cid(r) for r in roots):
        raise CARFormatError("CAR header roots must be a list of CIDs")
    checked = []
    for root in roots:
        if len(bytes(root)) > MAX_CID_BYTES:
            raise CARFormatError(f"CAR header root is longer than {MAX_CID_BYTES} bytes")
        checked.append(base32(root))
    return checked


def _read_varint_at(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while pos < len(buf) and shift < 64:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
    raise CARFormatError("malformed CID in CAR section")


def _split_cid(section: bytes) -> tuple[CID, int]:
    """Return the CID at the start of ``section`` and where the block bytes begin."""
    if section[:2] == b"\x12\x20":
        end = 34
    else:
        version, pos = _read_varint_at(section, 0)
        if version != 1:
            raise CARFormatError(f"unsupported CID version {version} in CAR section")
        _, pos = _read_varint_at(section, pos)  # codec
        _, pos = _read_varint_at(section, pos)  # multihash code
        digest_len, pos = _read_varint_at(section, pos)
        end = pos + digest_len
    if end > len(section):
        raise CARFormatError("CAR section is shorter than its CID")
    try:
        return decode_cid_bytes(section[:end]), end
    except Exception as exc:
        raise CARFormatError(f"malformed CID in CAR section: {exc}") from exc


def export_dag(
    out: BinaryIO, root: CID, get_block: Callable[[CID], bytes], roots: Sequence[CID] = ()
) -> int:
    """Write the DAG under ``root`` as a CAR in depth-first order, root first, each block
    once: the order kubo's ``dag export`` uses. Returns the bytes written."""
    writer = CarWriter(out, list(roots) or [root])
    seen: set[bytes] = set()
    stack = [root]
    while stack:
        cid = stack.pop()
        key = bytes(cid)
        if key in seen:
            continue
        seen.add(key)
        data = get_block(cid)
        writer.write_block(cid, data)
        if cid.codec.code == DAG_PB:
            stack.extend(reversed([link.cid for link in decode_node(data).links]))
    return writer.bytes_written
