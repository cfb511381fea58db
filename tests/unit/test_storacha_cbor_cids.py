"""dag-cbor CIDs (tag 42) decode through the fast path to exactly what multiformats'
``CID.decode`` makes, and refuse exactly what it refuses."""

from __future__ import annotations

import dag_cbor.decoding
from hypothesis import given, settings
from hypothesis import strategies as st
from multiformats import CID

from ipfs_kit_py.backends.storacha import _cbor
from ipfs_kit_py.content.cid import make_cid

CODECS = [0x55, 0x70, 0x71, 0x0129, 0x0202, 0x72]


def test_the_decoder_uses_the_fast_path() -> None:
    assert dag_cbor.decoding.CID is _cbor._FastCID  # type: ignore[attr-defined]


def same(data: bytes) -> None:
    try:
        want: CID | None = CID.decode(data)
        _ = want.raw_digest if want is not None else None
    except Exception as exc:
        want, refused = None, type(exc)
    try:
        got: CID | None = _cbor._FastCID.decode(data)
    except Exception:
        assert want is None, data.hex()
        return
    assert want is not None, f"accepted what multiformats refuses ({refused}): {data.hex()}"
    assert type(got) is type(want) and got == want and str(got) == str(want)
    assert got.version == want.version and got.codec == want.codec and got.base == want.base
    assert bytes(got) == bytes(want) and got.raw_digest == want.raw_digest


@settings(max_examples=300, deadline=None)
@given(
    codec=st.sampled_from(CODECS),
    digest=st.binary(min_size=32, max_size=32),
    v0=st.booleans(),
)
def test_sha256_cids_decode_the_same(codec: int, digest: bytes, v0: bool) -> None:
    cid = make_cid(0x70 if v0 else codec, digest, 0 if v0 else 1)
    same(bytes(cid))
    block = _cbor.encode({"root": cid, "shards": [cid], "n": 1})
    decoded = _cbor.decode(block)
    assert type(decoded["root"]) is CID and decoded["root"] == CID.decode(bytes(cid))
    assert _cbor.encode(decoded) == block


@settings(max_examples=400, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=80),
        st.tuples(
            st.sampled_from([b"\x01", b"\x12\x20", b"\x01\x55\x12\x20", b"\x01\x71\x00"]),
            st.binary(max_size=40),
        ).map(lambda t: t[0] + t[1]),
        st.binary(min_size=250, max_size=300).map(lambda b: b"\x01\x55\x00" + b),
    )
)
def test_any_bytes_decode_or_refuse_the_same(data: bytes) -> None:
    same(data)
