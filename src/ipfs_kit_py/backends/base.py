"""The one small protocol every storage backend implements, and the base class under it.

A backend stores *content* keyed by its root CID: the bytes of a file (or a single
raw block), streamed in and out. Everything generic (verification against the CID,
retries, index bookkeeping, promotion) lives above the backends, in ``tiers/``.

:class:`Backend` is the structural protocol; :class:`BaseBackend` (httpx's
``BaseTransport`` is the model) is the class every backend derives from: it declares
``name``, ``verifies_reads`` and ``read_only``, builds itself with one
``from_sources(args, section, env)`` and is a context manager with an idempotent
``close()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, Self, runtime_checkable

from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.errors import ConfigurationError
from ipfs_kit_py.resource import Closeable
from ipfs_kit_py.staging import Staging

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID, AnyCID


@dataclass(frozen=True, slots=True)
class StoredObject:
    """What a backend knows about one stored copy."""

    cid: CID
    size: int
    locator: str  # where it lives in that backend: a path, bucket/key, space DID, ...


@runtime_checkable
class Backend(Protocol):
    """has / get / put / delete / stat over content addressed by CID.

    ``get`` streams the bytes the backend holds, *unverified*, and callers verify, unless
    the backend sets ``verifies_reads = True``: then its ``get`` raises
    ``ContentMismatchError`` (at the latest after the last chunk) itself. Every
    method raises from :mod:`ipfs_kit_py.errors`: ``ContentNotFoundError`` for a CID the
    backend lacks, ``BackendUnavailableError`` when it cannot be reached,
    ``BackendTimeoutError`` when it does not answer in time; its errors name the backend
    and the locator, chained to the engine's exception. ``tests/contract`` holds every
    backend to this.
    """

    name: str

    def has(self, cid: CID) -> bool:
        """Return True if this backend holds ``cid``."""
        ...

    def stat(self, cid: CID) -> StoredObject:
        """Describe the stored copy of ``cid``; raise ``ContentNotFoundError`` if absent."""
        ...

    def get(self, cid: CID) -> Iterator[bytes]:
        """Stream the stored bytes of ``cid`` in chunks."""
        ...

    def put(
        self,
        cid: CID,
        chunks: Iterable[bytes],
        size: int | None = None,
        *,
        profile: ImportProfile | None = None,
    ) -> StoredObject:
        """Store ``chunks`` as the content of ``cid``; durable when this returns.

        ``profile`` is how ``cid`` was imported, for backends that rebuild the DAG
        themselves (kubo, Storacha); None means: guess from the CID.
        """
        ...

    def delete(self, cid: CID) -> None:
        """Remove ``cid``; removing an absent CID is not an error."""
        ...


class BaseBackend(Closeable):
    """Base class of every backend: declared capabilities, one way to build, closeable.

    Subclasses implement the :class:`Backend` methods and :meth:`from_sources`; they
    override :meth:`close` when they hold connections or threads, and
    :meth:`check_configured` when they can be built before they can serve.
    """

    name: str = "backend"
    #: ``get`` checks the bytes against the CID itself (raising ContentMismatchError)
    verifies_reads: bool = False
    #: ``put`` and ``delete`` are not offered: the tier manager never writes here
    read_only: bool = False
    #: a copy here outlives the process (counts as a home for replication)
    durable: bool = True

    @classmethod
    def from_sources(
        cls,
        args: Mapping[str, Any] | None = None,
        section: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Self:
        """Build from explicit ``args`` > config-file ``section`` > ``env`` (None: os.environ).

        Raises ``NotConfiguredError`` when the sources do not ask for this backend,
        ``ConfigurationError`` when a setting is invalid. No network, no file opened.
        """
        raise ConfigurationError(f"{cls.__name__} cannot be built from configuration")

    @classmethod
    def all_from_sources(
        cls,
        args: Mapping[str, Any] | None = None,
        section: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> list[Self]:
        """Every instance one config section asks for (one, unless overridden)."""
        return [cls.from_sources(args, section, env)]

    def check_configured(self) -> None:
        """Raise ``NotConfiguredError`` (saying what to set) if this backend cannot serve."""

    # -- the Backend protocol: every subclass implements these -------------------------

    def has(self, cid: CID) -> bool:
        """Return True if this backend holds ``cid``."""
        raise NotImplementedError

    def stat(self, cid: CID) -> StoredObject:
        """Describe the stored copy of ``cid``; raise ``ContentNotFoundError`` if absent."""
        raise NotImplementedError

    def get(self, cid: CID) -> Iterator[bytes]:
        """Stream the stored bytes of ``cid`` in chunks."""
        raise NotImplementedError

    def put(
        self,
        cid: CID,
        chunks: Iterable[bytes],
        size: int | None = None,
        *,
        profile: ImportProfile | None = None,
    ) -> StoredObject:
        """Store ``chunks`` as the content of ``cid``; durable when this returns."""
        raise NotImplementedError

    def delete(self, cid: CID) -> None:
        """Remove ``cid``; removing an absent CID is not an error."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections and threads; idempotent (a no-op here)."""


