"""The Storacha client against a hostile service and gateway (issue 12).

Each test puts :class:`~tests.servers.hostile.HostileProxy` between the client and the
REAL local service and plays the attacker: forged, replayed and redirected receipts,
oversized, endless and dripped answers, truncated, endless and repeating CARs. Memory
under hostile answers is measured in a fresh process (``tests.servers.hostile_storacha``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.servers import hostile_storacha as attacks
from tests.servers.hostile import HostileProxy, Reply, Witness
from tests.servers.storacha import (
    StorachaService,
    StorachaTestCredentials,
    config_for,
    running,
    start_storacha_service,
    through,
)

from ipfs_kit_py.backends.storacha.backend import StorachaBackend
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.delegation import Delegation, parse_proof
from ipfs_kit_py.backends.storacha.did import Signer
from ipfs_kit_py.backends.storacha.ucan import UCAN, issue
from ipfs_kit_py.backends.storacha.upload import Uploader
from ipfs_kit_py.config import Secret
from ipfs_kit_py.content.cid import cid_key, parse_cid
from ipfs_kit_py.errors import (
    AuthenticationError,
    BackendError,
    BackendUnavailableError,
    ProtocolError,
)
from ipfs_kit_py.ipfs_kit import ipfs_kit
from ipfs_kit_py.net import Timeouts
from ipfs_kit_py.storacha_kit import StorachaKit

ROOT = Path(__file__).resolve().parents[2]
PEAK_RSS_MB = 150


@pytest.fixture
def proxy(storacha_service: StorachaService) -> Iterator[HostileProxy]:
    with HostileProxy(storacha_service.url) as p:
        yield p


def uploaded(backend: StorachaBackend, size: int = 2_500_000) -> str:
    """Upload the probe content (a dag-pb root and three leaves); return its root."""
    data = (b"hostile-gateway-probe-" * (size // 22 + 1))[:size]
    return cid_key(backend.upload_file([data]).root)


def in_fresh_process(kind: str, config: StorachaConfig, cid: str = "") -> dict[str, Any]:
    """Run one call under attack in a new interpreter; its outcome and peak RSS."""
    assert config.key is not None and config.proof is not None
    fields = {
        "key": config.key.value,
        "proof": config.proof.value,
        "service_url": config.service_url,
        "service_did": config.service_did,
        "receipts_url": config.receipts_url,
        "gateway_url": config.gateway_url,
        "deadline": config.timeouts.deadline,
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.servers.hostile_storacha", kind, json.dumps(fields)],
        cwd=ROOT,
        env={**os.environ, "HOSTILE_CID": cid},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- 1. receipts are from the service, about this invocation --------------------------------


def test_receipts_re_signed_by_a_self_named_key_are_refused(
    proxy: HostileProxy, storacha_service: StorachaService, storacha_credentials: Any
) -> None:
    proxy.rule = attacks.forge_receipts
    config = through(proxy, storacha_service, storacha_credentials)
    with StorachaBackend(config) as backend:
        with pytest.raises(ProtocolError, match="not by the service"):
            backend.list_uploads()
        with pytest.raises(ProtocolError, match="not by the service"):
            backend.upload_file([b"forged receipts must not make this a success"])
    result = StorachaKit(config).upload_bytes(b"nor through the dict face")
    assert result["success"] is False and result["error_type"] == "ProtocolError"


def test_a_replayed_upload_add_receipt_is_refused(
    proxy: HostileProxy, storacha_service: StorachaService, storacha_credentials: Any
) -> None:
    replay = attacks.ReplayUploadAdd()
    proxy.rule = replay
    config = through(proxy, storacha_service, storacha_credentials)
    with StorachaBackend(config) as backend:
        backend.upload_file([b"the first upload is genuine"])
        with pytest.raises(ProtocolError, match="answers task"):
            backend.upload_file([b"the second gets the first one's receipt"])
    assert replay.replayed == 1
    second = StorachaBackend(config_for(storacha_service, storacha_credentials))
    with second:
        roots = {cid_key(r["root"]) for r in second.iter_uploads()}
        lost = cid_key(_root_of(b"the second gets the first one's receipt"))
        assert lost not in roots  # the service never registered it, and we did not say so


def _root_of(data: bytes) -> Any:
    from ipfs_kit_py.content.unixfs import STORACHA, import_file

    return import_file([data], STORACHA).cid


# -- 2. credentials never leave for another host -------------------------------------------


@pytest.mark.parametrize("status", [307, 302, 308, 301])
def test_redirects_of_agent_messages_are_not_followed(
    status: int,
    proxy: HostileProxy,
    storacha_service: StorachaService,
    storacha_credentials: Any,
) -> None:
    with Witness() as elsewhere:
        proxy.rule = attacks.redirect_posts(elsewhere.url, status)
        config = through(proxy, storacha_service, storacha_credentials)
        with StorachaBackend(config) as backend, pytest.raises(ProtocolError, match="redirect"):
            backend.list_uploads()
        assert elsewhere.received == []  # neither the agent message nor a GET went there


def test_blob_puts_are_not_redirected(
    proxy: HostileProxy, storacha_service: StorachaService, storacha_credentials: Any
) -> None:
    with Witness() as elsewhere:
        proxy.rule = lambda ex: Reply(307, {"location": elsewhere.url + "/blob"}, b"")
        config = through(proxy, storacha_service, storacha_credentials)
        with StorachaBackend(config) as backend:
            uploader = Uploader(backend.client, storacha_credentials.space_did)
            address = {"url": proxy.url + "/blob?X-Amz-Signature=s3cr3t", "headers": {}}
            with pytest.raises(BackendError, match="307") as raised:
                uploader._put(address, 5, lambda: iter([b"blob!"]))
        assert elsewhere.received == []
        assert "s3cr3t" not in str(raised.value) + raised.value.locator  # a presigned query


def test_a_blob_put_goes_only_to_an_http_url(
    storacha_service: StorachaService, storacha_credentials: Any
) -> None:
    with StorachaBackend(config_for(storacha_service, storacha_credentials)) as backend:
        uploader = Uploader(backend.client, storacha_credentials.space_did)
        for address in ({"url": "file:///etc/passwd"}, {"url": 5}, "http://x", {}):
            with pytest.raises(ProtocolError, match="no HTTP URL"):
                uploader._put(address, 1, lambda: iter([b"x"]))


# -- 3. bounded answers ------------------------------------------------------------------------


@pytest.mark.parametrize("rule", [attacks.oversized_answer, attacks.endless_answer])
def test_oversized_and_endless_answers_are_cut_with_bounded_memory(
    rule: Any, proxy: HostileProxy, storacha_service: StorachaService, storacha_credentials: Any
) -> None:
    proxy.rule = rule
    config = through(proxy, storacha_service, storacha_credentials)
    with StorachaBackend(config) as backend, pytest.raises(ProtocolError, match="bytes"):
        backend.list_uploads()
    outcome = in_fresh_process("list", config)
    assert outcome["error_type"] == "ProtocolError"
    assert outcome["peak_rss_mb"] < PEAK_RSS_MB


def test_a_dripped_answer_fails_at_the_deadline(
    proxy: HostileProxy, storacha_service: StorachaService, storacha_credentials: Any
) -> None:
    dripping = attacks.DrippedAnswer(every_s=1.0)
    proxy.rule = dripping
    config = through(
        proxy, storacha_service, storacha_credentials, service_key=storacha_service.did_key
    )
    config = dataclasses.replace(config, timeouts=Timeouts(idle_timeout=3.0, deadline=3.0))
    with (
        StorachaBackend(config) as backend,
        pytest.raises(BackendUnavailableError, match="within 3s"),
    ):
        backend.list_uploads()
    # an answer of kilobytes, cut after a few bytes: the deadline, not the end, stopped it
    assert dripping.sent < 20


# -- gateway side -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def probe_root(storacha_service: StorachaService, storacha_credentials: Any) -> str:
    with StorachaBackend(config_for(storacha_service, storacha_credentials)) as backend:
        return uploaded(backend)


def test_a_truncated_car_is_a_typed_per_source_error(
    probe_root: str,
    proxy: HostileProxy,
    storacha_service: StorachaService,
    storacha_credentials: Any,
) -> None:
    proxy.rule = attacks.truncated_car
    config = through(proxy, storacha_service, storacha_credentials)
    with StorachaBackend(config) as backend, pytest.raises(ProtocolError, match="bad CAR"):
        b"".join(backend.get(parse_cid(probe_root)))


@pytest.mark.parametrize(
    ("kind", "rule", "match"),
    [
        ("cat", attacks.endless_unneeded_car, "not \\(yet\\) needed"),
        ("cat", attacks.repeated_block_car, "repeats blocks"),
        ("block", attacks.huge_raw, "more than"),
    ],
)
def test_hostile_gateway_answers_end_with_bounded_memory(
    kind: str,
    rule: Any,
    match: str,
    probe_root: str,
    proxy: HostileProxy,
    storacha_service: StorachaService,
    storacha_credentials: Any,
) -> None:
    proxy.rule = rule
    config = through(proxy, storacha_service, storacha_credentials)
    outcome = in_fresh_process(kind, config, probe_root)
    assert outcome["error_type"] == "ProtocolError", outcome
    assert re.search(match, outcome["error"]), outcome
    assert outcome["peak_rss_mb"] < PEAK_RSS_MB


# -- 5. fallback ----------------------------------------------------------------------------------


def storacha_section(config: StorachaConfig) -> dict[str, Any]:
    assert config.key is not None and config.proof is not None
    return {
        "key": config.key.value,
        "proof": config.proof.value,
        "service_url": config.service_url,
        "service_did": config.service_did,
        "receipts_url": config.receipts_url,
        "gateway_url": config.gateway_url,
    }


@pytest.fixture
def no_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.delenv("IPFS_KIT_GATEWAYS", raising=False)
    return tmp_path


def test_a_truncated_car_falls_through_to_the_next_gateway_tier(
    probe_root: str,
    proxy: HostileProxy,
    storacha_service: StorachaService,
    storacha_credentials: Any,
    no_config_file: Path,
) -> None:
    proxy.rule = attacks.truncated_car
    storacha = storacha_section(through(proxy, storacha_service, storacha_credentials))
    with ipfs_kit(
        cache_dir=no_config_file / "cache",
        index_path=no_config_file / "index.sqlite3",
        storacha=storacha,
        gateway={"urls": [storacha_service.gateway_url]},
    ) as kit:
        assert [t.name for t in kit.tiers.tiers][-2:] == ["storacha", "gateway"]
        data = kit.cat(probe_root)
    assert data == (b"hostile-gateway-probe-" * 200_000)[:2_500_000]


def test_a_wrong_raw_block_after_a_verified_car_read_does_not_fail_the_read(
    probe_root: str,
    proxy: HostileProxy,
    storacha_service: StorachaService,
    storacha_credentials: Any,
    no_config_file: Path,
) -> None:
    proxy.rule = attacks.wrong_raw
    storacha = storacha_section(through(proxy, storacha_service, storacha_credentials))
    with ipfs_kit(
        cache_dir=no_config_file / "cache",
        index_path=no_config_file / "index.sqlite3",
        storacha=storacha,
    ) as kit:
        data = kit.cat(probe_root)
        assert data[:22] == b"hostile-gateway-probe-" and len(data) == 2_500_000


# -- the service's key changes --------------------------------------------------------------------


def test_a_key_learned_from_another_origin_is_pinned_across_a_restart(
    proxy: HostileProxy,
    storacha_service: StorachaService,
    storacha_credentials: StorachaTestCredentials,
    tmp_path: Path,
) -> None:
    # service_url (the proxy) is not the did:web's own domain: the key is trusted on first
    # use and never replaced, so a restart with a new key needs service_key (issue 12, #1)
    config = dataclasses.replace(
        through(proxy, storacha_service, storacha_credentials), service_key=None
    )
    with StorachaBackend(config) as backend:
        backend.list_uploads()  # resolves the first key through the proxy
        assert backend.client.key_source == "pinned"
        first = backend.client.service_verifier().key_did
        with running(start_storacha_service(tmp_path, name="restarted")) as restarted:
            assert restarted.did == storacha_service.did and restarted.did_key != first
            restarted.provision(storacha_credentials.space_did, storacha_credentials.account)
            proxy.upstream = restarted.url  # "the service restarted"
            with pytest.raises(ProtocolError, match="set service_key"):
                backend.list_uploads()
            assert backend.client.service_verifier().key_did == first
            resolutions = [e for e in proxy.seen if e.path == "/.well-known/did.json"]
            assert len(resolutions) == 1


def test_a_hijacked_endpoint_cannot_replace_the_default_key(
    proxy: HostileProxy, storacha_service: StorachaService, storacha_credentials: Any
) -> None:
    """The DEFAULT config (no service_key): the attacker serves its own key in did.json
    and /version after the first call and re-signs every receipt under the service's DID."""
    config = dataclasses.replace(
        through(proxy, storacha_service, storacha_credentials), service_key=None
    )
    evil = Signer.generate()
    doc = {
        "id": storacha_service.did,
        "verificationMethod": [{"publicKeyMultibase": evil.did[len("did:key:") :]}],
    }

    def hijack(exchange: Any) -> Reply:
        if exchange.path.startswith("/.well-known/did.json"):
            return Reply(200, {"content-type": "application/json"}, json.dumps(doc).encode())
        if exchange.path.startswith("/version"):
            body = {"did": storacha_service.did, "publicKey": evil.did}
            return Reply(200, {"content-type": "application/json"}, json.dumps(body).encode())
        return attacks.forge_receipts_by(evil.with_did(storacha_service.did))(exchange)

    with StorachaBackend(config) as backend:
        backend.list_uploads()  # genuine: the key is learned now
        genuine = backend.client.service_verifier().key_did
        assert genuine == storacha_service.did_key
        proxy.rule = hijack
        with pytest.raises(ProtocolError, match="invalid signature"):
            backend.list_uploads()
        with pytest.raises(ProtocolError):
            backend.upload_file([b"a forged success must not count"])
        assert backend.client.service_verifier().key_did == genuine
    # a fresh client whose FIRST contact is the attacker learns the attacker's key: that is
    # trust on first use, documented; service_key (or the did:web domain) is the remedy
    pinned = dataclasses.replace(config, service_key=storacha_service.did_key)
    with StorachaBackend(pinned) as backend, pytest.raises(ProtocolError):
        backend.list_uploads()


