"""Parsers and pure helpers of Storacha accounts and sharing: e-mail <-> did:mailto,
abilities, access/claim answers, and which proofs an invocation needs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.storacha.account import account_proofs, accounts, email_of, mailto_did
from ipfs_kit_py.backends.storacha.delegation import Delegation
from ipfs_kit_py.backends.storacha.delegations import (
    attestations_for,
    delegate,
    delegations_from_car,
    delegations_from_claim,
    parse_abilities,
)
from ipfs_kit_py.backends.storacha.did import Signer
from ipfs_kit_py.backends.storacha.ucan import UCAN
from ipfs_kit_py.content.car import encode_car_block, encode_car_header
from ipfs_kit_py.errors import AuthenticationError, InvalidInputError, ProtocolError

_local = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="@"),
    min_size=1,
    max_size=30,
)
_domain = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){0,2}\.[a-z]{2,6}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(_local, _domain)
def test_mailto_round_trips(local: str, domain: str) -> None:
    did = mailto_did(f"{local}@{domain}")
    assert did.startswith("did:mailto:") and did.count(":") == 3
    assert email_of(did) == f"{local}@{domain}"
    assert mailto_did(did) == did


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_mailto_of_any_text_is_a_did_or_invalid_input(text: str) -> None:
    try:
        did = mailto_did(text)
    except InvalidInputError:
        return
    assert did.startswith("did:mailto:") and did.count(":") == 3


def test_mailto_matches_the_official_form() -> None:
    # @storacha/did-mailto: encodeURIComponent of each part, case kept
    assert mailto_did("Alice@Example.com") == "did:mailto:Example.com:Alice"
    assert mailto_did("a+b@x.io") == "did:mailto:x.io:a%2Bb"
    assert mailto_did("o'k!(*)~@x.io") == "did:mailto:x.io:o'k!(*)~"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=5))
def test_abilities_parse_or_are_refused(values: list[str]) -> None:
    try:
        found = parse_abilities(values)
    except InvalidInputError:
        return
    assert found and len(found) == len(set(found))
    assert all(c == "*" or ("/" in c and " " not in c) for c in found)


def test_abilities_split_commas_and_keep_order() -> None:
    assert parse_abilities(["upload/add,space/*", "upload/add", "*"]) == [
        "upload/add",
        "space/*",
        "*",
    ]
    with pytest.raises(InvalidInputError):
        parse_abilities(["upload"])
    with pytest.raises(InvalidInputError):
        parse_abilities([" , "])


def _car(delegations: list[Delegation]) -> bytes:
    parts = [encode_car_header([d.cid for d in delegations])]
    for d in delegations:
        parts += [encode_car_block(c, b) for c, b in d.blocks.items()]
    return b"".join(parts)


def test_claim_answers_decode_to_their_delegations() -> None:
    agent = Signer.generate()
    one = delegate(Signer.generate(), agent.did, [{"with": "ucan:*", "can": "*"}])
    two = delegate(Signer.generate(), agent.did, [{"with": "ucan:*", "can": "*"}])
    got = delegations_from_claim({"delegations": {"a": _car([one]), "b": _car([two])}})
    assert [d.cid for d in got] == [one.cid, two.cid]
    assert [d.cid for d in delegations_from_car(_car([one, two]))] == [one.cid, two.cid]
    for bad in ({}, {"delegations": []}, {"delegations": {"a": "text"}}, None):
        with pytest.raises(ProtocolError):
            delegations_from_claim(bad)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_any_claim_bytes_decode_or_are_a_protocol_error(data: bytes) -> None:
    try:
        found = delegations_from_car(data)
    except ProtocolError:
        return
    assert all(isinstance(d.ucan, UCAN) for d in found)


def test_an_account_grant_travels_with_its_attestation() -> None:
    agent, service = Signer.generate(), Signer.generate()
    account = "did:mailto:example.com:alice"
    # the service writes the account's grant (no signature of its own) and vouches for it
    unsigned = UCAN(iss=account, aud=agent.did, att=[{"with": "ucan:*", "can": "*"}], exp=None)
    grant = Delegation(unsigned, {unsigned.cid: unsigned.encode()})
    attest = delegate(
        service,
        agent.did,
        [{"with": service.did, "can": "ucan/attest", "nb": {"proof": grant.cid}}],
    )
    other = delegate(Signer.generate(), agent.did, [{"with": "ucan:*", "can": "*"}])
    pool = [other, grant, attest]
    assert accounts(pool) == [account]
    assert [d.cid for d in account_proofs(account, pool)] == [grant.cid, attest.cid]
    assert attestations_for([grant], pool) == [attest]
    assert attestations_for([other], pool) == []
    assert accounts([grant]) == []  # without its attestation it is not a login
    with pytest.raises(AuthenticationError, match=r"login bob@example\.com"):
        account_proofs("did:mailto:example.com:bob", pool)


@pytest.mark.parametrize("timeout", [0.0, -1.0, float("nan"), float("inf")])
def test_login_refuses_a_timeout_that_is_not_positive_seconds(timeout: float) -> None:
    from ipfs_kit_py.backends.storacha.account import login

    with pytest.raises(InvalidInputError, match="positive seconds"):
        login(None, "alice@example.com", timeout=timeout)  # type: ignore[arg-type]
