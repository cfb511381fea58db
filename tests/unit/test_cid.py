from __future__ import annotations

import base64
import io

import pytest

from ipfs_kit_py.content.car import CarReader, encode_car_header
from ipfs_kit_py.content.cid import (
    CID,
    MAX_CID_BYTES,
    MAX_CID_CHARS,
    RAW,
    cid_key,
    decode_cid_bytes,
    parse_cid,
    sha256_cid,
    short_cid,
)
from ipfs_kit_py.content.dagpb import PBLink, decode_node, encode_node, encode_varint
from ipfs_kit_py.errors import CARFormatError, ContentMismatchError, InvalidCIDError

HELLO_V0 = "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"
HELLO_V1 = "bafybeiffndsajwhk3lwjewwdxqntmjm4b5wxaaanokonsggenkbw6slwk4"


def test_v0_and_v1_of_one_node_share_one_key() -> None:
    assert cid_key(parse_cid(HELLO_V0)) == HELLO_V1
    assert cid_key(parse_cid(HELLO_V1)) == HELLO_V1


def test_parse_accepts_bytes_and_cid_objects() -> None:
    cid = parse_cid(HELLO_V1)
    assert parse_cid(bytes(cid)) == cid
    assert parse_cid(cid) is cid


def test_raw_cid_of_empty_bytes() -> None:
    assert (
        str(sha256_cid(RAW, b"")) == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    )


@pytest.mark.parametrize(
    "bad", ["", "   ", "bogus", "Qm123", HELLO_V0[:-1], "bafy" + "a" * 10, "zzzz", b"\x01\x02"]
)
def test_invalid_cids_raise_a_typed_error(bad: str | bytes) -> None:
    with pytest.raises(InvalidCIDError, match="invalid CID"):
        parse_cid(bad)


def test_wrong_type_is_refused() -> None:
    with pytest.raises(InvalidCIDError):
        parse_cid(42)  # type: ignore[arg-type]


def test_cid_key_matches_multiformats_base32_for_many_kinds() -> None:
    import hashlib

    from ipfs_kit_py.content.cid import DAG_CBOR, DAG_PB, make_cid

    for i in range(50):
        digest = hashlib.sha256(bytes([i])).digest()
        for cid in (make_cid(RAW, digest), make_cid(DAG_PB, digest, 0), make_cid(DAG_CBOR, digest)):
            assert cid_key(cid) == str(cid.set(version=1).encode("base32"))


def test_fast_text_parsing_agrees_with_multiformats() -> None:
    import hashlib

    from multiformats import CID

    from ipfs_kit_py.content.cid import CAR_CODEC, DAG_CBOR, DAG_PB, make_cid

    for i in range(200):
        digest = hashlib.sha256(i.to_bytes(2, "big")).digest()
        for cid in (
            make_cid(DAG_PB, digest, 0),
            make_cid(DAG_PB, digest),
            make_cid(RAW, digest),
            make_cid(DAG_CBOR, digest),
            make_cid(CAR_CODEC, digest),
        ):
            text = str(cid)
            parsed = parse_cid(text)
            assert parsed == CID.decode(text)
            assert str(parsed) == text


@pytest.mark.parametrize(
    "bad",
    [
        "Qm" + "0" * 44,  # '0' is not base58
        "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEM"[:-1] + "l",  # 'l' is not base58
        "bafybeiffndsajwhk3lwjewwdxqntmjm4b5wxaaanokonsggenkbw6slwk5",  # pad bits
        "bafybeiffndsajwhk3lwjewwdxqntmjm4b5wxaaanokonsggenkbw6slwk",  # truncated
        "b!!!!",
    ],
)
def test_fast_path_refuses_what_multiformats_refuses(bad: str) -> None:
    with pytest.raises(InvalidCIDError):
        parse_cid(bad)


def test_other_bases_still_parse() -> None:
    cid = parse_cid(HELLO_V1)
    for base in ("base58btc", "base36", "base64", "base16"):
        assert parse_cid(str(cid.encode(base))) == cid


def _identity_cid(size: int) -> CID:
    """A raw identity CID whose binary form is exactly ``size`` bytes."""
    for header in range(4, 8):
        digest = size - header
        prefix = bytes([0x01, RAW, 0x00]) + encode_varint(digest)
        if len(prefix) == header:
            return CID.decode(prefix + b"x" * digest)
    raise AssertionError(size)


