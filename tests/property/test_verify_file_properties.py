"""Properties of the whole-file checks a disk read uses (``content.verify``).

``PARALLEL_FROM`` is lowered so small examples take the parallel leaf-hasher paths too.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content import verify
from ipfs_kit_py.content.cid import RAW, make_cid
from ipfs_kit_py.content.unixfs import ImportProfile, import_file
from ipfs_kit_py.errors import ContentMismatchError

profiles = st.builds(
    ImportProfile,
    chunk_size=st.sampled_from([1, 7, 64, 1000]),
    raw_leaves=st.booleans(),
    cid_version=st.sampled_from([0, 1]),
    max_links=st.sampled_from([2, 3, 174]),
)
SETTINGS = settings(max_examples=60, deadline=None)


@pytest.fixture(autouse=True)
def _small_parallel_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify, "PARALLEL_FROM", 256)


def _file(data: bytes) -> io.BufferedReader:
    f = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the caller's with)
    f.write(data)
    f.seek(0)
    return f  # type: ignore[return-value]


@SETTINGS
@given(data=st.binary(max_size=3000), profile=profiles, known=st.booleans())
def test_intact_bytes_pass_every_check(data: bytes, profile: ImportProfile, known: bool) -> None:
    cid = import_file(io.BytesIO(data), profile).cid
    guessable = profile in verify.candidate_profiles(cid)  # else the index must say
    given_profile = None if guessable and not known else profile
    verify.verify_bytes(data, cid, given_profile)
    with _file(data) as f:
        assert verify.verify_seekable(f, cid, given_profile) == len(data)
        assert verify.read_verified(f, cid, given_profile) == data


@SETTINGS
@given(
    data=st.binary(min_size=1, max_size=3000),
    profile=profiles,
    at=st.integers(min_value=0),
    cut=st.booleans(),
)
def test_any_changed_byte_or_truncation_is_a_mismatch(
    data: bytes, profile: ImportProfile, at: int, cut: bool
) -> None:
    cid = import_file(io.BytesIO(data), profile).cid
    at %= len(data)
    damaged = data[:at] if cut else data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
    with pytest.raises(ContentMismatchError):
        verify.verify_bytes(damaged, cid, profile)
    with _file(damaged) as f, pytest.raises(ContentMismatchError):
        verify.verify_seekable(f, cid, profile)
    with _file(damaged) as f, pytest.raises(ContentMismatchError):
        verify.read_verified(f, cid, None)


@SETTINGS
@given(data=st.binary(max_size=2000))
def test_a_raw_cid_is_checked_by_its_hash(data: bytes) -> None:
    import hashlib

    cid = make_cid(RAW, hashlib.sha256(data).digest())
    with _file(data) as f:
        assert verify.read_verified(f, cid) == data
    with _file(data + b"x") as f, pytest.raises(ContentMismatchError):
        verify.verify_seekable(f, cid)


def test_a_large_regular_file_is_verified_by_the_parallel_hasher(tmp_path: Path) -> None:
    data = bytes(range(256)) * 40_000  # 10 MB: many parallel parts of 256 KiB chunks
    path = tmp_path / "big"
    path.write_bytes(data)
    cid = import_file(path).cid
    with path.open("rb") as f:
        assert verify.verify_seekable(f, cid) == len(data)
        assert verify.read_verified(f, cid) == data
