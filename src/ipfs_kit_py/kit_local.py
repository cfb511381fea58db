"""This machine's side of the kit alone: its configuration, index, memory and disk tiers.

``ipfs-kit cat`` of a CID this machine caches needs nothing more. The whole
:class:`~ipfs_kit_py.ipfs_kit.ipfs_kit` loads every module the kit has and builds every
backend's configuration before it reads; :class:`LocalKit` builds the local tiers and
their manager with the facade's own functions (below) and serves a read only where the
facade's tier manager would serve it first (:meth:`TieredCacheManager.open_cached`):
the same verification, the same bookkeeping. A read it cannot serve changes nothing
and is left to the facade. Remote backends' settings are not read here: a mistake in
them is reported by the commands that use those tiers, not by a read from this cache.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from ipfs_kit_py.backends.registry import build_configured
from ipfs_kit_py.config import Environment, config_file_path, load_config_file
from ipfs_kit_py.content.cid import cid_key, read_cid
from ipfs_kit_py.errors import ConfigurationError
from ipfs_kit_py.index import MetadataIndex, open_index
from ipfs_kit_py.kit_config import KitConfig
from ipfs_kit_py.resource import Closeable
from ipfs_kit_py.tiers.manager import TieredCacheManager
from ipfs_kit_py.tiers.policy import TierPolicy

if TYPE_CHECKING:
    from ipfs_kit_py.backends.base import BaseBackend
    from ipfs_kit_py.content.cid import CID

__all__ = ["LOCAL_ENV", "LocalKit", "disk_tier", "local_backends", "manage_tiers", "memory_tier"]

LOCAL_ENV = ("IPFS_", "XDG_")  # the variables the local backends read

Settings = Mapping[str, Any]


def memory_tier(file: Settings, env: Mapping[str, str], config: KitConfig) -> list[BaseBackend]:
    """The memory tier ``config`` sets, over the config file ``file`` and ``env``."""
    return build_configured("memory", {"memory_bytes": config.memory_bytes}, file, env)


def disk_tier(file: Settings, env: Mapping[str, str], config: KitConfig) -> list[BaseBackend]:
    """The disk tier ``config`` sets, over the config file ``file`` and ``env``."""
    args = {"cache_dir": config.cache_dir, "disk_bytes": config.disk_bytes}
    return build_configured("disk", args, file, env)


def local_backends(file: Settings, env: Mapping[str, str], config: KitConfig) -> list[BaseBackend]:
    """The memory and disk tiers, in read order."""
    return [*memory_tier(file, env, config), *disk_tier(file, env, config)]


def manage_tiers(
    config: KitConfig,
    tiers: Sequence[BaseBackend],
    index: MetadataIndex,
    *,
    aliases: Mapping[str, str] | None = None,
    unconfigured: Mapping[str, str] | None = None,
) -> TieredCacheManager:
    """The tier manager over ``tiers`` with ``config``'s policy; old temp files cleaned."""
    policy = TierPolicy(
        put_to=config.put_to,
        promote_after=config.promote_after,
        read_only=tuple(t.name for t in tiers if t.read_only),
        trust_disk_stamps=not config.verify_disk_reads,
    )
    manager = TieredCacheManager(tiers, index, policy, aliases=aliases, unconfigured=unconfigured)
    manager.clean_tmp()  # temp files of writers that crashed over an hour ago
    return manager


class LocalKit(Closeable):
    """The facade's configuration, index and disk tier, nothing remote, for one read.

    Built as ``ipfs_kit()`` builds them (the config file, then the environment);
    nothing is opened until :attr:`tiers` is first used. The memory tier is left out:
    it lives in one process, and a new one's is empty.
    """

    def __init__(self) -> None:
        env = Environment(os.environ)
        self._file = load_config_file(config_file_path(env))
        self.config = KitConfig.from_sources({}, self._file, env)
        self._env = Environment(env, prefixes=LOCAL_ENV)
        self._backends: list[BaseBackend] = []
        self._index: MetadataIndex | None = None
        self._tiers: TieredCacheManager | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"LocalKit(cache_dir={str(self.config.cache_dir)!r})"

    @property
    def tiers(self) -> TieredCacheManager:
        """The manager of the disk tier (built on first use)."""
        if self._closed:
            raise ConfigurationError("this LocalKit is closed")
        if self._tiers is None:
            self._backends = disk_tier(self._file, self._env, self.config)
            where = self.config.index_url or self.config.index_path
            self._index = open_index(where, node_id=self.config.index_node_id())
            self._tiers = manage_tiers(self.config, self._backends, self._index)
        return self._tiers

    def open_cached(self, cid: CID | str) -> BinaryIO | None:
        """A file of the verified content of ``cid`` as the facade's first step serves
        it (an identity CID, the disk copy the index lists), or None.

        None also for a CID the index records as a directory (no file to read). Raises
        what the facade's read raises before that step (``InvalidCIDError``, index errors).
        """
        tiers = self.tiers
        found = read_cid(cid)
        record = tiers.index.content(cid_key(found))
        if record is not None and record.kind == "dir":
            return None
        return tiers.open_cached(found)

    def close(self) -> None:
        """Flush access statistics, close the tiers and the index; idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._tiers is not None:
                self._tiers.close()
        finally:
            for tier in self._backends:
                tier.close()
            if self._index is not None:
                self._index.close()
