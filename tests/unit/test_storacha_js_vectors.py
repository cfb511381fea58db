"""Byte vectors recorded from the official JS stack (@ucanto/core 10.4.6, @ucanto/principal 9.0.3).

Made with fixed Ed25519 seeds: alice = 32 bytes of 0x01, bob = 32 bytes of 0x02 (bob also
signs as ``did:web:test.example``, the "service"). ``DELEGATION`` is alice -> bob
``upload/add`` with nb (a link and a bytes digest), exp 2000000000, nnc "abc", fct
[{"x": 1}]. ``REQUEST`` is bob's ``upload/list`` invocation (exp Infinity) carrying that
proof; ``RESPONSE`` the service's receipt for it; ``ARCHIVE`` the delegation's archive.
"""

ALICE_KEY = (
    "MgCYBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAe0Biojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w="
)
ALICE_DID = "did:key:z6Mkon3Necd6NkkyfoGoHxid2znGc59LU3K7mubaRcFbLfLX"
BOB_DID = "did:key:z6Mko9hTggMwjSTEaJaPUfE6tqcy2xvU6BnNq3e3o8qVBiyH"
DELEGATION_CID = "bafyreib3jnzclxnrtxn3xhhk5thlml6452hx2onc6mrlpq5jltus3fw7ge"
INVOCATION_CID = "bafyreigjbgaerwkowg6ir27luvo22a3q3xp4dfd3upyx3ogrtqdiagwtbq"
RECEIPT_CID = "bafyreiboxoi6namfwkh72wmykzdfprwdxk2bw5z5tuxudpoprg4eqghxz4"

