"""Layouts of disk copies kept across server processes, in the cache directory.

A disk copy's layout (its internal DAG nodes, :mod:`ipfs_kit_py.gateway.file_layouts`)
costs one hashing pass over the whole file. :class:`LayoutStore` keeps each one made as
one file ``<cid>.layout``: a JSON line naming the copy it was made from (size,
modification time, inode), then a CAR of the nodes rooted at the file's CID. Written
atomically (a temporary file recorded in the temp-path journal, then renamed); on
load (a regular file only: a symlink, FIFO or device in its place is dropped, never
followed or waited on) every node is hashed against its CID, the CAR's root must be the file, the
layout's leaves must cover exactly the copy's size, and the copy must be the one it
was made from (same size, time and inode): anything else is deleted and the pass runs
again. Leaves are still verified one by one as they are read, like every block. The
store is bounded (``max_bytes``, ``max_files``): the least recently used go first.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ipfs_kit_py import debris
from ipfs_kit_py.content.car import CarReader, encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import cid_key
from ipfs_kit_py.errors import IpfsKitError
from ipfs_kit_py.sources import open_regular

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = ["LayoutStore"]

logger = logging.getLogger(__name__)

_SUFFIX = ".layout"
_MAX_HEAD = 512
_MAX_LAYOUT = 64 << 20  # one layout's bytes: a file of ~300 TB with kubo's profile


class LayoutStore:
    """Layouts of disk copies, one file each under ``directory`` (see the module)."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int = 256 << 20,
        max_files: int = 4096,
    ) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.max_files = max_files

    def load(self, root: CID, copy: os.stat_result) -> tuple[dict[bytes, bytes], int] | None:
        """The nodes and size kept for ``root`` if made from the copy ``copy``
        describes, every node verified; None (and the file deleted) otherwise."""
        path = self._path(root)
        try:
            # a symlink, a FIFO (whose open would wait for a writer forever) or a device
            # in a layout's place is an OSError: dropped, never followed or waited on
            with open_regular(path, follow_symlinks=False) as f:
                if os.fstat(f.fileno()).st_size > _MAX_LAYOUT:
                    raise ValueError("too large")
                head = json.loads(f.readline(_MAX_HEAD))
                if head != _stamp(copy):
                    raise ValueError("made from another copy")
                car = CarReader(io.BytesIO(f.read()), verify=True)
                if [cid_key(r) for r in car.roots] != [cid_key(root)]:
                    raise ValueError("another root")
                nodes = {bytes(block.cid): block.data for block in car}
        except FileNotFoundError:
            return None
        except (OSError, IpfsKitError, ValueError, TypeError) as exc:
            logger.info("dropping the kept layout of %s: %s", root, type(exc).__name__)
            self._drop(path)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used
        return nodes, copy.st_size

    def drop(self, root: CID) -> None:
        """Forget the layout of ``root`` (it did not fit its copy)."""
        self._drop(self._path(root))

    def save(self, root: CID, nodes: dict[bytes, bytes], copy: os.stat_result) -> None:
        """Keep the layout of ``root`` made from the copy ``copy`` describes (best
        effort: a full disk only costs the next process a pass)."""
        from ipfs_kit_py.content.cid import parse_cid

        if not nodes:
            return  # one block: nothing a pass would save
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = debris.mkstemp(self.directory, ".layout-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(json.dumps(_stamp(copy)).encode() + b"\n")
                    out.write(encode_car_header([root]))
                    for key, data in nodes.items():
                        out.write(encode_car_block(parse_cid(key), data))
                os.replace(tmp, self._path(root))
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                debris.release(tmp)
            self._prune()
        except (OSError, IpfsKitError) as exc:
            logger.info("cannot keep the layout of %s: %s", root, exc)

    def _path(self, root: CID) -> Path:
        return self.directory / f"{cid_key(root)}{_SUFFIX}"

    def _drop(self, path: Path) -> None:
        with contextlib.suppress(OSError):
            path.unlink()

    def _prune(self) -> None:
        """Delete the least recently used layouts beyond the bounds."""
        kept = []
        with os.scandir(self.directory) as entries:
            for entry in entries:
                if entry.name.endswith(_SUFFIX):
                    with contextlib.suppress(OSError):
                        info = entry.stat()
                        kept.append((info.st_mtime_ns, info.st_size, entry.path))
        kept.sort(reverse=True)
        total = 0
        for count, (_, size, path) in enumerate(kept, 1):
            total += size
            if count > self.max_files or total > self.max_bytes:
                with contextlib.suppress(OSError):
                    os.unlink(path)


def _stamp(copy: os.stat_result) -> dict[str, int]:
    return {"size": copy.st_size, "mtime_ns": copy.st_mtime_ns, "ino": copy.st_ino}
