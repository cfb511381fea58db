"""The ``ipfs_kit`` facade: config -> backends -> tiers -> index, typed and dict faces.

Construction only reads configuration: no network, no server, no file opened. The
index and the tiers are built on first use; :meth:`ipfs_kit.close` is idempotent.

Typed methods (``add``, ``cat``, ``get``, ``whereis``, ``replicate``, ...) return values
and raise from :mod:`ipfs_kit_py.errors`. The seed's dict methods (``ipfs_add``,
``ipfs_cat``, ...) are the same calls wrapped by :func:`~ipfs_kit_py.results.dict_result`
and always return a dict; ``ipfs_cat`` puts the bytes under ``"data"``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ipfs_kit_py import replication
from ipfs_kit_py.backends.base import Backend
from ipfs_kit_py.backends.disk import CHUNK, DiskBackend, default_cache_dir
from ipfs_kit_py.backends.memory import MemoryBackend
from ipfs_kit_py.config import Secret, config_file_path, load_config_file, resolve
from ipfs_kit_py.content.cid import CID, RAW, cid_key, parse_cid, sha256_cid
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.unixfs import KUBO_DEFAULT, FileImport, ImportProfile
from ipfs_kit_py.errors import (
    ConfigurationError,
    ContentMismatchError,
    ContentNotFoundError,
    InputPathError,
    InvalidInputError,
    IpfsKitError,
    NotConfiguredError,
    UnsafePathError,
)
from ipfs_kit_py.index import MetadataIndex, default_index_path
from ipfs_kit_py.results import dict_result
from ipfs_kit_py.tiers import TieredCacheManager, TierPolicy

__all__ = ["AddResult", "KitConfig", "TierStatus", "ipfs_kit"]

logger = logging.getLogger(__name__)

Source = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO | Iterable[bytes]
_PROBE_CID = sha256_cid(RAW, b"ipfs-kit reachability probe")


DEFAULT_MEMORY_BYTES = 256 << 20
DEFAULT_DISK_BYTES = 10 << 30
DEFAULT_PUT_TO = ("memory", "disk")
DEFAULT_PROMOTE_AFTER = 2


@dataclass(frozen=True, slots=True)
class KitConfig:
    """Where the local tiers and the index live, and the write policy."""

    cache_dir: Path
    index_path: Path
    memory_bytes: int = DEFAULT_MEMORY_BYTES
    disk_bytes: int = DEFAULT_DISK_BYTES
    put_to: tuple[str, ...] = DEFAULT_PUT_TO
    promote_after: int = DEFAULT_PROMOTE_AFTER

    @classmethod
    def from_sources(
        cls, args: Mapping[str, Any], file: Mapping[str, Any], env: Mapping[str, str]
    ) -> KitConfig:
        """Build from arguments > config file (``[cache]``, ``[index]``, ``[tiers]``) > env."""
        cache, index, tiers = (dict(file.get(s) or {}) for s in ("cache", "index", "tiers"))
        get = functools.partial(resolve, args=args, env=env)
        put_to = get("put_to", section=tiers, env_names=["IPFS_KIT_PUT_TO"], default=None)
        if isinstance(put_to, str):
            put_to = [p.strip() for p in put_to.split(",") if p.strip()]
        try:
            return cls(
                cache_dir=Path(
                    get("cache_dir", section=cache, env_names=["IPFS_KIT_CACHE_DIR"])
                    or default_cache_dir(env)
                ),
                index_path=Path(
                    get("index_path", section=index, env_names=["IPFS_KIT_INDEX"])
                    or default_index_path(env)
                ),
                memory_bytes=int(
                    get("memory_bytes", section=cache, env_names=["IPFS_KIT_MEMORY_BYTES"])
                    or DEFAULT_MEMORY_BYTES
                ),
                disk_bytes=int(
                    get("disk_bytes", section=cache, env_names=["IPFS_KIT_DISK_BYTES"])
                    or DEFAULT_DISK_BYTES
                ),
                put_to=tuple(put_to) if put_to else DEFAULT_PUT_TO,
                promote_after=int(get("promote_after", section=tiers) or DEFAULT_PROMOTE_AFTER),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"invalid cache/index configuration: {exc}") from None


@dataclass(frozen=True, slots=True)
class AddResult:
    """What :meth:`ipfs_kit.add` stored: the CID, its size, and the tiers holding it."""

    cid: CID
    size: int
    stored: tuple[str, ...]
    profile: str


@dataclass(frozen=True, slots=True)
class TierStatus:
    """One configured (or unconfigured) backend, and whether it answers."""

    name: str
    kind: str
    configured: bool
    reachable: bool
    reason: str = ""


class _Unconfigured:
    """Stands in for a kit whose backend has no configuration: every call says so."""

    def __init__(self, name: str, hint: str) -> None:
        self._name, self._hint = name, hint

    def __repr__(self) -> str:
        return f"<{self._name} (not configured)>"

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)

        @dict_result
        def not_configured(*args: Any, **kwargs: Any) -> None:
            raise NotConfiguredError(f"{self._name} is not configured: {self._hint}")

        return not_configured


_KIT_HINTS = {
    "s3_kit": ("ipfs_kit_py.s3_kit", "S3Kit", "s3", "set [s3] in the config file or AWS_* env"),
    "storacha_kit": (
        "ipfs_kit_py.storacha_kit",
        "StorachaKit",
        "storacha",
        "set [storacha] in the config file or STORACHA_KEY / STORACHA_PROOF",
    ),
}

_OVERRIDES = {"cache_dir", "index_path", "memory_bytes", "disk_bytes", "put_to", "promote_after"}
_SECTIONS = {"s3", "storacha", "kubo", "gateway", "replication"}


class ipfs_kit:
    """One CID, many homes: add, read (verified), place and check content across tiers."""

    def __init__(
        self, config: Mapping[str, Any] | str | os.PathLike[str] | None = None, **overrides: Any
    ) -> None:
        unknown = set(overrides) - _OVERRIDES - _SECTIONS - {"metadata", "resources"}
        if unknown:
            raise ConfigurationError(f"unknown ipfs_kit options: {sorted(unknown)}")
        env = dict(os.environ)
        if config is None or isinstance(config, str | os.PathLike):
            path = Path(config) if config is not None else config_file_path(env)
            file_config = load_config_file(path)
        else:
            file_config = dict(config)
        # the seed's ipfs_kit(resources=..., metadata=...) keywords: kept for the caller
        self.metadata: dict[str, Any] = dict(overrides.pop("metadata", None) or {})
        self.resources: dict[str, Any] = dict(overrides.pop("resources", None) or {})
        self._env = env
        self._file = file_config
        self._sections = {s: dict(overrides.get(s) or {}) for s in _SECTIONS}
        self.config = KitConfig.from_sources(
            {k: v for k, v in overrides.items() if k in _OVERRIDES}, file_config, env
        )
        replication_section = {
            **(file_config.get("replication") or {}),
            **self._sections["replication"],
        }
        self.policies = replication.PolicySet.from_config(replication_section)
        self.s3_kit: Any = self._build_kit("s3_kit")
        self.storacha_kit: Any = self._build_kit("storacha_kit")
        self._index: MetadataIndex | None = None
        self._tiers: TieredCacheManager | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"ipfs_kit(cache_dir={str(self.config.cache_dir)!r})"

    def __enter__(self) -> ipfs_kit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Flush statistics and close the index and backend clients; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._tiers is not None:
            self._tiers.close()
            for tier in self._tiers.tiers:
                closer = getattr(tier, "close", None)
                if callable(closer):
                    closer()
        if self._index is not None:
            self._index.close()
        for kit in (self.s3_kit, self.storacha_kit):
            closer = getattr(kit, "close", None)
            if callable(closer) and not isinstance(kit, _Unconfigured):
                closer()

    # -- wiring -----------------------------------------------------------------------

    def _build_kit(self, attr: str) -> Any:
        module_name, cls_name, section, hint = _KIT_HINTS[attr]
        try:
            cls = getattr(importlib.import_module(module_name), cls_name)
        except ImportError:
            return _Unconfigured(section, hint)
        args = self._sections[section]
        file_section = dict(self._file.get(section) or {})
        try:
            return cls.from_sources(args, file_section, self._env)
        except NotConfiguredError as exc:
            return _Unconfigured(section, str(exc))

    @property
    def index(self) -> MetadataIndex:
        """The metadata index (opened on first use)."""
        self._check_open()
        if self._index is None:
            self._index = MetadataIndex(self.config.index_path)
        return self._index

    @property
    def tiers(self) -> TieredCacheManager:
        """The tier manager (built on first use)."""
        self._check_open()
        if self._tiers is None:
            cfg = self.config
            disk = DiskBackend(cfg.cache_dir, cfg.disk_bytes)
            disk.clean_tmp()  # temp files of writers that crashed over an hour ago
            tiers: list[Backend] = [MemoryBackend(cfg.memory_bytes), disk, *self._remote_backends()]
            read_only = tuple(t.name for t in tiers if t.name.startswith("gateway"))
            policy = TierPolicy(
                put_to=cfg.put_to, promote_after=cfg.promote_after, read_only=read_only
            )
            self._tiers = TieredCacheManager(tiers, self.index, policy)
        return self._tiers

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigurationError("this ipfs_kit is closed")

    def _remote_backends(self) -> list[Backend]:
        """Remote tiers in order: kubo, S3, Storacha, gateways (if configured); no I/O."""
        backends: list[Backend] = []
        kubo = self._kubo_backend()
        if kubo is not None:
            backends.append(kubo)
        for kit in (self.s3_kit, self.storacha_kit):
            if isinstance(kit, _Unconfigured) or not _is_configured(kit):
                continue
            backend = kit.backend  # only touched once configured: it may check credentials
            if isinstance(backend, Backend):
                backends.append(backend)
        return backends + self._gateway_backends()

    def _gateway_backends(self) -> list[Backend]:
        """Read-only trustless gateways: ``[gateway] urls``, ``gateway=``, IPFS_KIT_GATEWAYS."""
        section = dict(self._file.get("gateway") or {})
        urls = resolve(
            "urls",
            args=self._sections["gateway"],
            section=section,
            env=self._env,
            env_names=["IPFS_KIT_GATEWAYS"],
            default=[],
        )
        if isinstance(urls, str):
            urls = [u.strip() for u in urls.split(",") if u.strip()]
        if not urls:
            return []
        gateway = importlib.import_module("ipfs_kit_py.backends.gateway")
        backends: list[Backend] = []
        for n, url in enumerate(urls):
            backend = gateway.GatewayBackend(str(url))
            backend.name = "gateway" if n == 0 else f"gateway{n + 1}"
            backends.append(backend)
        return backends

    def _kubo_backend(self) -> Backend | None:
        """kubo joins the tiers only when asked for: ``[kubo]``, ``kubo=`` or IPFS_API_URL."""
        args = self._sections["kubo"]
        section = dict(self._file.get("kubo") or {})
        if not (args or section or self._env.get("IPFS_API_URL") or self._env.get("IPFS_PATH")):
            return None
        try:
            kubo = importlib.import_module("ipfs_kit_py.backends.kubo")
        except ImportError:
            return None
        config = kubo.KuboConfig.from_sources(args, file={"kubo": section}, env=self._env)
        backend: Backend = kubo.KuboBackend.from_config(config)
        return backend

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
    ) -> AddResult:
        """Import ``source`` (path, bytes, binary file or byte iterable); store it in ``to``.

        A directory gets the CID of ``ipfs add -r`` (``hidden``: include dot-files); each
        of its files is stored under its own CID and the tree is kept in the index.
        """
        if isinstance(source, str | os.PathLike) and Path(source).is_dir():
            result = _add_directory(self.tiers, Path(source), to, profile, pin, hidden)
        else:
            chunks, close = _open_source(source)
            try:
                result = self.tiers.add(chunks, profile=profile, to=to, pinned=pin)
            finally:
                close()
        if tags:
            self.index.tag(result.cid, *tags)
        stored = tuple(self.whereis(result.cid))
        return AddResult(result.cid, result.size, stored, profile.key())

    def cat(self, cid: CID | str) -> bytes:
        """Return the whole content of ``cid``, verified."""
        if _tree_of(self.index, cid) is not None:
            raise InvalidInputError(f"{cid} is a directory: use get_to_path")
        return self.tiers.get_bytes(cid)

    def get(self, cid: CID | str) -> Iterator[bytes]:
        """Stream the content of ``cid``, verified before the first chunk."""
        return self.tiers.get(cid)

    def open(self, cid: CID | str) -> BinaryIO:
        """Return a readable file of the verified content of ``cid``."""
        return self.tiers.open(cid)

    def get_to_path(self, cid: CID | str, path: str | os.PathLike[str]) -> Path:
        """Write the verified content of ``cid`` to ``path`` atomically; return the path.

        A directory CID is rebuilt from its files and checked against its CID.
        """
        target = Path(path)
        if target.is_dir():
            target = target / str(parse_cid(cid))
        tree = _tree_of(self.index, cid)
        if tree is not None:
            return _materialize(self.tiers, parse_cid(cid), tree, target)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, self.open(cid) as src:
                while chunk := src.read(CHUNK):
                    out.write(chunk)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return target

    def whereis(self, cid: CID | str) -> list[str]:
        """Names of the tiers holding ``cid`` (for a directory: holding all its files)."""
        tree = _tree_of(self.index, cid)
        if tree is None:
            return self.tiers.whereis(cid)
        holders = [set(self.tiers.whereis(file_cid)) for file_cid in tree.files.values()]
        common = set.intersection(*holders) if holders else set()
        return [t.name for t in self.tiers.tiers if t.name in common]

    def replicate(
        self, cid: CID | str, to: Sequence[str] = (), *, min_copies: int | None = None
    ) -> replication.ReplicationReport:
        """Copy ``cid`` into ``to`` (and as many more tiers as ``min_copies`` needs)."""
        policy = None if min_copies is None else replication.ReplicationPolicy(min_copies)
        return replication.replicate(self.tiers, cid, to, policy, self.policies)

    def verify(self, cid: CID | str) -> replication.CopyCheck:
        """Re-read every known copy of ``cid``; mark the bad ones."""
        return replication.verify(self.tiers, cid)

    def verify_all(self) -> list[replication.CopyCheck]:
        """:meth:`verify` every stored CID in the index (directories: through their files)."""
        stored = [r.cid for r in self.index.query() if r.kind != "dir"]
        return [self.verify(c) for c in stored if self.index.locations(c, include_bad=True)]

    def repair(self, cid: CID | str) -> replication.ReplicationReport:
        """Replace bad or missing copies of ``cid`` from a good one."""
        return replication.repair(self.tiers, cid, policies=self.policies)

    def keep(
        self, cid: CID | str, *, min_copies: int | None = None, required: Sequence[str] = ()
    ) -> None:
        """Pin ``cid`` (eviction and ``remove`` keep its last copy); set its own policy."""
        record = self.index.content(cid)
        if record is None:
            raise ContentNotFoundError(f"{cid} is not in the index: add it first")
        self.index.set_pinned(cid, True)
        if min_copies is not None or required:
            own = {"min_copies": min_copies or 1, "required": list(required)}
            self.index.upsert_content(
                cid, kind=record.kind, metadata={**record.metadata, "replication": own}
            )

    def remove(self, cid: CID | str, from_: Sequence[str], *, force: bool = False) -> list[str]:
        """Delete ``cid`` from the named tiers (never the last copy of pinned content)."""
        return self.tiers.remove(cid, from_, force=force)

    def backends(self) -> list[TierStatus]:
        """Every tier, reachable or not and why; plus the backends left unconfigured."""
        statuses = [_probe(tier) for tier in self.tiers.tiers]
        present = {tier.name for tier in self.tiers.tiers}
        if "ipfs" not in present:
            hint = "set [kubo] api_url in the config file or IPFS_API_URL"
            statuses.append(TierStatus("ipfs", "KuboBackend", False, False, hint))
        for attr, (_, _, section, hint) in _KIT_HINTS.items():
            kit = getattr(self, attr)
            if section not in present:
                kind = "remote" if isinstance(kit, _Unconfigured) else type(kit).__name__
                statuses.append(
                    TierStatus(section, kind, False, False, _why_unconfigured(kit, hint))
                )
        return statuses

    def config_summary(self) -> dict[str, Any]:
        """The effective configuration, secrets masked."""
        summary: dict[str, Any] = {
            "config_file": str(config_file_path(self._env)),
            "cache_dir": str(self.config.cache_dir),
            "index_path": str(self.config.index_path),
            "memory_bytes": self.config.memory_bytes,
            "disk_bytes": self.config.disk_bytes,
            "put_to": list(self.config.put_to),
        }
        for name in sorted(_SECTIONS):
            merged = {**dict(self._file.get(name) or {}), **self._sections[name]}
            if merged:
                summary[name] = {k: _mask(k, v) for k, v in merged.items()}
        return summary

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


@dataclass(frozen=True, slots=True)
class _Tree:
    """A stored directory: relative file path -> file CID, and its (sub)directories."""

    files: dict[str, str]
    dirs: list[str]
    profile: ImportProfile
    hidden: bool


def _add_directory(
    tiers: TieredCacheManager,
    root: Path,
    to: Sequence[str] | None,
    profile: ImportProfile,
    pin: bool,
    hidden: bool,
) -> FileImport:
    """Import a tree as ``ipfs add -r``; store each file under its CID; record the tree."""
    files: dict[str, str] = {}
    dirs: list[str] = []

    def on_entry(rel: str, cid: CID, size: int) -> None:
        inner = rel.split("/", 1)[1] if "/" in rel else ""
        fs_path = root / inner if inner else root
        if fs_path.is_symlink():
            raise InputPathError(f"{fs_path}: symlinks inside directories cannot be stored yet")
        if fs_path.is_dir():
            if inner:
                dirs.append(inner)
            return
        with fs_path.open("rb") as f:
            stored = tiers.add(_file_chunks(f), profile=profile, to=to, pinned=pin)
        if stored.cid != cid:
            raise ContentMismatchError(f"{fs_path} changed while it was added", cid=str(cid))
        files[inner] = str(cid)

    result = import_directory(root, profile, hidden=hidden, on_entry=on_entry)
    meta = {"files": files, "dirs": dirs, "hidden": hidden}
    tiers.index.upsert_content(
        result.cid, size=result.size, kind="dir", profile=profile.key(), metadata=meta
    )
    return FileImport(result.cid, result.size, result.dag_size)


def _tree_of(index: MetadataIndex, cid: CID | str) -> _Tree | None:
    record = index.content(cid)
    if record is None or record.kind != "dir" or record.profile is None:
        return None
    meta = record.metadata
    profile = ImportProfile.parse(record.profile)
    return _Tree(
        dict(meta.get("files", {})), list(meta.get("dirs", [])), profile, bool(meta.get("hidden"))
    )


def _materialize(tiers: TieredCacheManager, cid: CID, tree: _Tree, target: Path) -> Path:
    """Rebuild a stored tree next to ``target``, check its CID, then rename it into place."""
    if target.exists():
        raise InputPathError(f"{target} already exists")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        for inner in [*tree.dirs, *tree.files]:
            if Path(inner).is_absolute() or ".." in Path(inner).parts:
                raise UnsafePathError(f"index entry {inner!r} of {cid} escapes its directory")
        for inner in tree.dirs:
            (staging / inner).mkdir(parents=True, exist_ok=True)
        for inner, file_cid in tree.files.items():
            (staging / inner).parent.mkdir(parents=True, exist_ok=True)
            with (staging / inner).open("wb") as out:
                for chunk in tiers.get(file_cid):
                    out.write(chunk)
        rebuilt = import_directory(staging, tree.profile, hidden=tree.hidden).cid
        if cid_key(rebuilt) != cid_key(cid):
            raise ContentMismatchError(f"rebuilt tree is {rebuilt}, not {cid}", cid=str(cid))
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _open_source(source: Source) -> tuple[Iterable[bytes], Any]:
    """Return (chunks, close) for any accepted source; paths must be regular files."""
    if isinstance(source, bytes | bytearray | memoryview):
        return [bytes(source)], lambda: None
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            f = path.open("rb")
        except OSError as exc:
            raise InputPathError(f"cannot read {path}: {exc.strerror or exc}") from None
        return _file_chunks(f), f.close
    if isinstance(source, io.IOBase) or hasattr(source, "read"):
        return _file_chunks(source), lambda: None  # type: ignore[arg-type]
    return source, lambda: None


def _file_chunks(f: BinaryIO) -> Iterator[bytes]:
    while chunk := f.read(CHUNK):
        yield chunk


def _probe(tier: Backend) -> TierStatus:
    kind = type(tier).__name__
    try:
        tier.has(_PROBE_CID)
    except IpfsKitError as exc:
        return TierStatus(tier.name, kind, True, False, f"{type(exc).__name__}: {exc}")
    except OSError as exc:
        return TierStatus(tier.name, kind, True, False, f"{type(exc).__name__}: {exc}")
    return TierStatus(tier.name, kind, True, True)


def _why_unconfigured(kit: Any, hint: str) -> str:
    """The kit's own explanation of what is missing, else ``hint``."""
    if isinstance(kit, _Unconfigured):
        return kit._hint
    config = getattr(kit, "config", None)
    try:
        for check in ("require", "require_bucket", "require_credentials"):
            method = getattr(config, check, None)
            if callable(method):
                method()
    except NotConfiguredError as exc:
        return str(exc)
    return hint


def _is_configured(kit: Any) -> bool:
    """A kit whose config says it lacks credentials (or a bucket) is left out."""
    config = getattr(kit, "config", None)
    if config is None:
        return True
    has_bucket = getattr(config, "bucket", True) is not None
    return bool(getattr(config, "configured", True)) and has_bucket


def _mask(key: str, value: Any) -> Any:
    """Hide credentials: Secret values, and values under names that hold credentials."""
    name = key.lower()
    secretish = name in _SECRET_NAMES or any(w in name for w in _SECRET_WORDS)
    if isinstance(value, Secret) or (secretish and value):
        return "***"
    return value


_SECRET_NAMES = frozenset({"key", "proof", "auth", "access_key_id"})
_SECRET_WORDS = ("secret", "token", "password", "private")
