"""Bad credentials, an unreachable service, forged receipts and a lying gateway -> typed errors.

Faults the real service cannot produce (a receipt with a bad signature, a gateway that
returns tampered blocks) come from tiny 127.0.0.1 servers next to the real one.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from tests.servers.process import free_port
from tests.servers.storacha import StorachaService, StorachaTestCredentials, config_for, run_cli

from ipfs_kit_py.backends.gateway import GatewayBackend
from ipfs_kit_py.backends.storacha import _cbor
from ipfs_kit_py.backends.storacha.backend import StorachaBackend
from ipfs_kit_py.backends.storacha.delegation import Delegation
from ipfs_kit_py.backends.storacha.did import Signer
from ipfs_kit_py.backends.storacha.message import AgentMessage
from ipfs_kit_py.backends.storacha.ucan import issue
from ipfs_kit_py.config import Secret
from ipfs_kit_py.content.car import encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import DAG_CBOR, sha256_cid
from ipfs_kit_py.content.unixfs import STORACHA, Block, import_file
from ipfs_kit_py.errors import (
    AuthenticationError,
    BackendUnavailableError,
    ContentMismatchError,
    InvalidInputError,
    NotConfiguredError,
    ProtocolError,
)
from ipfs_kit_py.net import Timeouts
from ipfs_kit_py.storacha_kit import StorachaKit

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


@contextmanager
def tiny_server(on_get: Handler | None = None, on_post: Handler | None = None) -> Iterator[str]:
    """A one-thread HTTP server on 127.0.0.1 calling the given handlers; yields its URL."""

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            assert on_get is not None
            on_get(self)

        def do_POST(self) -> None:
            assert on_post is not None
            on_post(self)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), H)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def reply(
    handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes, ctype: str
) -> None:
    handler.send_response(status)
    handler.send_header("content-type", ctype)
    handler.send_header("content-length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


# -- credentials ------------------------------------------------------------------------


def test_missing_credentials_say_not_configured(storacha_service: StorachaService) -> None:
    kit = StorachaKit.from_sources({"service_url": storacha_service.url}, {}, {})
    result = kit.list_uploads()
    assert result["error_type"] == "NotConfiguredError"
    assert "Storacha not configured: set STORACHA_KEY and STORACHA_PROOF" in result["error"]
    with pytest.raises(NotConfiguredError):
        kit.backend.list_uploads()


def test_delegation_to_another_agent_is_rejected(
    storacha_service: StorachaService, storacha_credentials: StorachaTestCredentials
) -> None:
    other = json.loads(run_cli(["key", "create", "--json"], storacha_credentials.cli_env).stdout)
    config = config_for(storacha_service, storacha_credentials, key=Secret(other["key"]))
    with (
        StorachaBackend(config) as backend,
        pytest.raises(AuthenticationError, match="not to this"),
    ):
        backend.list_uploads()


def test_expired_delegation_is_rejected(
    storacha_service: StorachaService, storacha_credentials: StorachaTestCredentials
) -> None:
    expires = int(time.time()) + 2
    args = ["delegation", "create", storacha_credentials.agent_did, "-c", "upload/list"]
    args += ["-e", str(expires), "--base64"]
    proof = run_cli(args, storacha_credentials.cli_env).stdout.strip()
    config = config_for(storacha_service, storacha_credentials, proof=Secret(proof))
    while time.time() <= expires + 1:
        time.sleep(0.2)
    with StorachaBackend(config) as backend, pytest.raises(AuthenticationError, match="expired"):
        backend.list_uploads()


def test_proof_for_an_unprovisioned_space_is_refused_by_the_service(
    storacha_service: StorachaService, storacha_credentials: StorachaTestCredentials
) -> None:
    space, agent = Signer.generate(), Signer.parse(storacha_credentials.key)
    ucan = issue(space, agent.did, [{"with": space.did, "can": "*"}], expiration=4_000_000_000)
    proof = Delegation(ucan, {ucan.cid: ucan.encode()}).format()
    config = config_for(storacha_service, storacha_credentials, proof=Secret(proof))
    with StorachaBackend(config) as backend:
        assert backend.client.spaces() == [space.did]
        with pytest.raises(AuthenticationError):
            backend.upload_file([b"not provisioned"])
        with pytest.raises(InvalidInputError):
            backend.client.select_space(storacha_credentials.space_did)


# -- service faults ----------------------------------------------------------------------


def test_service_down_is_unavailable(storacha_credentials: StorachaTestCredentials) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    config = config_for(
        StorachaService(url, "did:web:down.example", "", (), None),  # type: ignore[arg-type]
        storacha_credentials,
        service_key="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        timeouts=Timeouts(idle_timeout=5.0),
    )
    with StorachaBackend(config) as backend, pytest.raises(BackendUnavailableError):
        backend.list_uploads()


def test_receipt_signed_by_another_key_is_rejected(
    storacha_service: StorachaService, storacha_credentials: StorachaTestCredentials
) -> None:
    wrong = Signer.generate().did
    config = config_for(storacha_service, storacha_credentials, service_key=wrong)
    with StorachaBackend(config) as backend, pytest.raises(ProtocolError, match="signature"):
        backend.list_uploads()


def tamper_receipts(body: bytes) -> bytes:
    """Re-encode an agent message with every reported receipt's signature flipped."""
    message = AgentMessage.decode(body)
    blocks = dict(message.blocks)
    report = {}
    for task, rcid in message.report.items():
        receipt = _cbor.decode(blocks.pop(rcid))
        receipt["sig"] = receipt["sig"][:-1] + bytes([receipt["sig"][-1] ^ 1])
        data = _cbor.encode(receipt)
        report[task] = sha256_cid(DAG_CBOR, data)
        blocks[report[task]] = data
    root = _cbor.encode({"ucanto/message@7.0.0": {"report": report}})
    root_cid = sha256_cid(DAG_CBOR, root)
    parts = [encode_car_header([root_cid])]
    parts += [encode_car_block(c, d) for c, d in blocks.items() if c not in message.report.values()]
    parts.append(encode_car_block(root_cid, root))
    return b"".join(parts)


