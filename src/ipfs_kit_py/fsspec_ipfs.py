"""An fsspec filesystem for ``ipfs://<cid>/path``: verified, ranged reads over the kit.

Registered under the ``ipfs`` protocol through the ``fsspec.specs`` entry point, so
``fsspec.open("ipfs://<cid>/a.csv")``, ``pandas.read_parquet("ipfs://<cid>/t.parquet")``
and ``pyarrow.parquet`` reach it with no import. Every read goes through
:meth:`ipfs_kit.open` (:mod:`ipfs_kit_py.kit_reads`): a file opened here is seekable and
a read fetches only the blocks under its range (kubo, gateways, S3 ranged GETs), each
verified against its CID.

The model is content addressing: a path names immutable content by the CID at its
start, so paths are read-only (``rm``, ``mv``, ``cp``, opening for writing raise
``PermissionError``; ``mkdir`` of a directory that is there and ``touch`` of an empty
file that is there succeed, as they change nothing). Writing adds content:
:meth:`pipe_file` and :meth:`put_file` ignore the path they are given and return the new
CID (``ipfs://`` + that CID reads it back). Failures answer as fsspec callers expect:
``FileNotFoundError`` for a missing CID or path, ``NotADirectoryError`` for a path
through a file, ``IsADirectoryError`` to open a directory, each chained to the kit's
typed error.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, TypeVar

from fsspec.spec import AbstractFileSystem

from ipfs_kit_py.content.resolve import NodeStat
from ipfs_kit_py.errors import (
    ContentNotFoundError,
    InvalidCIDError,
    NotADirectoryPathError,
    NotAFileError,
)
from ipfs_kit_py.ipfs_kit import ipfs_kit

__all__ = ["IPFSFileSystem"]

T = TypeVar("T")
_PREFIXES = ("ipfs://", "/ipfs/")


class IPFSFileSystem(AbstractFileSystem):  # type: ignore[misc]  # fsspec is untyped
    """``ipfs://`` over an :class:`ipfs_kit` (given, or built from ``kit_options``)."""

    protocol = "ipfs"
    root_marker = ""
    cachable = False  # one instance per kit, not per argument tuple

    def __init__(self, kit: ipfs_kit | None = None, **kit_options: Any) -> None:
        fsspec_options = {k: kit_options.pop(k) for k in list(kit_options) if k in _FS_KEYS}
        super().__init__(**fsspec_options)
        self._own_kit = kit is None
        self.kit = kit if kit is not None else ipfs_kit(**kit_options)

    def close(self) -> None:
        """Close the kit if this filesystem built it."""
        if self._own_kit:
            self.kit.close()

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        text = os.fspath(path) if isinstance(path, os.PathLike) else str(path)
        for prefix in _PREFIXES:
            if text.startswith(prefix):
                text = text[len(prefix) :]
                break
        return text.strip("/")

    def unstrip_protocol(self, name: str) -> str:
        return name if name.startswith("ipfs://") else f"ipfs://{name}"

    # -- reads ----------------------------------------------------------------------

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        path = self._strip_protocol(path)
        return _info(path, _answer(path, lambda: self.kit.stat(path)))

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        path = self._strip_protocol(path)
        if not path:
            return []  # content has no listing of every CID
        stat = _answer(path, lambda: self.kit.stat(path))
        if stat.type != "directory":
            entries = [_info(path, stat)]
        else:
            entries = [
                {
                    "name": f"{path}/{entry.name}",
                    "size": entry.size if entry.size is not None else 0,
                    "type": _kind(entry.type),
                    "cid": str(entry.cid) if entry.cid is not None else None,
                }
                for entry in stat.entries
            ]
        return entries if detail else [entry["name"] for entry in entries]

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> BinaryIO:
        if mode != "rb":
            raise PermissionError(
                errno.EROFS,
                "ipfs:// paths are read-only (content addressing): add with pipe/put",
                path,
            )
        path = self._strip_protocol(path)
        return _answer(path, lambda: self.kit.open(path))

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        """The bytes ``[start, end)`` of a file; negative values count from its end."""
        path = self._strip_protocol(path)
        if (start is not None and start < 0) or (end is not None and end < 0):
            size = self.info(path)["size"]
            start = None if start is None else max(0, size + start) if start < 0 else start
            end = None if end is None else max(0, size + end) if end < 0 else end
        first = start or 0
        if end is not None and end <= first:
            return b""
        return _answer(path, lambda: b"".join(self.kit.iter_range(path, first, end)))

    def ukey(self, path: str) -> str:
        """The CID: content under one path never changes."""
        return str(self.info(path)["cid"])

    def checksum(self, path: str) -> int:
        return hash(self.ukey(path))

    # -- writes: content in, CID out -------------------------------------------------

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> str:
        """Add ``value``; return its CID (``path`` is ignored: content names itself)."""
        return str(self.kit.add(bytes(value)).cid)

    def put_file(self, lpath: str, rpath: str, callback: Any = None, **kwargs: Any) -> str:
        """Add the local file or directory ``lpath``; return its CID."""
        if os.path.isdir(lpath):
            raise IsADirectoryError(errno.EISDIR, "add a directory with kit.add", lpath)
        return str(self.kit.add(lpath).cid)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Succeeds for a directory that is there (content never changes), else read-only."""
        if not self.isdir(path):
            _read_only()

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        if not (exist_ok and self.isdir(path)):
            _read_only()

    def touch(self, path: str, truncate: bool = True, **kwargs: Any) -> None:
        """Succeeds for an empty file that is there (touching changes nothing), else
        read-only."""
        if not (self.isfile(path) and self.size(path) == 0):
            _read_only()

    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        _read_only()

    rm_file = rm = mv = cp_file = rmdir = _read_only


def _read_only() -> None:
    raise PermissionError(errno.EROFS, "ipfs:// paths are read-only (content addressing)")


_FS_KEYS = frozenset(
    {"use_listings_cache", "listings_expiry_time", "max_paths", "skip_instance_cache"}
)


def _kind(node_type: str) -> str:
    return node_type if node_type in ("file", "directory") else "other"


def _info(path: str, stat: NodeStat) -> dict[str, Any]:
    return {
        "name": path,
        "size": stat.size,
        "type": _kind(stat.type),
        "cid": str(stat.cid) if stat.cid is not None else None,
    }


def _answer(path: str, call: Callable[[], T]) -> T:
    """``call()``, its kit errors turned into the OSError kinds fsspec callers expect."""
    with _translated(path):
        return call()
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def _translated(path: str) -> Iterator[None]:
    try:
        yield
    except NotADirectoryPathError as exc:
        raise NotADirectoryError(errno.ENOTDIR, str(exc), path) from exc
    except NotAFileError as exc:
        raise IsADirectoryError(errno.EISDIR, str(exc), path) from exc
    except (ContentNotFoundError, InvalidCIDError) as exc:
        raise FileNotFoundError(errno.ENOENT, str(exc), path) from exc
