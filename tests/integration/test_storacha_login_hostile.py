"""Login against a hostile service: the real local service behind a proxy that plays the
service with its own key and rewrites what ``access/claim`` answers.

Nothing it forges is stored; what it pads is not kept; its bombs fail typed, not slowly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.servers import hostile_login as rules
from tests.servers.hostile import HostileProxy
from tests.servers.storacha import StorachaService

from ipfs_kit_py.backends.storacha.agent import StorachaAgent
from ipfs_kit_py.backends.storacha.agent_store import AgentStore
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.did import Signer
from ipfs_kit_py.errors import (
    AuthenticationError,
    BackendTimeoutError,
    BackendUnavailableError,
    ProtocolError,
)


@pytest.fixture
def proxy(storacha_service: StorachaService) -> Iterator[HostileProxy]:
    with HostileProxy(storacha_service.url) as p:
        yield p


def agent_through(
    proxy: HostileProxy, service: StorachaService, store: Path, claim: rules.Claim | None
) -> StorachaAgent:
    """An agent whose service is ``proxy`` playing a hostile service with ``claim``."""
    hostile = rules.HostileService(service.did, claim)
    proxy.rule = hostile
    args = {
        "agent_store": str(store),
        "service_url": proxy.url,
        "service_did": service.did,
        "service_key": hostile.key.did,  # the client trusts the hostile service's key
        "receipts_url": proxy.url + "/receipt/",
        "gateway_url": service.gateway_url,
    }
    return StorachaAgent(StorachaConfig.from_sources(args, env={}))


def email() -> str:
    return f"hostile-{uuid.uuid4().hex[:10]}@example.com"


def held(store: Path) -> list[str]:
    state = AgentStore(store).load()
    return [] if state is None else [d.ucan.iss for d in state.delegations]


def test_the_hostile_service_itself_logs_in_when_it_attests(
    proxy: HostileProxy, storacha_service: StorachaService, tmp_path: Path
) -> None:
    """The control: the proxy's re-signed answers are taken when they are consistent."""
    store = tmp_path / "agent.json"
    with agent_through(proxy, storacha_service, store, rules.attested_by_us) as agent:
        account = agent.login(email(), timeout=20)
        assert agent.accounts() == [account]
    assert held(store) == [account, storacha_service.did]


@pytest.mark.parametrize(
    "claim",
    [rules.unattested, rules.attested_by_another_key, rules.attested_by_a_stranger],
    ids=["no attestation", "attested by another key", "attested by a stranger"],
)
def test_a_grant_the_service_does_not_attest_is_refused_and_not_stored(
    proxy: HostileProxy, storacha_service: StorachaService, tmp_path: Path, claim: rules.Claim
) -> None:
    store = tmp_path / "agent.json"
    with agent_through(proxy, storacha_service, store, claim) as agent:
        with pytest.raises(AuthenticationError, match="without its attestation"):
            agent.login(email(), timeout=20)
        assert agent.accounts() == []
    assert held(store) == []


@pytest.mark.parametrize(
    ("claim", "why"),
    [(rules.for_another_agent, "not to this agent"), (rules.expired, "expired")],
    ids=["another agent", "expired"],
)
def test_a_grant_for_another_agent_or_expired_is_refused_and_not_stored(
    proxy: HostileProxy,
    storacha_service: StorachaService,
    tmp_path: Path,
    claim: rules.Claim,
    why: str,
) -> None:
    store = tmp_path / "agent.json"
    agent = agent_through(proxy, storacha_service, store, claim)
    with agent, pytest.raises(AuthenticationError, match=why):
        agent.login(email(), timeout=20)
    assert held(store) == []


def test_junk_blocks_in_a_claim_are_not_stored_and_the_store_reads_back(
    proxy: HostileProxy, storacha_service: StorachaService, tmp_path: Path
) -> None:
    """400 KB of uncited blocks with each grant: once stored with them, the store could
    not be read back (past the proof size limit), and encoding them took minutes."""
    store = tmp_path / "agent.json"
    with agent_through(proxy, storacha_service, store, rules.with_junk_blocks) as agent:
        account = agent.login(email(), timeout=20)
    state = AgentStore(store).load()
    assert state is not None
    assert [len(d.blocks) for d in state.delegations] == [1, 1]
    assert store.stat().st_size < 20_000
    assert held(store) == [account, storacha_service.did]


