"""Attack findings on issue 13's agent store and agent inputs (a13), no server needed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.storacha.account import login
from ipfs_kit_py.backends.storacha.agent import StorachaAgent
from ipfs_kit_py.backends.storacha.agent_store import AgentStore
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.delegations import delegate, parse_abilities
from ipfs_kit_py.backends.storacha.did import Signer, Verifier
from ipfs_kit_py.backends.storacha.ucan import UCAN, link_str
from ipfs_kit_py.content.car import encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import DAG_CBOR, sha256_cid
from ipfs_kit_py.errors import (
    AuthenticationError,
    BackendTimeoutError,
    ConfigurationError,
    InvalidInputError,
    NotConfiguredError,
)

UNREACHABLE = "http://127.0.0.1:9"  # nothing listens: a call that got this far would fail


def agent_in(tmp_path: Path) -> StorachaAgent:
    args = {"agent_store": str(tmp_path / "cfg" / "agent.json"), "service_url": UNREACHABLE}
    return StorachaAgent(StorachaConfig.from_sources(args, env={}))


def made_store(tmp_path: Path) -> AgentStore:
    store = AgentStore(tmp_path / "cfg" / "agent.json")
    with store.update():
        pass
    return store


def test_json_nested_past_the_recursion_limit_is_a_damaged_store(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "agent.json")
    store.path.write_text("[" * 200_000)
    store.path.chmod(0o600)
    with pytest.raises(ConfigurationError, match="damaged"):
        store.load()
    config = StorachaConfig.from_sources({"agent_store": str(store.path)}, env={})
    with pytest.raises(ConfigurationError, match="damaged"):  # the facade's path: on use
        config.require_credentials()


def test_a_store_others_may_write_is_refused(tmp_path: Path) -> None:
    store = made_store(tmp_path)
    store.path.chmod(0o646)
    with pytest.raises(ConfigurationError, match="another user"):
        store.load()
    store.path.chmod(0o600)
    assert store.load() is not None


def test_a_store_in_a_directory_others_may_write_is_refused(tmp_path: Path) -> None:
    store = made_store(tmp_path)
    store.path.parent.chmod(0o777)
    with pytest.raises(ConfigurationError, match="another user"):
        store.load()
    store.path.parent.chmod(0o1777)  # sticky, as /tmp: nobody else can rename over it
    assert store.load() is not None


def test_a_store_owned_by_another_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = made_store(tmp_path)
    me = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: me + 1)  # the file's owner is now "another user"
    with pytest.raises(ConfigurationError, match="another user"):
        store.load()


def test_a_symlink_to_another_users_store_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    theirs = made_store(tmp_path / "theirs")
    mine = tmp_path / "mine" / "agent.json"
    mine.parent.mkdir(mode=0o700)
    mine.symlink_to(theirs.path)
    theirs.path.chmod(0o666)
    with pytest.raises(ConfigurationError, match="another user"):
        AgentStore(mine).load()


def test_a_symlinked_lock_file_is_not_followed(tmp_path: Path) -> None:
    store = made_store(tmp_path)
    target = tmp_path / "elsewhere"
    store.lock_path.unlink()
    store.lock_path.symlink_to(target)
    with pytest.raises(ConfigurationError, match="cannot lock"):
        store.load()
    assert not target.exists()


def test_an_expired_proof_inside_a_chain_is_not_offered(tmp_path: Path) -> None:
    """A share whose issuer's own proof expired must not make every call fail."""
    store = made_store(tmp_path)
    me = store.require().principal
    space, middle = Signer.generate(), Signer.generate()
    caps = [{"with": space.did, "can": "upload/add"}]
    soon = int(time.time()) + 60
    short = delegate(space, middle.did, caps, expiration=soon)
    shared = delegate(middle, me.did, caps, proofs=[short])  # never expires itself
    other = Signer.generate()
    fine = delegate(other, me.did, [{"with": other.did, "can": "upload/add"}])
    with store.update() as state:
        state.add([shared, fine])
    state = store.require()
    assert [d.cid for d in state.valid_delegations()] == [shared.cid, fine.cid]
    later = soon + 1
    assert [d.cid for d in state.valid_delegations(now=later)] == [fine.cid]
    not_yet = delegate(other, me.did, fine.ucan.att, expiration=None)
    object.__setattr__(not_yet.ucan, "nbf", later)  # a forged window: its signature fails too
    state.add([not_yet])
    assert not_yet.cid not in [d.cid for d in state.valid_delegations()]


@pytest.mark.parametrize(
    "expiration", [2**53, 2**64, 2**70, 1e12, float("nan"), float("inf"), "1999999999", True]
)
def test_an_expiration_the_official_client_cannot_read_is_refused(
    tmp_path: Path, expiration: object
) -> None:
    agent = agent_in(tmp_path)
    agent.create_space("s", provision=False, recovery=False)
    with pytest.raises(InvalidInputError, match="expiration"):
        agent.create_delegation(Signer.generate().did, ["upload/add"], expiration=expiration)  # type: ignore[arg-type]
    ok = agent.create_delegation(Signer.generate().did, ["upload/add"], expiration=2**53 - 1)
    assert ok.ucan.exp == 2**53 - 1


