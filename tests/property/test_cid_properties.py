"""CIDs: text and binary forms round-trip in every base; anything else is InvalidCIDError."""

from __future__ import annotations

import contextlib

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.cid import (
    CID,
    MAX_CID_BYTES,
    MAX_CID_CHARS,
    cid_bytes_key,
    cid_key,
    decode_cid_bytes,
    parse_cid,
    short_cid,
)
from ipfs_kit_py.errors import InvalidCIDError
from tests.property.strategies import BASES, cid_like_bytes, cids, mutated

CID_CHARS = "bBfFkKzZmMuUQ0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ=-_+/ \t\n"


@settings(max_examples=300, deadline=None)
@given(cids(), st.sampled_from(BASES))
def test_text_round_trips_in_every_base(cid: CID, base: str) -> None:
    text = str(cid) if cid.version == 0 else cid.encode(base)
    parsed = parse_cid(text)
    assert parsed == cid and bytes(parsed) == bytes(cid)
    assert cid_key(parsed) == cid_key(cid)
    assert parse_cid(f"  {text}\n") == cid


@settings(max_examples=300, deadline=None)
@given(cids())
def test_binary_and_key_forms_round_trip(cid: CID) -> None:
    assert parse_cid(bytes(cid)) == cid == decode_cid_bytes(bytes(cid))
    key = cid_key(cid)
    assert key == key.lower() and key.startswith("b")
    assert parse_cid(key).version == 1 and cid_key(parse_cid(key)) == key
    assert cid_bytes_key(parse_cid(key)) == cid_bytes_key(cid)
    if cid.version == 0:
        assert cid_key(cid.set(version=1)) == key


def _mutations(data: bytes) -> st.SearchStrategy[bytes]:
    return mutated(data)


@st.composite
def _text_mutations(draw: st.DrawFn, text: str) -> str:
    chars = list(text)
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, len(chars) - 1))
        chars[pos] = draw(st.sampled_from([*CID_CHARS, chars[pos].upper(), chars[pos].lower()]))
    return "".join(chars)


def _text_or_invalid(value: str | bytes) -> None:
    try:
        cid = parse_cid(value)
    except InvalidCIDError as exc:
        assert len(str(exc)) < 400
        return
    assert parse_cid(str(cid)) == cid
    assert parse_cid(bytes(cid)) == cid


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(alphabet=CID_CHARS, max_size=120), st.text(max_size=60)))
@example("Qm" + "1" * 44)
@example("b" + "a" * (MAX_CID_CHARS + 1))
@example("bafkqablimvwgy3y")
def test_any_text_is_a_cid_or_an_invalid_cid_error(text: str) -> None:
    _text_or_invalid(text)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.binary(max_size=80), cids().map(bytes).flatmap(_mutations)))
def test_any_bytes_are_a_cid_or_an_invalid_cid_error(data: bytes) -> None:
    _text_or_invalid(data)


@given(st.one_of(st.text(max_size=5000), st.binary(max_size=5000), cids()))
def test_short_cid_is_always_short(value: str | bytes | CID) -> None:
    assert len(short_cid(value)) <= 90


def _multiformats(value: str | bytes) -> CID | None:
    """What multiformats' own decoder makes of ``value`` (the reference), or None.

    Its digest is read once, as ``parse_cid`` does: multiformats decodes lazily and refuses
    a digest longer than its hash function's only then (an implementation that is not
    installed cannot check it, and then neither side does).
    """
    try:
        cid = CID.decode(value.strip() if isinstance(value, str) else value)
        with contextlib.suppress(ImportError):
            _ = cid.raw_digest
        return cid
    except Exception:
        return None


@settings(max_examples=1000, deadline=None)
@given(
    st.one_of(
        cid_like_bytes(),
        cids().map(bytes).flatmap(_mutations),
        cids()
        .map(lambda c: str(c) if c.version == 0 else c.encode("base32"))
        .flatmap(lambda text: st.one_of(st.just(text), _text_mutations(text))),
    )
)
def test_the_fast_paths_agree_with_multiformats(value: str | bytes) -> None:
    """Our fast decoders accept exactly what multiformats accepts, as the same CID."""
    reference = _multiformats(value)
    try:
        ours = parse_cid(value)
    except InvalidCIDError:
        assert reference is None or len(bytes(reference)) > MAX_CID_BYTES, reference
        return
    assert reference is not None, f"accepted {value!r}, which multiformats refuses"
    assert ours == reference and bytes(ours) == bytes(reference)
