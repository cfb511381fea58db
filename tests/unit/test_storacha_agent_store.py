"""The Storacha agent store: file mode, atomic versioned writes, the lock, and what reads it."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ipfs_kit_py.backends.registry import build_backends
from ipfs_kit_py.backends.storacha.agent_store import (
    FORMAT,
    VERSION,
    AgentStore,
    agent_store_path,
    stored_credentials,
)
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.delegation import Delegation
from ipfs_kit_py.backends.storacha.delegations import delegate
from ipfs_kit_py.backends.storacha.did import Signer
from ipfs_kit_py.backends.storacha.ucan import link_str
from ipfs_kit_py.errors import ConfigurationError, NotConfiguredError


def grant(audience: str, space: Signer | None = None, exp: int | None = None) -> Delegation:
    space = space or Signer.generate()
    caps = [{"with": space.did, "can": "upload/add"}]
    return delegate(space, audience, caps, expiration=exp)


def test_new_store_is_private_and_versioned(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "cfg" / "agent.json")
    with store.update() as state:
        state.add([grant(state.principal.did)])
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    data = json.loads(store.path.read_text())
    assert data["format"] == FORMAT and data["version"] == VERSION
    loaded = store.require()
    assert loaded.principal.did == state.principal.did and len(loaded.delegations) == 1
    assert [p.name for p in store.path.parent.iterdir() if p.suffix == ".tmp"] == []


def test_secrets_stay_out_of_reprs(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "agent.json")
    with store.update() as state:
        state.add([grant(state.principal.did)])
    key = state.principal.format()
    proof = state.delegations[0].format()
    for text in (repr(state), repr(store), repr(store.require()), repr(state.principal)):
        assert key not in text and proof not in text and key[2:20] not in text


def test_a_failed_update_writes_nothing(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "agent.json")
    with store.update() as state:
        state.current_space = "did:key:z6Mkfirst"
    before = store.path.read_bytes()
    with pytest.raises(RuntimeError), store.update() as state:
        state.current_space = "did:key:z6Mksecond"
        raise RuntimeError("stop")
    assert store.path.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "not a Storacha agent store"),
        (json.dumps({"format": FORMAT, "version": 99}).encode(), "version 99"),
        (json.dumps({"format": FORMAT, "version": VERSION}).encode(), "damaged"),
        (
            json.dumps({"format": FORMAT, "version": VERSION, "principal": "Mgnope"}).encode(),
            "damaged",
        ),
    ],
)
def test_a_damaged_store_is_a_configuration_error(
    tmp_path: Path, content: bytes, says: str
) -> None:
    store = AgentStore(tmp_path / "agent.json")
    store.path.write_bytes(content)
    store.path.chmod(0o600)
    with pytest.raises(ConfigurationError, match=says) as info:
        store.load()
    assert str(store.path) in str(info.value)


def _bump(path: str, n: int) -> None:
    for _ in range(n):
        with AgentStore(path).update() as state:
            count = int(state.names.get("count", "0"))
            state.names["count"] = str(count + 1)


def test_concurrent_processes_lose_no_update(tmp_path: Path) -> None:
    path = str(tmp_path / "agent.json")
    with AgentStore(path).update():
        pass
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_bump, args=(path, 10)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 4
    assert AgentStore(path).require().names["count"] == "40"


def test_config_uses_the_store_only_when_env_and_file_are_silent(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "agent.json")
    with store.update() as state:
        held = grant(state.principal.did)
        state.add([held])
        state.add([grant(state.principal.did, exp=1)])  # expired: never offered
        state.add([grant(Signer.generate().did)], issued=True)
        state.current_space = held.spaces()[0]
    env = {"STORACHA_AGENT_STORE": str(store.path)}
    config = StorachaConfig.from_sources({}, {}, env)
    assert config.key is not None and config.key.value == state.principal.format()
    assert config.proof is not None and config.proof.value == held.format()
    assert config.space == held.spaces()[0]
    other = Signer.generate().format()
    config = StorachaConfig.from_sources({}, {}, {**env, "STORACHA_KEY": other})
    assert config.key is not None and config.key.value == other and config.proof is None
    config = StorachaConfig.from_sources({}, {"proof": "m-from-file"}, env)
    assert config.key is None
    assert stored_credentials(tmp_path / "absent.json") == (None, None, None)
    assert not (tmp_path / "absent.json").exists()


def test_the_facade_finds_the_store_in_the_xdg_config_dir(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    with pytest.raises(NotConfiguredError):
        build_backends("storacha", {}, {}, env)
    assert agent_store_path(env) == tmp_path / "ipfs-kit" / "storacha-agent.json"
    with AgentStore(agent_store_path(env)).update() as state:
        state.add([grant(state.principal.did)])
    (backend,) = build_backends("storacha", {}, {}, env)
    assert backend.agent == state.principal.did  # type: ignore[attr-defined]
    backend.close()


class StoreModel(RuleBasedStateMachine):
    """Whatever sequence of changes, a reload gives back exactly what was written."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"agent-sm-{os.getpid()}-{id(self)}"
        self.store = AgentStore(self.dir / "agent.json")
        with self.store.update() as state:
            self.agent = state.principal.did
        self.held: list[str] = []
        self.issued: list[str] = []
        self.names: dict[str, str] = {}
        self.current: str | None = None

    @rule(issued=st.booleans())
    def add(self, issued: bool) -> None:
        made = grant(self.agent)
        with self.store.update() as state:
            state.add([made], issued=issued)
            state.add([made], issued=issued)  # a second add of the same CID is a no-op
        (self.issued if issued else self.held).append(str(made.cid))

    @rule(name=st.text(max_size=20))
    def name_and_select(self, name: str) -> None:
        did = Signer.generate().did
        with self.store.update() as state:
            state.names[did] = name
            state.current_space = did
        self.names[did], self.current = name, did

    @invariant()
    def reload_matches(self) -> None:
        state = self.store.require()
        assert [str(d.cid) for d in state.delegations] == self.held
        assert [str(d.cid) for d in state.issued] == self.issued
        assert state.names == self.names and state.current_space == self.current
        assert state.principal.did == self.agent

    def teardown(self) -> None:
        for p in self.dir.iterdir():
            p.unlink()
        self.dir.rmdir()


