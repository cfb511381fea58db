"""The ``ipfs_kit`` facade: config -> backends -> tiers -> index, typed and dict faces.

Construction only reads configuration: no network, no server, no file opened. The
index and the tiers are built on first use; :meth:`ipfs_kit.close` is idempotent.

Typed methods (``add``, ``cat``, ``get``, ``whereis``, ``replicate``, ...) return values
and raise from :mod:`ipfs_kit_py.errors`. The seed's dict methods (``ipfs_add``,
``ipfs_cat``, ...) are the same calls wrapped by :func:`~ipfs_kit_py.results.dict_result`
and always return a dict; ``ipfs_cat`` puts the bytes under ``"data"``.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from ipfs_kit_py.backends.base import BaseBackend
from ipfs_kit_py.backends.registry import build_peer_tier
from ipfs_kit_py.config import (
    Environment,
    as_section,
    config_file_path,
    load_config_file,
    mask_url,
)
from ipfs_kit_py.content.cid import DAG_PB, cid_key, parse_cid, read_cid
from ipfs_kit_py.content.hamt import KUBO_SHARDING, ShardingPolicy
from ipfs_kit_py.content.unixfs import KUBO_DEFAULT, ImportProfile
from ipfs_kit_py.directory_copies import DagUploader, NodeStore, TreeStores
from ipfs_kit_py.directory_store import (
    StoredTree,
    add_directory,
    discover_tree,
    materialize_tree,
    stored_tree,
)
from ipfs_kit_py.errors import (
    ConfigurationError,
    ContentNotFoundError,
    InputPathError,
    InvalidInputError,
    IpfsKitError,
)
from ipfs_kit_py.index import MetadataIndex, open_index
from ipfs_kit_py.kit_config import KitConfig, mask_secret
from ipfs_kit_py.kit_local import LOCAL_ENV, local_backends, manage_tiers
from ipfs_kit_py.kit_wiring import (
    KitSources,
    TierStatus,
    backend_sections,
    build_kit,
    tier_aliases,
    tier_statuses,
)
from ipfs_kit_py.outfile import atomic_output, output_path
from ipfs_kit_py.replication_policy import PolicySet, ReplicationPolicy
from ipfs_kit_py.resource import Closeable
from ipfs_kit_py.results import dict_result
from ipfs_kit_py.sources import bounded, open_regular_file
from ipfs_kit_py.streams import CHUNK, read_chunks
from ipfs_kit_py.tiers.manager import TieredCacheManager
from ipfs_kit_py.upload_ledger import UploadLedger, upload_endpoint

if TYPE_CHECKING:
    from ipfs_kit_py import replication
    from ipfs_kit_py.backends.s3.backend import S3Backend
    from ipfs_kit_py.backends.storacha.backend import StorachaBackend
    from ipfs_kit_py.content.cid import CID
    from ipfs_kit_py.content.resolve import NodeStat
    from ipfs_kit_py.index_rebuild import RebuildReport
    from ipfs_kit_py.kit_reads import KitReader
    from ipfs_kit_py.policy_worker import EnforceReport

__all__ = ["AddResult", "KitConfig", "TierStatus", "ipfs_kit"]

logger = logging.getLogger(__name__)

Source = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO | Iterable[bytes]


@dataclass(frozen=True, slots=True)
class AddResult:
    """What :meth:`ipfs_kit.add` stored: the CID, its size, and the tiers holding it."""

    cid: CID
    size: int
    stored: tuple[str, ...]
    profile: str


Section = Mapping[str, Any] | None


class ipfs_kit(Closeable):
    """One CID, many homes: add, read (verified), place and check content across tiers.

    ``config`` is the config mapping, or the path of a TOML config file (default:
    ``$IPFS_KIT_CONFIG`` or the XDG config path). The keyword arguments override it:
    the local tiers and the write policy, and one mapping per backend section
    (``s3``, ``storacha``, ``kubo``, ``gateway``, ``replication``; ``sections`` for
    backends registered by third parties). Raises ``ConfigurationError`` for an invalid
    setting; an unknown keyword is a ``TypeError``. Nothing is opened until first use.
    ``peer_tier=False`` leaves out the ``peer`` tier (other nodes' copies): what
    ``ipfs-kit serve`` does, so a node answers its peers from its own and the shared
    tiers only and never forwards a request to a third node.
    """

    def __init__(
        self,
        config: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        index_path: str | os.PathLike[str] | None = None,
        index_url: str | None = None,
        node_id: str | None = None,
        memory_bytes: int | None = None,
        disk_bytes: int | None = None,
        put_to: Sequence[str] | str | None = None,
        promote_after: int | None = None,
        verify_disk_reads: bool | None = None,
        max_stream_bytes: int | None = None,
        s3: Section = None,
        storacha: Section = None,
        kubo: Section = None,
        gateway: Section = None,
        replication: Section = None,
        sections: Mapping[str, Mapping[str, Any]] | None = None,
        metadata: Mapping[str, Any] | None = None,
        resources: Mapping[str, Any] | None = None,
        peer_tier: bool = True,
    ) -> None:
        if not isinstance(peer_tier, bool):
            raise ConfigurationError(f"peer_tier is True or False, got {peer_tier!r}")
        env = Environment(os.environ)
        if config is None or isinstance(config, str | os.PathLike):
            path = Path(config) if config is not None else config_file_path(env)
            file_config = load_config_file(path)
        else:
            file_config = as_section("config", config)
        # the seed's ipfs_kit(resources=..., metadata=...) keywords: kept for the caller
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.resources: dict[str, Any] = dict(resources or {})
        named = {"s3": s3, "storacha": storacha, "kubo": kubo, "gateway": gateway}
        given = backend_sections({**(sections or {}), **{k: v for k, v in named.items() if v}})
        given["replication"] = dict(replication or {})
        self._sources = KitSources(file_config, given, env)
        local = {
            "cache_dir": cache_dir,
            "index_path": index_path,
            "index_url": index_url,
            "node_id": node_id,
            "memory_bytes": memory_bytes,
            "disk_bytes": disk_bytes,
            "put_to": put_to,
            "promote_after": promote_after,
            "verify_disk_reads": verify_disk_reads,
            "max_stream_bytes": max_stream_bytes,
        }
        self.config = KitConfig.from_sources(local, file_config, env)
        self.policies = _policies(self._sources)
        self._remote = self._sources.remote_backends()
        # the remote backends hold their credentials now (the lazy dict kits are built
        # from them); keep only the part of the environment the kit still reads
        self._sources = dataclasses.replace(self._sources, env=Environment(env, prefixes=LOCAL_ENV))
        self._index: MetadataIndex | None = None
        self._tiers: TieredCacheManager | None = None
        self._reader: KitReader | None = None
        self._backends: list[BaseBackend] | None = None
        self._peer_tier = peer_tier
        self._closed = False
        for backend in self._remote.built.get("s3", ()):  # built only where S3 is configured
            client: Any = getattr(backend, "client", None)
            if hasattr(client, "uploads"):  # the S3 client notes multipart uploads in the index
                client.uploads = UploadLedger(lambda: self.index, upload_endpoint(client.config))
        for backend in self._remote.built.get("storacha", ()):  # resumable uploads
            from ipfs_kit_py.storacha_ledger import StorachaUploadLedger

            backend.uploads = StorachaUploadLedger(lambda: self.index)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"ipfs_kit(cache_dir={str(self.config.cache_dir)!r})"

    def close(self) -> None:
        """Flush statistics and close the index and backend clients; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._tiers is not None:
            self._tiers.close()
        for tier in self._backends or ():
            tier.close()
        if self._index is not None:
            self._index.close()
        self._remote.close()

    # -- wiring -----------------------------------------------------------------------

    @functools.cached_property
    def s3_kit(self) -> Any:
        """The seed's dict S3 kit (built on first use: its client library loads then)."""
        return build_kit("s3", self._remote)

    @functools.cached_property
    def storacha_kit(self) -> Any:
        """The seed's dict Storacha kit (built on first use)."""
        return build_kit("storacha", self._remote)

    @property
    def s3(self) -> S3Backend:
        """The typed S3 backend (``.objects``: bucket-level calls); NotConfiguredError if none."""
        self._check_open()
        return cast("S3Backend", self._remote.first("s3"))

    @property
    def storacha(self) -> StorachaBackend:
        """The typed Storacha backend (uploads, spaces); NotConfiguredError if none."""
        self._check_open()
        return cast("StorachaBackend", self._remote.first("storacha"))

    @property
    def index(self) -> MetadataIndex:
        """The metadata index (opened on first use)."""
        self._check_open()
        if self._index is None:
            where = self.config.index_url or self.config.index_path
            self._index = open_index(where, node_id=self.config.index_node_id())
        return self._index

    @property
    def tiers(self) -> TieredCacheManager:
        """The tier manager (built on first use)."""
        self._check_open()
        if self._tiers is None:
            self._tiers = manage_tiers(
                self.config,
                self._open_backends(),
                self.index,
                aliases=tier_aliases(),
                unconfigured=self._remote.unconfigured(),
            )
        return self._tiers

    @property
    def reader(self) -> KitReader:
        """Verified random access over the tiers (built on first use)."""
        from ipfs_kit_py.kit_reads import KitReader  # not on the whole-file read path

        tiers = self.tiers
        if self._reader is None or self._reader.tiers is not tiers:
            self._reader = KitReader(tiers)
        return self._reader

    def _open_backends(self) -> list[BaseBackend]:
        """The tiers' backends, built once (no network until first used)."""
        if self._backends is None:
            local = local_backends(self._sources.file, self._sources.env, self.config)
            peer: list[BaseBackend] = []
            # a node of a fleet reads other nodes' copies through the gateways they serve
            if self._peer_tier and (self.config.node_id or self.config.index_url):
                peer.append(build_peer_tier(lambda: self.index))
            self._backends = [*local, *self._remote.tiers(), *peer]
        return self._backends

    def check_index(self) -> dict[str, Any]:
        """SQLite's integrity check of the index file plus the ledger's counts.

        Raises :class:`~ipfs_kit_py.errors.IndexCorruptError` if the file cannot be read.
        """
        problems = self.index.check()
        return {"path": self.index.location, "problems": problems, **self.index.stats()}

    def rebuild_index(self) -> RebuildReport:
        """Move the index file aside and rebuild it from what the tiers hold.

        Disk objects, S3 objects under the key prefix, kubo's recursive pins and
        Storacha's uploads are recorded; pins, tags and records are kept where the old
        file can still be read, and copies it knew that no tier holds are marked missing.
        """
        self._check_open()
        if self.config.index_url:
            raise ConfigurationError(
                "index rebuild makes a new SQLite file; a shared PostgreSQL index is "
                "restored by its database's own backups"
            )
        if self._tiers is not None:
            self._tiers.close()
            self._tiers = None
        if self._index is not None:
            self._index.close()
            self._index = None
        backends = self._open_backends()
        from ipfs_kit_py.index_rebuild import rebuild_index  # only `index rebuild` needs it

        return rebuild_index(self.config.index_path, backends)

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigurationError("this ipfs_kit is closed")

    # -- typed content API ------------------------------------------------------------

    def add(
        self,
        source: Source,
        *,
        to: Sequence[str] | None = None,
        profile: ImportProfile = KUBO_DEFAULT,
        pin: bool = False,
        tags: Sequence[str] = (),
        hidden: bool = False,
        sharding: ShardingPolicy = KUBO_SHARDING,
    ) -> AddResult:
        """Import ``source`` (path, bytes, binary file or byte iterable); store it in ``to``.

        A directory gets the CID of ``ipfs add -r`` (``hidden``: include dot-files;
        ``sharding``: when its directories become HAMT shards, as a named profile's); each
        of its files is stored under its own CID and the tree is kept in the index.
        Raises ``InputPathError`` (unreadable path), ``InvalidInputError`` (unknown tier),
        ``BackendError`` and its kinds when a target tier fails.
        """
        to = _tier_names(to)
        if isinstance(source, str | os.PathLike) and os.path.isdir(source):
            root = Path(source)
            result = add_directory(self.tiers, root, to, profile, pin, hidden, sharding)
        else:
            chunks, close = _open_source(source, self.config.max_stream_bytes)
            try:
                result = self.tiers.add(chunks, profile=profile, to=to, pinned=pin)
            finally:
                close()
        if tags:
            self.index.tag(result.cid, *tags)
        stored = tuple(self.whereis(result.cid))
        return AddResult(result.cid, result.size, stored, profile.key())

    def cat(self, cid: CID | str) -> bytes:
        """Return the whole content of ``cid``, verified.

        Raises ``InvalidCIDError``, ``ContentNotFoundError`` (no tier holds a good copy),
        ``InvalidInputError`` for a directory CID.
        """
        found = read_cid(cid)
        if stored_tree(self.index, cid_key(found)) is not None:
            raise InvalidInputError(f"{found} is a directory: use get_to_path")
        return self.tiers.get_bytes(found)

    def get(self, cid: CID | str) -> Iterator[bytes]:
        """Stream the content of ``cid``, verified before the first chunk.

        Raises ``InvalidCIDError`` or ``ContentNotFoundError``.
        """
        return self.tiers.get(cid)

    def open(self, target: CID | str) -> BinaryIO:
        """A seekable, read-only binary file of the verified file ``target`` names.

        ``target`` is a CID or ``<cid>/a/b`` (also ``/ipfs/<cid>/...``, ``ipfs://...``).
        ``seek(k); read(n)`` fetches only the blocks covering the range from kubo, a
        gateway or S3, each verified (a local copy is read from its tier). Raises
        ``InvalidCIDError``, ``ContentNotFoundError`` (``PathNotFoundError`` for a path),
        ``NotADirectoryPathError``, ``InvalidInputError`` for a directory.
        """
        return self.reader.open(target)

    def stat(self, target: CID | str) -> NodeStat:
        """Type (file, directory, symlink), size and directory entries of ``target``."""
        return self.reader.stat(target)

    def resolve(self, target: CID | str) -> CID:
        """The CID ``<cid>/a/b`` names (``PathNotFoundError`` if there is none)."""
        return self.reader.resolve(target)

    def iter_range(
        self, target: CID | str, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        """Stream the verified bytes ``[start, end)`` of the file ``target`` names."""
        return self.reader.iter_range(target, start, end)

    def get_to_path(
        self,
        cid: CID | str,
        path: str | os.PathLike[str],
        *,
        keep_escaping_symlinks: bool = False,
    ) -> Path:
        """Write the verified content of ``cid`` to ``path`` atomically; return the path.

        A directory CID is rebuilt from its files and checked against its CID (one the
        index does not know is looked for as directory nodes in S3 first). A symlink in
        it whose target is absolute or climbs out of the tree is refused, as ``car
        extract`` refuses it, unless ``keep_escaping_symlinks`` (then it is made as it
        is; a tree from Storacha's CAR refuses it still); nothing is ever written through
        a symlink. Raises ``InvalidCIDError``, ``ContentNotFoundError``,
        ``InputPathError`` (a directory's target exists), ``UnsafePathError`` (such a
        symlink, an entry escaping the tree), ``ContentMismatchError`` (a rebuilt
        directory differs); nothing is left at ``path`` on failure.
        """
        cid = parse_cid(cid)
        if not isinstance(path, str | os.PathLike):
            raise InputPathError(f"a target path is required, got {type(path).__name__}")
        target = output_path(path, str(cid))
        tree = self._tree(cid)
        if tree is not None:
            keep = keep_escaping_symlinks
            return materialize_tree(self.tiers, cid, tree, target, keep_escaping_symlinks=keep)
        if self._unknown_dag(cid):
            for tier in self.tiers.tiers:  # a directory uploaded whole (Storacha)
                if isinstance(tier, DagUploader) and tier.get_tree(cid, target) is not None:
                    return target
        with self.tiers.open(cid) as src, atomic_output(target) as out:
            while chunk := src.read(CHUNK):
                out.write(chunk)
        return target

    def whereis(self, cid: CID | str) -> list[str]:
        """Names of the tiers holding ``cid``.

        A directory is held by a tier that holds directories as such (kubo, S3,
        Storacha) only where its root is recorded (kubo: every block imported and the
        root pinned; S3: its nodes stored, and all its files there too; Storacha: the
        whole DAG uploaded); by the other tiers where all its files are (a tree without
        files, such as an empty directory, by those it was added to).
        """
        cid = parse_cid(cid)
        tree = stored_tree(self.index, cid)
        if tree is None:
            return self.tiers.whereis(cid)
        holders = [set(self.tiers.whereis(file_cid)) for file_cid in tree.files.values()]
        common = set.intersection(*holders) if holders else set(tree.tiers)
        as_such = {t.name for t in self.tiers.tiers if isinstance(t, TreeStores)}
        node_stores = {t.name for t in self.tiers.tiers if isinstance(t, NodeStore)}
        roots = set(self.tiers.whereis(cid))
        files_there = common if holders else node_stores
        held = (common - as_such) | (roots - node_stores) | (roots & node_stores & files_there)
        return [t.name for t in self.tiers.tiers if t.name in held]

    def _tree(self, cid: CID) -> StoredTree | None:
        """The stored tree of ``cid``: from the index, else found as nodes in S3 (a
        dag-pb CID the index does not know, or knows only as a listed object)."""
        tree = stored_tree(self.index, cid)
        if tree is not None or not self._unknown_dag(cid):
            return tree
        return discover_tree(self.tiers, cid)

    def _note_directory(self, cid: CID) -> None:
        """Record as a directory a dag-pb CID the index knows only as a listed copy (an
        index rebuilt from the tiers): found as nodes in S3 (the whole tree), or an
        upload of a directory in Storacha (so its copy is checked as a DAG)."""
        if self._tree(cid) is not None or not self._unknown_dag(cid):
            return
        listed = {loc.backend for loc in self.index.locations(cid, include_bad=True)}
        for tier in self.tiers.tiers:
            if isinstance(tier, DagUploader) and tier.name in listed:
                try:
                    if tier.holds_directory(cid):
                        self.index.upsert_content(cid, kind="dir")
                        return
                except IpfsKitError as exc:
                    logger.info("cannot tell whether %s is a directory: %s", cid, exc)

    def _unknown_dag(self, cid: CID) -> bool:
        """A dag-pb CID the index does not know, or knows only as a listed copy (no
        profile: not added here): it may be a directory a tier holds."""
        if cid.codec.code != DAG_PB:
            return False
        record = self.index.content(cid)
        return record is None or record.profile is None

    def replicate(
        self, cid: CID | str, to: Sequence[str] = (), *, min_copies: int | None = None
    ) -> replication.ReplicationReport:
        """Copy ``cid`` into ``to`` (and as many more tiers as ``min_copies`` needs).

        Raises ``InvalidInputError`` (unknown tier), ``ContentNotFoundError`` (no good copy).
        """
        from ipfs_kit_py import replication  # loaded by the commands that replicate

        policy = None if min_copies is None else ReplicationPolicy(min_copies)
        return replication.replicate(self.tiers, cid, _tier_names(to) or (), policy, self.policies)

    def verify(self, cid: CID | str) -> replication.CopyCheck:
        """Check every known copy of ``cid``; mark bad and missing ones; count the shortfall.

        A directory copy in S3 is checked node by node and file by file.
        """
        from ipfs_kit_py import replication

        self._note_directory(parse_cid(cid))
        return replication.verify(self.tiers, cid, self.policies)

    def verify_all(self) -> list[replication.CopyCheck]:
        """:meth:`verify` every content record of the index, including those with no copy.

        Directories are checked through their files, unless a tier holds the directory
        itself.
        """
        records = self.index.query()
        return [
            self.verify(r.cid)
            for r in records
            if r.kind != "dir" or self.index.locations(r.cid, include_bad=True)
        ]

    def repair(self, cid: CID | str) -> replication.ReplicationReport:
        """Replace bad or missing copies of ``cid`` from a good one."""
        from ipfs_kit_py import replication

        return replication.repair(self.tiers, cid, policies=self.policies)

    def enforce(self, *, lease_s: float = 60.0, batch: int = 8) -> EnforceReport:
        """One pass of a policy worker: queue what is short of its policy, repair it.

        Safe to run on many nodes at once against a shared index: each CID is leased
        to one worker at a time (see :mod:`ipfs_kit_py.policy_worker`).
        """
        from ipfs_kit_py.policy_worker import PolicyWorker  # loads replication: only when asked

        return PolicyWorker(self.tiers, self.policies, lease_s=lease_s, batch=batch).run_once()

    def policy_status(self) -> dict[str, Any]:
        """What is short of its policy, by policy, and the shared repair queue's counts."""
        from ipfs_kit_py.policy_worker import summarize_short
        from ipfs_kit_py.repair_queue import RepairQueue

        short = summarize_short(self.tiers, self.policies)
        return {"short": short, "queue": RepairQueue(self.index).status()}

    def keep(
        self, cid: CID | str, *, min_copies: int | None = None, required: Sequence[str] = ()
    ) -> None:
        """Pin ``cid`` (eviction and ``remove`` keep its last copy); set its own policy.

        Raises ``ContentNotFoundError`` if ``cid`` is not in the index or no tier but
        the per-process memory holds a copy (the pin lives with the indexed copies).
        """
        record = self.index.content(cid)
        if record is None:
            raise ContentNotFoundError(f"{cid} is not in the index: add it first")
        memory = self.tiers.memory.name if self.tiers.memory else None
        if not [name for name in self.whereis(cid) if name != memory]:
            raise ContentNotFoundError(
                f"{cid} has no copy left outside this process's memory to keep: add it again"
            )
        self.index.set_pinned(cid, True)
        if min_copies is not None or required:
            own = {"min_copies": min_copies or 1, "required": list(required)}
            self.index.upsert_content(
                cid, kind=record.kind, metadata={**record.metadata, "replication": own}
            )

    def remove(self, cid: CID | str, from_: Sequence[str], *, force: bool = False) -> list[str]:
        """Delete ``cid`` from those of the named tiers that hold it; return their names.

        Raises :class:`InvalidInputError` for no tier or an unknown one,
        :class:`ContentNotFoundError` if none of them holds ``cid``, and
        :class:`LastCopyError` for the last copy of pinned content (unless ``force``).
        """
        names = _tier_names(from_)
        if not names:
            raise InvalidInputError("name at least one tier to remove from")
        cid = parse_cid(cid)
        tiers = [self.tiers.tier(name) for name in names]
        listed = {loc.backend for loc in self.index.locations(cid, include_bad=True)}
        holders = [t.name for t in tiers if t.name in listed or t.has(cid)]
        if not holders:
            raise ContentNotFoundError(f"{cid} is not in {', '.join(t.name for t in tiers)}")
        return self.tiers.remove(cid, holders, force=force)

    def forget(
        self, cid: CID | str, from_: Sequence[str] | None = None, *, all_nodes: bool = False
    ) -> list[str]:
        """Drop the index's entries for ``cid`` (all, or the copies in ``from_``).

        Touches no tier: this is how a copy marked missing, or content given up on,
        leaves the ledger. Returns the tiers whose entries were dropped. Forgetting all of
        ``cid`` while other nodes record copies of it in their own tiers is refused
        (:class:`InvalidInputError`) unless ``all_nodes``.
        """
        return self.tiers.forget(cid, from_, all_nodes=all_nodes)

    def backends(self) -> list[TierStatus]:
        """Every tier, reachable or not and why; plus the backends left unconfigured."""
        return tier_statuses(self.tiers.tiers, self._remote.missing)

    def _shown_node_id(self) -> str:
        """The node id in use, without making one for a summary."""
        if self._index is not None:
            return self._index.node_id
        shown = self.config.index_node_id(make=False)
        return "(made in the cache dir at first use)" if shown is None else shown

    def config_summary(self) -> dict[str, Any]:
        """The effective configuration, secrets masked."""
        summary: dict[str, Any] = {
            "config_file": str(config_file_path(self._sources.env)),
            "cache_dir": str(self.config.cache_dir),
            "index_path": str(self.config.index_path),
            "index_url": _shown_index_url(self.config.index_url),
            "node_id": self._shown_node_id(),
            "memory_bytes": self.config.memory_bytes,
            "disk_bytes": self.config.disk_bytes,
            "put_to": list(self.config.put_to),
            "verify_disk_reads": self.config.verify_disk_reads,
            "max_stream_bytes": self.config.max_stream_bytes,
        }
        for name in sorted({*self._sources.sections, *SECTIONS}):
            merged = {**self._effective(name), **self._sources.merged(name)}
            if merged:
                summary[name] = {k: _shown(k, v) for k, v in merged.items()}
        return summary

    def _effective(self, section: str) -> dict[str, Any]:
        """The settings a configured backend resolved that differ from the defaults."""
        group = self._remote.built.get(section)
        config = getattr(group[0], "config", None) if group else None
        if config is None or not dataclasses.is_dataclass(config) or isinstance(config, type):
            return {}
        fields = [f for f in dataclasses.fields(config) if not f.metadata.get("derived")]
        values = {f.name: getattr(config, f.name) for f in fields}
        defaults = {f.name: _default_of(f) for f in fields}
        return {k: v for k, v in values.items() if v is not None and v != defaults[k]}

    # -- the seed's dict face ---------------------------------------------------------

    @dict_result
    def ipfs_add(self, source: Source, **kwargs: Any) -> dict[str, Any]:
        """Dict face of :meth:`add`: ``{"success", "cid", "size", "stored", "profile"}``."""
        r = self.add(source, **kwargs)
        return {"cid": str(r.cid), "size": r.size, "stored": list(r.stored), "profile": r.profile}

    @dict_result
    def ipfs_cat(self, cid: CID | str) -> dict[str, Any]:
        """Dict face of :meth:`cat`: the bytes are under ``"data"``."""
        data = self.cat(cid)
        return {"cid": str(parse_cid(cid)), "data": data, "size": len(data)}

    @dict_result
    def ipfs_get(self, cid: CID | str, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Dict face of :meth:`get_to_path`."""
        return {"cid": str(parse_cid(cid)), "path": str(self.get_to_path(cid, path))}

    @dict_result
    def ipfs_whereis(self, cid: CID | str) -> dict[str, Any]:
        return {"cid": str(parse_cid(cid)), "backends": self.whereis(cid)}

    @dict_result
    def ipfs_replicate(self, cid: CID | str, to: Sequence[str] = ()) -> Any:
        return self.replicate(cid, to)

    @dict_result
    def ipfs_verify(self, cid: CID | str) -> Any:
        return self.verify(cid)

    @dict_result
    def ipfs_repair(self, cid: CID | str) -> Any:
        return self.repair(cid)

    @dict_result
    def ipfs_remove(self, cid: CID | str, from_: Sequence[str]) -> dict[str, Any]:
        return {"cid": str(parse_cid(cid)), "removed": self.remove(cid, from_)}

    @dict_result
    def ipfs_forget(
        self, cid: CID | str, from_: Sequence[str] | None = None, *, all_nodes: bool = False
    ) -> dict[str, Any]:
        forgotten = self.forget(cid, from_, all_nodes=all_nodes)
        return {"cid": str(parse_cid(cid)), "forgotten": forgotten}


SECTIONS = ("s3", "storacha", "kubo", "gateway", "replication")


def _policies(sources: KitSources) -> PolicySet:
    return PolicySet.from_config(sources.merged("replication"))


def _tier_names(names: Sequence[str] | str | None) -> Sequence[str] | None:
    """Tier names as given; one name given as a string is that one tier, not its letters."""
    return (names,) if isinstance(names, str) else names


def _default_of(f: dataclasses.Field[Any]) -> Any:
    """A dataclass field's default, made by its factory if it has one (``Timeouts``)."""
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def _shown_index_url(url: str | None) -> str | None:
    """The index URL as ``config show`` prints it: no password (userinfo or query)."""
    if url is None:
        return None
    from ipfs_kit_py.index_postgres import masked_url  # no psycopg: string work only

    return masked_url(url)


def _shown(key: str, value: Any) -> Any:
    """A config value as ``config show`` prints it: secrets and URL credentials masked."""
    masked = mask_secret(key, value)
    if isinstance(masked, str) and "://" in masked:
        return mask_url(masked)
    if isinstance(masked, list | tuple):
        return [mask_url(v) if isinstance(v, str) else v for v in masked]
    return masked


def _byte_chunks(chunks: Iterable[Any]) -> Iterator[bytes]:
    """The chunks of a byte iterable; InvalidInputError at the first that is not bytes."""
    for chunk in chunks:
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise InvalidInputError(
                f"a byte stream or iterable yielded a {type(chunk).__name__}, not bytes"
            )
        yield bytes(chunk)


def _open_source(source: Source, max_stream_bytes: int | None) -> tuple[Iterable[bytes], Any]:
    """Return (chunks, close) for any accepted source; paths must be regular files.

    Anything else (None, a number, a mapping, chunks that are not bytes) is an
    ``InvalidInputError``. A stream (file object, iterable) has no size to check up
    front: it is cut off with :class:`ResourceLimitError` once it passes
    ``max_stream_bytes``.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        return [bytes(source)], lambda: None
    if isinstance(source, str | os.PathLike):
        f = open_regular_file(Path(source))
        return read_chunks(f), f.close
    if isinstance(source, io.TextIOBase):
        raise InvalidInputError("cannot add a text stream: open the file in binary mode ('rb')")
    if isinstance(source, io.IOBase) or hasattr(source, "read"):
        # a file-like object may still answer str: checked chunk by chunk
        chunks: Iterable[bytes] = _byte_chunks(read_chunks(source))  # type: ignore[arg-type]
    elif isinstance(source, Mapping) or not isinstance(source, Iterable):
        raise InvalidInputError(
            f"cannot add a {type(source).__name__}: give a path, bytes, a binary file "
            "or an iterable of bytes"
        )
    else:
        chunks = _byte_chunks(source)
    return bounded(chunks, max_stream_bytes), lambda: None