@pytest.mark.parametrize(
    "audience", ["did:web:\x00", "did:key:z6Mk\n", "did:mailto:example.com:a b", "did:", 5]
)
def test_an_audience_with_control_characters_is_refused(tmp_path: Path, audience: object) -> None:
    agent = agent_in(tmp_path)
    agent.create_space("s", provision=False, recovery=False)
    with pytest.raises(InvalidInputError, match="not an agent DID"):
        agent.create_delegation(audience, ["upload/add"])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["a\x7fb", "\u202eevil", "x\x85y", "a\u2028b", 7])
def test_a_space_name_that_rewrites_the_terminal_is_refused(tmp_path: Path, name: object) -> None:
    agent = agent_in(tmp_path)
    with pytest.raises(InvalidInputError, match="printable"):
        agent.create_space(name, provision=False, recovery=False)  # type: ignore[arg-type]
    assert agent.create_space("名前", provision=False, recovery=False).name == "名前"


@pytest.mark.parametrize("timeout", ["5", None, True, float("inf"), -1])
def test_a_login_timeout_that_is_not_seconds_is_refused_before_any_network(
    tmp_path: Path, timeout: object
) -> None:
    with pytest.raises(InvalidInputError, match="positive seconds"):
        agent_in(tmp_path).login("a@example.com", timeout=timeout)  # type: ignore[arg-type]


def test_one_ability_given_as_a_string_is_not_split_into_letters() -> None:
    assert parse_abilities("upload/add") == ["upload/add"]  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        parse_abilities(["upload/add\x00"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=4))
def test_abilities_are_printable_ascii_or_refused(values: list[str]) -> None:
    try:
        found = parse_abilities(values)
    except InvalidInputError:
        return
    assert found and all(c.isascii() and c.isprintable() and " " not in c for c in found)


def test_a_local_space_needs_no_login(tmp_path: Path) -> None:
    """``space create NAME --no-provision`` before any login: a space, without recovery."""
    agent = agent_in(tmp_path)
    made = agent.create_space("local", provision=False)
    assert not made.provisioned and not made.recovery and made.account is None
    assert agent.state().current_space == made.did
    with pytest.raises(AuthenticationError, match="not logged in"):
        agent.create_space("paid", provision=True)  # provisioning needs an account


class _ClaimStub:
    """A service whose access/claim answers a grant from ``issuer`` (a real service cannot
    be made to confirm another account: this is the mock beside the real login tests)."""

    def __init__(self, issuer: str) -> None:
        self.signer = Signer.generate()
        self.request = sha256_cid(DAG_CBOR, b"the access/authorize task")
        grant = UCAN(
            iss=issuer,
            aud=self.signer.did,
            att=[{"with": "ucan:*", "can": "*"}],
            exp=None,
            fct=[{"access/request": self.request}],
        )
        block = grant.encode()
        car = encode_car_header([grant.cid]) + encode_car_block(grant.cid, block)
        self.service = Signer.generate().with_did("did:web:service.example")
        attest = [{"with": self.service.did, "can": "ucan/attest", "nb": {"proof": grant.cid}}]
        vouch = delegate(self.service, self.signer.did, attest)
        vouched = encode_car_header([vouch.cid]) + encode_car_block(vouch.cid, vouch.ucan.encode())
        self.answer = {"delegations": {link_str(grant.cid): car, link_str(vouch.cid): vouched}}
        self.claims = 0

    def service_verifier(self) -> Verifier:
        return self.service.verifier

    def invoke_ok(self, can: str, *args: object, **kwargs: object) -> object:
        if can == "access/authorize":
            return {"request": self.request}
        self.claims += 1
        return self.answer


def test_a_grant_from_another_account_is_not_taken_as_our_login() -> None:
    stub = _ClaimStub("did:mailto:evil.example:mallory")
    with pytest.raises(BackendTimeoutError):
        login(stub, "alice@example.com", timeout=0.05, interval=0.01)  # type: ignore[arg-type]
    assert stub.claims >= 2  # it kept waiting for alice's own grant
    ours = _ClaimStub("did:mailto:example.com:alice")
    granted = login(ours, "alice@example.com", timeout=5, interval=0.01)  # type: ignore[arg-type]
    assert [d.ucan.iss for d in granted] == ["did:mailto:example.com:alice", ours.service.did]


def test_a_store_whose_delegations_all_expired_says_so(tmp_path: Path) -> None:
    store = made_store(tmp_path)
    space = Signer.generate()
    soon = int(time.time()) + 1
    caps = [{"with": space.did, "can": "upload/add"}]
    with store.update() as state:
        state.add([delegate(space, state.principal.did, caps, expiration=soon)])
    while time.time() <= soon + 0.5:
        time.sleep(0.1)
    config = StorachaConfig.from_sources({"agent_store": str(store.path)}, env={})
    with pytest.raises(NotConfiguredError, match="no usable proof"):
        config.require_credentials()