# -- roles the tier manager gives its local tiers (found by what they do, not by class) --


Holding = tuple[object, str, "int | None"]  # (the CID as the tier lists it, locator, size)


@runtime_checkable
class Listable(Protocol):
    """A tier that can list every copy it holds (``index rebuild`` reads them)."""

    name: str

    def holdings(self) -> Iterator[Holding]:
        """Each copy held: its CID as listed (text or CID), where it lives, its size."""
        ...


@runtime_checkable
class ObjectCache(Protocol):
    """The in-process tier (memory): whole objects by ``cid_key``, up to a size."""

    name: str
    max_object_bytes: int

    def has(self, cid: CID) -> bool: ...

    def stat(self, cid: CID) -> StoredObject: ...

    def lookup(self, key: str, *, count_miss: bool = True) -> bytes | None:
        """The cached bytes of ``key``, or None (a miss, counted unless told not to)."""
        ...

    def insert(self, key: str, data: bytes) -> bool:
        """Cache ``data`` under ``key``; False if it is too large to cache."""
        ...


@runtime_checkable
class BlockReader(Protocol):
    """A tier that answers one block by CID (kubo ``block/get``, a gateway's raw block).

    The bytes may be unverified: random access verifies every block it uses.
    ``get_block`` raises ``ContentNotFoundError`` when the tier lacks the block.
    """

    name: str

    def get_block(self, cid: CID) -> bytes: ...


@runtime_checkable
class RangeReader(Protocol):
    """A tier holding each file as its plain bytes, readable by byte ranges (S3).

    A file's *layout* (its internal DAG nodes as a CAR, built and checked above the
    backend) is kept beside it so that a range can be verified without the whole file.
    """

    name: str

    def stat(self, cid: CID) -> StoredObject: ...

    def read_range(self, cid: CID, start: int, end: int) -> Iterator[bytes]:
        """The stored bytes ``[start, end)`` of ``cid``, unverified, in one request (an
        empty range: no bytes)."""
        ...

    def read_unverified(self, cid: CID) -> Iterator[bytes]:
        """All stored bytes of ``cid``, unverified (the caller checks them)."""
        ...

    def get_layout(self, cid: CID, max_bytes: int) -> bytes | None:
        """The stored layout of ``cid`` (at most ``max_bytes``), None if there is none."""
        ...

    def put_layout(self, cid: CID, data: bytes) -> None:
        """Store the layout of ``cid``."""
        ...


class CachedFile(Protocol):
    """One file of a :class:`FileCache`: its key, size and last access time."""

    @property
    def key(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def accessed(self) -> float: ...


@runtime_checkable
class FileCache(Protocol):
    """The local file tier (disk): staged atomic writes, stamps, eviction by last access."""

    name: str
    tmp_dir: Path

    def has(self, cid: CID) -> bool: ...

    def stage(self) -> Staging:
        """Start an atomic write in this tier's temp directory."""
        ...

    def commit(self, staging: Staging, cid: CID) -> Path:
        """Move a finished staging file into place as ``cid``."""
        ...

    def adopt(self, tmp: Path, cid: CID) -> Path:
        """Move a complete file from :attr:`tmp_dir` into place as ``cid``."""
        ...

    def open(self, cid: AnyCID) -> BinaryIO:
        """Open the file of ``cid`` for reading (ContentNotFoundError if absent)."""
        ...

    def stamp(self, f: BinaryIO | Path) -> str:
        """Identity of one written file; a rewrite changes it."""
        ...

    def delete_key(self, key: str) -> None:
        """Remove the file stored under ``key``; absent is fine."""
        ...

    def eviction_plan(
        self, incoming: int = 0, low_water: float = 0.9
    ) -> tuple[Sequence[CachedFile], int]:
        """Files oldest access first, and how many bytes to free so ``incoming`` fits."""
        ...

    def clean_tmp(self, older_than_s: float = 3600.0) -> int:
        """Remove abandoned temp files; return how many."""
        ...