DELEGATION = bytes.fromhex(
    "a961735844eda10340ebff2fa03fbb859195b2fe84dbb0ea0303a66a882c0e4aef38522989ab9cbcb6fd5972"
    "be8fb6fbcdc44d5e3f5a041fe95fb58794ce47bc11a284e979dc7fc40a617665302e392e316361747481a362"
    "6e62a264626c6f62a26473697a65056664696765737458221220070707070707070707070707070707070707"
    "070707070707070707070707070764726f6f74d82a58250001551220917a70670df1dd700c5f5ba99e0934bf"
    "1eccf30653745e98d3851056777a10196363616e6a75706c6f61642f616464647769746878386469643a6b65"
    "793a7a364d6b6f6e334e656364364e6b6b79666f476f48786964327a6e476335394c55334b376d7562615263"
    "46624c664c58636175645822ed018139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9"
    "b394636578701a773594006366637481a1617801636973735822ed018a88e3dd7409f195fd52db2d3cba5d72"
    "ca6709bf1d94121bf3748801b40f6f5c636e6e63636162636370726680"
)
REQUEST = bytes.fromhex(
    "3aa265726f6f747381d82a582500017112200e534ed915031b0c6854ebd4802a68cfd60054c9e012b9ac5f54"
    "a4379ed7c3db6776657273696f6e01a103017112203b4b7225ddb19ddbbb9ceaecceb62fdcee8f7d39a2f322"
    "b7c3a95ce92d96df31a961735844eda10340ebff2fa03fbb859195b2fe84dbb0ea0303a66a882c0e4aef3852"
    "2989ab9cbcb6fd5972be8fb6fbcdc44d5e3f5a041fe95fb58794ce47bc11a284e979dc7fc40a617665302e39"
    "2e316361747481a3626e62a264626c6f62a26473697a65056664696765737458221220070707070707070707"
    "070707070707070707070707070707070707070707070764726f6f74d82a58250001551220917a70670df1dd"
    "700c5f5ba99e0934bf1eccf30653745e98d3851056777a10196363616e6a75706c6f61642f61646464776974"
    "6878386469643a6b65793a7a364d6b6f6e334e656364364e6b6b79666f476f48786964327a6e476335394c55"
    "334b376d756261526346624c664c58636175645822ed018139770ea87d175f56a35466c34c7ecccb8d8a91b4"
    "ee37a25df60f5b8fc9b394636578701a773594006366637481a1617801636973735822ed018a88e3dd7409f1"
    "95fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c636e6e63636162636370726680c00201711220"
    "c9098048d94eb1bc88ebeba55dad0370dddfc1947ba3f17db8d19c06801ad30ca761735844eda10340a6f513"
    "a76b120c27480c87a5bfd60787783d31c9b7c107c93d2544fd177d8b2989094a1c7ac4ec2bcfa1b03ef0a66d"
    "3dd5a3b477ac5f4fe48ad4d6514ee40603617665302e392e316361747481a3626e62a06363616e6b75706c6f"
    "61642f6c697374647769746878386469643a6b65793a7a364d6b6f6e334e656364364e6b6b79666f476f4878"
    "6964327a6e476335394c55334b376d756261526346624c664c5863617564529d1a7765623a746573742e6578"
    "616d706c6563657870f6636973735822ed018139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df6"
    "0f5b8fc9b3946370726681d82a582500017112203b4b7225ddb19ddbbb9ceaecceb62fdcee8f7d39a2f322b7"
    "c3a95ce92d96df316d017112200e534ed915031b0c6854ebd4802a68cfd60054c9e012b9ac5f54a4379ed7c3"
    "dba1747563616e746f2f6d65737361676540372e302e30a1676578656375746581d82a58250001711220c909"
    "8048d94eb1bc88ebeba55dad0370dddfc1947ba3f17db8d19c06801ad30c"
)
RESPONSE = bytes.fromhex(
    "3aa265726f6f747381d82a58250001711220b48e058f8fd8a0abc89463fe7f5830881378d7413c8c3989e000"
    "7475750e32e46776657273696f6e01a103017112203b4b7225ddb19ddbbb9ceaecceb62fdcee8f7d39a2f322"
    "b7c3a95ce92d96df31a961735844eda10340ebff2fa03fbb859195b2fe84dbb0ea0303a66a882c0e4aef3852"
    "2989ab9cbcb6fd5972be8fb6fbcdc44d5e3f5a041fe95fb58794ce47bc11a284e979dc7fc40a617665302e39"
    "2e316361747481a3626e62a264626c6f62a26473697a65056664696765737458221220070707070707070707"
    "070707070707070707070707070707070707070707070764726f6f74d82a58250001551220917a70670df1dd"
    "700c5f5ba99e0934bf1eccf30653745e98d3851056777a10196363616e6a75706c6f61642f61646464776974"
    "6878386469643a6b65793a7a364d6b6f6e334e656364364e6b6b79666f476f48786964327a6e476335394c55"
    "334b376d756261526346624c664c58636175645822ed018139770ea87d175f56a35466c34c7ecccb8d8a91b4"
    "ee37a25df60f5b8fc9b394636578701a773594006366637481a1617801636973735822ed018a88e3dd7409f1"
    "95fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c636e6e63636162636370726680c00201711220"
    "c9098048d94eb1bc88ebeba55dad0370dddfc1947ba3f17db8d19c06801ad30ca761735844eda10340a6f513"
    "a76b120c27480c87a5bfd60787783d31c9b7c107c93d2544fd177d8b2989094a1c7ac4ec2bcfa1b03ef0a66d"
    "3dd5a3b477ac5f4fe48ad4d6514ee40603617665302e392e316361747481a3626e62a06363616e6b75706c6f"
    "61642f6c697374647769746878386469643a6b65793a7a364d6b6f6e334e656364364e6b6b79666f476f4878"
    "6964327a6e476335394c55334b376d756261526346624c664c5863617564529d1a7765623a746573742e6578"
    "616d706c6563657870f6636973735822ed018139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df6"
    "0f5b8fc9b3946370726681d82a582500017112203b4b7225ddb19ddbbb9ceaecceb62fdcee8f7d39a2f322b7"
    "c3a95ce92d96df31e001017112202ebb91e68185b28ffd5998564657c6c3bab41b773d9d2f41bdcf89b84818"
    "f7cfa2636f636da6626678a164666f726b8063697373746469643a7765623a746573742e6578616d706c6563"
    "6f7574a1626f6ba16568656c6c6f617763707266806372616ed82a58250001711220c9098048d94eb1bc88eb"
    "eba55dad0370dddfc1947ba3f17db8d19c06801ad30c646d657461a0637369675844eda1034012df73fb840e"
    "05765602cebc7cc8eb58407d8975ebe17730f6276c1e2d62a356cc1c2d926dd1bb4706a47725260de5fbc8d7"
    "f7d5df6353df9cd9efd0a251c40aa90101711220b48e058f8fd8a0abc89463fe7f5830881378d7413c8c3989"
    "e0007475750e32e4a1747563616e746f2f6d65737361676540372e302e30a1667265706f7274a1783b626166"
    "79726569676a6267616572776b6f776736697232376c75766f3232613371337870346466643375707978336f"
    "677274716469616777746271d82a582500017112202ebb91e68185b28ffd5998564657c6c3bab41b773d9d2f"
    "41bdcf89b84818f7cf"
)
ARCHIVE = bytes.fromhex(
    "3aa265726f6f747381d82a58250001711220a926a71d67ff10d0da4c84b69b248ef6584a9a67a65cac034ae9"
    "8c424680fb836776657273696f6e01a103017112203b4b7225ddb19ddbbb9ceaecceb62fdcee8f7d39a2f322"
    "b7c3a95ce92d96df31a961735844eda10340ebff2fa03fbb859195b2fe84dbb0ea0303a66a882c0e4aef3852"
    "2989ab9cbcb6fd5972be8fb6fbcdc44d5e3f5a041fe95fb58794ce47bc11a284e979dc7fc40a617665302e39"
    "2e316361747481a3626e62a264626c6f62a26473697a65056664696765737458221220070707070707070707"
    "070707070707070707070707070707070707070707070764726f6f74d82a58250001551220917a70670df1dd"
    "700c5f5ba99e0934bf1eccf30653745e98d3851056777a10196363616e6a75706c6f61642f61646464776974"
    "6878386469643a6b65793a7a364d6b6f6e334e656364364e6b6b79666f476f48786964327a6e476335394c55"
    "334b376d756261526346624c664c58636175645822ed018139770ea87d175f56a35466c34c7ecccb8d8a91b4"
    "ee37a25df60f5b8fc9b394636578701a773594006366637481a1617801636973735822ed018a88e3dd7409f1"
    "95fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c636e6e636361626363707266805901711220a9"
    "26a71d67ff10d0da4c84b69b248ef6584a9a67a65cac034ae98c424680fb83a16a7563616e40302e392e31d8"
    "2a582500017112203b4b7225ddb19ddbbb9ceaecceb62fdcee8f7d39a2f322b7c3a95ce92d96df31"
)

