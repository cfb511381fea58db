"""The light ``Cid`` (read path) against multiformats: same accept/reject, same CID, same text."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.cid import (
    CID,
    Cid,
    cid_bytes_key,
    cid_key,
    parse_cid,
    read_cid,
    short_cid,
)
from ipfs_kit_py.content.cidvalue import CODEC_NAMES
from ipfs_kit_py.errors import InvalidCIDError
from tests.property.strategies import cid_like_bytes, cids, mutated
from tests.property.test_cid_properties import CID_CHARS, _text_mutations

LIGHT_HASHES = {0x12, 0x00}


def _outcome(value: str | bytes, parse: object) -> tuple[str, bytes, str] | None:
    try:
        cid = parse(value)  # type: ignore[operator]
    except InvalidCIDError:
        return None
    return str(cid), bytes(cid), cid_key(cid)


def _agree(value: str | bytes) -> None:
    """``read_cid`` accepts exactly what ``parse_cid`` accepts, as the same CID and text."""
    ours, reference = _outcome(value, read_cid), _outcome(value, parse_cid)
    assert ours == reference, (value, ours, reference)
    if ours is not None:
        light, full = read_cid(value), parse_cid(value)
        assert light == full and full == light
        assert light.version == full.version and light.codec.code == full.codec.code
        assert light.hashfun.code == full.hashfun.code
        assert bytes(light.raw_digest) == bytes(full.raw_digest)
        assert bytes(light.digest) == bytes(full.digest)
        assert cid_bytes_key(light) == cid_bytes_key(full)
        assert short_cid(light) == short_cid(full)


def _texts(cid: CID) -> st.SearchStrategy[str]:
    text = str(cid) if cid.version == 0 else cid.encode("base32")
    return st.one_of(st.just(text), _text_mutations(text), st.just(f" {text}\n"))


@settings(max_examples=1000, deadline=None)
@given(
    st.one_of(
        cid_like_bytes(),
        cids().map(bytes),
        cids().map(bytes).flatmap(mutated),
        cids().flatmap(_texts),
        st.text(alphabet=CID_CHARS, max_size=80),
    )
)
@example("Qm" + "1" * 44)
@example("Qm" + "z" * 44)
@example("bafkqaaa")
@example("bafkqablimvwgy3y")
@example("bafkqablimvwgy3z")
@example(b"\x01\x55\x00\x00")
@example(b"\x01\xd5\x00\x12\x20" + bytes(32))
@example("b")
def test_read_cid_agrees_with_parse_cid(value: str | bytes) -> None:
    _agree(value)


@settings(max_examples=300, deadline=None)
@given(cids())
def test_every_light_kind_is_light_and_others_are_multiformats(cid: CID) -> None:
    """Each CID the light class covers parses without multiformats' class; others do not."""
    light_kind = (
        cid.hashfun.code in LIGHT_HASHES
        and cid.codec.code in CODEC_NAMES
        and (cid.version == 1 or cid.hashfun.code == 0x12)
    )
    parsed = read_cid(bytes(cid))
    assert isinstance(parsed, Cid) == light_kind, cid
    assert hash(read_cid(bytes(cid))) == hash(parsed) and parsed == cid
    if isinstance(parsed, Cid):
        printed = cid.set(base="base32") if cid.version else cid
        assert parsed.full() == cid and repr(parsed) == repr(printed)
