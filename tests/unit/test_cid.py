from __future__ import annotations

import pytest

from ipfs_kit_py.content.cid import RAW, cid_key, parse_cid, sha256_cid
from ipfs_kit_py.errors import InvalidCIDError

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
