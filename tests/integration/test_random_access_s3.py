"""Verified random access to files held as S3 objects (SeaweedFS): layouts, ranged GETs."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.servers.seaweedfs import SeaweedS3, boto_client

from ipfs_kit_py.backends.s3.backend import S3Backend, layout_key, object_key
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, KUBO_DEFAULT, STORACHA, ImportProfile
from ipfs_kit_py.errors import ContentMismatchError
from ipfs_kit_py.ipfs_kit import ipfs_kit

SIZE = 5 * 1024 * 1024 + 777


def open_kit(server: SeaweedS3, tmp: Path, prefix: str) -> ipfs_kit:
    return ipfs_kit(
        cache_dir=tmp / "cache",
        index_path=tmp / "index.sqlite3",
        s3=server.s3_args(key_prefix=prefix),
        put_to=["s3"],
    )


class Counted:
    """Counts the S3 requests a kit's S3 tier makes for ranges and layouts (real calls)."""

    def __init__(self, kit: ipfs_kit) -> None:
        self.calls: list[tuple[str, int]] = []
        backend = kit.tiers.tier("s3")
        assert isinstance(backend, S3Backend)
        self.backend = backend
        read_range, get_layout = backend.read_range, backend.get_layout

        def counted_range(cid: Any, start: int, end: int) -> Iterator[bytes]:
            self.calls.append(("range", end - start))
            return read_range(cid, start, end)

        def counted_layout(cid: Any, max_bytes: int) -> bytes | None:
            data = get_layout(cid, max_bytes)
            self.calls.append(("layout", len(data or b"")))
            return data

        backend.read_range = counted_range  # type: ignore[method-assign]
        backend.get_layout = counted_layout  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def stored(
    seaweedfs: SeaweedS3, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[str, bytes]]:
    """Files added to S3 only with several profiles, layouts built by a first read."""
    tmp = tmp_path_factory.mktemp("ra-s3")
    prefix = f"ra-{uuid.uuid4().hex[:8]}/ipfs/"
    profiles: dict[str, ImportProfile] = {
        "kubo": KUBO_DEFAULT,
        "kubo-v1": KUBO_CID_V1,
        "storacha": STORACHA,
        "tiny": ImportProfile(chunk_size=4096, max_links=8, raw_leaves=True, cid_version=1),
    }
    out: dict[str, tuple[str, bytes]] = {}
    with open_kit(seaweedfs, tmp, prefix) as kit:
        for name, profile in profiles.items():
            data = random.Random(name).randbytes(SIZE)
            added = kit.add(data, to=["s3"], profile=profile)
            assert kit.whereis(added.cid) == ["s3"]
            with kit.open(added.cid) as f:  # the first range read builds the layout
                f.seek(SIZE // 2)
                assert f.read(10) == data[SIZE // 2 : SIZE // 2 + 10]
            out[name] = (str(added.cid), data)
    out["_prefix"] = (prefix, b"")
    return out


@pytest.mark.parametrize("profile", ["kubo", "kubo-v1", "storacha", "tiny"])
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(start=st.integers(0, SIZE), length=st.integers(1, 1_500_000))
def test_a_range_costs_the_layout_and_one_ranged_get(
    seaweedfs: SeaweedS3,
    tmp_path: Path,
    stored: dict[str, tuple[str, bytes]],
    profile: str,
    start: int,
    length: int,
) -> None:
    cid, data = stored[profile]
    index = tmp_path / uuid.uuid4().hex  # a fresh kit: nothing cached in the process
    index.mkdir()
    with open_kit(seaweedfs, index, stored["_prefix"][0]) as kit:
        counted = Counted(kit)
        with kit.open(cid) as f:
            f.seek(start)
            assert f.read(length) == data[start : start + length]
        kinds = [kind for kind, _ in counted.calls]
        wanted = min(start + length, SIZE) - start
        if wanted > 0:
            assert kinds == ["layout", "range"]  # two round trips
            fetched = counted.calls[1][1]
            chunk = {"storacha": 1 << 20, "tiny": 4096}.get(profile, 262144)
            assert wanted <= fetched < wanted + 2 * chunk  # one leaf at most on each side
        else:
            assert kinds == ["layout"]


def test_a_corrupted_object_fails_the_damaged_range_only(
    seaweedfs: SeaweedS3, tmp_path: Path, stored: dict[str, tuple[str, bytes]]
) -> None:
    prefix = f"ra-bad-{uuid.uuid4().hex[:8]}/ipfs/"
    data = random.Random(4).randbytes(2 * 1024 * 1024)
    with open_kit(seaweedfs, tmp_path, prefix) as kit:
        cid = kit.add(data, to=["s3"], profile=KUBO_CID_V1).cid
        with kit.open(cid) as f:
            assert f.read(10) == data[:10]  # builds and stores the layout
        client = boto_client(seaweedfs)
        key = object_key(cid, prefix)
        damaged = bytearray(data)
        damaged[1_000_000] ^= 0xFF
        client.put_object(Bucket=seaweedfs.bucket, Key=key, Body=bytes(damaged))
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    with open_kit(seaweedfs, fresh, prefix) as kit:
        with kit.open(cid) as f:
            f.seek(999_000)
            with pytest.raises(ContentMismatchError):
                f.read(2000)
            f.seek(0)
            assert f.read(500_000) == data[:500_000]  # leaves before the damage are good
        with pytest.raises(ContentMismatchError):
            b"".join(kit.iter_range(cid))
        with pytest.raises(ContentMismatchError):
            list(kit.reader.iter_blocks(cid))


def test_iter_blocks_from_s3_rebuild_the_range(
    seaweedfs: SeaweedS3, tmp_path: Path, stored: dict[str, tuple[str, bytes]]
) -> None:
    from ipfs_kit_py.content.random_access import VerifiedBlocks, iter_range
    from ipfs_kit_py.content.verify import verify_block

    cid, data = stored["kubo"]
    with open_kit(seaweedfs, tmp_path, stored["_prefix"][0]) as kit:
        got = dict(kit.reader.iter_blocks(cid, 1_000_000, 2_000_000))
    for key, block in got.items():
        verify_block(key, block)

    class Only:
        name = "only"

        def get_block(self, c: Any) -> bytes:
            return got[c]

    piece = b"".join(iter_range(cid, VerifiedBlocks([Only()]), 1_000_000, 2_000_000))
    assert piece == data[1_000_000:2_000_000]


def test_layouts_live_beside_the_content_prefix(
    seaweedfs: SeaweedS3, tmp_path: Path, stored: dict[str, tuple[str, bytes]]
) -> None:
    prefix = stored["_prefix"][0]
    cid = stored["kubo"][0]
    client = boto_client(seaweedfs)
    from ipfs_kit_py.content.cid import parse_cid

    key = layout_key(parse_cid(cid), prefix)
    assert key.startswith(prefix.rstrip("/") + ".dag/")
    head = client.head_object(Bucket=seaweedfs.bucket, Key=key)
    assert 0 < head["ContentLength"] < 10_000  # a few internal nodes for 5 MB
    with open_kit(seaweedfs, tmp_path, prefix) as kit:
        backend = kit.tiers.tier("s3")
        assert isinstance(backend, S3Backend)
        listed = {str(held[0]) for held in backend.holdings()}
        assert all(not name.endswith(".dag") and "/" not in name for name in listed)
        assert len(listed) == 4


@pytest.mark.parametrize("profile", [KUBO_DEFAULT, KUBO_CID_V1, STORACHA], ids=lambda p: p.key())
def test_whole_downloads_verify_leaf_digests_hashed_per_part(
    seaweedfs: SeaweedS3, tmp_path: Path, profile: ImportProfile
) -> None:
    """Parallel parts each hash their own leaves; one flipped byte still fails the file."""
    from ipfs_kit_py.backends.s3.config import S3Config
    from ipfs_kit_py.content.unixfs import import_file

    data = random.Random(profile.key()).randbytes(20 * 1024 * 1024 + 4321)  # 3 parts
    cid = import_file([data], profile).cid
    config = S3Config.from_sources(seaweedfs.s3_args(key_prefix=f"dl-{uuid.uuid4().hex[:8]}/"))
    with S3Backend(config) as backend:
        backend.put(cid, [data], profile=profile)
        backend.download(cid, tmp_path / "good", profile=profile)
        assert (tmp_path / "good").read_bytes() == data
        damaged = bytearray(data)
        damaged[17 * 1024 * 1024 + 5] ^= 1
        client = boto_client(seaweedfs)
        key = backend.key_for(cid)
        metadata = client.head_object(Bucket=seaweedfs.bucket, Key=key)["Metadata"]
        client.put_object(Bucket=seaweedfs.bucket, Key=key, Body=bytes(damaged), Metadata=metadata)
        with pytest.raises(ContentMismatchError):
            backend.download(cid, tmp_path / "bad", profile=profile)
        assert not (tmp_path / "bad").exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["good"]  # no temp file left