def test_deeply_nested_receipts_answer_a_protocol_error(
    proxy: HostileProxy, storacha_service: StorachaService, storacha_credentials: Any
) -> None:
    proxy.rule = attacks.nested_receipt
    config = through(proxy, storacha_service, storacha_credentials)
    with StorachaBackend(config) as backend, pytest.raises(ProtocolError, match="nested"):
        backend.list_uploads()


def test_an_answer_of_many_tiny_blocks_is_refused_quickly(
    proxy: HostileProxy, storacha_service: StorachaService, storacha_credentials: Any
) -> None:
    proxy.rule = attacks.many_tiny_blocks(20_000)
    config = through(proxy, storacha_service, storacha_credentials)
    with StorachaBackend(config) as backend, pytest.raises(ProtocolError, match="blocks"):
        backend.list_uploads()


def test_a_blob_add_answered_with_another_blobs_receipt_and_effects_fails(
    proxy: HostileProxy, storacha_service: StorachaService, storacha_credentials: Any
) -> None:
    replay = attacks.CrossTaskBlobAdd()
    proxy.rule = replay
    config = through(proxy, storacha_service, storacha_credentials)
    with StorachaBackend(config) as backend:
        with pytest.raises(ProtocolError, match="answers task"):
            backend.upload_file([b"the first blob/add is genuine; the second is not"])
        assert replay.replayed == 1


