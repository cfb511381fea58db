"""dag-cbor with loose typing: protocol payloads are checked where they are read.

:func:`decode` first walks the item structure without recursion and refuses what no
ucanto payload needs: nesting deeper than :data:`MAX_DEPTH`, more than :data:`MAX_ITEMS`
items, indefinite lengths, a truncated item, or bytes after the item. The decoder
proper (recursive) only sees shallow data.
"""

from __future__ import annotations

from typing import Any

import dag_cbor

from ipfs_kit_py.net import check_deadline

__all__ = ["MAX_DEPTH", "decode", "encode"]

MAX_DEPTH = 64  # UCANs and receipts nest a dozen levels
MAX_ITEMS = 1 << 20  # items in one block: a 1,000-upload list page holds ~20,000
_CHECK_EVERY = 4096  # items between two deadline checks


def encode(value: Any) -> bytes:
    """Canonical dag-cbor bytes of ``value`` (bytes stay bytes, CIDs become tag 42)."""
    return bytes(dag_cbor.encode(value))


def decode(data: bytes) -> Any:
    """Decode dag-cbor bytes; ValueError for too deep or malformed data.

    Under an enclosing :func:`ipfs_kit_py.net.deadline`, raises ``TimeoutError`` once
    it passes.
    """
    check_shape(data)
    try:
        return dag_cbor.decode(data)
    except RecursionError:  # cannot happen after check_shape; never let it escape
        raise ValueError("dag-cbor nested too deeply") from None


def check_shape(data: bytes, max_depth: int = MAX_DEPTH) -> None:
    """Walk one CBOR item iteratively; ValueError if deeper than ``max_depth`` or malformed."""
    view = memoryview(data)
    pos, end, pending, items = 0, len(view), [1], 0
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
    if pos != end:
        raise ValueError("bytes after the dag-cbor item")


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
