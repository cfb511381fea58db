"""A fault stays where it happened: input and per-object faults never back off a tier."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multiformats import CID as MfCID
from multiformats import multihash

from ipfs_kit_py import errors
from ipfs_kit_py.backends.base import BaseBackend, StoredObject
from ipfs_kit_py.backends.disk import DiskBackend
from ipfs_kit_py.backends.memory import MemoryBackend
from ipfs_kit_py.content.cid import CID, parse_cid
from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.ipfs_kit import ipfs_kit
from ipfs_kit_py.tiers.manager import TieredCacheManager
from ipfs_kit_py.tiers.policy import TierPolicy, is_availability_fault


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[ipfs_kit]:
    with ipfs_kit(cache_dir=tmp_path / "cache", index_path=tmp_path / "index.sqlite3") as k:
        yield k


def absurd_cid() -> str:
    """A CID whose key is far longer than any file name may be (ENAMETOOLONG)."""
    return str(MfCID("base32", 1, "raw", multihash.wrap(os.urandom(300), "identity")))


def test_a_name_too_long_does_not_back_off_the_disk(kit: ipfs_kit) -> None:
    good = kit.add(b"good bytes", to=["disk"]).cid
    # past the CID length bound (256 bytes): refused as input before any tier is asked
    with pytest.raises(errors.InvalidCIDError):
        kit.cat(absurd_cid())
    assert not kit.tiers.breaker.is_open("disk")
    assert kit.cat(good) == b"good bytes"


def test_a_directory_where_an_object_should_be_stays_with_that_object(kit: ipfs_kit) -> None:
    good = kit.add(b"still readable", to=["disk"]).cid
    blocked = kit.add(b"blocked by a directory", to=["disk"]).cid
    disk = kit.tiers.disk
    assert disk is not None
    path = disk.path_for(parse_cid(blocked))
    path.unlink()
    path.mkdir()
    for _ in range(3):
        with pytest.raises(errors.ContentNotFoundError):
            kit.cat(blocked)
    assert not kit.tiers.breaker.is_open("disk")
    assert kit.cat(good) == b"still readable"
    assert kit.add(b"a new write", to=["disk"]).stored == ("disk",)


class FailingBackend(BaseBackend):
    """A remote tier whose every read raises ``error`` (faults a real server gives only
    on one object at a time: a refused key, an object changed mid-read)."""

    def __init__(self, name: str, error: Exception) -> None:
        self.name, self.error, self.calls = name, error, 0

    def has(self, cid: CID) -> bool:
        return True

    def stat(self, cid: CID) -> StoredObject:
        return StoredObject(cid, 0, "x")

    def get(self, cid: CID) -> Iterator[bytes]:
        self.calls += 1
        raise self.error

    def put(
        self,
        cid: CID,
        chunks: Iterable[bytes],
        size: int | None = None,
        *,
        profile: ImportProfile | None = None,
    ) -> StoredObject:
        raise self.error

    def delete(self, cid: CID) -> None:
        return None


PER_OBJECT = [
    errors.BackendError("s3://b/k changed while it was being read (ETag mismatch)"),
    errors.AuthenticationError("refused"),
    errors.ProtocolError("bad receipt"),
    errors.ContentMismatchError("bad bytes"),
]


@pytest.mark.parametrize("error", PER_OBJECT, ids=lambda e: type(e).__name__)
def test_per_object_faults_of_a_remote_tier_never_open_the_breaker(
    tmp_path: Path, error: Exception
) -> None:
    remote = FailingBackend("remote", error)
    with MetadataIndex(tmp_path / "i.sqlite3") as index:
        tiers = TieredCacheManager(
            [MemoryBackend(1 << 20), DiskBackend(tmp_path / "c"), remote], index, TierPolicy()
        )
        cid = tiers.add([b"on disk only"], to=["disk"]).cid
        missing = tiers.add([b"nowhere"], to=["memory"]).cid
        for _ in range(2):
            with pytest.raises(errors.ContentNotFoundError):
                tiers.get_bytes(missing_from_memory(tiers, missing))
        assert remote.calls >= 2 and not tiers.breaker.is_open("remote")
        assert tiers.get_bytes(cid) == b"on disk only"


def missing_from_memory(tiers: TieredCacheManager, cid: CID) -> CID:
    assert tiers.memory is not None
    tiers.memory.delete(cid)
    return cid


def test_an_unreachable_remote_tier_does_open_the_breaker(tmp_path: Path) -> None:
    remote = FailingBackend("remote", errors.BackendUnavailableError("down"))
    with MetadataIndex(tmp_path / "i.sqlite3") as index:
        tiers = TieredCacheManager([DiskBackend(tmp_path / "c"), remote], index, TierPolicy())
        cid = tiers.add([b"x"], to=["disk"]).cid
        tiers.tier("disk").delete(cid)
        with pytest.raises(errors.ContentNotFoundError):
            tiers.get_bytes(cid)
        assert tiers.breaker.is_open("remote")


ERROR_TYPES = [
    cls
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, errors.IpfsKitError)
]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([*ERROR_TYPES, OSError, IsADirectoryError, ValueError]))
def test_only_unavailability_is_an_availability_fault(kind: type[Exception]) -> None:
    exc = kind("message")
    assert is_availability_fault(exc) == isinstance(exc, errors.BackendUnavailableError)
