"""Verification from leaf digests hashed part by part (parallel S3 downloads)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.hashing import LeafHasher
from ipfs_kit_py.content.unixfs import ImportProfile, import_file
from ipfs_kit_py.content.verify import ContentVerifier
from ipfs_kit_py.errors import ContentMismatchError
from tests.unit.small_dags import PROFILES


def digests_by_parts(
    data: bytes, profile: ImportProfile, part: int, rng: random.Random
) -> list[list[tuple[int, bytes]]]:
    """Each part's leaf digests, its bytes fed to the hasher in random pieces."""
    out = []
    for start in range(0, len(data), part):
        end = min(len(data), start + part)
        hasher = LeafHasher(start, end, len(data), profile.chunk_size, profile.raw_leaves)
        pos = start
        while pos < end:
            step = rng.randint(1, 3000)
            hasher.update(data[pos : min(end, pos + step)])
            pos += step
        out.append(hasher.digests)
    return out


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(0, 40_000),
    profile=st.sampled_from(PROFILES),
    parts=st.integers(1, 6),
    seed=st.integers(0, 1000),
    flip=st.booleans(),
)
def test_digests_fed_part_by_part_verify_exactly_as_bytes_do(
    size: int, profile: ImportProfile, parts: int, seed: int, flip: bool
) -> None:
    rng = random.Random(seed)
    data = rng.randbytes(size)
    cid = import_file([data], profile).cid
    verifier = ContentVerifier(cid, profile)
    if cid.codec.name == "raw":  # one raw leaf: its CID is its hash, nothing to plan
        assert verifier.leaf_plan() is None
        return
    assert verifier.leaf_plan() == (profile.chunk_size, profile.raw_leaves)
    received = bytearray(data)
    if flip and size:
        received[rng.randrange(size)] ^= 1
    for leaves in digests_by_parts(bytes(received), profile, parts * profile.chunk_size, rng):
        verifier.add_leaf_digests(leaves)
    if flip and size:
        with pytest.raises(ContentMismatchError):
            verifier.finish()
    else:
        verifier.finish()
        assert verifier.size == size


def test_no_leaf_plan_without_one_known_profile() -> None:
    cid = import_file([b"x" * 5000], PROFILES[0]).cid
    assert ContentVerifier(cid).leaf_plan() is None  # several candidate profiles
    verifier = ContentVerifier(cid, PROFILES[0])
    verifier.update(b"x")
    assert verifier.leaf_plan() is None  # bytes already fed
    with pytest.raises(ValueError):
        LeafHasher(10, 20, 100, 1024, True)
