"""Issue 12's attack findings, the parts a unit shows (their real-service twins are in
tests/integration/test_storacha_attacks.py): bounded dag-cbor, linear proof parsing,
reprs without secrets, redacted HTTP logs, header deadlines on raw dripping sockets.
"""

from __future__ import annotations

import base64
import logging
import os
import socket
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multiformats import multibase

from ipfs_kit_py import log_redact
from ipfs_kit_py.backends.gateway import GatewayBackend
from ipfs_kit_py.backends.kubo.rpc import KuboClient
from ipfs_kit_py.backends.storacha import _cbor
from ipfs_kit_py.backends.storacha.client import StorachaClient, did_web_origin
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.delegation import (
    MAX_PROOF_CHARS,
    Delegation,
    multibase_bytes,
    parse_proof,
)
from ipfs_kit_py.backends.storacha.did import Signer
from ipfs_kit_py.backends.storacha.message import (
    AgentMessage,
    Invocation,
    Receipt,
    issue_receipt,
)
from ipfs_kit_py.backends.storacha.transport import Answer, ServiceHTTP
from ipfs_kit_py.backends.storacha.ucan import issue
from ipfs_kit_py.cli.main import main
from ipfs_kit_py.content.car import encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import DAG_CBOR, RAW, sha256_cid
from ipfs_kit_py.errors import (
    BackendError,
    BackendTimeoutError,
    ConfigurationError,
    ProtocolError,
)
from ipfs_kit_py.net import Timeouts, deadline
from tests.unit.test_storacha_transport import raw_server

SECRET = "X-Amz-Signature=deadbeefSECRET"


def drip_headers(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    for _ in range(60):
        conn.sendall(b"a")
        time.sleep(1)


# -- 2. nesting depth --------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    depth=st.integers(min_value=0, max_value=5000), kind=st.sampled_from([b"\x81", b"\xa1\x61a"])
)
def test_nesting_is_bounded_without_recursion(depth: int, kind: bytes) -> None:
    data = kind * depth + b"\x00"
    if depth <= _cbor.MAX_DEPTH:
        _cbor.decode(data)
    else:
        with pytest.raises(ValueError, match="nested deeper"):
            _cbor.decode(data)
    with pytest.raises(ProtocolError):  # a receipt of any depth: typed, never RecursionError
        Receipt.decode(sha256_cid(DAG_CBOR, data), b"\xa2\x63ocm" + data + b"\x63sig\x40")


@settings(max_examples=60, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text() | st.binary(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=30,
    )
)
def test_the_shape_check_accepts_what_dag_cbor_writes(value: object) -> None:
    assert _cbor.decode(_cbor.encode(value)) == value


def test_an_agent_message_of_many_blocks_is_refused() -> None:
    root = _cbor.encode({"ucanto/message@7.0.0": {"report": {}}})
    rc = sha256_cid(DAG_CBOR, root)
    parts = [encode_car_header([rc])]
    parts += [
        encode_car_block(sha256_cid(RAW, i.to_bytes(4, "big")), i.to_bytes(4, "big"))
        for i in range(1100)
    ]
    with pytest.raises(ProtocolError, match="blocks"):
        AgentMessage.decode(b"".join([*parts, encode_car_block(rc, root)]))


