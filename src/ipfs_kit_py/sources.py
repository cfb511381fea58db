"""What ``add`` reads from: regular files opened without blocking, streams with a bound.

A path must name a regular file: opening a FIFO would wait for a writer forever and a
device such as ``/dev/zero`` never ends, so both are refused before a byte is read.
A stream (standard input, a file object, an iterable) is the caller's explicit choice
of unbounded input; it is cut off at a configurable number of bytes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from ipfs_kit_py.errors import InputPathError, ResourceLimitError

__all__ = ["bounded", "open_regular_file"]

_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def open_regular_file(path: Path) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file; raise :class:`InputPathError` if not.

    The file is opened non-blocking (a FIFO without a writer would block a plain open)
    and checked with ``fstat`` on the open descriptor, so a swap after the check cannot
    slip a special file in.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputPathError(f"no such file: {path}") from None
    except PermissionError:
        raise InputPathError(f"permission denied: {path}") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise InputPathError(
            f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise InputPathError(
                f"cannot add {path}: it is {kind}; read a stream from '-' (standard input)"
            )
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        raise


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
