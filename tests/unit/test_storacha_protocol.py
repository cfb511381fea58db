"""Storacha protocol layers without a server: keys, UCANs, receipts, proofs, piece CIDs."""

from __future__ import annotations

import time

import pytest

from ipfs_kit_py.backends.storacha.delegation import Delegation, parse_proof
from ipfs_kit_py.backends.storacha.did import (
    SIGNATURE_PREFIX,
    Signer,
    decode_did,
    did_key_public_key,
    encode_did,
)
from ipfs_kit_py.backends.storacha.message import (
    AgentMessage,
    Invocation,
    Receipt,
    encode_request,
    issue_receipt,
)
from ipfs_kit_py.backends.storacha.piece import PieceHasher, piece_cid
from ipfs_kit_py.backends.storacha.ucan import UCAN, issue
from ipfs_kit_py.errors import AuthenticationError, ConfigurationError
from tests.conformance.storacha_probe import probe

AGENT = Signer(bytes(range(32)))
SPACE = Signer(bytes(range(32, 64)))
SERVICE = Signer(bytes(range(64, 96))).with_did("did:web:up.storacha.network")


def test_did_bytes() -> None:
    raw = encode_did(AGENT.did)
    assert raw[:2] == b"\xed\x01" and len(raw) == 34
    assert raw[2:] == did_key_public_key(AGENT.did) == AGENT.verifier.public_key
    assert (
        encode_did("did:web:up.storacha.network")
        == bytes.fromhex("9d1a") + b"web:up.storacha.network"
    )
    assert decode_did(raw) == AGENT.did
    assert decode_did(encode_did("did:mailto:example.com:alice")) == "did:mailto:example.com:alice"


def test_signature_bytes_are_varsig_ed25519() -> None:
    sig = AGENT.sign(b"payload")
    assert bytes.fromhex("eda10340") == SIGNATURE_PREFIX
    assert sig.startswith(SIGNATURE_PREFIX) and len(sig) == 68
    AGENT.verifier.verify(b"payload", sig)
    with pytest.raises(AuthenticationError):
        AGENT.verifier.verify(b"other", sig)


def test_key_parsing() -> None:
    text = AGENT.format()
    assert text.startswith("Mg")
    assert Signer.parse(text).did == AGENT.did
    assert "Mg" not in repr(Signer.parse(text))
    with pytest.raises(ConfigurationError):
        Signer.parse("not a key")
    forged = SPACE.archive()[:36] + AGENT.verifier.public_key  # seed of one, key of another
    with pytest.raises(ConfigurationError, match="does not match"):
        Signer.from_archive(forged)


def test_signing_input_is_the_jwt_form() -> None:
    ucan = issue(
        AGENT, SERVICE.did, [{"with": SPACE.did, "can": "upload/list", "nb": {}}], expiration=1
    )
    header, payload = ucan.signing_input().split(b".")
    assert header == b"eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsInVjdiI6IjAuOS4xIn0"
    assert b"=" not in payload


def test_ucan_roundtrip_and_tamper() -> None:
    ucan = issue(
        AGENT,
        SERVICE.did,
        [
            {
                "with": SPACE.did,
                "can": "space/blob/add",
                "nb": {"blob": {"digest": b"\x12\x20" + bytes(32), "size": 1}},
            }
        ],
        nonce="n1",
        facts=[{"k": "v"}],
    )
    decoded = UCAN.decode(ucan.encode())
    assert decoded == ucan and decoded.cid == ucan.cid
    decoded.verify_signature(AGENT.verifier)
    assert ucan.exp is not None and ucan.exp - time.time() <= 31
    tampered = UCAN(
        **{**ucan.__dict__, "att": [{"with": SPACE.did, "can": "upload/remove", "nb": {}}]}
    )
    with pytest.raises(AuthenticationError):
        tampered.verify_signature(AGENT.verifier)
    with pytest.raises(AuthenticationError):
        ucan.verify_signature(SPACE.verifier)