# -- 8. proof parsing --------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(max_size=300),
    base=st.sampled_from(
        ["base64", "base64pad", "base64url", "base64urlpad", "base32", "base32upper"]
    ),
)
def test_proof_decoding_matches_the_multibase_decoder(data: bytes, base: str) -> None:
    text = multibase.encode(data, base)
    assert multibase_bytes(text) == bytes(multibase.decode(text)) == data


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=60))
def test_any_proof_text_answers_a_configuration_error(text: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_proof(text + "Zq9SECRET")
    assert "Zq9SECRET" not in str(caught.value)


def test_a_huge_proof_is_refused_at_once() -> None:
    text = "m" + base64.b64encode(os.urandom(MAX_PROOF_CHARS)).decode().rstrip("=")
    with pytest.raises(ConfigurationError, match="longer than"):
        parse_proof(text)
    text = "m" + base64.b64encode(os.urandom(200_000)).decode().rstrip("=")
    with pytest.raises(ConfigurationError):  # linear: the old decoder took seconds here
        parse_proof(text)


# -- 7. reprs ----------------------------------------------------------------------------


def test_no_repr_shows_keys_proofs_or_presigned_urls() -> None:
    agent, space = Signer.generate(), Signer.generate()
    ucan = issue(space, agent.did, [{"with": space.did, "can": "upload/*"}], lifetime=None)
    delegation = Delegation(ucan, {ucan.cid: ucan.encode()})
    proof = delegation.format()
    put = issue(
        agent,
        agent.did,
        [{"with": agent.did, "can": "http/put"}],
        facts=[{"keys": {"id": agent.did, "keys": {agent.did: b"SEEDBYTES-SECRET"}}}],
    )
    inv = Invocation(put, dict(delegation.blocks))
    rcid, rblock = issue_receipt(agent, put.cid, {"address": {"url": "http://n/b?" + SECRET}})
    receipt = Receipt.decode(rcid, rblock)
    answer = Answer(200, __import__("httpx").Headers(), b"body", "http://n/b?" + SECRET)
    config = StorachaConfig.from_sources({"key": agent.format(), "proof": proof}, {}, {})
    message = AgentMessage({ucan.cid: ucan.encode()}, [], {})
    for thing in (agent, ucan, delegation, inv, put, receipt, answer, config, message):
        text = repr(thing) + str(thing)
        assert agent.format() not in text and "SEEDBYTES" not in text and SECRET not in text
        assert repr(ucan.s) not in text and repr(ucan.encode()) not in text
        assert proof not in text and proof[:40] not in text


# -- 6. logs -----------------------------------------------------------------------------


def test_redact_strips_queries_and_userinfo() -> None:
    line = 'HTTP Request: PUT https://user:pw@node.example/b?X-Amz-Signature=abc "HTTP/1.1 200"'
    cleaned = log_redact.redact(line)
    assert "abc" not in cleaned and "pw" not in cleaned and "node.example/b" in cleaned


@pytest.mark.parametrize("flag", ["-v", "-vv"])
def test_http_logs_carry_no_secret_through_the_cli(
    flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main([flag, "backends"])
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
    with raw_server(lambda c: c.sendall(ok)) as url, ServiceHTTP(5.0) as http:
        target = url.replace("http://", "http://user:PWSECRET@") + "/b?" + SECRET
        http.exchange("PUT", target, content=b"x", total=False)
    err = capsys.readouterr().err
    assert "HTTP Request: PUT" in err
    assert "deadbeef" not in err and "PWSECRET" not in err
    if flag == "-vv":
        assert "httpcore" in err
    logging.getLogger().setLevel(logging.WARNING)


# -- 4 and 5. header deadlines -----------------------------------------------------------


def test_a_put_answer_dripping_its_headers_fails_at_the_deadline() -> None:
    with (
        raw_server(drip_headers) as url,
        ServiceHTTP(2.0) as http,
        pytest.raises(BackendError, match="within 2s"),
    ):
        http.exchange("PUT", url + "/blob", content=b"x" * 1000, total=False)


def test_a_gateway_dripping_its_headers_fails_at_the_deadline() -> None:
    timeouts = Timeouts(idle_timeout=1.5, deadline=2.0, retries=0)
    cid = sha256_cid(RAW, b"hello")
    with raw_server(drip_headers) as url:
        gateway = GatewayBackend(url, timeouts=timeouts)
        with pytest.raises(BackendTimeoutError):
            gateway.get_block(cid)
        with pytest.raises(BackendTimeoutError):
            b"".join(gateway.iter_file(cid))
        gateway.close()


# -- 1. trust model ----------------------------------------------------------------------


def test_where_the_service_key_comes_from() -> None:
    assert did_web_origin("did:web:up.storacha.network") == "https://up.storacha.network"
    assert did_web_origin("did:web:h.example%3A8443") == "https://h.example:8443"
    assert did_web_origin("did:key:z6Mk") is None and did_web_origin("did:web:a/b@c") is None

    def source(**kw: str) -> str:
        return StorachaClient(StorachaConfig.from_sources(kw, {}, {})).key_source

    assert source() == "did:web"  # the default service is the did:web's own domain
    assert source(service_url="http://127.0.0.1:1") == "pinned"
    assert source(service_key=Signer.generate().did) == "configured"


def test_kubo_answers_dripping_their_headers_fail_at_the_deadline() -> None:
    timeouts = Timeouts(idle_timeout=1.5, deadline=2.0, retries=0)
    cid = sha256_cid(RAW, b"x")
    with raw_server(drip_headers) as url:
        client = KuboClient(url, timeouts=timeouts, lookup_timeout=1.0)
        with pytest.raises(BackendTimeoutError):
            client.version()
        with pytest.raises(BackendTimeoutError):  # small call: the deadline
            client.block_get(cid)
        with pytest.raises(BackendTimeoutError):  # bulk: deadline + lookup_timeout
            b"".join(client.cat(cid))
        client.close()


def test_decoding_counts_against_the_exchange_deadline() -> None:
    root = _cbor.encode({"ucanto/message@7.0.0": {"report": {}}})
    rc = sha256_cid(DAG_CBOR, root)
    body = encode_car_header([rc]) + encode_car_block(rc, root)
    assert AgentMessage.decode(body).report == {}
    with deadline(0.001):
        time.sleep(0.01)
        with pytest.raises(TimeoutError):
            AgentMessage.decode(body)


def test_timeout_is_the_idle_timeout_and_deadline_its_own_key() -> None:
    config = StorachaConfig.from_sources({"timeout": 7}, {}, {})
    assert config.timeouts.idle_timeout == 7 and config.timeouts.deadline == Timeouts().deadline
    config = StorachaConfig.from_sources({"timeout": 7, "deadline": 3}, {}, {})
    assert (config.timeouts.idle_timeout, config.timeouts.deadline) == (7, 3)
