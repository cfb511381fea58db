"""What ``add`` reads from: regular files opened without blocking, streams with a bound.

A path must name a regular file: opening a FIFO would wait for a writer forever and a
device such as ``/dev/zero`` never ends, so both are refused before a byte is read.
A stream (standard input, a file object, an iterable) is the caller's explicit choice
of unbounded input; it is cut off at a configurable number of bytes.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from ipfs_kit_py.errors import InputPathError, ResourceLimitError

__all__ = ["NotRegularFileError", "bounded", "open_regular", "open_regular_file"]

_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


class NotRegularFileError(OSError):
    """The path names something other than a regular file; ``kind`` says what."""

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        super().__init__(f"{os.fspath(path)} is {kind}")
        self.kind = kind


def open_regular(path: str | os.PathLike[str], *, follow_symlinks: bool = True) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file (itself, a symlink refused,
    unless ``follow_symlinks``); an :class:`OSError` if not (:class:`NotRegularFileError`
    for a directory, FIFO, device or socket).

    The file is opened non-blocking (a FIFO without a writer would block a plain open)
    and checked with ``fstat`` on the open descriptor, so a swap after the check cannot
    slip a special file in.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags if follow_symlinks else flags | os.O_NOFOLLOW)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(path, _KINDS.get(stat.S_IFMT(mode), "not a regular file"))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        raise


def open_regular_file(path: Path) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file (:func:`open_regular`); raise
    :class:`InputPathError` if not."""
    try:
        return open_regular(path)
    except NotRegularFileError as exc:
        raise InputPathError(
            f"cannot add {path}: it is {exc.kind}; read a stream from '-' (standard input)"
        ) from None
    except FileNotFoundError:
        raise InputPathError(f"no such file: {path}") from None
    except PermissionError:
        raise InputPathError(f"permission denied: {path}") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise InputPathError(
            f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
        ) from None


def bounded(chunks: Iterable[bytes], limit: int | None) -> Iterator[bytes]:
    """Yield ``chunks``; raise :class:`ResourceLimitError` once they pass ``limit`` bytes."""
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if limit is not None and total > limit:
            raise ResourceLimitError(
                f"the input stream passed the limit of {limit} bytes (max_stream_bytes); "
                "raise it with --max-stream-bytes, IPFS_KIT_MAX_STREAM_BYTES or "
                "[tiers] max_stream_bytes"
            )
        yield chunk
