"""Bit rot in the disk cache against real S3 (SeaweedFS): refused, and S3 serves."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from tests.servers.seaweedfs import SeaweedS3

from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.ipfs_kit import ipfs_kit

_RUN = uuid.uuid4().hex[:10]


def _rot_in_place(path: Path) -> None:
    """Flip one byte, keeping inode, size and mtime: only a re-hash can tell."""
    st = path.stat()
    with path.open("r+b") as f:
        f.seek(st.st_size // 2)
        byte = f.read(1)
        f.seek(st.st_size // 2)
        f.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _kit(seaweedfs: SeaweedS3, tmp_path: Path) -> ipfs_kit:
    s3 = {**seaweedfs.s3_args(), "key_prefix": f"rot-{tmp_path.name}-{_RUN}/"}
    return ipfs_kit(
        config={}, cache_dir=tmp_path / "cache", index_path=tmp_path / "index.sqlite3", s3=s3
    )


@pytest.mark.parametrize(
    ("size", "profile"),
    [(300_000, None), (9 << 20, None), (5 << 20, ImportProfile(cid_version=1, raw_leaves=True))],
)
def test_rotten_disk_copy_is_refused_marked_and_the_read_falls_through_to_s3(
    seaweedfs: SeaweedS3, tmp_path: Path, size: int, profile: ImportProfile | None
) -> None:
    data = os.urandom(size)
    with _kit(seaweedfs, tmp_path) as kit:
        extra = {"profile": profile} if profile else {}
        cid = kit.add(data, to=["disk", "s3"], **extra).cid
        disk = kit.tiers.disk
        assert disk is not None
        path = disk.path_for(cid)
        assert kit.cat(cid) == data  # verified and stamped
        _rot_in_place(path)
    with _kit(seaweedfs, tmp_path) as kit:  # a new process: nothing in memory
        assert kit.cat(cid) == data  # the disk copy is re-hashed by default: S3 serves
        assert path.read_bytes() == data  # the rotten copy was replaced by S3's bytes
        states = {loc.backend: loc.state for loc in kit.index.locations(cid, include_bad=True)}
        assert states == {"disk": "good", "s3": "good"}


def test_rotten_disk_copy_is_marked_bad_and_deleted_before_s3_serves(
    seaweedfs: SeaweedS3, tmp_path: Path
) -> None:
    data = os.urandom(200_000)
    with _kit(seaweedfs, tmp_path) as kit:
        cid = kit.add(data, to=["disk", "s3"]).cid
        disk = kit.tiers.disk
        assert disk is not None
        _rot_in_place(disk.path_for(cid))
        kit.tiers.policy = type(kit.tiers.policy)(warm_disk=False)  # keep the evidence
        assert kit.cat(cid) == data
        assert not disk.path_for(cid).exists()
        locs = {loc.backend: loc for loc in kit.index.locations(cid, include_bad=True)}
        assert locs["disk"].state == "bad" and "refused" in (locs["disk"].reason or "")
        assert locs["s3"].state == "good"


def test_opting_out_trusts_an_unchanged_stamp(seaweedfs: SeaweedS3, tmp_path: Path) -> None:
    data = os.urandom(100_000)
    with _kit(seaweedfs, tmp_path) as kit:
        cid = kit.add(data, to=["disk", "s3"]).cid
    with ipfs_kit(
        config={},
        cache_dir=tmp_path / "cache",
        index_path=tmp_path / "index.sqlite3",
        verify_disk_reads=False,
    ) as kit:
        disk = kit.tiers.disk
        assert disk is not None
        assert kit.cat(cid) == data
        _rot_in_place(disk.path_for(cid))
        assert kit.cat(cid) != data  # the documented trade of verify_disk_reads = false
