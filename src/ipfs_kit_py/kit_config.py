"""The facade's own configuration: where the local tiers and the index live, the write policy.

Backends resolve their own sections (``[s3]``, ``[storacha]``, ``[kubo]``); this is the
rest: ``[cache]``, ``[index]`` and ``[tiers]``, and how a config summary hides secrets.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

from ipfs_kit_py.config import Secret, as_section, parse_bool, parse_number, resolve, xdg_dir
from ipfs_kit_py.errors import ConfigurationError
from ipfs_kit_py.index import default_index_path, valid_node_id

__all__ = ["KitConfig", "mask_secret"]

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
    verify_disk_reads: bool = True  # false: trust an unchanged disk file (inode, size, mtime)
    max_stream_bytes: int | None = None  # cut-off for streams added from '-' or file objects
    # a shared index: postgresql://user@host/db (else the file); its password is no repr's
    index_url: str | None = field(default=None, repr=False)
    node_id: str = ""  # names this machine's disk and memory copies in a shared index

    @overload
    def index_node_id(self, *, make: Literal[True] = ...) -> str: ...
    @overload
    def index_node_id(self, *, make: Literal[False]) -> str | None: ...

    def index_node_id(self, *, make: bool = True) -> str | None:
        """The node id to open the index with: as set; else, with a shared index, the
        one kept in the cache directory (made on first use,
        :mod:`ipfs_kit_py.node_identity`; with ``make=False`` never made: None if there
        is none yet); else '' (one machine needs none)."""
        if self.node_id or not self.index_url:
            return self.node_id
        from ipfs_kit_py.node_identity import local_node_id, stored_node_id

        return local_node_id(self.cache_dir) if make else stored_node_id(self.cache_dir)

    @classmethod
    def from_sources(
        cls, args: Mapping[str, Any], file: Mapping[str, Any], env: Mapping[str, str]
    ) -> KitConfig:
        """Build from arguments > config file (``[cache]``, ``[index]``, ``[tiers]``) > env."""
        cache, index, tiers = (as_section(s, file.get(s)) for s in ("cache", "index", "tiers"))
        get = functools.partial(resolve, args=args, env=env)
        put_to = get("put_to", section=tiers, env_names=["IPFS_KIT_PUT_TO"], default=None)
        if isinstance(put_to, str):
            put_to = [p.strip() for p in put_to.split(",") if p.strip()]
        try:
            return cls(
                cache_dir=Path(
                    get("cache_dir", section=cache, env_names=["IPFS_KIT_CACHE_DIR"])
                    or xdg_dir("CACHE", env)
                ),
                index_path=Path(
                    get("index_path", section=index, env_names=["IPFS_KIT_INDEX"])
                    or default_index_path(env)
                ),
                memory_bytes=_count(
                    "memory_bytes",
                    get("memory_bytes", section=cache, env_names=["IPFS_KIT_MEMORY_BYTES"]),
                    DEFAULT_MEMORY_BYTES,
                ),
                disk_bytes=_count(
                    "disk_bytes",
                    get("disk_bytes", section=cache, env_names=["IPFS_KIT_DISK_BYTES"]),
                    DEFAULT_DISK_BYTES,
                ),
                put_to=tuple(put_to) if put_to else DEFAULT_PUT_TO,
                promote_after=_count(
                    "promote_after", get("promote_after", section=tiers), DEFAULT_PROMOTE_AFTER
                ),
                verify_disk_reads=parse_bool(
                    "verify_disk_reads",
                    get(
                        "verify_disk_reads",
                        section=cache,
                        env_names=["IPFS_KIT_VERIFY_DISK_READS"],
                        default=True,
                    ),
                ),
                index_url=_index_url(
                    get("url", section=index, env_names=["IPFS_KIT_INDEX_URL"])
                    if args.get("index_url") is None
                    else args["index_url"]
                ),
                node_id=_node_id(get("node_id", section=index, env_names=["IPFS_KIT_NODE_ID"])),
                max_stream_bytes=_optional_size(
                    "max_stream_bytes",
                    get(
                        "max_stream_bytes",
                        section=tiers,
                        env_names=["IPFS_KIT_MAX_STREAM_BYTES"],
                    ),
                ),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"invalid cache/index configuration: {exc}") from exc


def _index_url(value: Any) -> str | None:
    """A ``postgresql://`` URL, or None (the SQLite file); else ConfigurationError."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.startswith(("postgresql://", "postgres://")):
        from ipfs_kit_py.index_postgres import masked_url  # string work: no psycopg

        shown = masked_url(value) if isinstance(value, str) else type(value).__name__
        raise ConfigurationError(f"[index] url must be a postgresql:// URL, got {shown}")
    return value


def _node_id(value: Any) -> str:
    """The node id as set ('' when unset: see :meth:`KitConfig.index_node_id`)."""
    if value is None or value == "":
        return ""
    if not valid_node_id(value):
        raise ConfigurationError(
            "[index] node_id must be printable text up to 200 characters, "
            "with no space at either end"
        )
    return str(value)


def _count(name: str, value: Any, default: int) -> int:
    """A whole number >= 0 (unset, empty or 0: ``default``); else ConfigurationError."""
    if value is None or value == "":
        return default
    return parse_number(name, value, int, minimum=0) or default


def _optional_size(name: str, value: Any) -> int | None:
    """A byte count >= 0, or None (no limit) for an unset value; else ConfigurationError."""
    if value is None or value == "":
        return None
    return parse_number(name, value, int, minimum=0)


_SECRET_NAMES = frozenset({"key", "proof", "auth", "access_key_id"})
_SECRET_WORDS = ("secret", "token", "password", "private")


def mask_secret(key: str, value: Any) -> Any:
    """Hide credentials: Secret values, and values under names that hold credentials."""
    name = key.lower()
    secretish = name in _SECRET_NAMES or any(w in name for w in _SECRET_WORDS)
    if isinstance(value, Secret) or (secretish and value):
        return "***"
    if isinstance(value, list | tuple):  # e.g. gateway urls
        return [mask_secret(key, v) for v in value]
    if isinstance(value, str) and "@" in value.partition("?")[0]:  # a URL's user:password@
        scheme, sep, rest = value.rpartition("://")
        return f"{scheme}{sep}***@{rest.rpartition('@')[2]}" if sep else value
    return value
