"""CIDs as values: parse once at the edge, normalize for keys, build from digests.

``CID`` is multiformats' class, imported on first use (importing multiformats costs
more than starting Python): code that only needs a CID's bytes or text, such as
``ipfs-kit add -n``, uses :func:`sha256_cid_bytes` and :func:`cid_text` and never loads it.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import sys
import threading
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard

from ipfs_kit_py.content.cidvalue import Cid
from ipfs_kit_py.errors import InvalidCIDError

if TYPE_CHECKING:
    from multiformats import CID
    from multiformats.multibase import Multibase
    from multiformats.multicodec import Multicodec
    from multiformats.multihash import Multihash

__all__ = [
    "CAR_CODEC",
    "CID",
    "DAG_CBOR",
    "DAG_PB",
    "IDENTITY",
    "MAX_CID_BYTES",
    "MAX_CID_CHARS",
    "RAW",
    "SHA2_256",
    "AnyCID",
    "Cid",
    "base32",
    "cid_bytes_key",
    "cid_key",
    "cid_text",
    "decode_cid_bytes",
    "full_cid",
    "is_cid",
    "load_multiformats",
    "make_cid",
    "parse_cid",
    "read_cid",
    "sha256_cid",
    "sha256_cid_bytes",
    "short_cid",
]

DAG_PB = 0x70
RAW = 0x55
DAG_CBOR = 0x71
CAR_CODEC = 0x0202
SHA2_256 = 0x12
IDENTITY = 0x00
_SHA256_PREFIX = bytes([SHA2_256, 32])

MAX_CID_BYTES = 256
"""The longest CID accepted, in binary form: room for kubo's largest inline (identity)
CID, 128 bytes of content, and for any real hash. Longer values are refused at parse,
so that no work on a CID grows with hostile input."""
MAX_CID_CHARS = 8 * MAX_CID_BYTES + 16
"""The longest CID text accepted: :data:`MAX_CID_BYTES` in any multibase, base2 too."""
_SHORT = 60

AnyCID: TypeAlias = "CID | Cid"
"""A CID as the read path carries it: multiformats' class or the light :class:`Cid`."""


def __getattr__(name: str) -> Any:
    if name == "CID":
        return _cid_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# multiformats registers these encodings on their first use, without a lock: two threads
# using one (base32, base36 ...) for the first time at once make one of them fail with
# "Raw encoding with name 'base32' already exists" (seen: two Storacha writers at once)
_LAZY_ENCODINGS = (
    "identity", "proquint", "base16", "base32", "base32upper", "base32pad", "base32padupper",
    "base32hex", "base32hexupper", "base32hexpad", "base32hexpadupper", "base36", "base64",
    "base64url",
)  # fmt: skip
_loading = threading.Lock()


@functools.cache
def _cid_class() -> type[CID]:
    return load_multiformats()


def load_multiformats() -> type[CID]:
    """Import multiformats with every encoding it would register lazily registered now (once,
    under a lock); return its ``CID``. Any module that uses multiformats at import calls it."""
    with _loading:
        from multiformats import CID
        from multiformats.multibase import raw

        for name in _LAZY_ENCODINGS:
            if raw.exists(name):
                raw.get(name)
    return CID


