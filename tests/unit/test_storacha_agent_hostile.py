"""The agent store and proofs against hostile inputs: a FIFO or a killed writer in the
store's place, proofs with malformed capabilities or chains that do not link, proofs too
large to read back, and the cost of encoding and loading many of them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multiformats import CID as MultiformatsCID
from multiformats import varint

from ipfs_kit_py.backends.storacha import _cbor
from ipfs_kit_py.backends.storacha.agent import StorachaAgent
from ipfs_kit_py.backends.storacha.agent_store import AgentStore
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.delegation import MAX_PROOF_BYTES, Delegation, parse_proof
from ipfs_kit_py.backends.storacha.delegations import delegate
from ipfs_kit_py.backends.storacha.did import Signer
from ipfs_kit_py.backends.storacha.ucan import UCAN
from ipfs_kit_py.content.cid import CID, DAG_CBOR, RAW, sha256_cid
from ipfs_kit_py.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidInputError,
    ProtocolError,
)
from ipfs_kit_py.storacha_kit import StorachaKit

SPACE = Signer(bytes([7]) * 32)


def agent_at(path: Path) -> StorachaAgent:
    return StorachaAgent(StorachaConfig.from_sources({"agent_store": str(path)}, env={}))


def with_junk(d: Delegation, kilobytes: int) -> Delegation:
    blocks = dict(d.blocks)
    for i in range(kilobytes // 10):
        data = i.to_bytes(4, "big") * 2500
        blocks[sha256_cid(RAW, data)] = data
    return Delegation(d.ucan, blocks)


def multiformats_text(d: Delegation) -> str:
    """The former encoding (multiformats' base64, quadratic): the reference for small ones."""
    car = d.archive()
    mh = b"\x00" + bytes(varint.encode(len(car))) + car
    return str(MultiformatsCID("base64", 1, 0x0202, mh).encode("base64"))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=4), st.integers(0, 3))
def test_proof_text_is_the_multiformats_encoding_and_reads_back(
    extra: list[bytes], abilities: int
) -> None:
    caps = [{"with": SPACE.did, "can": f"upload/x{i}"} for i in range(abilities + 1)]
    d = delegate(SPACE, Signer(bytes([8]) * 32).did, caps)
    blocks = {**d.blocks, **{sha256_cid(RAW, b): b for b in extra}}
    d = Delegation(d.ucan, blocks)
    text = d.format()
    assert text == multiformats_text(d)
    again = parse_proof(text)
    assert again.cid == d.cid and again.blocks == d.blocks


def test_a_proof_near_the_size_limit_encodes_and_reads_back() -> None:
    """240 KB: multiformats' base64 took minutes (98 s for 200 KB) under the store lock."""
    d = with_junk(delegate(SPACE, Signer.generate().did, [{"with": SPACE.did, "can": "*"}]), 240)
    assert parse_proof(d.format()).blocks == d.blocks


def test_a_delegation_keeps_only_its_chains_blocks_when_stored(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "agent.json")
    with store.update() as state:
        grant = delegate(SPACE, state.principal.did, [{"with": SPACE.did, "can": "*"}])
        state.add([with_junk(grant, 300)])
    loaded = store.load()
    assert loaded is not None
    assert [set(d.blocks) for d in loaded.delegations] == [{grant.cid}]


def test_a_delegation_too_large_to_read_back_is_refused_and_the_store_kept(
    tmp_path: Path,
) -> None:
    store = AgentStore(tmp_path / "agent.json")
    with store.update() as state:
        agent = state.principal
    root = delegate(SPACE, agent.did, [{"with": SPACE.did, "can": "*"}])
    caps = [{"with": SPACE.did, "can": "x/" + "y" * (MAX_PROOF_BYTES + 10)}]
    huge = delegate(agent, Signer.generate().did, caps, proofs=[root])
    with pytest.raises(InvalidInputError, match="larger than"), store.update() as state:
        state.add([huge], issued=True)
    loaded = store.load()
    assert loaded is not None and loaded.issued == []


