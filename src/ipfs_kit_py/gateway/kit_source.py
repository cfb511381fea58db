"""The gateway's blocks over a kit: tiers that answer blocks (kubo, gateways) and the
blocks of files the tiers hold whole (memory, disk, S3, Storacha).

A whole file is read verified through the tier manager, then chunked again with its
recorded import profile (or each profile that could have made its CID): the blocks
that come out are the DAG its CID names, since the root they hash to is that CID.
They are kept in an unlinked temporary file per root (:class:`TempBlockStore`), at most
``max_files`` roots and ``max_bytes`` of blocks at a time (the newest root is always
kept), least recently used dropped first: a client asking for many large files cannot
fill the temporary directory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from ipfs_kit_py.content.blockstore import TempBlockStore
from ipfs_kit_py.content.cid import CID, DAG_PB, cid_bytes_key, cid_key, short_cid
from ipfs_kit_py.content.random_access import Source, VerifiedBlocks
from ipfs_kit_py.content.unixfs import Block, ImportProfile, import_file
from ipfs_kit_py.content.verify import candidate_profiles
from ipfs_kit_py.errors import ContentMismatchError, ContentNotFoundError
from ipfs_kit_py.gateway.node_source import DirectoryNodes
from ipfs_kit_py.tiers.blocks import block_sources

if TYPE_CHECKING:
    from ipfs_kit_py.ipfs_kit import ipfs_kit
    from ipfs_kit_py.tiers.manager import TieredCacheManager

__all__ = ["WholeFileBlocks", "kit_blocks"]


class WholeFileBlocks:
    """A block source over the files the tier manager holds whole (see the module)."""

    name = "tiers"

    def __init__(
        self, tiers: TieredCacheManager, *, max_files: int = 64, max_bytes: int = 4 << 30
    ) -> None:
        self.tiers = tiers
        self.max_files = max_files
        self.max_bytes = max_bytes
        self._stores: OrderedDict[bytes, TempBlockStore] = OrderedDict()
        self._sizes: dict[bytes, int] = {}
        self._lock = threading.Lock()
        self._deriving = threading.Lock()

    def get_block(self, cid: CID) -> bytes:
        """The block ``cid``: from a file already chunked, or the root of a file the
        tiers hold (chunked now). Raises ``ContentNotFoundError`` otherwise."""
        found = self._lookup(cid)
        if found is not None:
            return found
        if not self._held(cid):
            raise ContentNotFoundError(f"no tier holds {short_cid(cid)} as a file")
        with self._deriving:  # one file chunked at a time: bounded disk and CPU
            found = self._lookup(cid)
            if found is None:
                found = self._derive(cid)
        return found

    def close(self) -> None:
        with self._lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()
            self._sizes.clear()

    def _lookup(self, cid: CID) -> bytes | None:
        with self._lock:
            for key, store in reversed(self._stores.items()):
                if store.has(cid):
                    self._stores.move_to_end(key)
                    return store.get(cid)
        return None

    def _held(self, cid: CID) -> bool:
        """Whether a tier holds ``cid`` as a whole file (one index query for the many
        blocks that are no file's root)."""
        if self.tiers.whereis(cid):
            record = self.tiers.index.content(cid)
            return record is None or record.kind == "file"
        memory = self.tiers.memory  # per process, never in the index
        return memory is not None and memory.lookup(cid_key(cid), count_miss=False) is not None

    def _derive(self, cid: CID) -> bytes:
        recorded = self.tiers.profile_of(cid)
        profiles = [recorded] if recorded is not None else candidate_profiles(cid)
        if cid.codec.code != DAG_PB:
            profiles = [p for p in profiles if p.raw_leaves] or profiles
        for profile in profiles:
            chunked = self._chunk(cid, profile)
            if chunked is not None:
                store, size = chunked
                self._keep(cid, store, size)
                return store.get(cid)
        raise ContentMismatchError(f"no import profile chunks the file into {short_cid(cid)}")

    def _chunk(self, cid: CID, profile: ImportProfile) -> tuple[TempBlockStore, int] | None:
        """The blocks of file ``cid`` chunked with ``profile`` and their byte count,
        None if they are not the DAG of ``cid``."""
        store = TempBlockStore()
        size = 0

        def keep(block: Block) -> None:
            nonlocal size
            store.put(block.cid, block.data)
            size += len(block.data)

        try:
            with self.tiers.open(cid) as f:
                result = import_file(f, profile, on_block=keep)
        except BaseException:
            store.close()
            raise
        if cid_bytes_key(result.cid) == cid_bytes_key(cid) and store.has(cid):
            return store, size
        store.close()
        return None

    def _keep(self, cid: CID, store: TempBlockStore, size: int) -> None:
        with self._lock:
            key = cid_bytes_key(cid)
            self._stores[key] = store
            self._sizes[key] = size
            while len(self._stores) > 1 and (
                len(self._stores) > self.max_files or sum(self._sizes.values()) > self.max_bytes
            ):
                old_key, old = self._stores.popitem(last=False)
                del self._sizes[old_key]
                old.close()


def kit_blocks(kit: ipfs_kit, *, cache_bytes: int = 64 << 20) -> VerifiedBlocks:
    """Verified blocks over a kit's tiers: files the tiers hold whole first (chunked
    once, then read locally), the nodes of directories S3 or Storacha hold
    (:class:`~ipfs_kit_py.gateway.node_source.DirectoryNodes`), then the tiers that
    answer blocks (kubo, gateways; S3 layouts serve file ranges), as
    :func:`~ipfs_kit_py.tiers.blocks.block_sources`."""
    tiers = kit.tiers
    sources: list[Source] = [WholeFileBlocks(tiers), DirectoryNodes(tiers)]
    sources += block_sources(tiers.tiers, tiers.profile_of)
    return VerifiedBlocks(sources, cache_bytes=cache_bytes)