def test_receipt_issue_verify_and_bad_signature() -> None:
    ran = issue(AGENT, SERVICE.did, [{"with": AGENT.did, "can": "http/put", "nb": {}}]).cid
    cid, block = issue_receipt(SPACE, ran, {})
    receipt = Receipt.decode(cid, block)
    assert receipt.ran == ran and receipt.ok == {} and receipt.issuer == SPACE.did
    receipt.verify(SPACE.verifier)
    bad = Receipt(**{**receipt.__dict__, "sig": receipt.sig[:-1] + bytes([receipt.sig[-1] ^ 1])})
    with pytest.raises(AuthenticationError):
        bad.verify(SPACE.verifier)


def _delegation(exp: int | None = None, aud: str = AGENT.did) -> Delegation:
    ucan = issue(
        SPACE, aud, [{"with": SPACE.did, "can": "upload/*"}], expiration=exp or 4_000_000_000
    )
    return Delegation(ucan, {ucan.cid: ucan.encode()})


def test_proof_format_parse_and_checks() -> None:
    delegation = _delegation()
    text = delegation.format()
    assert text.startswith("m")
    parsed = parse_proof(text)
    assert parsed.cid == delegation.cid and parsed.spaces() == [SPACE.did]
    parsed.check(AGENT.did)
    with pytest.raises(AuthenticationError, match="not to this agent"):
        parsed.check(SPACE.did)
    with pytest.raises(AuthenticationError, match="expired"):
        _delegation(exp=int(time.time()) - 10).check(AGENT.did)
    forged = UCAN(**{**delegation.ucan.__dict__, "aud": SERVICE.did})
    with pytest.raises(AuthenticationError):
        Delegation(forged, {forged.cid: forged.encode()}).check(SERVICE.did)
    for garbage in ("", "mAAAA", "not base64 at all!"):
        with pytest.raises(ConfigurationError):
            parse_proof(garbage)


def test_request_carries_proof_blocks() -> None:
    delegation = _delegation()
    inv = issue(
        AGENT,
        SERVICE.did,
        [{"with": SPACE.did, "can": "upload/list", "nb": {}}],
        proofs=[delegation.cid],
    )
    message = AgentMessage.decode(encode_request([Invocation(inv, delegation.blocks)]))
    assert message.execute == [inv.cid]
    assert delegation.cid in message.blocks and inv.cid in message.blocks


# Piece CIDs computed by fr32-sha2-256-trunc254-padded-binary-tree-multihash 3.3.0 (the
# hasher @storacha/client uses) for the probe input cut to each length, and for zeros.
PIECES = {
    ("zero", 0): "bafkzcibcp4bdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy",
    ("zero", 127): "bafkzcibcaabdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy",
    ("probe", 100): "bafkzcibcdmbd6vqzsyatwastz4mstettcgv2t4neuilp53pwtjiixb3im5nyila",
    ("probe", 128): "bafkzcibcpybx7dsrdi4gr5kx2s6n72l5chlg4zruxewo3tl7fc4uoqfmplapsjq",
    ("probe", 254): "bafkzcibcaabzsdpf2owvcwnrtnuq2bsqb5itbbcjv7bkeqjts3qd46hmypagmba",
    ("probe", 1040385): "bafkzcibe767t6ehnc3iaolakccb2e7lcb2nirsdmogvxfhyuggsru3yrrvfxcongdi",
    ("probe", 2621440): "bafkzcibeqcaf4ej7cjj7c77eec46etel6vkp354rb6wclubke24dxqxdj3z6ehrzee",
}


def _input(kind: str, n: int) -> bytes:
    return bytes(n) if kind == "zero" else probe(n)


@pytest.mark.parametrize(("kind", "n"), list(PIECES))
def test_piece_cid_vectors(kind: str, n: int) -> None:
    assert str(piece_cid(_input(kind, n))) == PIECES[(kind, n)]


def test_piece_hasher_streams_in_any_chunking() -> None:
    data = _input("probe", 2621440)
    hasher = PieceHasher()
    for start in range(0, len(data), 777_777):
        hasher.update(data[start : start + 777_777])
    assert str(hasher.cid()) == PIECES[("probe", 2621440)]


def test_links_print_as_js_does() -> None:
    from ipfs_kit_py.backends.storacha.ucan import dag_json, link_str
    from ipfs_kit_py.content.cid import parse_cid

    v0 = parse_cid("QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN")
    assert link_str(v0) == "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"
    assert (
        dag_json({"root": v0}) == b'{"root":{"/":"QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"}}'
    )