def test_receipt_with_bad_signature_is_rejected(
    storacha_service: StorachaService, storacha_credentials: StorachaTestCredentials
) -> None:
    def forward(handler: http.server.BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers["content-length"]))
        real = httpx.post(storacha_service.url + "/", content=body, headers=dict(handler.headers))
        reply(handler, 200, tamper_receipts(real.content), "application/vnd.ipld.car")

    with tiny_server(on_post=forward) as proxy:
        config = config_for(
            storacha_service,
            storacha_credentials,
            service_url=proxy,
            service_key=storacha_service.did_key,
        )
        with StorachaBackend(config) as backend, pytest.raises(ProtocolError, match="invalid sig"):
            backend.list_uploads()


# -- gateway faults ----------------------------------------------------------------------


def test_gateway_block_not_matching_its_cid(tmp_path: Path) -> None:
    blocks: list[Block] = []
    data = bytes(range(256)) * 8192  # 2 MiB: two raw leaves and a dag-pb root
    root = import_file([data], STORACHA, on_block=blocks.append).cid
    tampered = [Block(b.cid, b"!" + b.data[1:]) if b.cid != root else b for b in blocks]
    car = encode_car_header([root]) + b"".join(encode_car_block(b.cid, b.data) for b in tampered)

    def serve(handler: http.server.BaseHTTPRequestHandler) -> None:
        if "format=raw" in handler.path:
            reply(handler, 200, b"not the block", "application/vnd.ipld.raw")
        else:
            reply(handler, 200, car, "application/vnd.ipld.car")

    with tiny_server(on_get=serve) as url, GatewayBackend(url) as gateway:
        with pytest.raises(ContentMismatchError):
            gateway.fetch_to_path(root, tmp_path / "out.bin")
        assert not (tmp_path / "out.bin").exists()
        assert list(tmp_path.iterdir()) == []  # the temp file is gone too
        with pytest.raises(ContentMismatchError):
            gateway.get_block(root)
