"""The light ``Cid`` of the read path: what it accepts, prints and converts to."""

from __future__ import annotations

import hashlib

import pytest
from multiformats import CID

from ipfs_kit_py.content.cid import (
    DAG_PB,
    RAW,
    Cid,
    full_cid,
    is_cid,
    make_cid,
    parse_cid,
    read_cid,
)
from ipfs_kit_py.errors import InvalidCIDError

V0 = "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR"
V1_RAW = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
INLINE = "bafkqablimvwgy3y"  # raw, identity: the five bytes "hello"


@pytest.mark.parametrize("text", [V0, V1_RAW, INLINE, f"  {V0}\n"])
def test_common_forms_are_light_and_print_as_given(text: str) -> None:
    cid = read_cid(text)
    assert isinstance(cid, Cid) and str(cid) == text.strip()
    assert cid == parse_cid(text) and parse_cid(text) == cid
    assert full_cid(cid) == parse_cid(text) and is_cid(cid)


def test_the_parts_read_as_multiformats_reads_them() -> None:
    v0, inline = read_cid(V0), read_cid(INLINE)
    assert (v0.version, v0.codec.code, v0.hashfun.name) == (0, DAG_PB, "sha2-256")
    assert (inline.codec.name, inline.hashfun.code, inline.raw_digest) == ("raw", 0, b"hello")
    assert repr(v0) == repr(parse_cid(V0)) and bytes(inline.digest) == bytes(
        parse_cid(INLINE).digest
    )


@pytest.mark.parametrize(
    "text",
    [
        "zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA",  # base58btc v1: multiformats
        "BAFKREIGH2AKISCAILDCQABSYG3DFR6CHU3FGPREGIYMSCK7E7AQA4S52ZY",  # upper base32
        str(CID("base32", 1, "raw", ("sha2-512", hashlib.sha512(b"x").digest()))),
    ],
)
def test_other_forms_take_multiformats(text: str) -> None:
    cid = read_cid(text)
    assert not isinstance(cid, Cid) and cid == parse_cid(text)


@pytest.mark.parametrize("bad", ["", "Qm", V0[:-1] + "0", V1_RAW[:-1] + "9", b"\x01\x55", 12])
def test_refusals_are_parse_cids(bad: object) -> None:
    with pytest.raises(InvalidCIDError):
        read_cid(bad)  # type: ignore[arg-type]


def test_a_cid_is_an_immutable_value() -> None:
    cid = read_cid(V1_RAW)
    assert isinstance(cid, Cid)
    with pytest.raises(AttributeError):
        cid.version = 0
    assert hash(cid) == hash(read_cid(V1_RAW)) and cid != read_cid(V0)
    assert cid == make_cid(RAW, cid.raw_digest)
    assert not is_cid(str(cid)) and not is_cid(bytes(cid))
