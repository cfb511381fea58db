"""The UnixFS file importer: bytes -> a balanced DAG of blocks -> its root CID.

Byte-identical to kubo's ``ipfs add`` (fixed-size chunker, balanced layout) and to the
Storacha client's profile. Streaming: it keeps one chunk and one pending node per tree
level, so memory does not grow with the file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ipfs_kit_py.content.cid import DAG_PB, RAW, cid_text, decode_cid_bytes, sha256_cid_bytes
from ipfs_kit_py.content.dagpb import (
    UnixFSType,
    encode_link_bytes,
    encode_node_links,
    encode_unixfs,
)
from ipfs_kit_py.content.hashing import iter_leaf_digests, pb_leaf_frame
from ipfs_kit_py.content.layout import DeferredLayout, EagerLayout, Layout
from ipfs_kit_py.errors import InputPathError, InvalidInputError
from ipfs_kit_py.sources import open_regular_file

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = [
    "KUBO_CID_V1",
    "KUBO_DEFAULT",
    "MAX_CHUNK_SIZE",
    "STORACHA",
    "Block",
    "FileImport",
    "FileImporter",
    "ImportProfile",
    "import_file",
]

MAX_CHUNK_SIZE = 1024 * 1024  # kubo refuses larger chunks; Storacha uses exactly this
LAYOUTS = frozenset({"eager", "deferred"})


@dataclass(frozen=True, slots=True)
class ImportProfile:
    """How bytes become blocks: chunk size, leaf kind, CID version, tree width.

    ``layout`` changes only the order blocks are emitted in, never a CID: ``"eager"``
    as kubo, ``"deferred"`` as ``@ipld/unixfs`` (the Storacha client); see ``layout.py``.
    """

    chunk_size: int = 262144
    raw_leaves: bool = False
    cid_version: int = 0
    max_links: int = 174
    layout: str = "eager"

    def __post_init__(self) -> None:
        if not 1 <= self.chunk_size <= MAX_CHUNK_SIZE:
            raise InvalidInputError(
                f"chunk size {self.chunk_size} out of range 1..{MAX_CHUNK_SIZE}"
            )
        if self.cid_version not in (0, 1):
            raise InvalidInputError(f"CID version must be 0 or 1, got {self.cid_version}")
        if self.max_links < 2:
            raise InvalidInputError(f"max links must be at least 2, got {self.max_links}")
        if self.layout not in LAYOUTS:
            raise InvalidInputError(f"layout must be one of {sorted(LAYOUTS)}, got {self.layout!r}")

    def key(self) -> str:
        """A stable string form, stored in the index: ``size-262144,pb,v0,w174``."""
        leaves = "raw" if self.raw_leaves else "pb"
        key = f"size-{self.chunk_size},{leaves},v{self.cid_version},w{self.max_links}"
        return key if self.layout == "eager" else f"{key},{self.layout}"

    @classmethod
    def parse(cls, key: str) -> ImportProfile:
        """Inverse of :meth:`key`."""
        try:
            size, leaves, version, width, *rest = key.split(",")
            if not size.startswith("size-") or leaves not in ("raw", "pb") or len(rest) > 1:
                raise ValueError(key)
            layout = rest[0] if rest else "eager"
            return cls(int(size[5:]), leaves == "raw", int(version[1:]), int(width[1:]), layout)
        except ValueError as exc:
            raise InvalidInputError(f"invalid import profile {key!r}") from exc


KUBO_DEFAULT = ImportProfile()
KUBO_CID_V1 = ImportProfile(raw_leaves=True, cid_version=1)
STORACHA = ImportProfile(
    chunk_size=MAX_CHUNK_SIZE, raw_leaves=True, cid_version=1, max_links=1024, layout="deferred"
)


@dataclass(frozen=True, slots=True)
class Block:
    """One IPLD block: its CID and its bytes."""

    cid: CID
    data: bytes


class FileImport:
    """The result of importing one file: its root CID, content size and DAG size.

    ``size``: bytes of file content; ``dag_size``: bytes of all blocks (what a parent
    directory link records as Tsize). The root is kept as bytes until ``cid`` is asked
    for; ``cid_text`` prints it without building a CID object.
    """

    __slots__ = ("_cid", "_raw", "dag_size", "size")

    def __init__(self, cid: CID | bytes, size: int, dag_size: int) -> None:
        self._raw = cid if isinstance(cid, bytes) else bytes(cid)
        self._cid = None if isinstance(cid, bytes) else cid
        self.size = size
        self.dag_size = dag_size

    @property
    def cid(self) -> CID:
        if self._cid is None:
            self._cid = decode_cid_bytes(self._raw)
        return self._cid

    @property
    def raw_cid(self) -> bytes:
        """The root CID in binary form (no CID object is built)."""
        return self._raw

    @property
    def cid_text(self) -> str:
        """``str(self.cid)``, computed from the bytes."""
        return str(self._cid) if self._cid is not None else cid_text(self._raw)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FileImport):
            return NotImplemented
        return (self._raw, self.size, self.dag_size) == (other._raw, other.size, other.dag_size)

    def __hash__(self) -> int:
        return hash((self._raw, self.size, self.dag_size))

    def __repr__(self) -> str:
        return f"FileImport(cid={self.cid_text}, size={self.size}, dag_size={self.dag_size})"


@dataclass(frozen=True, slots=True, eq=False)
class _Node:
    cid: bytes  # binary CID: no CID object per node
    filesize: int
    tsize: int
    block: bytes | None = None  # a parent's bytes, until the layout emits them


BlockSink = Callable[[Block], None]


class FileImporter:
    """Push bytes in with :meth:`update`, get the root with :meth:`finish`.

    ``on_block`` receives every block as it is made, children before parents, the root
    last, in the order the profile's layout makes them (``layout.py``); with
    ``leaves=False`` only the parent (internal) nodes, the DAG without the file's bytes.
    """

    def __init__(
        self,
        profile: ImportProfile = KUBO_DEFAULT,
        on_block: BlockSink | None = None,
        *,
        leaves: bool = True,
    ):
        self.profile = profile
        self.on_block = on_block
        self._leaf_sink = on_block if leaves else None
        self._pending = bytearray()
        layout = DeferredLayout if profile.layout == "deferred" else EagerLayout
        self._layout: Layout[_Node] = layout(profile.max_links, self._make_parent, self._emit_node)
        self._leaf_count = 0
        self._size = 0
        self._finished = False

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Add the next bytes of the file."""
        size = self.profile.chunk_size
        view = memoryview(data)
        if self._pending:
            take = min(len(view), size - len(self._pending))
            self._pending += view[:take]
            view = view[take:]
            if len(self._pending) < size:
                return
            self.add_leaf(bytes(self._pending))
            self._pending.clear()
        whole = len(view) - len(view) % size
        for start in range(0, whole, size):
            self.add_leaf(bytes(view[start : start + size]))
        self._pending += view[whole:]

    def add_leaf(self, chunk: bytes | memoryview, digest: bytes | None = None) -> None:
        """Add one full chunk as a leaf; ``digest`` (of the leaf block) may be precomputed."""
        self._leaf_count += 1
        self._size += len(chunk)
        self._layout.begin_leaf(self._size, final=len(chunk) < self.profile.chunk_size)
        self._layout.add_leaf(self._make_leaf(chunk, digest))

    def add_leaf_digest(self, size: int, digest: bytes) -> None:
        """Add one leaf known by its content size and the sha256 of its block alone
        (hashed elsewhere, e.g. on the thread that received it); no block is emitted."""
        if not 0 <= size <= self.profile.chunk_size or self._pending:
            raise InvalidInputError(f"a leaf of {size} bytes does not fit this import")
        self._leaf_count += 1
        self._size += size
        self._layout.begin_leaf(self._size, final=size < self.profile.chunk_size)
        if self.profile.raw_leaves:
            self._layout.add_leaf(_Node(sha256_cid_bytes(RAW, digest, 1), size, size))
            return
        prefix, suffix = pb_leaf_frame(size)
        cid = sha256_cid_bytes(DAG_PB, digest, self.profile.cid_version)
        self._layout.add_leaf(_Node(cid, size, len(prefix) + size + len(suffix)))

    def finish(self) -> FileImport:
        """Flush the last chunk and the tree; return the root."""
        if self._finished:
            raise InvalidInputError("FileImporter.finish() called twice")
        self._finished = True
        if self._pending or self._leaf_count == 0:
            self.add_leaf(bytes(self._pending))
            self._pending.clear()
        root = self._layout.finish(self._leaf_count)
        return FileImport(root.cid, self._size, root.tsize)

    def _make_leaf(self, chunk: bytes | memoryview, digest: bytes | None) -> _Node:
        n = len(chunk)
        sink = self._leaf_sink
        if self.profile.raw_leaves:
            cid = sha256_cid_bytes(RAW, digest or hashlib.sha256(chunk).digest(), 1)
            if sink is not None:
                sink(Block(decode_cid_bytes(cid), bytes(chunk)))
            return _Node(cid, n, n)
        prefix, suffix = pb_leaf_frame(n)
        data = None
        if digest is None or sink is not None:
            data = b"".join((prefix, chunk, suffix))
            digest = digest or hashlib.sha256(data).digest()
        cid = sha256_cid_bytes(DAG_PB, digest, self.profile.cid_version)
        if data is not None and sink is not None:
            sink(Block(decode_cid_bytes(cid), data))
        return _Node(cid, n, len(prefix) + n + len(suffix))

    def _make_parent(self, children: list[_Node]) -> _Node:
        filesize = sum(c.filesize for c in children)
        unixfs = encode_unixfs(
            UnixFSType.FILE, filesize=filesize, blocksizes=[c.filesize for c in children]
        )
        data = encode_node_links(unixfs, [encode_link_bytes(c.cid, "", c.tsize) for c in children])
        cid = sha256_cid_bytes(DAG_PB, hashlib.sha256(data).digest(), self.profile.cid_version)
        block = data if self.on_block is not None else None
        return _Node(cid, filesize, len(data) + sum(c.tsize for c in children), block)

    def _emit_node(self, node: _Node) -> None:
        if self.on_block is not None and node.block is not None:
            self.on_block(Block(decode_cid_bytes(node.cid), node.block))


