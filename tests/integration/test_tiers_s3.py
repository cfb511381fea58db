"""Tiers with a real S3 (SeaweedFS): fallback, verification, warming, faults, eviction."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from tests.servers.seaweedfs import SeaweedS3, boto_client

from ipfs_kit_py.backends.disk import DiskBackend
from ipfs_kit_py.backends.memory import MemoryBackend
from ipfs_kit_py.backends.s3.backend import S3Backend
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.errors import ContentNotFoundError
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.ipfs_kit import ipfs_kit
from ipfs_kit_py.tiers.manager import TieredCacheManager, TierPolicy


def s3_args(server: SeaweedS3, **extra: object) -> dict[str, object]:
    return server.s3_args(key_prefix=f"tiers-{uuid.uuid4().hex[:10]}/ipfs/", **extra)


@pytest.fixture
def kit(seaweedfs_kit: ipfs_kit) -> ipfs_kit:
    return seaweedfs_kit


def test_local_copies_gone_get_comes_back_from_s3_and_warms(kit: ipfs_kit) -> None:
    data = os.urandom(3 << 20) + b"tail"
    added = kit.add(data, to=["memory", "disk", "s3"])
    assert kit.whereis(added.cid) == ["memory", "disk", "s3"]
    assert [t.name for t in kit.tiers.tiers] == ["memory", "disk", "s3"]
    kit.remove(added.cid, from_=["memory", "disk"])
    assert kit.whereis(added.cid) == ["s3"]
    assert kit.cat(added.cid) == data  # from S3, verified
    assert kit.whereis(added.cid) == ["disk", "s3"]  # warmed disk
    assert kit.cat(added.cid) == data
    assert kit.whereis(added.cid) == ["memory", "disk", "s3"]  # second access: memory
    statuses = {s.name: s for s in kit.backends()}
    assert statuses["s3"].configured and statuses["s3"].reachable


def test_corrupted_s3_object_is_refused_and_next_tier_serves(
    seaweedfs: SeaweedS3, tmp_path: Path
) -> None:
    config = S3Config.from_sources(s3_args(seaweedfs))
    with S3Backend(config) as s3, MetadataIndex(tmp_path / "index.sqlite3") as index:
        archive = DiskBackend(tmp_path / "archive", name="archive")
        tiers = TieredCacheManager(
            [MemoryBackend(1 << 20), DiskBackend(tmp_path / "cache"), s3, archive], index
        )
        data = os.urandom(1 << 20)
        cid = tiers.add([data], to=["s3", "archive"]).cid
        boto_client(seaweedfs).put_object(
            Bucket=seaweedfs.bucket, Key=s3.key_for(cid), Body=b"evil" + data[4:]
        )
        assert tiers.get_bytes(cid) == data
        [s3_copy] = [loc for loc in index.locations(cid, include_bad=True) if loc.backend == "s3"]
        assert s3_copy.bad
        assert not tiers.breaker.is_open("s3")  # a bad copy is not a down server
        assert tiers.whereis(cid) == ["disk", "archive"]


def test_s3_down_is_skipped_with_back_off(seaweedfs_private: SeaweedS3, tmp_path: Path) -> None:
    config = S3Config.from_sources(
        s3_args(seaweedfs_private, connect_timeout=1, max_retries=0, retry_timeout=1)
    )
    with S3Backend(config) as s3, MetadataIndex(tmp_path / "index.sqlite3") as index:
        archive = DiskBackend(tmp_path / "archive", name="archive")
        tiers = TieredCacheManager(
            [DiskBackend(tmp_path / "cache"), s3, archive], index, TierPolicy(backoff_s=300)
        )
        data = os.urandom(100_000)
        cid = tiers.add([data], to=["s3", "archive"]).cid
        seaweedfs_private.kill()
        assert tiers.get_bytes(cid) == data
        assert tiers.breaker.is_open("s3")
        assert "s3" in tiers.breaker.reasons
        assert [loc.backend for loc in index.locations(cid)] == ["archive", "disk", "s3"]


def test_eviction_keeps_the_last_copy_and_refetches_from_s3(
    seaweedfs: SeaweedS3, tmp_path: Path
) -> None:
    config = S3Config.from_sources(s3_args(seaweedfs))
    with S3Backend(config) as s3, MetadataIndex(tmp_path / "index.sqlite3") as index:
        disk = DiskBackend(tmp_path / "cache", capacity_bytes=600_000)
        tiers = TieredCacheManager([disk, s3], index, TierPolicy(put_to=("disk",)))
        only_local = tiers.add([os.urandom(200_000)], pinned=True).cid
        backed_up = [
            tiers.add([os.urandom(200_000)], to=["disk", "s3"], pinned=True).cid for _ in range(5)
        ]
        assert disk.has(only_local)
        evicted = [c for c in backed_up if not disk.has(c)]
        assert evicted
        assert all(tiers.whereis(c) == ["s3"] for c in evicted)
        data = tiers.get_bytes(evicted[0])
        assert len(data) == 200_000 and tiers.whereis(evicted[0]) == ["disk", "s3"]
        assert disk.has(only_local)


def test_emptied_bucket_is_a_miss_that_corrects_the_index(
    seaweedfs: SeaweedS3, kit: ipfs_kit
) -> None:
    data = os.urandom(200_000)
    cid = kit.add(data, to=["s3"]).cid
    s3 = kit.tiers.tier("s3")
    assert isinstance(s3, S3Backend)
    boto_client(seaweedfs).delete_object(Bucket=seaweedfs.bucket, Key=s3.key_for(cid))
    with pytest.raises(ContentNotFoundError, match="s3: not found"):
        kit.cat(cid)
    assert kit.whereis(cid) == []
    assert not kit.tiers.breaker.is_open("s3")  # a miss is not a failure