def test_loading_many_delegations_encodes_each_ucan_a_bounded_number_of_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store re-encoded every held UCAN once per row read (quadratic: 154 rows, 18 s)."""
    store = AgentStore(tmp_path / "agent.json")
    with store.update() as state:
        for i in range(120):
            space = Signer(i.to_bytes(2, "big") * 16)
            caps = [{"with": space.did, "can": "upload/add"}]
            state.add([delegate(space, state.principal.did, caps)])
    calls = 0
    encode = UCAN.encode

    def counted(self: UCAN) -> bytes:
        nonlocal calls
        calls += 1
        return encode(self)

    monkeypatch.setattr(UCAN, "encode", counted)
    loaded = store.load()
    assert loaded is not None and len(loaded.delegations) == 120
    assert calls <= 6 * 120  # a few per row (was one per row per row read: 7,000+)


def test_a_fifo_in_the_stores_place_is_refused_not_waited_on(tmp_path: Path) -> None:
    path = tmp_path / "agent.json"
    os.mkfifo(path, 0o600)
    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            AgentStore(path).load()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=load, daemon=True)
    reader.start()
    reader.join(20)
    if reader.is_alive():  # unblock the open so the thread ends, then fail
        with open(path, "wb"):
            pass
        pytest.fail("loading a FIFO agent store blocked")
    assert isinstance(outcome[0], ConfigurationError)
    assert "not a regular file" in str(outcome[0])


def test_a_writer_killed_mid_save_leaves_its_key_only_until_the_next_save(
    tmp_path: Path,
) -> None:
    """The temp file of a SIGKILLed writer holds the agent key; the next save removes it."""
    path = tmp_path / "agent.json"
    child = (
        "import os, signal, sys\n"
        "from ipfs_kit_py.backends.storacha.agent_store import AgentStore\n"
        "os.replace = lambda a, b: os.kill(os.getpid(), signal.SIGKILL)\n"
        f"with AgentStore({str(path)!r}).update() as state: state.names['x'] = 'y'\n"
    )
    done = subprocess.run([sys.executable, "-c", child], check=False, timeout=60)
    assert done.returncode == -signal.SIGKILL
    left = list(tmp_path.glob(".storacha-agent-*.tmp"))
    assert left and "principal" in left[0].read_text()
    with AgentStore(path).update():
        pass
    assert list(tmp_path.glob(".storacha-agent-*.tmp")) == []


# -- proofs that must not be imported -------------------------------------------------------


def signed_block(signer: Signer, aud: str, **fields: Any) -> tuple[CID, bytes]:
    """A UCAN block signed by ``signer`` whose fields may hold anything (bypassing checks)."""
    base = UCAN(iss=signer.did, aud=aud, att=[], exp=None)
    payload = {**base.to_ipld(), **fields}
    unsigned = {k: v for k, v in payload.items() if k != "s"}
    shadow = UCAN(**{**base.__dict__, **{k: v for k, v in unsigned.items() if k in FIELDS}})
    try:
        payload["s"] = signer.sign(shadow.signing_input())
    except (ProtocolError, AttributeError, TypeError):  # no JWT form: any signature will do
        payload["s"] = signer.sign(b"")
    data = _cbor.encode(payload)
    return sha256_cid(DAG_CBOR, data), data


FIELDS = {"att", "exp", "prf", "fct", "nnc", "nbf"}


def proof_text(root: CID, blocks: dict[CID, bytes]) -> str:
    from ipfs_kit_py.backends.storacha.delegation import ARCHIVE_TAG
    from ipfs_kit_py.content.car import encode_car_block, encode_car_header

    head = _cbor.encode({ARCHIVE_TAG: root})
    head_cid = sha256_cid(DAG_CBOR, head)
    car = encode_car_header([head_cid]) + b"".join(
        encode_car_block(c, d) for c, d in [*blocks.items(), (head_cid, head)]
    )
    cid = b"\x01" + bytes(varint.encode(0x0202)) + b"\x00" + bytes(varint.encode(len(car))) + car
    import base64

    return "m" + base64.b64encode(cid).decode().rstrip("=")


MALFORMED = {
    "a capability that is a string": {"att": ["upload/add"]},
    "a capability without can": {"att": [{"with": SPACE.did}]},
    "a capability whose nb is a list": {"att": [{"with": SPACE.did, "can": "x/y", "nb": [1]}]},
    "att that is a map": {"att": {"with": SPACE.did, "can": "x/y"}},
    "exp that is a string": {"exp": "tomorrow", "att": []},
    "exp that is a float": {"exp": 1.5, "att": []},
    "prf holding a string": {"prf": ["bafy"], "att": []},
    "fct that is a map": {"fct": {"a": 1}, "att": []},
}


@pytest.mark.parametrize("fields", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_proof_with_malformed_fields_is_refused_and_the_store_unchanged(
    tmp_path: Path, fields: dict[str, Any]
) -> None:
    """Stored, a string capability made every later upload fail with AttributeError."""
    kit = StorachaKit(
        StorachaConfig.from_sources({"agent_store": str(tmp_path / "a.json")}, env={})
    )
    me = kit.whoami()["agent"]
    root, block = signed_block(SPACE, me, **fields)
    before = (tmp_path / "a.json").read_bytes()
    result = kit.import_proof(proof_text(root, {root: block}))
    assert not result["success"]
    assert result["error_type"] == "ConfigurationError"
    assert (tmp_path / "a.json").read_bytes() == before
    assert kit.list_delegations()["delegations"] == []


@settings(max_examples=60, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=8,
    )
)
def test_a_ucan_block_reads_back_typed_or_not_at_all(att: Any) -> None:
    """Whatever ``att`` holds, decoding gives capabilities of strings or a ProtocolError."""
    _, block = signed_block(SPACE, SPACE.did, att=att)
    try:
        ucan = UCAN.decode(block)
    except ProtocolError:
        return
    for cap in ucan.att:
        assert isinstance(cap["with"], str) and isinstance(cap["can"], str)
        assert isinstance(cap.get("nb", {}), dict)


def test_a_proof_whose_chain_does_not_link_is_refused(tmp_path: Path) -> None:
    """A stranger's delegation of a space it holds no proof for; and a proof delegated to
    someone else than the UCAN citing it: both would be refused by the service on use."""
    agent = agent_at(tmp_path / "a.json")
    me = agent.whoami()
    stranger = Signer.generate()
    caps = [{"with": SPACE.did, "can": "upload/add"}]
    unproven = delegate(stranger, me, caps)
    with pytest.raises(AuthenticationError, match="without any proof"):
        agent.import_proof(unproven.format())
    elsewhere = delegate(SPACE, Signer.generate().did, caps)  # not to the stranger
    misrouted = delegate(stranger, me, caps, proofs=[elsewhere])
    with pytest.raises(AuthenticationError, match="does not link"):
        agent.import_proof(misrouted.format())
    assert agent.delegations() == []
    linked = delegate(stranger, me, caps, proofs=[delegate(SPACE, stranger.did, caps)])
    assert agent.import_proof(linked.format()).cid == linked.cid


def test_delegation_ls_prints_a_proofs_control_characters_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An imported proof's ability holding an OSC sequence (set the terminal title) is
    shown as text, not sent to the terminal."""
    from ipfs_kit_py.cli.main import main

    store = tmp_path / "a.json"
    agent = agent_at(store)
    space = Signer.generate()
    caps = [{"with": space.did, "can": "upload/\x1b]0;pwned\x07"}]
    agent.import_proof(delegate(space, agent.whoami(), caps).format())
    monkeypatch.setenv("STORACHA_AGENT_STORE", str(store))
    monkeypatch.delenv("STORACHA_KEY", raising=False)
    monkeypatch.delenv("STORACHA_PROOF", raising=False)
    assert main(["storacha", "delegation", "ls"]) == 0
    out = capsys.readouterr().out
    assert "upload/\\x1b]0;pwned\\x07" in out
    assert "\x1b" not in out and "\x07" not in out