Source = str | os.PathLike[str] | BinaryIO | Iterable[bytes]


def import_file(
    source: Source, profile: ImportProfile = KUBO_DEFAULT, on_block: BlockSink | None = None
) -> FileImport:
    """Import a file from a path, a binary file object, or an iterable of byte chunks.

    A path or file object is read in large reused buffers whose leaves are hashed on
    worker threads (hashlib releases the GIL; a regular file is also read by them), so a
    CID takes about one sha256 pass spread over the cores.
    """
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if os.path.isdir(path):
            raise InputPathError(f"{path} is a directory; import it as a directory")
        with open_regular_file(path) as f:  # a FIFO or a device would never end
            try:
                return _import_stream(f, profile, on_block)
            except OSError as exc:
                raise InputPathError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if hasattr(source, "readinto"):
        return _import_stream(source, profile, on_block)  # type: ignore[arg-type]
    importer = FileImporter(profile, on_block)
    for chunk in source:
        importer.update(chunk)
    return importer.finish()


def _import_stream(
    stream: BinaryIO, profile: ImportProfile, on_block: BlockSink | None
) -> FileImport:
    importer = FileImporter(profile, on_block)
    for chunk, digest in iter_leaf_digests(stream, profile.chunk_size, profile.raw_leaves):
        importer.add_leaf(chunk, digest)
    return importer.finish()
