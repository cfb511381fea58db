"""DiskBackend: content-addressed layout, atomic writes, LRU eviction plans."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ipfs_kit_py.backends.base import Backend
from ipfs_kit_py.backends.disk import DiskBackend, default_cache_dir
from ipfs_kit_py.content.cid import RAW, cid_key, sha256_cid
from ipfs_kit_py.errors import ContentNotFoundError


def test_is_a_backend_with_fanout_layout(tmp_path: Path) -> None:
    disk = DiskBackend(tmp_path)
    assert isinstance(disk, Backend)
    cid = sha256_cid(RAW, b"data")
    obj = disk.put(cid, [b"da", b"ta"])
    key = cid_key(cid)
    assert Path(obj.locator) == tmp_path / "objects" / key[-3:-1] / key
    assert b"".join(disk.get(cid)) == b"data"
    assert disk.stat(cid).size == 4 and disk.has(cid)
    disk.delete(cid)
    disk.delete(cid)
    with pytest.raises(ContentNotFoundError):
        list(disk.get(cid))
    with pytest.raises(ContentNotFoundError):
        disk.stat(cid)


def test_failed_write_leaves_nothing_visible(tmp_path: Path) -> None:
    disk = DiskBackend(tmp_path)
    cid = sha256_cid(RAW, b"never")

    def broken() -> object:
        yield b"partial"
        raise OSError("source died")

    with pytest.raises(OSError):
        disk.put(cid, broken())
    assert not disk.has(cid)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_staging_is_invisible_until_commit(tmp_path: Path) -> None:
    disk = DiskBackend(tmp_path)
    cid = sha256_cid(RAW, b"abc")
    disk.put(cid, [b"abc"])
    with disk.stage() as staging:
        staging.write(b"new bytes")
        assert b"".join(disk.get(cid)) == b"abc"  # the old object is still whole
        reader = disk.open(cid)
        disk.commit(staging, cid)
    assert reader.read() == b"abc"  # a reader keeps the inode it opened
    reader.close()
    assert b"".join(disk.get(cid)) == b"new bytes"


def test_eviction_plan_is_lru_and_only_over_capacity(tmp_path: Path) -> None:
    disk = DiskBackend(tmp_path, capacity_bytes=1000)
    cids = [sha256_cid(RAW, bytes([n])) for n in range(4)]
    for n, cid in enumerate(cids):
        disk.put(cid, [bytes(200)])
        os.utime(disk.path_for(cid), (1000 + n, 1000 + n))
    assert disk.eviction_plan(100) == ([], 0)
    os.utime(disk.path_for(cids[0]), None)  # read recently
    entries, to_free = disk.eviction_plan(400)
    assert to_free == 800 + 400 - 900
    assert [e.key for e in entries][:3] == [cid_key(c) for c in cids[1:]]
    assert disk.used_bytes() == 800


def test_open_sets_atime_and_keeps_the_stamp(tmp_path: Path) -> None:
    disk = DiskBackend(tmp_path)
    cid = sha256_cid(RAW, b"x")
    disk.put(cid, [b"x"])
    path = disk.path_for(cid)
    os.utime(path, (1, 1))
    stamp = DiskBackend.stamp(path)
    disk.open(cid).close()
    assert path.stat().st_atime > 1 and path.stat().st_mtime == 1
    assert DiskBackend.stamp(path) == stamp
    [entry] = disk.entries()
    assert entry.accessed > 1
    path.write_bytes(b"y")
    assert DiskBackend.stamp(path) != stamp


def test_clean_tmp_and_default_dir(tmp_path: Path) -> None:
    disk = DiskBackend(tmp_path)
    staging = disk.stage()
    staging.file.close()
    os.utime(staging.path, (1, 1))
    assert disk.clean_tmp() == 1
    assert default_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "ipfs-kit"


def test_usage_estimate_avoids_scans_until_full_or_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ipfs_kit_py.backends import disk as disk_module

    disk = DiskBackend(tmp_path, capacity_bytes=1000)
    assert disk.eviction_plan(0) == ([], 0)  # first call scans: empty
    mine = sha256_cid(RAW, b"mine")
    disk.put(mine, [bytes(300)])
    other = DiskBackend(tmp_path, capacity_bytes=1000)  # another process, same directory
    other.put(sha256_cid(RAW, b"other"), [bytes(600)])
    assert disk.eviction_plan(50) == ([], 0)  # estimate (300) has room: no scan
    entries, to_free = disk.eviction_plan(800)  # estimate says full: rescan sees 900
    assert to_free == 900 + 800 - 900 and len(entries) == 2
    disk.delete(mine)
    monkeypatch.setattr(disk_module, "RESCAN_S", 0.0)
    other.put(sha256_cid(RAW, b"third"), [bytes(350)])  # unseen by the estimate (600)
    assert disk.eviction_plan(100)[1] == 950 + 100 - 900  # stale estimate: rescanned