def short_cid(value: AnyCID | str | bytes | bytearray | memoryview) -> str:
    """``value`` as an error message quotes it: its text, cut in the middle if long."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes | bytearray | memoryview):
        text = bytes(value[: _SHORT * 4]).hex() + ("…" if len(value) > _SHORT * 4 else "")
    else:  # a CID: str() without loading multiformats here
        text = str(value)
    if len(text) <= _SHORT:
        return text
    return f"{text[: _SHORT - 14]}…{text[-12:]} ({len(text)} chars)"


def parse_cid(value: str | bytes | AnyCID, *, max_bytes: int = MAX_CID_BYTES) -> CID:
    """Return ``value`` as a CID, raising :class:`InvalidCIDError` if it is not one.

    A CID longer than ``max_bytes`` in binary form (or than :data:`MAX_CID_CHARS` as
    text, for the default bound) is refused before any decoding.
    """
    if isinstance(value, Cid):
        return value.full()
    cid_class = _cid_class()
    if isinstance(value, cid_class):
        return value
    try:
        if isinstance(value, str):
            text = value.strip()
            if not text:
                raise ValueError("empty string")
            if len(text) > 8 * max_bytes + 16:
                raise ValueError(f"longer than {8 * max_bytes + 16} characters")
            cid = _decode_common_text(text) or _validated(cid_class.decode(text))
            _check_length(len(bytes(cid)), max_bytes)
            return cid
        if isinstance(value, bytes | bytearray | memoryview):
            return decode_cid_bytes(bytes(value), max_bytes=max_bytes)
    except Exception as exc:  # multiformats raises several unrelated error types
        shown = value if isinstance(value, str) else bytes(value)
        raise InvalidCIDError(f"invalid CID {short_cid(shown)!r}: {exc}") from exc
    raise InvalidCIDError(f"invalid CID: expected str, bytes or CID, got {type(value).__name__}")


def read_cid(value: str | bytes | CID | Cid) -> AnyCID:
    """:func:`parse_cid` for the read path: the common forms become a light :class:`Cid`.

    Accepts and refuses exactly what :func:`parse_cid` does, and the result prints the
    same; only CIDs outside :class:`Cid`'s kinds load multiformats.
    """
    if isinstance(value, Cid):
        return value
    if isinstance(value, str):
        light = Cid.from_text(value.strip())
    elif isinstance(value, bytes | bytearray | memoryview):
        light = Cid.from_bytes(bytes(value))
    else:
        light = None
    return light if light is not None else parse_cid(value)


def full_cid(cid: AnyCID) -> CID:
    """``cid`` as multiformats' ``CID`` (a light :class:`Cid` is converted)."""
    return cid.full() if isinstance(cid, Cid) else cid


def is_cid(value: object) -> TypeGuard[AnyCID]:
    """Whether ``value`` is a CID object of either class, without importing multiformats.

    No value can be a multiformats ``CID`` before multiformats is imported.
    """
    if isinstance(value, Cid):
        return True
    module = sys.modules.get("multiformats")
    return module is not None and isinstance(value, module.CID)


def _check_length(length: int, max_bytes: int) -> None:
    if length > max_bytes:
        raise InvalidCIDError(f"a CID has at most {max_bytes} bytes, this one has {length}")


_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {c: i for i, c in enumerate(_BASE58)}


def _decode_common_text(text: str) -> CID | None:
    """Fast path for the two forms nearly every CID takes (``Qm…`` v0, ``b…`` base32 v1).

    Returns None for anything else, or anything not canonical, so that multiformats'
    full decoder (and its error messages) handles it.
    """
    try:
        if len(text) == 46 and text.startswith("Qm"):
            number = 0
            for char in text:
                number = number * 58 + _BASE58_INDEX[char]
            raw = number.to_bytes(34, "big")
            return make_cid(DAG_PB, raw[2:], 0) if raw[:2] == _SHA256_PREFIX else None
        if text.startswith("b") and text == text.lower():
            body = text[1:].upper()
            raw = base64.b32decode(body + "=" * (-len(body) % 8))
            cid = decode_cid_bytes(raw)
            return cid if cid.version == 1 and cid_key(cid) == text else None
    except (KeyError, ValueError, OverflowError, InvalidCIDError):
        return None
    return None


def cid_key(cid: AnyCID) -> str:
    """Return the one normal string form of ``cid``: CIDv1, base32.

    v0 and v1 forms of the same dag-pb node map to the same key, so every index and
    object-store key uses this function.
    """
    return "b" + base64.b32encode(cid_bytes_key(cid)).decode("ascii").lower().rstrip("=")


def cid_bytes_key(cid: AnyCID) -> bytes:
    """The binary form of :func:`cid_key`: the CIDv1 bytes of ``cid``."""
    raw = bytes(cid)
    return b"\x01\x70" + raw if cid.version == 0 else raw


@functools.cache
def _cid_parts(
    codec: int, version: int, base: str = "base32"
) -> tuple[Multibase, Multicodec, Multihash]:
    """The validated multibase/multicodec/multihash objects a CID of this kind needs."""
    cid_class = _cid_class()
    template = (
        cid_class("base58btc", 0, "dag-pb", _SHA256_PREFIX + bytes(32))
        if version == 0
        else (cid_class(base, 1, codec, _SHA256_PREFIX + bytes(32)))
    )
    return template.base, template.codec, template.hashfun


def make_cid(codec: int, sha256_digest: bytes, version: int = 1, *, base: str = "base32") -> CID:
    """Build a CID for ``codec`` from a raw sha2-256 digest (32 bytes); a v1 CID prints
    in ``base``.

    Hot path of the importer: it skips multiformats' per-call validation (~100 us) by
    reusing the parts of a validated template CID of the same kind.
    """
    if len(sha256_digest) != 32:
        raise InvalidCIDError(f"a sha2-256 digest has 32 bytes, got {len(sha256_digest)}")
    if version == 0 and codec != DAG_PB:
        raise InvalidCIDError("CIDv0 can only name dag-pb nodes")
    multibase, multicodec, hashfun = _cid_parts(codec, version, base)
    cid_class = _cid_class()
    digest = _SHA256_PREFIX + sha256_digest
    cid: CID = cid_class._new_instance(cid_class, multibase, version, multicodec, hashfun, digest)
    return cid


