"""Two adds of one CID at once, one failing (issue 14, second attack): the failed add
rolls the content record back (it has no copy yet), while the other add is still
storing; the other's copies must bring the record back whole, not bare (SQLite here,
PostgreSQL in tests/integration/test_add_race_attack2_pg.py)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ipfs_kit_py.backends.base import StoredObject
from ipfs_kit_py.backends.disk import DiskBackend
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.tiers.manager import TieredCacheManager, TierPolicy
from tests.servers.postgres import IndexFactory

PROFILE = ImportProfile.parse("size-1024,raw,v1,w174")


class _RacedVault(DiskBackend):
    """A shared tier during whose upload another node's add of the same CID begins
    and fails (both on the real index): the interleaving no server makes on demand."""

    other: MetadataIndex

    def put(
        self,
        cid: CID,
        chunks: Iterable[bytes],
        size: int | None = None,
        *,
        profile: ImportProfile | None = None,
    ) -> StoredObject:
        assert profile == PROFILE  # the add's own profile, not one read back meanwhile
        self.other.begin_add(cid, size=size)
        self.other.rollback_add(cid)  # its upload failed: no copy, so the row goes
        return super().put(cid, chunks, size, profile=profile)


def test_a_failed_concurrent_add_never_leaves_the_other_adds_record_bare(
    make_index: IndexFactory, tmp_path: Path
) -> None:
    vault = _RacedVault(tmp_path / "vault", name="vault")
    vault.other = make_index(node_id="node-b")
    tiers = TieredCacheManager(
        [DiskBackend(tmp_path / "disk"), vault], make_index(node_id="node-a"), TierPolicy()
    )
    data = b"added on two nodes at once " * 100
    result = tiers.add([data], profile=PROFILE, to=["vault", "disk"])
    record = tiers.index.content(result.cid)
    assert record is not None
    assert (record.size, record.kind, record.profile) == (len(data), "file", PROFILE.key())
    assert {loc.backend for loc in tiers.index.locations(result.cid)} == {"vault", "disk"}
    assert tiers.index.stats()["pending_adds"] == 0
    assert b"".join(tiers.get(result.cid)) == data
