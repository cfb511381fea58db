from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.cid import DAG_CBOR, DAG_PB, RAW, sha256_cid
from ipfs_kit_py.content.unixfs import (
    KUBO_CID_V1,
    KUBO_DEFAULT,
    STORACHA,
    ImportProfile,
    import_file,
)
from ipfs_kit_py.content.verify import (
    KUBO_V0_RAW_LEAVES,
    KUBO_V1_PB_LEAVES,
    ContentVerifier,
    verify_block,
    verify_stream,
)
from ipfs_kit_py.errors import ContentMismatchError

DATA = random.Random(1).randbytes(1_300_000)


def test_verify_block_accepts_and_refuses() -> None:
    cid = sha256_cid(DAG_CBOR, b"\xa0")
    verify_block(cid, b"\xa0")
    with pytest.raises(ContentMismatchError, match=str(cid)):
        verify_block(cid, b"\xa1")


@pytest.mark.parametrize("profile", [KUBO_DEFAULT, KUBO_CID_V1, STORACHA])
def test_file_roots_verify_with_a_guessed_profile(profile: object) -> None:
    cid = import_file([DATA], profile).cid  # type: ignore[arg-type]
    verifier = ContentVerifier(cid)
    for i in range(0, len(DATA), 99_999):
        verifier.update(DATA[i : i + 99_999])
    verifier.finish()


@settings(max_examples=40, deadline=None)
@given(
    data=st.one_of(st.binary(max_size=3000), st.integers(0, 1_100_000).map(lambda n: b"q" * n)),
    profile=st.sampled_from(
        [KUBO_DEFAULT, KUBO_CID_V1, STORACHA, KUBO_V1_PB_LEAVES, KUBO_V0_RAW_LEAVES]
    ),
)
def test_a_guessed_profile_that_verifies_rebuilds_the_same_root(
    data: bytes, profile: ImportProfile
) -> None:
    # what replicate re-puts with: a profile that cannot yield another root
    cid = import_file([data], profile).cid
    verifier = ContentVerifier(cid)
    verifier.update(data)
    verifier.finish()
    if cid.codec.code == DAG_PB:
        assert verifier.matched is not None
        assert import_file([data], verifier.matched).cid == cid
    else:
        assert verifier.matched is None  # a raw block is its hash: no profile involved


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d[:-1],
        lambda d: d + b"\x00",
        lambda d: d[:500_000] + bytes([d[500_000] ^ 1]) + d[500_001:],
        lambda d: b"",
    ],
)
def test_any_change_is_a_mismatch_naming_the_cid(tamper: object) -> None:
    cid = import_file([DATA], KUBO_DEFAULT).cid
    verifier = ContentVerifier(cid, KUBO_DEFAULT)
    verifier.update(tamper(DATA))  # type: ignore[operator]
    with pytest.raises(ContentMismatchError, match=str(cid)) as info:
        verifier.finish()
    assert info.value.cid == str(cid)


def test_raw_cid_verifies_whole_content() -> None:
    cid = sha256_cid(RAW, DATA)
    assert b"".join(verify_stream(cid, [DATA[:10], DATA[10:]])) == DATA
    with pytest.raises(ContentMismatchError):
        list(verify_stream(cid, [DATA[:-1]]))


def test_verify_stream_raises_only_after_the_last_chunk() -> None:
    cid = sha256_cid(RAW, b"abc")
    stream = verify_stream(cid, [b"ab", b"x"])
    assert next(stream) == b"ab"
    assert next(stream) == b"x"
    with pytest.raises(ContentMismatchError):
        next(stream)
