"""The memoized did:key conversions answer as the uncached ones do, and never cache a
refusal."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.storacha import did as didmod
from ipfs_kit_py.backends.storacha.did import Signer, decode_did, did_key_public_key, encode_did
from ipfs_kit_py.errors import ProtocolError


@settings(max_examples=50, deadline=None)
@given(public=st.binary(min_size=32, max_size=32))
def test_round_trips_match_the_uncached_path(public: bytes) -> None:
    data = didmod._PUB_PREFIX + public
    text = decode_did(data)
    assert text == didmod._key_did.__wrapped__(data)
    assert did_key_public_key(text) == didmod._public_key(text) == public
    assert encode_did(text) == data and decode_did(encode_did(text)) == text


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=70).map(lambda t: "did:key:" + t))
def test_a_refused_did_is_refused_every_time(text: str) -> None:
    try:
        want = didmod._public_key(text)
    except ProtocolError:
        for _ in range(2):
            with pytest.raises(ProtocolError):
                did_key_public_key(text)
        return
    assert did_key_public_key(text) == want


def test_a_signer_did_is_its_key() -> None:
    signer = Signer.generate()
    assert did_key_public_key(signer.did) == signer.verifier.public_key