# ruff: noqa: E402
import pytest

from ipfs_kit_py.backends.storacha.delegation import parse_proof
from ipfs_kit_py.backends.storacha.did import Signer, encode_did
from ipfs_kit_py.backends.storacha.message import AgentMessage, Invocation, encode_request
from ipfs_kit_py.backends.storacha.ucan import UCAN, dag_json
from ipfs_kit_py.content.cid import parse_cid
from ipfs_kit_py.errors import AuthenticationError, ProtocolError

ALICE = Signer(bytes([1]) * 32)
BOB = Signer(bytes([2]) * 32)
SERVICE = BOB.with_did("did:web:test.example")


def test_keys_and_dids_match_js() -> None:
    assert Signer.parse(ALICE_KEY).did == ALICE_DID == ALICE.did
    assert ALICE.format() == ALICE_KEY
    assert BOB.did == BOB_DID


def test_delegation_block_roundtrips_byte_for_byte() -> None:
    ucan = UCAN.decode(DELEGATION)
    assert ucan.encode() == DELEGATION
    assert str(ucan.cid) == DELEGATION_CID
    assert (ucan.iss, ucan.aud, ucan.exp, ucan.nnc, ucan.fct) == (
        ALICE_DID,
        BOB_DID,
        2000000000,
        "abc",
        [{"x": 1}],
    )
    ucan.verify_signature(ALICE.verifier)


def test_our_signature_equals_js_signature() -> None:
    # Ed25519 is deterministic: same signing input and key -> same signature bytes.
    ucan = UCAN.decode(DELEGATION)
    assert ALICE.sign(ucan.signing_input()) == ucan.s


def test_invocation_with_infinite_expiry_verifies() -> None:
    message = AgentMessage.decode(REQUEST)
    assert message.execute == [parse_cid(INVOCATION_CID)]
    invocation = message.invocation(message.execute[0])
    assert invocation is not None
    assert invocation.exp is None
    assert b'"exp":null' in _payload(invocation)
    assert encode_did(invocation.aud) == b"\x9d\x1a" + b"web:test.example"
    invocation.verify_signature(BOB.verifier)


def test_request_reencodes_to_the_js_bytes() -> None:
    message = AgentMessage.decode(REQUEST)
    inv_cid = message.execute[0]
    invocation = message.invocation(inv_cid)
    assert invocation is not None
    proof = parse_cid(DELEGATION_CID)
    body = encode_request([Invocation(invocation, {proof: message.blocks[proof]})])
    assert body == REQUEST


def test_receipt_signed_by_service_verifies() -> None:
    response = AgentMessage.decode(RESPONSE)
    receipt = response.receipt_for(parse_cid(INVOCATION_CID))
    assert receipt.cid == parse_cid(RECEIPT_CID)
    assert receipt.issuer == "did:web:test.example"
    assert receipt.ok == {"hello": "w"}
    receipt.verify(SERVICE.verifier)
    with pytest.raises(AuthenticationError):
        receipt.verify(ALICE.verifier)


def test_tampered_response_block_is_rejected() -> None:
    body = bytearray(RESPONSE)
    at = body.index(b"hello")
    body[at] ^= 1
    with pytest.raises(ProtocolError):
        AgentMessage.decode(bytes(body))


def test_archive_parses_and_reencodes() -> None:
    from multiformats import multibase

    delegation = parse_proof(str(multibase.encode(ARCHIVE, "base64")))
    assert str(delegation.cid) == DELEGATION_CID
    assert delegation.archive() == ARCHIVE
    assert delegation.spaces() == [ALICE_DID]
    delegation.check(BOB_DID, now=1_900_000_000)
    with pytest.raises(AuthenticationError, match="expired"):
        delegation.check(BOB_DID, now=2_100_000_000)
    with pytest.raises(AuthenticationError, match="not to this agent"):
        delegation.check(ALICE_DID, now=1_900_000_000)


def _payload(ucan: UCAN) -> bytes:
    import base64

    segment = ucan.signing_input().split(b".")[1]
    return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))


def test_dag_json_sorts_keys_and_tags_bytes_and_links() -> None:
    cid = parse_cid(DELEGATION_CID)
    encoded = dag_json({"b": b"\x01\x02", "a": cid, "aa": [1, None]})
    assert encoded == (
        b'{"a":{"/":"' + DELEGATION_CID.encode() + b'"},"aa":[1,null],"b":{"/":{"bytes":"AQI"}}}'
    )
