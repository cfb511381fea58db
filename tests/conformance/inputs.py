"""Deterministic test inputs described as data, so golden vectors can regenerate their bytes.

A file spec is a dict with ``size`` and one of these kinds:

- ``{"kind": "shake256", "seed": S, "size": N}``: the concatenation, for i = 0, 1, ...,
  of SHAKE-256(utf8(f"{S}:{i}")) squeezed to 65,536 bytes, cut to N bytes;
- ``{"kind": "repeat", "text": T, "size": N}``: utf8(T) repeated and cut to N bytes;
- ``{"kind": "zeros", "size": N}``: N zero bytes.

A tree spec maps names to file specs or to nested tree specs (directories), or is
``{"kind": "numbered", "count": N, "name": F, "sizes": [...]}``: N files named
``F.format(i=i)`` holding ``sizes[i % len(sizes)]`` zero bytes (a large flat directory).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BLOCK = 65536

FileSpec = dict[str, Any]
TreeSpec = dict[str, Any]


def iter_bytes(spec: FileSpec) -> Iterator[bytes]:
    """Yield the bytes ``spec`` describes, in pieces of at most 64 KiB."""
    size = int(spec["size"])
    kind = spec["kind"]
    produced = 0
    index = 0
    while produced < size:
        n = min(BLOCK, size - produced)
        if kind == "shake256":
            piece = hashlib.shake_256(f"{spec['seed']}:{index}".encode()).digest(BLOCK)[:n]
        elif kind == "repeat":
            text = spec["text"].encode()
            start = produced % len(text)
            piece = (text * (n // len(text) + 2))[start : start + n]
        elif kind == "zeros":
            piece = bytes(n)
        else:
            raise ValueError(f"unknown input kind {kind!r}")
        yield piece
        produced += n
        index += 1


def file_bytes(spec: FileSpec) -> bytes:
    """All the bytes of a (small) file spec."""
    return b"".join(iter_bytes(spec))


def write_file(spec: FileSpec, path: Path) -> Path:
    """Write the file ``spec`` describes at ``path``; return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        for piece in iter_bytes(spec):
            f.write(piece)
    return path


def is_file_spec(value: FileSpec | TreeSpec) -> bool:
    """True for a file spec, False for a tree spec."""
    return isinstance(value.get("kind"), str) and "size" in value


def tree_entries(spec: TreeSpec) -> dict[str, FileSpec | TreeSpec]:
    """The children of a tree spec, by name."""
    if spec.get("kind") == "numbered":
        sizes = spec["sizes"]
        return {
            spec["name"].format(i=i): {"kind": "zeros", "size": sizes[i % len(sizes)]}
            for i in range(spec["count"])
        }
    return spec


def write_tree(spec: TreeSpec, path: Path) -> Path:
    """Create the directory ``spec`` describes at ``path`` (which must not exist)."""
    path.mkdir(parents=True)
    for name, child in tree_entries(spec).items():
        if is_file_spec(child):
            write_file(child, path / name)
        else:
            write_tree(child, path / name)
    return path
