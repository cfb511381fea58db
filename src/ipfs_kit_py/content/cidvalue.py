"""``Cid``: a small CID value for the read path, parsed without loading multiformats.

Importing multiformats costs more than starting Python, and ``ipfs-kit cat`` of a
cached CID needs none of it: the CID's key, digest, codec and hash function are enough.
:meth:`Cid.from_text` and :meth:`Cid.from_bytes` accept only the forms nearly every CID
takes (``Qm…`` v0, canonical lowercase base32 v1) with a sha2-256 or identity multihash
and a codec from :data:`CODEC_NAMES`, and answer None for anything else, so that
:func:`~ipfs_kit_py.content.cid.parse_cid` (multiformats) decides every other case.
A ``Cid`` answers the attributes the read path uses (``version``, ``codec.code``,
``hashfun.code``, ``raw_digest``, ``digest``, ``bytes()``, ``str()``) like
multiformats' ``CID`` does, and :meth:`Cid.full` converts it.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from multiformats import CID

__all__ = ["CODEC_NAMES", "Cid", "Code", "raw_digest_of"]

SHA2_256 = 0x12
IDENTITY = 0x00
DAG_PB = 0x70
CODEC_NAMES = {
    0x55: "raw",
    0x70: "dag-pb",
    0x71: "dag-cbor",
    0x72: "libp2p-key",
    0x0129: "dag-json",
    0x0202: "car",
}
"""Codecs a light ``Cid`` may carry: each is a multicodec multiformats knows as a CID codec."""
_HASH_NAMES = {SHA2_256: "sha2-256", IDENTITY: "identity"}
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {c: i for i, c in enumerate(_BASE58)}
_SHA256_PREFIX = bytes([SHA2_256, 32])
MAX_BYTES = 256  # as content.cid.MAX_CID_BYTES (that module imports this one)


class Code(NamedTuple):
    """A multicodec (codec, hash function or base): its number and its name."""

    code: int
    name: str


class Cid:
    """An immutable CID of the common kinds; equal to multiformats' CID of the same text.

    It hashes by its bytes, multiformats' class by its parts: use one class per dict or set.
    """

    __slots__ = ("_bytes", "codec_code", "hash_code", "raw_digest", "version")

    version: int
    codec_code: int
    hash_code: int
    raw_digest: bytes
    _bytes: bytes

    def __init__(self, data: bytes) -> None:
        """Wrap binary CID ``data``; raise ``ValueError`` unless it is a light kind."""
        parts = _split(data)
        if parts is None:
            raise ValueError("not a CIDv0/v1 with a sha2-256 or identity multihash")
        self.version, self.codec_code, self.hash_code, self.raw_digest = parts
        self._bytes = bytes(data)

    @classmethod
    def from_bytes(cls, data: bytes) -> Cid | None:
        """The ``Cid`` of binary ``data``, or None if it is not a light kind."""
        return cls(data) if _split(data) is not None else None

    @classmethod
    def from_text(cls, text: str) -> Cid | None:
        """The ``Cid`` of canonical ``Qm…``/``b…`` text, or None (not light or not a CID)."""
        if len(text) == 46 and text.startswith("Qm"):
            number = 0
            for char in text:
                digit = _BASE58_INDEX.get(char)
                if digit is None:
                    return None
                number = number * 58 + digit
            if number >> (34 * 8):
                return None
            return cls.from_bytes(number.to_bytes(34, "big"))
        if 1 < len(text) <= 8 * MAX_BYTES // 5 + 2 and text[0] == "b" and text == text.lower():
            body = text[1:].upper()
            try:
                raw = base64.b32decode(body + "=" * (-len(body) % 8))
            except (binascii.Error, ValueError):
                return None
            cid = cls.from_bytes(raw)
            return cid if cid is not None and cid.version == 1 and str(cid) == text else None
        return None

    @property
    def codec(self) -> Code:
        return Code(self.codec_code, CODEC_NAMES[self.codec_code])

    @property
    def hashfun(self) -> Code:
        return Code(self.hash_code, _HASH_NAMES[self.hash_code])

    @property
    def base(self) -> Code:
        return Code(0x7A, "base58btc") if self.version == 0 else Code(0x62, "base32")

    @property
    def digest(self) -> bytes:
        """The multihash: hash function, digest length, digest."""
        return _varint(self.hash_code) + _varint(len(self.raw_digest)) + self.raw_digest

    def full(self) -> CID:
        """This CID as multiformats' ``CID`` (imports multiformats)."""
        from ipfs_kit_py.content.cid import decode_cid_bytes

        return decode_cid_bytes(self._bytes)

    def __bytes__(self) -> bytes:
        return self._bytes

    def __str__(self) -> str:
        if self.version == 0:
            number, digits = int.from_bytes(self._bytes, "big"), []
            while number:
                number, digit = divmod(number, 58)
                digits.append(_BASE58[digit])
            return "".join(reversed(digits))  # a sha2-256 multihash starts with no zero byte
        return "b" + base64.b32encode(self._bytes).decode("ascii").lower().rstrip("=")

    def __repr__(self) -> str:
        codec, base = self.codec.name, self.base.name
        return f"CID({base!r}, {self.version}, {codec!r}, {self.digest.hex()!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Cid):
            return self._bytes == other._bytes
        if hasattr(other, "version") and hasattr(other, "__bytes__"):
            return str(self) == str(other) and self._bytes == bytes(other)  # multiformats CID
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._bytes)

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, "_bytes"):
            raise AttributeError("Cid is immutable")
        object.__setattr__(self, name, value)


def raw_digest_of(cid: Any) -> bytes:
    """``cid.raw_digest`` of any CID object: parsed from its bytes for the light kinds
    (multiformats' property costs ~0.2 ms, more than hashing a small block)."""
    parts = _split(bytes(cid))
    return parts[3] if parts is not None else bytes(cid.raw_digest)


def _split(data: bytes) -> tuple[int, int, int, bytes] | None:
    """(version, codec, hash code, digest) of a light binary CID, else None."""
    if len(data) == 34 and data[:2] == _SHA256_PREFIX:
        return 0, DAG_PB, SHA2_256, bytes(data[2:])
    if not 3 < len(data) <= MAX_BYTES or data[0] != 1:
        return None
    codec, pos = _read_varint(data, 1)
    if codec not in CODEC_NAMES:
        return None
    code, pos = _read_varint(data, pos)
    length, pos = _read_varint(data, pos)
    digest = bytes(data[pos:])
    if code == SHA2_256 and length == 32 and len(digest) == 32:
        return 1, codec, code, digest
    if code == IDENTITY and length == len(digest):
        return 1, codec, code, digest
    return None


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """A minimal varint of at most 3 bytes at ``pos`` and the position after it, or -1."""
    value = shift = 0
    for index in range(pos, min(pos + 3, len(data))):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            minimal = byte != 0 or index == pos
            return (value, index + 1) if minimal else (-1, len(data) + 1)
        shift += 7
    return -1, len(data) + 1


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
