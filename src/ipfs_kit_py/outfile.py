"""Files written for a user (``get``, downloads): where they go, their mode, all or nothing.

``-o dir/`` or an existing directory means a file inside it, named by the caller's
default. The bytes go to a temporary name beside the target and are renamed onto it
only when complete, so a failed write leaves nothing behind. The new file gets the
mode a plain ``open(path, "w")`` would give (``0o666`` less the umask), or the mode of
the file it replaces. Only a regular file is ever replaced: a device or a FIFO is
written into (or refused), never renamed over. Any ``OSError`` becomes an
:class:`InputPathError` naming the path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ipfs_kit_py import debris
from ipfs_kit_py.errors import InputPathError

__all__ = ["atomic_output", "output_path", "temp_beside"]


def output_path(path: str | os.PathLike[str], default_name: str) -> Path:
    """The file ``path`` names: ``path/default_name`` for ``dir/`` or an existing directory."""
    text = os.fspath(path)
    if not text:
        raise InputPathError("the output path is empty")
    if "\0" in text:
        raise InputPathError("the output path contains a NUL byte")
    target = Path(text)
    if text.endswith(("/", os.sep)) or os.path.isdir(target):
        return target / default_name
    return target


@contextlib.contextmanager
def atomic_output(target: Path) -> Iterator[BinaryIO]:
    """Yield a file to write; on success it replaces ``target``, on failure it is removed.

    An existing character device or FIFO (``-o /dev/null``, a named pipe with a reader)
    is written into, never replaced; other special files are refused.
    """
    if _special(target):
        with _into_special(target) as out:
            yield out
        return
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _directory_error(target, exc) from None
    try:
        fd, tmp = temp_beside(target)
    except OSError as exc:
        raise _create_error(target, exc) from None
    try:
        with os.fdopen(fd, "wb") as out:
            fd = -1
            yield out
        os.replace(tmp, target)
    except OSError as exc:
        raise _path_error(target, exc) from None
    finally:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        debris.release(tmp)


def temp_beside(target: Path) -> tuple[int, Path]:
    """Create a new temp file beside ``target`` with the mode ``target`` should end up with.

    That is the mode of the regular file being replaced, or ``0o666`` less the umask
    (what ``open(path, "w")`` gives), never ``mkstemp``'s private ``0o600``.
    """
    tmp = target.parent / f".{target.name[:200]}.{secrets.token_hex(6)}.part"
    debris.record(tmp)  # before it exists: a kill leaves a journal entry, never a stray file
    try:
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except BaseException:
        debris.release(tmp)
        raise
    try:
        _keep_mode_of(target, fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        debris.release(tmp)
        raise
    return fd, tmp


def _special(target: Path) -> bool:
    """True if ``target`` exists and is neither a regular file nor a directory."""
    try:
        mode = os.stat(target).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


@contextlib.contextmanager
def _into_special(target: Path) -> Iterator[BinaryIO]:
    """Write straight into a character device or a FIFO that has a reader."""
    try:
        # non-blocking: a FIFO without a reader fails at once (ENXIO) instead of waiting
        fd = os.open(target, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise _path_error(target, exc) from None
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
            raise InputPathError(f"cannot write {target}: not a file, a device or a FIFO")
        os.set_blocking(fd, True)
        out = os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise
    try:
        with out:
            yield out
    except OSError as exc:
        raise _path_error(target, exc) from None


def _keep_mode_of(target: Path, fd: int) -> None:
    """Give the new file the permission bits of the regular file it replaces, if any.

    Only a regular file is ever replaced: renaming over a device node (``/dev/zero``),
    a FIFO or a socket would destroy it, so that is refused.
    """
    try:
        st = os.stat(target)
    except (OSError, ValueError):
        return
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(21, "Is a directory", str(target))
    if not stat.S_ISREG(st.st_mode):
        raise InputPathError(f"cannot write {target}: it is not a regular file; not replaced")
    os.fchmod(fd, stat.S_IMODE(st.st_mode))


def _path_error(path: Path, exc: OSError) -> InputPathError:
    return InputPathError(f"cannot write {path}: {exc.strerror or exc}")


def _directory_error(target: Path, exc: OSError) -> InputPathError:
    """The error for a directory of ``target`` that is missing and cannot be made."""
    where = Path(os.fsdecode(exc.filename)) if exc.filename is not None else target.parent
    if isinstance(exc, FileExistsError):
        why = f"{where} is not a directory"
    else:
        why = f"cannot create the directory {where}: {exc.strerror or exc}"
    return InputPathError(f"cannot write {target}: {why}")


def _create_error(target: Path, exc: OSError) -> InputPathError:
    """The error for a temp file that could not be made beside ``target``: it names the
    directory that refused it (``target`` itself may well exist)."""
    if exc.filename is None or os.fspath(exc.filename) == os.fspath(target):
        return _path_error(target, exc)  # about the target itself (a directory, its mode)
    parent = target.parent
    if exc.errno == errno.ENOENT and parent.is_dir():
        # an existing directory answering "no such file" to O_CREAT: procfs, sysfs, ...
        why = f"{parent} is on a file system that takes no new files (as /proc or /sys)"
    else:
        why = f"cannot create a file in {parent}: {exc.strerror or exc}"
    return InputPathError(f"cannot write {target}: {why}")
