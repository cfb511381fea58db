"""No debris: temp files and directories of a killed process are removed by the next one.

Every temp path the kit creates next to a target (``get -o``, ``car extract``, S3
downloads) or in the cache's ``tmp/`` is recorded while it exists in an *in-flight
journal*: one small entry file per temp path under ``$XDG_CACHE_HOME/ipfs-kit/inflight``,
named after the owning process (pid and start time) and holding the path. The entry is
released when the temp path is renamed into place or removed. :func:`sweep` removes the
temp paths of processes that no longer run, whatever killed them (SIGKILL included),
then their entries; it runs once per process and journal, just before the process
records its first temp path, so every command that writes cleans up after the killed
ones and a command that only reads (``cat`` of a cached CID, ``--help``) pays nothing.
A path is only ever removed if its name marks it as ours (``.part``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from ipfs_kit_py.config import xdg_dir

__all__ = [
    "journal_dir",
    "mkdtemp",
    "mkstemp",
    "owner_alive",
    "process_alive",
    "process_owner",
    "process_start_time",
    "release",
    "sweep",
]

logger = logging.getLogger(__name__)

SUFFIX = ".part"
_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
T = TypeVar("T")


def journal_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/ipfs-kit/inflight``."""
    return xdg_dir("CACHE", env) / "inflight"


def process_start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), else empty."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def process_owner() -> str:
    """This process as ``pid-starttime`` (a pid alone may be reused after it exits)."""
    pid = os.getpid()
    return f"{pid}-{process_start_time(pid)}"


def owner_alive(owner: str) -> bool:
    """True if the process named by ``owner`` (``pid-starttime``) still runs."""
    pid_text, _, started = owner.partition("-")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    return process_alive(pid, started or None)


def process_alive(pid: int, started: str | None = None) -> bool:
    """True if process ``pid`` runs (another user's counts) and, when ``started`` (its
    :func:`process_owner` start time) is given and this system tells start times, it is
    the same process, not a later one that was given the same pid."""
    if pid <= 0:
        return False  # 0 and negative pids name process groups, never one process
    if pid != os.getpid():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # someone else's live process
        except (OverflowError, OSError):
            return False  # no such pid on this system
    if not started:
        return True
    now = process_start_time(pid)
    return not now or now == started


def _entry(path: str | Path, directory: Path | None = None) -> Path:
    digest = hashlib.sha256(os.fsencode(os.path.abspath(path))).hexdigest()[:24]
    return (directory or journal_dir()) / f"{process_owner()}.{digest}"


def record(path: str | Path) -> None:
    """Note ``path`` as a temp path of this process (best effort: never fails a write).

    The first time in this process, the journal is swept first (:func:`sweep`).
    """
    entry = _entry(path)
    _sweep_once(entry.parent)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        entry.write_bytes(os.fsencode(os.path.abspath(path)))
    except OSError as exc:
        logger.debug("cannot record temp path %s: %s", path, exc)


def release(path: str | Path) -> None:
    """Forget ``path``: it was renamed into place or removed."""
    with contextlib.suppress(OSError):
        _entry(path).unlink()


def _create(dir: str | Path, prefix: str, make: Callable[[str], T]) -> tuple[T, str]:
    """Record a fresh ``<prefix><random>.part`` name, then create it (so a kill between
    the two leaves a journal entry, never an unrecorded temp path)."""
    for _ in range(100):
        name = os.path.join(os.path.abspath(dir), f"{prefix}{os.urandom(6).hex()}{SUFFIX}")
        record(name)
        try:
            return make(name), name
        except FileExistsError:
            release(name)
        except BaseException:
            release(name)
            raise
    raise FileExistsError(f"no free temp name in {dir}")


def mkstemp(dir: str | Path, prefix: str) -> tuple[int, str]:
    """Like ``tempfile.mkstemp`` (mode 0600, ``.part`` suffix), recorded in the journal."""
    return _create(dir, prefix, lambda name: os.open(name, _FLAGS, 0o600))


def mkdtemp(dir: str | Path, prefix: str) -> str:
    """Like ``tempfile.mkdtemp`` (mode 0700, ``.part`` suffix), recorded in the journal."""
    return _create(dir, prefix, lambda name: os.mkdir(name, 0o700))[1]


def sweep(directory: Path | None = None) -> int:
    """Remove the temp paths of dead processes and their entries; return how many."""
    directory = directory or journal_dir()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    removed = 0
    for entry in entries:
        owner = entry.name.split(".", 1)[0]
        if owner_alive(owner):
            continue
        with contextlib.suppress(OSError):
            target = os.fsdecode(Path(entry.path).read_bytes())
            removed += _remove(target)
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
    if removed:
        logger.info("removed %d temp paths left by processes that were killed", removed)
    return removed


@functools.cache
def _sweep_once(directory: Path) -> int:
    """:func:`sweep` of ``directory``, run once per process (the first writer's)."""
    return sweep(directory)


def _remove(target: str) -> int:
    if not target.endswith(SUFFIX) or not os.path.isabs(target):
        return 0  # never touch a path that is not one of ours
    if os.path.isdir(target) and not os.path.islink(target):
        import shutil  # rarely needed: a start-up that removes nothing does not load it

        shutil.rmtree(target, ignore_errors=True)
        return 1
    try:
        os.unlink(target)
    except FileNotFoundError:
        return 0
    return 1