def test_an_identity_cid_root_is_uploaded_and_read_without_the_gateway(
    proxy: HostileProxy, storacha_service: StorachaService, storacha_credentials: Any
) -> None:
    root = parse_cid("bafkqadtimvwgy3zanfsgk3tunf2hs")  # raw, identity: b"hello identity"
    config = through(proxy, storacha_service, storacha_credentials)
    with StorachaBackend(config) as backend:
        assert b"".join(backend.get(root)) == b"hello identity"
        assert not [e for e in proxy.seen if "/ipfs/" in e.path]  # the CID is the content
        assert backend.uploader().upload_dag(lambda sink: root).root == root
        assert backend.has(root)


def test_receipt_redirects_stay_on_the_same_origin(
    proxy: HostileProxy, storacha_service: StorachaService, storacha_credentials: Any
) -> None:
    with Witness() as elsewhere:
        for target in (
            elsewhere.url + "/receipt/x",
            proxy.url.replace("127.0.0.1", "127.0.0.2") + "/receipt/x",
            proxy.url.replace("http://", "http://user:pw@") + "/receipt/x",
        ):
            proxy.rule = attacks.redirect_gets(target)
            config = through(proxy, storacha_service, storacha_credentials)
            with StorachaBackend(config) as backend:
                task = backend.client.invocation("upload/list", backend.client.space).cid
                with pytest.raises(ProtocolError, match="another origin"):
                    backend.client.get_receipt(task)
        assert not elsewhere.received


