"""TieredCacheManager over real memory and disk tiers (plus a second disk as a slow tier)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ipfs_kit_py.backends.base import BaseBackend, StoredObject
from ipfs_kit_py.backends.disk import DiskBackend
from ipfs_kit_py.backends.memory import MemoryBackend
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.content.unixfs import STORACHA, import_file
from ipfs_kit_py.errors import (
    BackendUnavailableError,
    ContentMismatchError,
    ContentNotFoundError,
    LastCopyError,
)
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.progress import BaseSubscriber
from ipfs_kit_py.tiers.manager import TieredCacheManager, TierPolicy
from tests.servers.postgres import IndexFactory


class DownBackend(BaseBackend):
    """A tier whose server is unreachable: every call raises, as a real client would."""

    name = "down"

    def __init__(self) -> None:
        self.calls = 0

    def _fail(self) -> BackendUnavailableError:
        self.calls += 1
        return BackendUnavailableError("connection refused by 127.0.0.1:9")

    def has(self, cid: CID) -> bool:
        raise self._fail()

    def stat(self, cid: CID) -> StoredObject:
        raise self._fail()

    def get(self, cid: CID) -> Iterator[bytes]:
        raise self._fail()

    def put(self, cid: CID, chunks: Iterable[bytes], size: int | None = None) -> StoredObject:
        raise self._fail()

    def delete(self, cid: CID) -> None:
        raise self._fail()


@pytest.fixture
def index(make_index: IndexFactory) -> MetadataIndex:
    """The index on each engine: SQLite, then PostgreSQL."""
    return make_index()


@pytest.fixture
def tiers(tmp_path: Path, index: MetadataIndex) -> TieredCacheManager:
    memory = MemoryBackend(4 << 20)
    disk = DiskBackend(tmp_path / "cache", 64 << 20)
    archive = DiskBackend(tmp_path / "archive", 1 << 30, name="archive")
    return TieredCacheManager([memory, disk, archive], index)


def payload(n: int, size: int = 50_000) -> bytes:
    return (f"payload {n} ".encode() * (size // 8 + 1))[:size]


def test_add_writes_through_memory_and_disk(tiers: TieredCacheManager) -> None:
    data = payload(1)
    result = tiers.add([data])
    assert result.cid == import_file([data]).cid
    assert tiers.whereis(result.cid) == ["memory", "disk"]
    assert tiers.get_bytes(result.cid) == data
    record = tiers.index.content(result.cid)
    assert record is not None and record.size == len(data) and record.profile


def test_corrupt_disk_copy_is_refused_and_next_tier_serves(tiers: TieredCacheManager) -> None:
    data = payload(2)
    cid = tiers.add([data], to=["disk", "archive"]).cid
    disk = tiers.tier("disk")
    assert isinstance(disk, DiskBackend)
    path = disk.path_for(cid)
    path.write_bytes(b"X" + data[1:])
    assert tiers.get_bytes(cid) == data
    assert path.read_bytes() == data  # refused, deleted, re-warmed from the archive
    assert [loc.backend for loc in tiers.index.locations(cid)] == ["archive", "disk"]


def test_missing_file_is_a_miss_that_corrects_the_index(tiers: TieredCacheManager) -> None:
    cid = tiers.add([payload(3)], to=["disk"]).cid
    disk = tiers.tier("disk")
    assert isinstance(disk, DiskBackend)
    disk.path_for(cid).unlink()
    with pytest.raises(ContentNotFoundError, match="disk: not found"):
        tiers.get_bytes(cid)
    assert tiers.index.locations(cid) == []


def test_remote_hit_warms_disk_then_memory_on_second_access(tiers: TieredCacheManager) -> None:
    data = payload(4)
    cid = tiers.add([data], to=["archive"]).cid
    assert tiers.whereis(cid) == ["archive"]
    assert tiers.get_bytes(cid) == data
    assert tiers.whereis(cid) == ["disk", "archive"]
    assert tiers.get_bytes(cid) == data
    assert tiers.whereis(cid) == ["memory", "disk", "archive"]


def test_unindexed_copy_is_found_by_probing_and_recorded(tiers: TieredCacheManager) -> None:
    data = payload(5)
    cid = tiers.add([data], to=["archive"]).cid
    tiers.index.drop(cid)
    assert tiers.get_bytes(cid) == data
    assert {loc.backend for loc in tiers.index.locations(cid)} == {"archive", "disk"}


def test_down_tier_is_skipped_and_backed_off(tmp_path: Path, index: MetadataIndex) -> None:
    down = DownBackend()
    archive = DiskBackend(tmp_path / "archive", name="archive")
    tiers = TieredCacheManager(
        [DiskBackend(tmp_path / "cache"), down, archive], index, TierPolicy(backoff_s=60)
    )
    data = payload(6)
    cid = tiers.add([data], to=["archive"]).cid
    index.record(cid, "down", "somewhere")
    assert b"".join(tiers.get(cid)) == data
    assert down.calls == 1 and tiers.breaker.is_open("down")
    tiers.tier("disk").delete(cid)
    assert tiers.get_bytes(cid) == data
    assert down.calls == 1  # backed off: not asked again


def test_stream_read_of_a_multi_block_file_with_storacha_profile(
    tiers: TieredCacheManager,
) -> None:
    data = os.urandom(3 << 20)
    cid = tiers.add([data[:1000], data[1000:]], profile=STORACHA, to=["archive"]).cid
    assert cid.version == 1
    assert b"".join(tiers.get(cid)) == data


def test_put_with_a_wrong_cid_stores_nothing(tiers: TieredCacheManager) -> None:
    cid = import_file([b"right"]).cid
    with pytest.raises(ContentMismatchError):
        tiers.put(cid, [b"wrong"])
    assert tiers.whereis(cid) == []
    tiers.put(cid, [b"right"])
    assert tiers.whereis(cid) == ["memory", "disk"]


def test_eviction_keeps_the_last_copy_of_pinned_content(
    tmp_path: Path, index: MetadataIndex
) -> None:
    disk = DiskBackend(tmp_path / "small", capacity_bytes=200_000)
    tiers = TieredCacheManager([disk], index, TierPolicy(put_to=("disk",)))
    kept = tiers.add([payload(100)], pinned=True).cid
    others = [tiers.add([payload(n)]).cid for n in range(10)]
    assert disk.has(kept) and tiers.whereis(kept) == ["disk"]
    assert disk.used_bytes() <= 200_000
    on_disk = [c for c in others if disk.has(c)]
    assert 0 < len(on_disk) < len(others)
    assert {c for c in others if tiers.whereis(c)} == set(on_disk)  # index follows evictions


def test_remove_refuses_the_last_copy_of_pinned_content(tiers: TieredCacheManager) -> None:
    cid = tiers.add([payload(7)], to=["disk", "archive"], pinned=True).cid
    assert tiers.remove(cid, ["disk"]) == ["disk"]
    with pytest.raises(LastCopyError):
        tiers.remove(cid, ["archive"])
    assert tiers.whereis(cid) == ["memory", "archive"] or tiers.whereis(cid) == ["archive"]
    tiers.remove(cid, ["archive"], force=True)
    assert "archive" not in tiers.whereis(cid)


def test_access_statistics_are_flushed_in_bulk(tiers: TieredCacheManager) -> None:
    cid = tiers.add([payload(8)]).cid
    for _ in range(3):
        tiers.get_bytes(cid)
    record = tiers.index.content(cid)
    assert record is not None and record.access_count == 0  # buffered
    tiers.close()
    record = tiers.index.content(cid)
    assert record is not None and record.access_count == 3 and record.last_access


def test_disk_stamp_skips_rehash_until_the_file_changes(
    tmp_path: Path, index: MetadataIndex
) -> None:
    disk = DiskBackend(tmp_path / "cache")
    policy = TierPolicy(put_to=("disk",), trust_disk_stamps=True)
    trusting = TieredCacheManager([disk], index, policy)
    data = payload(9)
    cid = trusting.add([data]).cid
    path = disk.path_for(cid)
    [loc] = index.locations(cid)
    assert loc.stamp == DiskBackend.stamp(path)
    st = path.stat()
    path.write_bytes(b"Z" + data[1:])  # same size; then hide the rewrite's mtime
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert trusting.get_bytes(cid) != data  # a stamp cannot see silent rot...
    strict = TieredCacheManager([disk], index, TierPolicy())  # the default re-hashes
    with pytest.raises(ContentNotFoundError, match="disk: mismatch"):
        strict.get_bytes(cid)  # ...a re-hash does, and drops the copy
    assert not path.exists()


def test_remote_reads_report_progress_to_subscribers(tiers: TieredCacheManager) -> None:
    events: list[tuple[str, object]] = []

    class Recorder(BaseSubscriber):
        def on_start(self, key: str, total: int | None, **kwargs: Any) -> None:
            events.append(("start", key))

        def on_progress(self, key: str, nbytes: int, **kwargs: Any) -> None:
            events.append(("progress", nbytes))

        def on_done(self, key: str, error: BaseException | None, **kwargs: Any) -> None:
            events.append(("done", error))

    data = os.urandom(3 << 20)
    cid = tiers.add([data], to=["archive"]).cid
    tiers.subscribers.append(Recorder())
    assert tiers.get_bytes(cid) == data
    assert events[0] == ("start", str(cid)) and events[-1] == ("done", None)
    assert sum(n for kind, n in events if kind == "progress") == len(data)


def test_add_while_disk_is_backed_off_spools_elsewhere_and_still_commits(
    tiers: TieredCacheManager,
) -> None:
    tiers.breaker.trip("disk", "test: pretend the disk failed a moment ago")
    data = payload(10)
    cid = tiers.add([data], to=["disk", "archive"]).cid
    disk = tiers.tier("disk")
    assert isinstance(disk, DiskBackend)
    assert disk.path_for(cid).read_bytes() == data
    assert list(disk.tmp_dir.iterdir()) == []
    assert tiers.whereis(cid) == ["disk", "archive"]


def test_threads_share_one_manager(tmp_path: Path, index: MetadataIndex) -> None:
    from concurrent.futures import ThreadPoolExecutor

    disk = DiskBackend(tmp_path / "cache", capacity_bytes=400_000)
    tiers = TieredCacheManager([MemoryBackend(200_000), disk], index)
    items = [payload(n, 20_000) for n in range(30)]
    cids = [import_file([item]).cid for item in items]

    def work(seed: int) -> None:
        for step in range(60):
            n = (seed * 7 + step * 13) % len(items)
            if step % 3 == 0:
                tiers.add([items[n]])
            elif step % 3 == 1:
                with contextlib.suppress(ContentNotFoundError):  # removed by another thread
                    assert tiers.get_bytes(cids[n]) == items[n]
            else:
                tiers.remove(cids[n], ["disk"])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert set(index.cids_in("disk")) == {e.key for e in disk.entries()}
