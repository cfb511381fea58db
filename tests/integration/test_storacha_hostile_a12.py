"""Issue 12, second attack round: hostile answers the first round's defences missed.

Each test puts :class:`~tests.servers.hostile.HostileProxy` between the client and the
REAL local service (or its gateway) and plays the attacker: non-canonical and heavy
receipts, a did.json nested deep, a key swapped for a second client, a gateway
repeating a large block, and an agent key pasted into the service-key field.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.servers import hostile_storacha as attacks
from tests.servers.hostile import Exchange, HostileProxy, Reply
from tests.servers.storacha import StorachaService, StorachaTestCredentials, config_for, through

from ipfs_kit_py.backends.gateway import GatewayBackend
from ipfs_kit_py.backends.storacha import _cbor
from ipfs_kit_py.backends.storacha.backend import StorachaBackend
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.did import Signer
from ipfs_kit_py.backends.storacha.message import AgentMessage
from ipfs_kit_py.backends.storacha.ucan import link_str
from ipfs_kit_py.content.car import encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import CID, DAG_CBOR, RAW, sha256_cid
from ipfs_kit_py.errors import (
    BackendTimeoutError,
    BackendUnavailableError,
    ConfigurationError,
    ProtocolError,
)
from ipfs_kit_py.net import Timeouts
from ipfs_kit_py.storacha_kit import StorachaKit


@pytest.fixture
def proxy(storacha_service: StorachaService) -> Iterator[HostileProxy]:
    with HostileProxy(storacha_service.url) as p:
        yield p


def _is_car(reply: Reply) -> bool:
    headers = {k.lower(): v for k, v in reply.headers.items()}
    return reply.status == 200 and "car" in headers.get("content-type", "")


# -- typed errors -----------------------------------------------------------------------------


def _reordered(block: bytes) -> bytes:
    """The receipt block with its two keys out of canonical order (sig before ocm)."""
    raw = _cbor.decode(block)
    return b"\xa2\x63sig" + _cbor.encode(raw["sig"]) + b"\x63ocm" + _cbor.encode(raw["ocm"])


def non_canonical(exchange: Exchange) -> Reply:
    real = exchange.forward()
    if exchange.method != "POST" or not _is_car(real):
        return real
    message = AgentMessage.decode(bytes(real.body))  # type: ignore[arg-type]
    blocks, report = dict(message.blocks), {}
    for task, rcid in message.report.items():
        data = _reordered(blocks[rcid])
        report[task] = sha256_cid(DAG_CBOR, data)
        blocks[report[task]] = data
    return Reply(200, {"content-type": attacks.CAR_TYPE}, attacks.encode_message(blocks, report))


def test_a_non_canonical_receipt_is_a_protocol_error(
    proxy: HostileProxy, storacha_service: StorachaService, storacha_credentials: Any
) -> None:
    # dag_cbor's DAGCBORDecodingError is no ValueError: it escaped untyped
    proxy.rule = non_canonical
    key = storacha_service.did_key
    config = through(proxy, storacha_service, storacha_credentials, service_key=key)
    with StorachaBackend(config) as backend:
        with pytest.raises(ProtocolError, match="non-canonical"):
            backend.list_uploads()
        result = StorachaKit.from_backend(backend).list_uploads()
    assert result["success"] is False and result["error_type"] == "ProtocolError"


def test_a_did_document_nested_deep_cannot_resolve_the_key(
    proxy: HostileProxy, storacha_service: StorachaService, storacha_credentials: Any
) -> None:
    # 64 KiB of "[" made json.loads raise RecursionError, out of every handler
    def deep(exchange: Exchange) -> Reply:
        if exchange.path.startswith(("/.well-known/did.json", "/version")):
            return Reply(200, {"content-type": "application/json"}, b"[" * 60_000)
        return exchange.forward()

    proxy.rule = deep
    config = through(proxy, storacha_service, storacha_credentials, service_key=None)
    with StorachaBackend(config) as backend:
        with pytest.raises(ProtocolError, match="cannot resolve the key"):
            backend.list_uploads()
        result = StorachaKit.from_backend(backend).list_uploads()
    assert result["error_type"] == "ProtocolError"


# -- the exchange deadline covers the decoding of receipts ------------------------------------


def _heavy_receipt(seed: int) -> tuple[CID, bytes]:
    """A canonical receipt block whose ``out.ok`` is a list of ~1M zeros (1 MB)."""
    count = 1_040_000
    items = b"\x9a" + count.to_bytes(4, "big") + b"\x00" * count
    ran = sha256_cid(DAG_CBOR, bytes([seed]))
    ocm = b"\xa2\x63out\xa1\x62ok" + items + _cbor.encode({"ran": ran})[1:]
    block = b"\xa2\x63ocm" + ocm + b"\x63sig\x41" + bytes([seed])
    return sha256_cid(DAG_CBOR, block), block


def test_heavy_receipts_are_decoded_within_the_exchange_deadline(
    proxy: HostileProxy, storacha_service: StorachaService, storacha_credentials: Any
) -> None:
    # decoding ran after the deadline: 116 s for get_receipt with deadline=2 (it
    # returned None), and an invoke's receipt was re-encoded for seconds more
    heavy = dict(_heavy_receipt(i) for i in range(15))
    listing = attacks.encode_message(heavy, {f"t{i}": c for i, c in enumerate(heavy)})
    one_cid, one_block = _heavy_receipt(99)

    def rule(exchange: Exchange) -> Reply:
        if exchange.path.startswith("/receipt/"):
            return Reply(200, {"content-type": attacks.CAR_TYPE}, listing)
        if exchange.method == "POST":
            task = AgentMessage.decode(exchange.body).execute[0]
            body = attacks.encode_message({one_cid: one_block}, {link_str(task): one_cid})
            return Reply(200, {"content-type": attacks.CAR_TYPE}, body)
        return exchange.forward()

    proxy.rule = rule
    config = through(
        proxy,
        storacha_service,
        storacha_credentials,
        service_key=storacha_service.did_key,
        timeouts=Timeouts(deadline=0.5),
    )
    with StorachaBackend(config) as backend:
        with pytest.raises(BackendTimeoutError, match="not decoded within"):
            backend.client.get_receipt(sha256_cid(DAG_CBOR, b"some task"))
        with pytest.raises(BackendTimeoutError):
            backend.list_uploads()


# -- the service key: one per process ---------------------------------------------------------


def test_a_second_client_keeps_the_key_the_first_learned(
    proxy: HostileProxy, storacha_service: StorachaService, storacha_credentials: Any
) -> None:
    # a new client (a new kit, a new backend) used to learn the key again, from the
    # endpoint hijacked in between, and accepted every receipt it re-signed
    config = through(proxy, storacha_service, storacha_credentials, service_key=None)
    evil = Signer.generate()
    doc = {
        "id": storacha_service.did,
        "verificationMethod": [{"publicKeyMultibase": evil.did[len("did:key:") :]}],
    }

    def hijack(exchange: Exchange) -> Reply:
        if exchange.path.startswith("/.well-known/did.json"):
            return Reply(200, {"content-type": "application/json"}, json.dumps(doc).encode())
        if exchange.path.startswith("/version"):
            body = {"did": storacha_service.did, "publicKey": evil.did}
            return Reply(200, {"content-type": "application/json"}, json.dumps(body).encode())
        rule = attacks.forge_receipts_by(evil)
        return rule(exchange)

    with StorachaBackend(config) as first:
        first.list_uploads()
        assert first.client.key_source == "pinned"
        assert first.client.service_verifier().key_did == storacha_service.did_key
    proxy.rule = hijack
    with StorachaBackend(config) as second:
        with pytest.raises(ProtocolError):
            second.list_uploads()
        assert second.client.service_verifier().key_did == storacha_service.did_key
    kit = StorachaKit(config)
    with kit:
        assert kit.list_uploads()["error_type"] == "ProtocolError"


# -- the gateway: repeats are bounded in bytes ------------------------------------------------


def test_a_gateway_repeating_a_large_block_is_cut_off_by_bytes(
    proxy: HostileProxy, storacha_service: StorachaService
) -> None:
    # 1,024 repeats of a 4 MiB block were 4.3 GB read and hashed before the error
    big = os.urandom(4 << 20)
    section = encode_car_block(sha256_cid(RAW, big), big)
    sent = [0]

    def body(root: CID) -> Iterator[bytes]:
        yield encode_car_header([root])
        for _ in range(1100):
            sent[0] += len(section)
            yield section

    def rule(exchange: Exchange) -> Reply:
        if "format=car" in exchange.path:
            root = attacks._cid_of(exchange)
            return Reply(200, {"content-type": attacks.CAR_TYPE}, body(root))
        return exchange.forward()

    proxy.rule = rule
    with GatewayBackend(proxy.url + "/ipfs") as gateway, pytest.raises(ProtocolError):
        for _ in gateway.iter_file(sha256_cid(RAW, b"anything")):
            pass
    assert sent[0] < 100 * (1 << 20)


# -- credentials in the wrong field -----------------------------------------------------------


def test_an_agent_key_in_the_service_key_field_is_never_quoted(
    storacha_service: StorachaService, storacha_credentials: StorachaTestCredentials
) -> None:
    key = storacha_credentials.key
    args = {**storacha_service.backend_args(storacha_credentials), "service_key": key}
    for field in ("service_key", "service_did", "space"):
        with pytest.raises(ConfigurationError) as caught:
            StorachaConfig.from_sources({**args, field: key}, {}, {})
        assert key[:12] not in str(caught.value)
    # built directly (no parsing): the first call fails the same way, still unquoted
    config = dataclasses.replace(
        config_for(storacha_service, storacha_credentials), service_key=key
    )
    with StorachaBackend(config) as backend:
        with pytest.raises(ConfigurationError) as caught:
            backend.list_uploads()
        assert key[:12] not in str(caught.value)
        result = StorachaKit.from_backend(backend).list_uploads()
    assert result["error_type"] == "ConfigurationError" and key[:12] not in result["error"]


# -- blob PUTs: a storage node draining the body too slowly ------------------------------------


class SlowDrain:
    """A storage node that reads a PUT body ``rate`` bytes a second and never answers.

    A mock: the real storage node cannot be slowed; the same PUT path against the real
    one is every upload test.
    """

    def __init__(self, rate: int) -> None:
        self.rate, self.received = rate, 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}/blob"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._server.accept()
        with conn:
            conn.settimeout(60)
            while data := conn.recv(self.rate // 10):
                self.received += len(data)
                time.sleep(0.1)

    def close(self) -> None:
        self._server.close()


def test_a_blob_put_drained_below_min_rate_is_stalled(
    storacha_service: StorachaService, storacha_credentials: StorachaTestCredentials
) -> None:
    # min_rate, stall_window and idle_timeout did not apply to blob PUTs: a node reading
    # just fast enough to beat each write wait kept an upload going for hours
    node = SlowDrain(rate=256 * 1024)
    timeouts = Timeouts(deadline=5, idle_timeout=5, min_rate=4 << 20, stall_window=2)
    config = config_for(storacha_service, storacha_credentials, timeouts=timeouts)
    size = 64 << 20
    chunk = bytes(1 << 16)
    try:
        with StorachaBackend(config) as backend:
            uploader = backend.uploader()
            with pytest.raises(BackendUnavailableError, match="stalled"):
                uploader._put({"url": node.url}, size, lambda: iter([chunk] * (size >> 16)))
    finally:
        node.close()
    assert node.received < size
