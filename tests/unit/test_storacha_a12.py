"""Issue 12, second attack round: parsers of hostile bytes and of misplaced credentials."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.storacha import _cbor
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.did import Signer
from ipfs_kit_py.backends.storacha.message import MAX_MESSAGE_BLOCKS, MESSAGE_TAG, AgentMessage
from ipfs_kit_py.content.car import encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import DAG_CBOR, RAW, sha256_cid
from ipfs_kit_py.errors import ConfigurationError, ProtocolError

values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.binary() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8), values, min_size=1, max_size=6), st.data())
def test_map_value_is_the_canonical_encoding_of_that_value(
    mapping: dict[str, object], data: st.DataObject
) -> None:
    key = data.draw(st.sampled_from(sorted(mapping)))
    assert _cbor.map_value(_cbor.encode(mapping), key) == _cbor.encode(mapping[key])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_decode_and_map_value_raise_only_value_error(data: bytes) -> None:
    for call in (lambda: _cbor.decode(data), lambda: _cbor.map_value(data, "ocm")):
        with contextlib.suppress(ValueError):
            call()


def test_non_canonical_dag_cbor_is_a_value_error_that_quotes_no_bytes() -> None:
    block = b"\xa2\x63sig\x44SECR\x63ocm\x00"  # keys out of order
    with pytest.raises(ValueError, match="non-canonical") as caught:
        _cbor.decode(block)
    assert "SECR" not in str(caught.value) and "53454352" not in str(caught.value)


def _message(sections: int) -> bytes:
    data = b"abcd"
    root = _cbor.encode({MESSAGE_TAG: {"report": {}}})
    root_cid = sha256_cid(DAG_CBOR, root)
    same = encode_car_block(sha256_cid(RAW, data), data)
    return encode_car_header([root_cid]) + same * sections + encode_car_block(root_cid, root)


def test_repeated_sections_count_against_the_block_cap() -> None:
    AgentMessage.decode(_message(MAX_MESSAGE_BLOCKS - 1))  # with its root: 1,024
    with pytest.raises(ProtocolError, match="more than"):
        AgentMessage.decode(_message(MAX_MESSAGE_BLOCKS))


KEY = Signer.generate().format()


@pytest.mark.parametrize("field", ["service_key", "service_did", "space"])
def test_a_private_key_in_a_did_field_is_refused_unquoted(field: str) -> None:
    with pytest.raises(ConfigurationError, match="private key") as caught:
        StorachaConfig.from_sources({field: KEY}, {}, {})
    assert KEY[:12] not in str(caught.value)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=12, max_size=300).filter(lambda t: len(t.strip()) >= 12))
def test_any_bad_did_field_is_a_configuration_error_never_quoting_it(text: str) -> None:
    for field in ("service_key", "service_did", "space"):
        try:
            StorachaConfig.from_sources({field: text}, {}, {})
        except ConfigurationError as exc:
            assert text.strip() not in str(exc)


def test_real_dids_are_accepted() -> None:
    agent = Signer.generate().did
    config = StorachaConfig.from_sources(
        {"service_key": agent, "service_did": "did:web:up.storacha.network", "space": agent},
        {},
        {},
    )
    assert (config.service_key, config.space) == (agent, agent)


@pytest.mark.parametrize(
    "headers", [{"x-a": "\u00e9"}, {"x-a": "a\r\nb"}, {"x-a": 5}, {"\u00e9": "a"}]
)
def test_unsendable_put_headers_are_a_protocol_error(headers: dict[str, object]) -> None:
    # a non-ASCII value escaped as a bare UnicodeEncodeError from httpx
    from ipfs_kit_py.backends.storacha.client import StorachaClient
    from ipfs_kit_py.backends.storacha.upload import Uploader

    with StorachaClient(StorachaConfig()) as client:
        uploader = Uploader(client, Signer.generate().did)
        address = {"url": "http://127.0.0.1:9/blob", "headers": headers}
        with pytest.raises(ProtocolError, match="malformed PUT headers"):
            uploader._put(address, 4, lambda: iter([b"abcd"]))