def decode_cid_bytes(
    data: bytes, *, max_bytes: int = MAX_CID_BYTES, as_decoded: bool = False
) -> CID:
    """Decode a binary CID (as found in blocks and CARs); v1 CIDs print in base32, or
    with ``as_decoded`` in base58btc (exactly what multiformats' ``CID.decode`` gives).

    sha2-256 CIDs (nearly all) take the fast path of :func:`make_cid`. Raises
    :class:`InvalidCIDError` for more than ``max_bytes`` bytes (before decoding) and
    multiformats' errors for malformed ones.
    """
    _check_length(len(data), max_bytes)
    if len(data) == 34 and data[:2] == _SHA256_PREFIX:
        return make_cid(DAG_PB, data[2:], 0)
    base = "base58btc" if as_decoded else "base32"
    if len(data) > 35 and data[0] == 1 and data[-34:-32] == _SHA256_PREFIX:
        codec = _small_varint(data[1:-34])
        if codec is not None:
            with contextlib.suppress(Exception):
                return make_cid(codec, data[-32:], 1, base=base)
    cid = _validated(_cid_class().decode(data))
    return cid if as_decoded else base32(cid)


def _validated(cid: CID) -> CID:
    """``cid`` once its digest is checked against its hash function.

    multiformats decodes lazily: a sha2-256 CID with a 33-byte digest decodes, then fails
    when its digest is first read (deep in verification, as an untyped error). A hash
    function whose implementation is an optional package that is not installed (keccak
    needs pycryptodome) cannot be checked here: the CID is kept as multiformats decodes it,
    and content under it cannot be verified later.
    """
    with contextlib.suppress(ImportError):
        _ = cid.raw_digest
    return cid


def _small_varint(buf: bytes) -> int | None:
    """Decode ``buf`` if it is exactly one minimally encoded varint, else None.

    A trailing zero byte (``d5 00`` for 0x55) is a redundant encoding that multiformats
    and the Go and JS implementations refuse; accepting it would make two byte forms of
    one CID.
    """
    value = shift = 0
    for index, byte in enumerate(buf):
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            minimal = byte != 0 or index == 0
            return value if index == len(buf) - 1 and minimal else None
        shift += 7
    return None


def base32(cid: CID) -> CID:
    """``cid`` printing in base32 if it is a v1 CID (v0 has only base58btc)."""
    if cid.version == 0 or cid.base.name == "base32":
        return cid
    return cid.set(base="base32")


def sha256_cid(codec: int, data: bytes, version: int = 1) -> CID:
    """Hash ``data`` with sha2-256 and return its CID for ``codec``."""
    return make_cid(codec, hashlib.sha256(data).digest(), version)


def sha256_cid_bytes(codec: int, sha256_digest: bytes, version: int = 1) -> bytes:
    """The binary CID :func:`make_cid` would build, without building a CID object."""
    if len(sha256_digest) != 32:
        raise InvalidCIDError(f"a sha2-256 digest has 32 bytes, got {len(sha256_digest)}")
    if version == 0:
        if codec != DAG_PB:
            raise InvalidCIDError("CIDv0 can only name dag-pb nodes")
        return _SHA256_PREFIX + sha256_digest
    return b"\x01" + _varint(codec) + _SHA256_PREFIX + sha256_digest


def cid_text(data: bytes) -> str:
    """The string form of a binary sha2-256 CID, as ``str(decode_cid_bytes(data))`` prints.

    ``Qm...`` (base58btc) for a CIDv0, ``b...`` (base32) for a CIDv1; other CIDs go
    through multiformats.
    """
    if len(data) == 34 and data[:2] == _SHA256_PREFIX:
        number, digits = int.from_bytes(data, "big"), []
        while number:
            number, digit = divmod(number, 58)
            digits.append(_BASE58[digit])
        return "".join(reversed(digits))  # a sha2-256 multihash starts with no zero byte
    if data[:1] == b"\x01" and data[-34:-32] == _SHA256_PREFIX:
        return "b" + base64.b32encode(data).decode("ascii").lower().rstrip("=")
    return str(decode_cid_bytes(data))


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
