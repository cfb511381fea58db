"""Agent store fields are type-checked when the store loads: a wrong type is a
ConfigurationError naming the field (never a TypeError later), and a damaged store at
the default path leaves ``ipfs_kit()`` working for every other tier."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.storacha.agent_store import FORMAT, VERSION, AgentStore
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.delegations import delegate
from ipfs_kit_py.backends.storacha.did import Signer
from ipfs_kit_py.errors import ConfigurationError, NotConfiguredError

SPACE = Signer.generate()
AGENT = Signer.generate()
PROOF = delegate(SPACE, AGENT.did, [{"with": SPACE.did, "can": "upload/add"}]).format()


def valid_store() -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "principal": AGENT.format(),
        "delegations": [{"proof": PROOF, "issued": False}],
        "current_space": SPACE.did,
        "spaces": {SPACE.did: "photos"},
    }


def write(path: Path, data: Any) -> AgentStore:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    path.chmod(0o600)
    return AgentStore(path)


def test_the_valid_store_loads(tmp_path: Path) -> None:
    state = write(tmp_path / "a.json", valid_store()).require()
    assert state.current_space == SPACE.did and state.names == {SPACE.did: "photos"}
    assert [d.format() for d in state.delegations] == [PROOF]


# (path to the field, a value of the wrong type, the field name the message must give)
WRONG = [
    (("principal",), 7, "principal"),
    (("principal",), None, "principal"),
    (("principal",), "Mgnope", "principal"),
    (("delegations",), {"a": 1}, "delegations"),
    (("delegations",), "m...", "delegations"),
    (("delegations", 0), "m...", "delegations[0]"),
    (("delegations", 0, "proof"), 12, "delegations[0].proof"),
    (("delegations", 0, "proof"), "mnot-a-proof", "delegations[0].proof"),
    (("delegations", 0, "issued"), "yes", "delegations[0].issued"),
    (("delegations", 0, "issued"), 1, "delegations[0].issued"),
    (("delegations", 0, "revoked"), "today", "delegations[0].revoked"),
    (("delegations", 0, "revoked"), True, "delegations[0].revoked"),
    (("current_space",), ["did:key:z6Mk"], "current_space"),
    (("current_space",), 5, "current_space"),
    (("current_space",), "photos", "current_space"),
    (("current_space",), {"did": "did:key:z6Mk"}, "current_space"),
    (("spaces",), ["did:key:z6Mk"], "spaces"),
    (("spaces",), "photos", "spaces"),
    (("spaces", SPACE.did), 3, "spaces["),
]


def damaged(where: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = valid_store()
    target: Any = data
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    return data


@pytest.mark.parametrize(("where", "value", "field"), WRONG)
def test_a_field_of_the_wrong_type_is_named(
    tmp_path: Path, where: tuple[Any, ...], value: Any, field: str
) -> None:
    store = write(tmp_path / "a.json", damaged(where, value))
    with pytest.raises(ConfigurationError, match="damaged") as info:
        store.load()
    assert f"field '{field}" in str(info.value)
    assert AGENT.format() not in str(info.value) and PROOF not in str(info.value)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = [
    ("principal",),
    ("delegations",),
    ("delegations", 0),
    ("delegations", 0, "proof"),
    ("delegations", 0, "issued"),
    ("delegations", 0, "revoked"),
    ("current_space",),
    ("spaces",),
    ("spaces", SPACE.did),
]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(where=st.sampled_from(FIELDS), value=JSON, extra=st.booleans())
def test_any_damaged_field_loads_or_is_a_configuration_error(
    tmp_path: Path, where: tuple[Any, ...], value: Any, extra: bool
) -> None:
    """Whatever JSON value a field holds, loading either succeeds with the types the code
    relies on or raises ConfigurationError, and so does the config built from it."""
    data = damaged(where, value)
    if extra:
        data["unknown"] = value  # fields of a later minor version are ignored
    store = write(tmp_path / "h" / "a.json", data)
    try:
        state = store.load()
    except ConfigurationError as exc:
        assert "damaged" in str(exc)
        config = StorachaConfig.from_sources({"agent_store": str(store.path)}, env={})
        with pytest.raises(ConfigurationError, match="damaged"):
            config.require_credentials()
        return
    assert state is not None
    assert state.current_space is None or state.current_space.startswith("did:key:")
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in state.names.items())
    assert all(isinstance(t, float) for t in state.revoked.values())
    state.spaces()
    state.to_json()
    config = StorachaConfig.from_sources({"agent_store": str(store.path)}, env={})
    with contextlib.suppress(NotConfiguredError):  # no usable proof left: said, typed
        config.require_credentials()


def test_a_damaged_store_is_the_storacha_tiers_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the default (XDG) path: the kit builds, ``backends`` gives the damage as the
    Storacha tier's reason, and only a Storacha call raises it."""
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    for name in ("STORACHA_KEY", "STORACHA_PROOF", "STORACHA_AGENT_STORE", "IPFS_KIT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    for var, sub in (("CONFIG", "cfg"), ("DATA", "data"), ("CACHE", "cache"), ("STATE", "st")):
        monkeypatch.setenv(f"XDG_{var}_HOME", str(tmp_path / sub))
    write(tmp_path / "cfg" / "ipfs-kit" / "storacha-agent.json", damaged(("current_space",), 5))
    kit = ipfs_kit()
    try:
        status = {s.name: s for s in kit.backends()}["storacha"]
        assert not status.configured and "current_space" in status.reason
        assert "damaged" in status.reason
        answer = kit.storacha_kit.list_uploads()
        assert answer["success"] is False and answer["error_type"] == "ConfigurationError"
        assert "current_space" in answer["error"]
        with pytest.raises(ConfigurationError, match="current_space"):
            kit.storacha.list_uploads()
        assert kit.add(b"still works").stored  # the local tiers serve
    finally:
        kit.close()


@settings(max_examples=200, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=60),
        st.binary(max_size=60).map(lambda b: "m" + __import__("base64").b64encode(b).decode()),
        st.binary(max_size=40).map(
            lambda b: "m" + __import__("base64").b64encode(b"\x01" + b).decode()
        ),
    ),
    source=st.sampled_from(["the proof file p.txt", "the proof argument", "the proof given"]),
)
def test_a_bad_proof_is_named_by_its_source(text: str, source: str) -> None:
    """Any text that is not a proof: ConfigurationError naming where it came from, never
    STORACHA_PROOF (unless that is where it came from) and never quoting it."""
    from ipfs_kit_py.backends.storacha.delegation import parse_proof

    try:
        parse_proof(text, source=source)
    except ConfigurationError as exc:
        assert str(exc).startswith(source) and "STORACHA_PROOF" not in str(exc)
        assert len(text.strip()) < 8 or text.strip() not in str(exc)
