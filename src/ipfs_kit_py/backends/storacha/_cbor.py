"""dag-cbor with loose typing: protocol payloads are checked where they are read.

:func:`decode` first walks the item structure without recursion and refuses what no
ucanto payload needs: nesting deeper than :data:`MAX_DEPTH`, more than :data:`MAX_ITEMS`
items, indefinite lengths, a truncated item, or bytes after the item. The decoder
proper (recursive) only sees shallow data.

CIDs (tag 42) decode through :func:`ipfs_kit_py.content.cid.decode_cid_bytes`: the same
multiformats ``CID`` that ``CID.decode`` makes, built in ~4 us for the sha2-256 CIDs
nearly every block holds, not ~100-500 us (a 1,000-upload ``upload/list`` page holds
2,000 CIDs: CID decoding was 95% of listing). See :func:`_install_fast_cids`.
"""

from __future__ import annotations

from typing import Any

import dag_cbor
import dag_cbor.decoding
from dag_cbor.encoding.err import CBORError
from multiformats import CID

from ipfs_kit_py.content.cid import MAX_CID_BYTES, decode_cid_bytes
from ipfs_kit_py.net import check_deadline

__all__ = ["MAX_DEPTH", "byte_string", "decode", "encode", "map_value"]

MAX_DEPTH = 64  # UCANs and receipts nest a dozen levels
MAX_ITEMS = 1 << 20  # items in one block: a 1,000-upload list page holds ~20,000
_CHECK_EVERY = 4096  # items between two deadline checks


class _FastCID:
    """What dag_cbor's decoder calls as ``CID.decode`` for the bytes of a tag 42."""

    @staticmethod
    def decode(data: bytes) -> CID:
        """``CID.decode(data)``: the same CID (type, parts, base), or the same refusal.

        A light sha2-256 CID takes :func:`decode_cid_bytes`' fast path; any other kind
        (and one past its length bound) is decoded by multiformats itself."""
        if len(data) > MAX_CID_BYTES:
            return CID.decode(data)
        return decode_cid_bytes(data, as_decoded=True)


def _install_fast_cids() -> None:
    """Make dag_cbor's decoder build CIDs with :class:`_FastCID` (it looks ``CID`` up
    in its module at each tag 42; its encoder keeps its own ``CID``). Results are equal
    to multiformats' own (a test holds them so), only faster; done once, at import."""
    if getattr(dag_cbor.decoding, "CID", None) is CID:
        dag_cbor.decoding.CID = _FastCID  # type: ignore[attr-defined,assignment]


_install_fast_cids()


def encode(value: Any) -> bytes:
    """Canonical dag-cbor bytes of ``value`` (bytes stay bytes, CIDs become tag 42)."""
    return bytes(dag_cbor.encode(value))


def byte_string(value: Any, name: str) -> bytes:
    """``value`` if it is a dag-cbor byte string; TypeError otherwise.

    Never ``bytes(value)`` on decoded data: an integer there would allocate that many
    zero bytes (a receipt whose ``sig`` is 25,000,000,000 asked for 25 GB).
    """
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"{name} must be a byte string, not {type(value).__name__}")
    return bytes(value)


def decode(data: bytes) -> Any:
    """Decode dag-cbor bytes; ValueError for too deep, malformed or non-canonical data.

    The library's own errors (e.g. map keys out of canonical order) become ValueError
    too, with a message that never quotes the bytes (a proof's are a credential).

    Under an enclosing :func:`ipfs_kit_py.net.deadline`, raises ``TimeoutError`` once
    it passes.
    """
    check_deadline()  # many small blocks never reach check_shape's periodic check
    check_shape(data)
    try:
        return dag_cbor.decode(data)
    except RecursionError:  # cannot happen after check_shape; never let it escape
        raise ValueError("dag-cbor nested too deeply") from None
    except CBORError as exc:  # not a ValueError: callers would let it escape untyped
        raise ValueError(f"malformed or non-canonical dag-cbor ({type(exc).__name__})") from None


def check_shape(data: bytes, max_depth: int = MAX_DEPTH) -> None:
    """Walk one CBOR item iteratively; ValueError if deeper than ``max_depth`` or malformed."""
    view = memoryview(data)
    if _item_end(view, 0, max_depth) != len(view):
        raise ValueError("bytes after the dag-cbor item")


def map_value(data: bytes, key: str) -> bytes:
    """The encoded bytes of ``key``'s value in the map ``data`` (as the block holds them).

    In canonical dag-cbor (what :func:`decode` accepts) these are the value's canonical
    encoding, so a signature over it is checked without re-encoding (which costs seconds
    for a block of a million items). ValueError if ``data`` is no map or lacks ``key``.
    """
    view = memoryview(data)
    major, count, pos = _head(view, 0, len(view))
    if major != 5:
        raise ValueError("not a dag-cbor map")
    wanted = encode(key)
    for _ in range(count):
        key_end = _item_end(view, pos, MAX_DEPTH)
        value_end = _item_end(view, key_end, MAX_DEPTH)
        if view[pos:key_end] == wanted:
            return bytes(view[key_end:value_end])
        pos = value_end
    raise ValueError(f"no {key!r} in the dag-cbor map")


def _item_end(view: memoryview, pos: int, max_depth: int) -> int:
    """The position after the one CBOR item at ``pos``, walked without recursion."""
    end, pending, items = len(view), [1], 0
    while pending:
        if pending[-1] == 0:
            pending.pop()
            continue
        pending[-1] -= 1
        items += 1
        if items % _CHECK_EVERY == 0:
            check_deadline()
            if items > MAX_ITEMS:
                raise ValueError(f"dag-cbor block of more than {MAX_ITEMS} items")
        major, value, pos = _head(view, pos, end)
        if major in (2, 3):
            pos += value
            if pos > end:
                raise ValueError("truncated dag-cbor string")
        elif major in (4, 5, 6) and value:
            pending.append(value * 2 if major == 5 else 1 if major == 6 else value)
            if len(pending) > max_depth + 1:
                raise ValueError(f"dag-cbor nested deeper than {max_depth} levels")
    return pos


def _head(view: memoryview, pos: int, end: int) -> tuple[int, int, int]:
    """(major type, argument, next position) of the item head at ``pos``."""
    if pos >= end:
        raise ValueError("truncated dag-cbor item")
    first = view[pos]
    major, info = first >> 5, first & 31
    pos += 1
    if info < 24:
        return major, info, pos
    if info > 27:
        raise ValueError("indefinite or reserved length in dag-cbor")
    size = 1 << (info - 24)
    if pos + size > end:
        raise ValueError("truncated dag-cbor item head")
    return major, int.from_bytes(view[pos : pos + size], "big"), pos + size