def test_our_grant_after_hundreds_of_others_is_found(
    proxy: HostileProxy, storacha_service: StorachaService, tmp_path: Path
) -> None:
    """An agent logged in many times is answered all its grants: the newest came after a
    cut-off at 256 and the login waited out its timeout."""
    store = tmp_path / "agent.json"
    with agent_through(proxy, storacha_service, store, rules.after_others(300)) as agent:
        account = agent.login(email(), timeout=20)
    assert held(store) == [account, storacha_service.did]


def test_a_claim_of_shared_blocks_under_many_roots_fails_typed(
    proxy: HostileProxy, storacha_service: StorachaService, tmp_path: Path
) -> None:
    """256 roots over 20,000 blocks, four times: each root copied every block (1.2 GB,
    a minute per poll). Now the claim's blocks are bounded and it fails at once."""
    store = tmp_path / "agent.json"
    bomb = rules.block_bomb(roots=256, blocks=20_000, cars=4)
    agent = agent_through(proxy, storacha_service, store, bomb)
    with agent, pytest.raises(ProtocolError, match="blocks"):
        agent.login(email(), timeout=3)
    assert held(store) == []


def test_a_claim_that_never_grants_times_out_and_stores_nothing(
    proxy: HostileProxy, storacha_service: StorachaService, tmp_path: Path
) -> None:
    store = tmp_path / "agent.json"
    agent = agent_through(proxy, storacha_service, store, lambda s, real, agent: {})
    with agent, pytest.raises(BackendTimeoutError, match="not confirmed within 2s"):
        agent.login(email(), timeout=2, progress=None)
    assert held(store) == []


def test_a_login_outlives_5xx_answers_to_its_polls(
    proxy: HostileProxy, storacha_service: StorachaService, tmp_path: Path
) -> None:
    """Two 502s and a 503 while the user has not clicked yet: the link stays valid, the
    login keeps polling (it gave up at the first 502 and the e-mail was wasted)."""
    store = tmp_path / "agent.json"
    agent = agent_through(proxy, storacha_service, store, rules.attested_by_us)
    failing = rules.FailingClaims(2, 502, proxy.rule)
    proxy.rule = failing
    with agent:
        account = agent.login(email(), timeout=20)
    assert failing.failed == 2
    assert held(store) == [account, storacha_service.did]


def test_a_service_failing_every_poll_fails_typed_after_the_timeout(
    proxy: HostileProxy, storacha_service: StorachaService, tmp_path: Path
) -> None:
    store = tmp_path / "agent.json"
    agent = agent_through(proxy, storacha_service, store, rules.attested_by_us)
    proxy.rule = rules.FailingClaims(10**6, 503, proxy.rule)
    with agent, pytest.raises(BackendUnavailableError, match="503"):
        agent.login(email(), timeout=1)
    assert held(store) == []


def test_space_info_about_another_space_is_refused(
    proxy: HostileProxy, storacha_service: StorachaService, tmp_path: Path
) -> None:
    """A service answering space/info with another space's record: `space ls` said the
    space was known, with that space's providers."""
    store = tmp_path / "agent.json"
    real = {
        "agent_store": str(store),
        "service_url": storacha_service.url,
        "service_did": storacha_service.did,
        "service_key": storacha_service.did_key,
        "receipts_url": storacha_service.receipts_url,
    }
    with StorachaAgent(StorachaConfig.from_sources(real, env={})) as honest:
        honest.login(email(), timeout=20)  # the real service's grant and attestation
        made = honest.create_space("lied-about", authorize_gateway=False)
    with agent_through(proxy, storacha_service, store, None) as agent:
        assert agent.space_info(made.did)["did"] == made.did
        other = Signer.generate().did
        hostile = proxy.rule
        assert isinstance(hostile, rules.HostileService)
        hostile.outs["space/info"] = lambda out: {"ok": {**out["ok"], "did": other}}
        with pytest.raises(ProtocolError, match="another space"):
            agent.spaces(ask_service=True)
        with pytest.raises(ProtocolError, match="another space"):
            agent.space_info(made.did)
