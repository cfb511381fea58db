"""Pruning the agent store on save: expired delegations and login grants superseded by a
later login (with their attestations) go; a usable, unsuperseded one never does."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.storacha.account import accounts
from ipfs_kit_py.backends.storacha.agent_store import AgentState, AgentStore
from ipfs_kit_py.backends.storacha.delegation import Delegation
from ipfs_kit_py.backends.storacha.delegations import attested, delegate
from ipfs_kit_py.backends.storacha.did import Signer
from ipfs_kit_py.backends.storacha.store_prune import expired
from ipfs_kit_py.backends.storacha.ucan import issue, link_str

SERVICE = Signer.generate()
NOW = time.time()
PAST, FUTURE = int(NOW) - 3600, int(NOW) + 3600


def grant(account: str, agent: str, exp: int | None, can: str = "*") -> Delegation:
    """An account's grant as the service hands it out: issued by a did:mailto (unsigned)."""
    caps = [{"with": "ucan:*", "can": can}]
    request = {"access/request": os.urandom(8).hex()}  # each login answers its own request
    signed = issue(SERVICE, agent, caps, expiration=exp, lifetime=None, facts=[request])
    ucan = dataclasses.replace(signed, iss=account, s=b"")
    return Delegation(ucan, {ucan.cid: ucan.encode()})


def attestation(of: Delegation, agent: str, exp: int | None) -> Delegation:
    caps = [{"with": SERVICE.did, "can": "ucan/attest", "nb": {"proof": of.cid}}]
    return delegate(SERVICE, agent, caps, expiration=exp)


def login(
    state: AgentState,
    account: str,
    exp: int | None = None,
    att_exp: int | None = None,
    can: str = "*",
) -> tuple[Delegation, Delegation]:
    made = grant(account, state.principal.did, exp, can)
    vouch = attestation(made, state.principal.did, att_exp)
    state.add([made, vouch])
    return made, vouch


ALICE, BOB = "did:mailto:example.com:alice", "did:mailto:example.com:bob"


def test_a_later_login_supersedes_the_earlier_one() -> None:
    state = AgentState(Signer.generate())
    old = login(state, ALICE)
    other = login(state, BOB)
    new = login(state, ALICE)
    narrower = login(state, ALICE, can="upload/add")  # other abilities: not the same grant
    assert state.prune(NOW) == 2
    kept = [d.cid for d in state.delegations]
    assert kept == [d.cid for d in (*other, *new, *narrower)]
    assert all(d.cid not in kept for d in old)
    assert state.prune(NOW) == 0  # idempotent


def test_expired_ones_go_and_live_ones_stay() -> None:
    state = AgentState(Signer.generate())
    space = Signer.generate()
    live = delegate(space, state.principal.did, [{"with": space.did, "can": "upload/add"}])
    dead = delegate(
        space, state.principal.did, [{"with": space.did, "can": "upload/add"}], expiration=PAST
    )
    # a not-yet-valid one is kept: it will be
    ucan = issue(
        space,
        state.principal.did,
        [{"with": space.did, "can": "upload/list"}],
        lifetime=None,
        not_before=FUTURE,
    )
    soon = Delegation(ucan, {ucan.cid: ucan.encode()})
    state.add([live, dead, soon])
    state.add([delegate(state.principal, Signer.generate().did, [], expiration=PAST)], issued=True)
    state.revoked[link_str(dead.cid)] = NOW
    assert state.prune(NOW) == 2
    assert [d.cid for d in state.delegations] == [live.cid, soon.cid] and state.issued == []
    assert state.revoked == {}


def test_an_expired_newer_login_does_not_supersede() -> None:
    state = AgentState(Signer.generate())
    old = login(state, ALICE)
    login(state, ALICE, exp=PAST)
    unattested = grant(ALICE, state.principal.did, None)
    state.add([unattested])
    state.prune(NOW)
    assert [d.cid for d in state.delegations] == [*(d.cid for d in old), unattested.cid]


def test_a_revoked_grant_is_kept_until_it_expires() -> None:
    state = AgentState(Signer.generate())
    old, _ = login(state, ALICE)
    state.revoked[link_str(old.cid)] = NOW
    login(state, ALICE)
    state.prune(NOW)
    assert old.cid in {d.cid for d in state.delegations}


def test_the_store_prunes_on_save(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "agent.json")
    with store.update() as state:
        for _ in range(5):
            login(state, ALICE)
    loaded = store.require()
    assert len(loaded.delegations) == 2 and accounts(loaded.valid_delegations()) == [ALICE]


LOGIN = st.tuples(
    st.sampled_from([ALICE, BOB]),
    st.sampled_from([None, PAST, FUTURE]),  # the grant's exp
    st.sampled_from([None, PAST, FUTURE]),  # its attestation's exp
    st.sampled_from(["*", "upload/add"]),
    st.booleans(),  # revoked
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(logins=st.lists(LOGIN, max_size=7))
def test_pruning_keeps_every_account_usable(
    logins: list[tuple[str, int | None, int | None, str, bool]],
) -> None:
    """Whatever the logins: after pruning, nothing expired is left, the accounts usable
    before are usable after (each by its newest usable grant), and pruning again drops
    nothing."""
    state = AgentState(Signer.generate())
    for account, exp, att_exp, can, revoke in logins:
        made, _ = login(state, account, exp, att_exp, can)
        if revoke:
            state.revoked[link_str(made.cid)] = NOW
    before = accounts(state.valid_delegations(NOW))
    usable = {d.cid for d in state.valid_delegations(NOW)}
    state.prune(NOW)
    assert not any(expired(d, NOW) for d in state.delegations)
    assert sorted(accounts(state.valid_delegations(NOW))) == sorted(before)
    kept = {d.cid for d in state.delegations}
    for d in state.delegations:  # every kept attestation vouches for a kept grant
        assert attested(d) is None or attested(d) in kept
    for account in before:  # its newest usable grant is what is kept of it
        grants = [d for d in state.delegations if d.ucan.iss == account and d.cid in usable]
        assert grants
    assert state.prune(NOW) == 0
