"""Small UnixFS DAGs for content tests: import profiles with tiny chunks and few links
(a few KB give many leaves and levels), and an in-memory block source that counts what
it is asked for."""

from __future__ import annotations

from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.content.unixfs import Block, ImportProfile, import_file
from ipfs_kit_py.errors import ContentNotFoundError

__all__ = ["PROFILES", "MemoryBlocks", "imported"]

# balanced and deferred layouts, dag-pb and raw leaves, CIDv0 and v1
PROFILES = [
    ImportProfile(chunk_size=1024, max_links=4),
    ImportProfile(chunk_size=1000, max_links=3, raw_leaves=True, cid_version=1),
    ImportProfile(chunk_size=4096, max_links=174, cid_version=1),
    ImportProfile(chunk_size=512, max_links=5, raw_leaves=True, cid_version=1, layout="deferred"),
    ImportProfile(chunk_size=2048, max_links=2, raw_leaves=True),
]


class MemoryBlocks:
    """A block source over a dict, counting what it is asked for."""

    name = "memory-blocks"

    def __init__(self) -> None:
        self.blocks: dict[bytes, bytes] = {}
        self.asked: list[CID] = []

    def add(self, block: Block) -> None:
        self.blocks[bytes(block.cid)] = block.data

    def get_block(self, cid: CID) -> bytes:
        self.asked.append(cid)
        try:
            return self.blocks[bytes(cid)]
        except KeyError:
            raise ContentNotFoundError(f"no block {cid}") from None


def imported(data: bytes, profile: ImportProfile) -> tuple[CID, MemoryBlocks]:
    """``data`` imported with ``profile``: its root and every block of its DAG."""
    source = MemoryBlocks()
    return import_file([data], profile, on_block=source.add).cid, source
