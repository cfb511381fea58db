"""Second attack on the policy workers (issue 14): nodes with different tiers agree on
what is short, a node never judges a shared copy it cannot reach, and a CID removed
while it waited in the repair queue leaves the queue (SQLite here, PostgreSQL in
tests/integration/test_policy_attack2_pg.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipfs_kit_py.backends.disk import DiskBackend
from ipfs_kit_py.content.cid import cid_key
from ipfs_kit_py.errors import InvalidInputError
from ipfs_kit_py.policy_worker import PolicyWorker, summarize_short
from ipfs_kit_py.repair_queue import QueueStatus, RepairQueue
from ipfs_kit_py.replication import PolicySet, ReplicationPolicy, verify
from ipfs_kit_py.tiers.manager import TieredCacheManager, TierPolicy
from tests.servers.postgres import IndexFactory

TWO = PolicySet(ReplicationPolicy(min_copies=2))


def _node(make_index: IndexFactory, root: Path, node: str, *shared: str) -> TieredCacheManager:
    """Node ``node``: its own disk, and the shared tiers named ``shared`` (directories
    under ``root`` standing for a bucket every node that has the tier reaches)."""
    tiers = [DiskBackend(root / node / "disk")]
    tiers += [DiskBackend(root / name, name=name) for name in shared]
    return TieredCacheManager(tiers, make_index(node_id=node), TierPolicy(put_to=("disk",)))


def test_a_node_without_a_shared_tier_counts_its_copies(
    make_index: IndexFactory, tmp_path: Path
) -> None:
    """Node B has no ``vault`` (A's bucket): A's copies there still count, so B's status
    and B's worker agree with A's that nothing is short, and B's verify leaves them."""
    a = _node(make_index, tmp_path, "node-a", "vault")
    b = _node(make_index, tmp_path, "node-b")
    cids = [a.add([f"twice {n}".encode()], to=["disk", "vault"]).cid for n in range(5)]
    assert summarize_short(a, TWO) == []
    assert summarize_short(b, TWO) == []
    report = PolicyWorker(b, TWO, owner="b").run_once()
    assert (report.queued, report.repaired, report.failed) == (0, 0, {})
    check = verify(b, cids[0], TWO)
    assert "vault" in check.unreachable and check.short == 0
    assert not check.missing
    for cid in cids:  # nothing was marked, nothing copied to B's disk
        states = {
            (loc.backend, loc.node, loc.state)
            for loc in a.index.locations(cid, include_bad=True, all_nodes=True)
        }
        assert states == {("disk", "node-a", "good"), ("vault", "", "good")}


def test_a_required_tier_only_others_have_is_short_but_never_queued_here(
    make_index: IndexFactory, tmp_path: Path
) -> None:
    """``required=vault`` with no vault copy: B cannot make one; it says so in its status
    and leaves the CID to a node that can, instead of failing it every pass."""
    a = _node(make_index, tmp_path, "node-a", "vault")
    b = _node(make_index, tmp_path, "node-b")
    policies = PolicySet(ReplicationPolicy(min_copies=1, required=("vault",)))
    cid = a.add([b"needs the vault"], to=["disk"]).cid
    [short] = summarize_short(b, policies)
    assert (short.cids, short.copies_lacking) == (1, 1)
    report = PolicyWorker(b, policies, owner="b").run_once()
    assert (report.queued, report.failed, report.unmet) == (0, {}, 1)  # said, not hidden
    done = PolicyWorker(a, policies, owner="a").run_once()
    assert done.repaired == 1 and summarize_short(b, policies) == []
    assert {loc.backend for loc in a.index.locations(cid)} == {"disk", "vault"}


def test_a_queued_cid_removed_meanwhile_leaves_the_queue(
    make_index: IndexFactory, tmp_path: Path
) -> None:
    """Queued (short of its policy), then removed everywhere (``rm``): the worker has
    nothing to do for it, and it must not fail it and retry it forever."""
    a = _node(make_index, tmp_path, "node-a", "vault")
    gone = a.add([b"removed while queued"], to=["disk"]).cid
    kept = a.add([b"forgotten while queued"], to=["disk"]).cid
    queue = RepairQueue(a.index)
    queue.enqueue([cid_key(gone), cid_key(kept)])
    a.remove(gone, ["disk"])
    a.index.drop(kept)  # `forget`: the ledger lets it go; its file is still on the disk
    assert a.index.content(gone) is None and a.index.content(kept) is None
    worker = PolicyWorker(a, TWO, owner="a")
    report = worker.run_once()
    assert report.failed == {}
    assert queue.status() == QueueStatus(0, 0, 0)
    assert a.index.content(gone) is None


def test_a_policy_one_tier_cannot_meet_is_reported_by_the_run(
    make_index: IndexFactory, tmp_path: Path
) -> None:
    """One durable tier and ``min_copies=2``: ``policy status`` says short (exit 1); the
    run has nothing it can do, and says how many it leaves short instead of all's well."""
    from ipfs_kit_py.cli.policy import _line

    alone = _node(make_index, tmp_path, "node-a")
    alone.add([b"one tier only"], to=["disk"])
    [short] = summarize_short(alone, TWO)
    assert short.cids == 1
    report = PolicyWorker(alone, TWO, owner="a").run_once()
    assert (report.queued, report.repaired, report.failed, report.unmet) == (0, 0, {}, 1)
    assert "1 short by copies no tier here can make" in _line(report)


def test_forgetting_a_cid_keeps_the_copies_other_nodes_hold(
    make_index: IndexFactory, tmp_path: Path
) -> None:
    """``forget CID`` on B (no ``--from``) dropped A's disk rows: A's file stayed on disk,
    untracked. Now it is refused, naming A's copy; ``all_nodes`` forgets everywhere."""
    a = _node(make_index, tmp_path, "node-a", "vault")
    b = _node(make_index, tmp_path, "node-b", "vault")
    cid = a.add([b"kept by node a"], to=["disk", "vault"]).cid

    def rows() -> set[tuple[str, str]]:
        found = a.index.locations(cid, include_bad=True, all_nodes=True)
        return {(loc.backend, loc.node) for loc in found}

    with pytest.raises(InvalidInputError, match="disk of node-a"):
        b.forget(cid)
    assert rows() == {("disk", "node-a"), ("vault", "")}
    assert b.forget(cid, ["vault"]) == ["vault"]  # a named shared tier: as before
    assert a.forget(cid) == ["disk"]  # A's own copies: A may forget them
    assert rows() == set() and a.index.content(cid) is None
    again = a.add([b"kept by node a"], to=["disk"]).cid
    b.forget(again, all_nodes=True)
    assert a.index.content(again) is None and rows() == set()
