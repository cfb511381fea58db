"""Streamed multipart bodies for kubo's ``add`` and ``dag/import``: files, directories, symlinks.

The encoding matches kubo's own client (boxo ``MultiFileReader`` in form mode): one part per
entry, the path ``url.QueryEscape``-d in ``filename``, directories as
``application/x-directory`` parts, parents before children. Bodies are generators, so a
file is read in fixed-size chunks while it is sent and never held in memory whole.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_plus

from ipfs_kit_py.errors import InputPathError

__all__ = ["READ_SIZE", "Part", "encode_multipart", "iter_file", "path_parts"]

READ_SIZE = 1024 * 1024
FILE = "application/octet-stream"
DIRECTORY = "application/x-directory"
SYMLINK = "application/symlink"


@dataclass(frozen=True, slots=True)
class Part:
    """One multipart entry: its path inside the upload, its content type and its bytes."""

    name: str
    content_type: str = FILE
    body: Iterable[bytes] = ()


def new_boundary() -> str:
    """A random multipart boundary."""
    return f"ipfs-kit-{secrets.token_hex(16)}"


def _header(boundary: str, part: Part) -> bytes:
    filename = quote_plus(part.name, safe="")
    return (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: {part.content_type}\r\n\r\n"
    ).encode()


def encode_multipart(parts: Iterable[Part], boundary: str) -> Iterator[bytes]:
    """Yield the multipart/form-data body for ``parts``, streaming each part's body."""
    first = True
    for part in parts:
        yield (b"" if first else b"\r\n") + _header(boundary, part)
        first = False
        for chunk in part.body:
            if chunk:
                yield chunk
    yield (b"" if first else b"\r\n") + f"--{boundary}--\r\n".encode()


def iter_file(path: Path, read_size: int = READ_SIZE) -> Iterator[bytes]:
    """Yield the bytes of ``path`` in chunks of ``read_size``."""
    try:
        f = path.open("rb", buffering=0)
    except OSError as exc:
        raise InputPathError(f"cannot read {path}: {exc.strerror}") from None
    with f:
        while chunk := f.read(read_size):
            yield chunk


def path_parts(path: Path, *, name: str | None = None, hidden: bool = False) -> Iterator[Part]:
    """Parts for a file, a symlink or a directory tree (sorted, parents first).

    ``hidden=False`` skips entries whose name starts with a dot, as ``ipfs add -r`` does.
    """
    name = path.name if name is None else name
    if path.is_symlink():
        yield Part(name, SYMLINK, [os.fsencode(os.readlink(path))])
    elif path.is_dir():
        yield Part(name, DIRECTORY)
        yield from _directory_parts(path, name, hidden)
    elif path.is_file():
        yield Part(name, FILE, iter_file(path))
    elif not path.exists():
        raise InputPathError(f"no such file or directory: {path}")
    else:
        raise InputPathError(f"not a regular file, directory or symlink: {path}")


def _directory_parts(path: Path, name: str, hidden: bool) -> Iterator[Part]:
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        raise InputPathError(f"cannot list {path}: {exc.strerror}") from None
    for entry in entries:
        if not hidden and entry.name.startswith("."):
            continue
        yield from path_parts(Path(entry.path), name=f"{name}/{entry.name}", hidden=hidden)