def test_a_configured_service_key_is_never_replaced(
    proxy: HostileProxy, storacha_service: StorachaService, storacha_credentials: Any
) -> None:
    proxy.rule = attacks.forge_receipts
    config = through(
        proxy, storacha_service, storacha_credentials, service_key=storacha_service.did_key
    )
    with StorachaBackend(config) as backend, pytest.raises(ProtocolError):
        backend.list_uploads()
    assert not [e for e in proxy.seen if e.path == "/.well-known/did.json"]


# -- 4. proof chains cost linear time --------------------------------------------------------


def doubled_proof(creds: StorachaTestCredentials, levels: int) -> tuple[str, str]:
    """The CLI's delegation re-delegated ``levels`` times, each citing its parent twice.

    Returns (key, proof) of the last agent; following every path costs 2**levels.
    """
    base = parse_proof(creds.proof)
    blocks = dict(base.blocks)
    issuer, parent = Signer.parse(creds.key), base.cid
    caps = [{"with": creds.space_did, "can": "upload/list"}]
    for _ in range(levels):
        agent = Signer.generate()
        ucan = issue(issuer, agent.did, caps, lifetime=3600, proofs=[parent, parent])
        blocks[ucan.cid] = ucan.encode()
        issuer, parent = agent, ucan.cid
    return issuer.format(), Delegation(UCAN.decode(blocks[parent]), blocks).format()


def test_a_doubling_proof_chain_works_against_the_service(
    storacha_service: StorachaService, storacha_credentials: StorachaTestCredentials
) -> None:
    key, proof = doubled_proof(storacha_credentials, 10)
    config = config_for(
        storacha_service, storacha_credentials, key=Secret(key), proof=Secret(proof)
    )
    with StorachaBackend(config) as backend:
        assert len(backend.client.proofs[0].chain()) == 10 + len(
            parse_proof(storacha_credentials.proof).chain()
        )
        assert isinstance(backend.list_uploads().uploads, list)


def test_a_proof_chain_past_the_depth_cap_is_refused_locally(
    proxy: HostileProxy, storacha_service: StorachaService, storacha_credentials: Any
) -> None:
    key, proof = doubled_proof(storacha_credentials, 30)
    assert len(proof) > 13_000
    config = through(
        proxy, storacha_service, storacha_credentials, key=Secret(key), proof=Secret(proof)
    )
    with StorachaBackend(config) as backend, pytest.raises(AuthenticationError, match="deeper"):
        backend.list_uploads()
    assert proxy.seen == []  # refused before anything went out
