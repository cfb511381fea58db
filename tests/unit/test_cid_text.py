"""Binary CIDs and their text without multiformats agree with multiformats' CID."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.cid import (
    CAR_CODEC,
    DAG_CBOR,
    DAG_PB,
    RAW,
    cid_text,
    make_cid,
    parse_cid,
    sha256_cid_bytes,
)
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, KUBO_DEFAULT, FileImport, import_file
from ipfs_kit_py.errors import InvalidCIDError

digests = st.binary(min_size=32, max_size=32)


@settings(max_examples=300, deadline=None)
@given(
    digests,
    st.one_of(st.sampled_from([RAW, DAG_PB, DAG_CBOR, CAR_CODEC]), st.integers(0, 2**20)),
)
def test_v1_bytes_and_text_match_multiformats(digest: bytes, codec: int) -> None:
    raw = sha256_cid_bytes(codec, digest, 1)
    try:
        cid = make_cid(codec, digest, 1)
    except Exception:  # a code multiformats does not know: nothing to compare with
        return
    assert raw == bytes(cid)
    assert cid_text(raw) == str(cid) and parse_cid(cid_text(raw)) == cid


@settings(max_examples=300, deadline=None)
@given(digests)
def test_v0_bytes_and_text_match_multiformats(digest: bytes) -> None:
    raw = sha256_cid_bytes(DAG_PB, digest, 0)
    cid = make_cid(DAG_PB, digest, 0)
    assert raw == bytes(cid) and cid_text(raw) == str(cid)
    assert cid_text(raw).startswith("Qm") and len(cid_text(raw)) == 46


def test_the_same_refusals_as_make_cid() -> None:
    with pytest.raises(InvalidCIDError, match="CIDv0"):
        sha256_cid_bytes(RAW, bytes(32), 0)
    with pytest.raises(InvalidCIDError, match="32 bytes"):
        sha256_cid_bytes(RAW, bytes(31), 1)


def test_other_cids_print_through_multiformats() -> None:
    identity = bytes([1, RAW, 0, 3]) + b"abc"  # an identity-hash CID
    assert cid_text(identity) == str(parse_cid(identity))


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from([KUBO_DEFAULT, KUBO_CID_V1]))
def test_file_import_keeps_bytes_until_the_cid_is_asked_for(data: bytes, profile: object) -> None:
    chunks = [data[i : i + 700] for i in range(0, len(data), 700)] or [b""]
    result = import_file(chunks, profile)  # type: ignore[arg-type]
    text = result.cid_text
    assert str(result.cid) == text and result.cid_text == text
    again = FileImport(result.cid, result.size, result.dag_size)  # from a CID object
    assert again == result and hash(again) == hash(result) and text in repr(again)
    assert result.cid == parse_cid(text)
    if len(data) <= 700 and profile is KUBO_CID_V1:
        assert text == str(make_cid(RAW, hashlib.sha256(data).digest(), 1))