TestStoreModel = StoreModel.TestCase
TestStoreModel.settings = settings(
    max_examples=15,
    stateful_step_count=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_in_the_store_file_are_an_answer(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    store = AgentStore(tmp_path_factory.mktemp("s") / "agent.json")
    store.path.write_bytes(data)
    try:
        store.load()
    except ConfigurationError as exc:
        assert str(store.path) in str(exc)


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.integers(-10, 10), st.text(max_size=5), st.floats(), st.booleans()))
def test_upload_concurrency_is_1_to_4_or_a_configuration_error(value: object) -> None:
    try:
        config = StorachaConfig.from_sources(
            {"upload_concurrency": value, "agent_store": "/nonexistent/agent.json"}, {}, {}
        )
    except ConfigurationError as exc:
        assert "upload_concurrency" in str(exc)
        return
    assert 1 <= config.upload_concurrency <= 4
    assert (
        StorachaConfig.from_sources(
            {"agent_store": "/nonexistent/a.json"}, {}, {}
        ).upload_concurrency
        == 2
    )


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_store_others_may_read_is_refused_with_the_chmod_to_run(
    tmp_path: Path, mode: int
) -> None:
    store = AgentStore(tmp_path / "agent.json")
    with store.update() as state:
        state.add([grant(state.principal.did)])
    store.path.chmod(mode)
    for call in (store.load, store.require, lambda: stored_credentials(store.path)):
        with pytest.raises(ConfigurationError) as info:
            call()
        message = str(info.value)
        assert f"mode {mode:04o}" in message and f"chmod 600 {store.path}" in message
        assert state.principal.format() not in message
    with pytest.raises(ConfigurationError), store.update():
        pass
    store.path.chmod(0o600)  # the advice works
    assert store.require().principal.did == state.principal.did


def test_a_revocation_is_kept_shown_and_never_offered_as_a_proof(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "agent.json")
    with store.update() as state:
        kept, revoked = grant(state.principal.did), grant(state.principal.did)
        state.add([kept, revoked])
        state.add([grant(Signer.generate().did)], issued=True)
        state.revoked[link_str(revoked.cid)] = 1_700_000_000.5
    loaded = store.require()
    assert loaded.revoked_at(revoked) == 1_700_000_000.5 and loaded.revoked_at(kept) is None
    assert [d.cid for d in loaded.valid_delegations()] == [kept.cid]
    assert loaded.spaces() == kept.spaces()
    rows = json.loads(store.path.read_text())["delegations"]
    assert [row.get("revoked") for row in rows] == [None, 1_700_000_000.5, None]


@pytest.mark.parametrize("bad", ["soon", [], {"at": 1}])
def test_a_damaged_revocation_time_is_a_configuration_error(tmp_path: Path, bad: object) -> None:
    store = AgentStore(tmp_path / "agent.json")
    with store.update() as state:
        state.add([grant(state.principal.did)])
    data = json.loads(store.path.read_text())
    data["delegations"][0]["revoked"] = bad
    store.path.write_text(json.dumps(data))
    store.path.chmod(0o600)
    with pytest.raises(ConfigurationError, match="damaged"):
        store.load()
