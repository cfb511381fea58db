"""Temp dirs of uploads: named by their process, swept when that process is gone.

An upload keeps its CAR shards in a ``storacha-shards-<pid>-*`` temp dir removed when
it ends. A process killed mid-upload (SIGKILL) cannot remove it, so every upload first
sweeps the dirs of processes that no longer run. SIGTERM is turned into
``KeyboardInterrupt`` during an upload (when nobody else handles it), so a terminated
upload cleans up as an interrupted one does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from ipfs_kit_py.debris import process_alive

__all__ = ["PREFIXES", "sigterm_as_interrupt", "sweep_stale", "temp_dir"]

logger = logging.getLogger(__name__)

PREFIXES = ("storacha-shards-", "storacha-put-")
# A dir without a live owner this old is stale whatever its name says (pid reuse).
STALE_AFTER_S = 24 * 3600.0


def temp_dir(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A temp dir named ``<prefix><pid>-...`` so a later sweep knows whose it is."""
    return tempfile.TemporaryDirectory(prefix=f"{prefix}{os.getpid()}-")


def sweep_stale(root: str | os.PathLike[str] | None = None, now: float | None = None) -> int:
    """Remove upload temp dirs of processes that are gone; return how many were removed."""
    base = Path(root if root is not None else tempfile.gettempdir())
    now = time.time() if now is None else now
    removed = 0
    for prefix in PREFIXES:
        for path in base.glob(f"{prefix}*"):
            if _is_stale(path, prefix, now):
                shutil.rmtree(path, ignore_errors=True)
                removed += not path.exists()
    if removed:
        logger.info("removed %d stale Storacha upload temp dir(s) in %s", removed, base)
    return removed


def _is_stale(path: Path, prefix: str, now: float) -> bool:
    try:
        st = path.lstat()
    except OSError:
        return False
    if not path.is_dir() or path.is_symlink() or st.st_uid != os.getuid():
        return False
    if now - st.st_mtime > STALE_AFTER_S:
        return True
    pid_text = path.name[len(prefix) :].split("-", 1)[0]
    if not pid_text.isdigit():
        return False  # an older name without a pid: only its age tells
    return not process_alive(int(pid_text))


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Inside the block, SIGTERM raises KeyboardInterrupt (main thread, default handler only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield  # the application handles SIGTERM itself
        return
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
