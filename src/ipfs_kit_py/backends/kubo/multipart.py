"""Streamed multipart bodies for kubo's ``add`` and ``dag/import``: files, directories, symlinks.

The encoding matches kubo's own client (boxo ``MultiFileReader`` in form mode): one part per
entry, the path ``url.QueryEscape``-d in ``filename``, directories as
``application/x-directory`` parts, parents before children. Bodies are generators, so a
file is read in fixed-size chunks while it is sent and never held in memory whole.
"""

from __future__ import annotations

import os
import secrets
import stat
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
        raise InputPathError(f"cannot read {path}: {exc.strerror}") from exc
    with f:
        while chunk := f.read(read_size):
            yield chunk


def path_parts(path: Path, *, name: str | None = None, hidden: bool = False) -> Iterator[Part]:
    """Parts for a file, a symlink or a directory tree (sorted, parents first).

    ``hidden=False`` skips entries whose name starts with a dot, as ``ipfs add -r`` does.
    The tree is walked with an explicit stack, so its depth is not limited by recursion.
    """
    stack = [(os.fspath(path), path.name if name is None else name)]
    while stack:
        fs_path, upload_name = stack.pop()
        mode = _lstat(fs_path).st_mode
        if stat.S_ISLNK(mode):
            yield Part(upload_name, SYMLINK, [os.fsencode(os.readlink(fs_path))])
        elif stat.S_ISDIR(mode):
            yield Part(upload_name, DIRECTORY)
            children = [
                (os.path.join(fs_path, child), f"{upload_name}/{child}")
                for child in _listing(fs_path)
                if hidden or not child.startswith(".")
            ]
            stack.extend(reversed(children))
        elif stat.S_ISREG(mode):
            yield Part(upload_name, FILE, iter_file(Path(fs_path)))
        else:
            raise InputPathError(f"not a regular file, directory or symlink: {fs_path}")


def _lstat(fs_path: str) -> os.stat_result:
    try:
        return os.lstat(fs_path)
    except FileNotFoundError as exc:
        raise InputPathError(f"no such file or directory: {fs_path}") from exc
    except OSError as exc:
        raise InputPathError(f"cannot read {fs_path}: {exc.strerror}") from exc


def _listing(fs_path: str) -> list[str]:
    try:
        return sorted(os.listdir(fs_path))
    except OSError as exc:
        raise InputPathError(f"cannot list {fs_path}: {exc.strerror}") from exc