@pytest.mark.parametrize("base", ["base32", "base58btc", "base16", "base36", "base64", "base2"])
def test_the_longest_cid_parses_in_every_base_and_one_byte_more_does_not(base: str) -> None:
    longest, too_long = _identity_cid(MAX_CID_BYTES), _identity_cid(MAX_CID_BYTES + 1)
    assert len(bytes(longest)) == MAX_CID_BYTES
    assert parse_cid(longest.encode(base)) == longest
    assert parse_cid(bytes(longest)) == longest
    with pytest.raises(InvalidCIDError, match=f"at most {MAX_CID_BYTES} bytes"):
        parse_cid(too_long.encode(base))
    with pytest.raises(InvalidCIDError, match=f"at most {MAX_CID_BYTES} bytes"):
        parse_cid(bytes(too_long))
    assert len(longest.encode(base)) <= MAX_CID_CHARS


@pytest.mark.parametrize("length", [MAX_CID_CHARS + 1, 96_000, 1_000_000])
def test_absurdly_long_text_is_refused_before_decoding_with_a_short_message(length: int) -> None:
    for text in ("b" + "a" * (length - 1), "Qm" + "z" * (length - 2), "z" * length):
        with pytest.raises(InvalidCIDError, match="characters") as caught:
            parse_cid(text)
        assert len(str(caught.value)) < 200


def test_binary_cids_in_blocks_are_bounded_too() -> None:
    huge = _identity_cid(10_000)
    with pytest.raises(InvalidCIDError):
        decode_cid_bytes(bytes(huge))
    node = encode_node(None, [PBLink(huge, "big")])
    with pytest.raises(ContentMismatchError):
        decode_node(node)


def test_short_cid_cuts_the_middle_of_long_values() -> None:
    assert short_cid(HELLO_V1) == HELLO_V1  # short enough to quote whole
    long_text = "b" + "a" * 10_000 + "END"
    shown = short_cid(long_text)
    assert len(shown) < 90 and shown.startswith("baaa") and "END" in shown and "10004" in shown
    assert short_cid(parse_cid(HELLO_V0)) == HELLO_V0
    assert short_cid(b"\x01" * 1000).startswith("0101") and len(short_cid(b"\x01" * 1000)) < 90
    with pytest.raises(InvalidCIDError) as caught:
        parse_cid("x" * 2000)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize("codec", [b"\xd5\x00", b"\xf0\x80\x00", b"\xf1\x00"])
def test_non_minimal_varints_are_refused_like_multiformats_does(codec: bytes) -> None:
    # found by the grammar-based differential property in tests/property: the fast path
    # took "d5 00" for raw (0x55), giving a CID whose bytes differ from its input
    data = b"\x01" + codec + b"\x12\x20" + bytes(range(32))
    with pytest.raises(InvalidCIDError, match="minimal"):
        parse_cid(data)
    with pytest.raises(ContentMismatchError):
        decode_node(
            encode_node(None, []) + b"\x12" + bytes([len(data) + 2, 0x0A, len(data)]) + data
        )
    car = encode_car_header([]) + encode_car_block_raw(data, b"block")
    with pytest.raises(CARFormatError, match="malformed CID"):
        list(CarReader(io.BytesIO(car)))


def encode_car_block_raw(cid_bytes: bytes, block: bytes) -> bytes:
    return encode_varint(len(cid_bytes) + len(block)) + cid_bytes + block


def test_a_digest_longer_than_its_hash_is_refused_at_parse() -> None:
    # found by the mutated-CAR property: multiformats decodes a sha2-256 CID with a
    # 33-byte digest and fails only when the digest is read, inside verification
    data = b"\x01\x55\x12\x21" + bytes(33)
    with pytest.raises(InvalidCIDError, match="digest"):
        parse_cid(data)
    with pytest.raises(InvalidCIDError, match="digest"):
        parse_cid("b" + _b32(data))
    car = encode_car_header([]) + encode_car_block_raw(data, b"block")
    with pytest.raises(CARFormatError, match="malformed CID"):
        list(CarReader(io.BytesIO(car)))


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().lower().rstrip("=")
