"""dag-cbor with loose typing: protocol payloads are checked where they are read."""

from __future__ import annotations

from typing import Any

import dag_cbor

__all__ = ["decode", "encode"]


def encode(value: Any) -> bytes:
    """Canonical dag-cbor bytes of ``value`` (bytes stay bytes, CIDs become tag 42)."""
    return bytes(dag_cbor.encode(value))


def decode(data: bytes) -> Any:
    """Decode dag-cbor bytes."""
    return dag_cbor.decode(data)
