"""The facade's own configuration: where the local tiers and the index live, the write policy.

Backends resolve their own sections (``[s3]``, ``[storacha]``, ``[kubo]``); this is the
rest: ``[cache]``, ``[index]`` and ``[tiers]``, and how a config summary hides secrets.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipfs_kit_py.config import Secret, resolve, xdg_dir
from ipfs_kit_py.errors import ConfigurationError
from ipfs_kit_py.index import default_index_path

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
    max_stream_bytes: int | None = None  # cut-off for streams added from '-' or file objects

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
                    or xdg_dir("CACHE", env)
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
                max_stream_bytes=_optional_size(
                    get(
                        "max_stream_bytes",
                        section=tiers,
                        env_names=["IPFS_KIT_MAX_STREAM_BYTES"],
                    )
                ),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"invalid cache/index configuration: {exc}") from exc


def _optional_size(value: Any) -> int | None:
    """A byte count >= 0, or None (no limit) for an unset value."""
    if value is None or value == "":
        return None
    size = int(value)
    if size < 0:
        raise ValueError(f"max_stream_bytes must be >= 0, got {size}")
    return size


_SECRET_NAMES = frozenset({"key", "proof", "auth", "access_key_id"})
_SECRET_WORDS = ("secret", "token", "password", "private")


def mask_secret(key: str, value: Any) -> Any:
    """Hide credentials: Secret values, and values under names that hold credentials."""
    name = key.lower()
    secretish = name in _SECRET_NAMES or any(w in name for w in _SECRET_WORDS)
    if isinstance(value, Secret) or (secretish and value):
        return "***"
    return value
