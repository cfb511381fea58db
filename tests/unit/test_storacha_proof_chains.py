"""Proof chains are checked in linear time, bounded, and exactly as a naive checker would.

Random proof DAGs (shared and repeated parents, expired, not-yet-valid, forged and
missing proofs) are compared with a reference that follows every path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.storacha import delegation as chains
from ipfs_kit_py.backends.storacha.delegation import Delegation, walk_chain
from ipfs_kit_py.backends.storacha.did import Signer, verifier_for
from ipfs_kit_py.backends.storacha.ucan import UCAN, issue
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.errors import AuthenticationError

NOW = 1_800_000_000
AGENT = Signer(bytes([1]) * 32)
SPACE = Signer(bytes([2]) * 32)
KEYS = [Signer(bytes([10 + i]) * 32) for i in range(12)]
CAPS = [{"with": SPACE.did, "can": "upload/list"}]


@dataclass(frozen=True)
class Node:
    """How one UCAN of a random DAG is made."""

    parents: tuple[int, ...]  # indices of earlier nodes, repeats allowed
    expired: bool = False
    early: bool = False  # nbf in the future
    forged: bool = False
    carried: bool = True  # its block travels with the delegation


def build(nodes: list[Node]) -> tuple[Delegation, list[CID]]:
    """Issue the DAG bottom up; the last node is the root, delegated to AGENT."""
    made: list[UCAN] = []
    blocks: dict[CID, bytes] = {}
    for i, node in enumerate(nodes):
        aud = AGENT.did if i == len(nodes) - 1 else KEYS[(i + 1) % len(KEYS)].did
        ucan = issue(
            KEYS[i % len(KEYS)],
            aud,
            CAPS,
            expiration=NOW - 10 if node.expired else NOW + 3600,
            not_before=NOW + 10 if node.early else None,
            proofs=[made[p].cid for p in node.parents],
            nonce=f"n{i}",  # distinct UCANs even where issuer and fields repeat
        )
        if node.forged:
            ucan = UCAN(**{**ucan.__dict__, "s": ucan.s[:-1] + bytes([ucan.s[-1] ^ 1])})
        made.append(ucan)
        if node.carried or i == len(nodes) - 1:
            blocks[ucan.cid] = ucan.encode()
    return Delegation(made[-1], blocks), [u.cid for u in made]


def reference(d: Delegation, max_depth: int, max_proofs: int) -> str:
    """Follow every path (exponential; fine for small DAGs): the verdict of a chain check."""
    depth: dict[CID, int] = {}

    def visit(ucan: UCAN, level: int) -> None:
        if ucan.cid in depth and depth[ucan.cid] <= level:
            return
        depth[ucan.cid] = level
        for link in ucan.prf:
            if link in d.blocks:
                visit(UCAN.decode(d.blocks[link]), level + 1)

    visit(d.ucan, 0)
    if max(depth.values()) > max_depth or len(depth) > max_proofs:
        return "capped"
    for cid in depth:
        ucan = d.ucan if cid == d.ucan.cid else UCAN.decode(d.blocks[cid])
        if ucan.exp is not None and ucan.exp < NOW:
            return "invalid"
        if ucan.nbf is not None and ucan.nbf > NOW:
            return "invalid"
        try:
            ucan.verify_signature(verifier_for(ucan.iss))
        except AuthenticationError:
            return "invalid"
    return "ok"


def verdict(d: Delegation, max_depth: int, max_proofs: int) -> str:
    try:
        found = list(walk_chain(d.ucan, d.blocks, max_depth=max_depth, max_proofs=max_proofs))
    except AuthenticationError:
        return "capped"
    try:
        for ucan in found:
            chains.check_ucan(ucan, NOW)
    except AuthenticationError:
        return "invalid"
    return "ok"


@st.composite
def dags(draw: Any) -> list[Node]:
    n = draw(st.integers(1, 9))
    nodes = []
    for i in range(n):
        parents = draw(st.lists(st.integers(0, i - 1), max_size=4)) if i else []
        rare = st.integers(0, 5).map(lambda k: k == 0)
        nodes.append(
            Node(
                tuple(parents),
                expired=draw(rare),
                early=draw(rare),
                forged=draw(rare),
                carried=draw(st.integers(0, 7)) != 0,
            )
        )
    return nodes


@settings(max_examples=80, deadline=None)
@given(dags(), st.integers(1, 6), st.integers(1, 10))
def test_random_proof_dags_match_the_reference(
    nodes: list[Node], max_depth: int, max_proofs: int
) -> None:
    d, _ = build(nodes)
    assert verdict(d, max_depth, max_proofs) == reference(d, max_depth, max_proofs)
    ok = reference(d, chains.MAX_PROOF_DEPTH, chains.MAX_PROOFS) == "ok"
    try:
        d.check(AGENT.did, now=NOW)
        checked = True
    except AuthenticationError:
        checked = False
    assert checked == ok


@settings(max_examples=40, deadline=None)
@given(dags())
def test_each_distinct_proof_is_visited_once(nodes: list[Node]) -> None:
    d, cids = build(nodes)
    found = [u.cid for u in d.chain()]
    assert len(found) == len(set(found))
    assert found[0] == d.cid and set(found) <= set(cids)


def doubled(levels: int) -> Delegation:
    """Each level cites the one below twice: 2**levels paths, levels + 1 UCANs."""
    nodes = [Node(())] + [Node((i, i)) for i in range(levels)]
    return build(nodes)[0]


def test_a_doubling_chain_is_checked_once_per_ucan(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[CID] = []
    original = UCAN.verify_signature

    def counting(self: UCAN, verifier: Any) -> None:
        checked.append(self.cid)
        original(self, verifier)

    monkeypatch.setattr(UCAN, "verify_signature", counting)
    d = doubled(11)  # 2,048 paths
    d.check(AGENT.did, now=NOW)
    assert len(checked) == 12 == len(set(checked))
    assert len(d.spaces()) == 1 and len(checked) == 12  # memoized: no second walk


def test_depth_and_size_are_capped() -> None:
    deep = build([Node(())] + [Node((i,)) for i in range(chains.MAX_PROOF_DEPTH + 1)])[0]
    with pytest.raises(AuthenticationError, match="deeper than"):
        deep.check(AGENT.did, now=NOW)
    wide = build([*[Node(()) for _ in range(chains.MAX_PROOFS)], Node(tuple(range(256)))])[0]
    with pytest.raises(AuthenticationError, match="more than"):
        wide.check(AGENT.did, now=NOW)


def test_not_before_is_checked_locally_like_expiry() -> None:
    d = build([Node((), early=True), Node((0,))])[0]
    with pytest.raises(AuthenticationError, match="not valid before"):
        d.check(AGENT.did, now=NOW)
    d.check(AGENT.did, now=NOW + 20)  # once the time has come, it is fine


def test_a_real_clock_check_of_a_fresh_chain_passes() -> None:
    space, agent = Signer.generate(), Signer.generate()
    ucan = issue(space, agent.did, CAPS, lifetime=60)
    Delegation(ucan, {ucan.cid: ucan.encode()}).check(agent.did, now=time.time())
