"""Policy workers and their shared queue, on SQLite and on a real PostgreSQL: leases keep
every CID with one worker at a time, and the workers bring content up to its policy."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ipfs_kit_py.backends.disk import DiskBackend
from ipfs_kit_py.content.cid import RAW, cid_key, sha256_cid
from ipfs_kit_py.errors import InvalidInputError, LastCopyError, LeaseLostError
from ipfs_kit_py.index import MetadataIndex, open_index
from ipfs_kit_py.policy_worker import PolicyWorker, summarize_short
from ipfs_kit_py.progress import BaseSubscriber
from ipfs_kit_py.repair_queue import Lease, RepairQueue
from ipfs_kit_py.replication import PolicySet, ReplicationPolicy, plan_replication, replicate
from ipfs_kit_py.tiers.manager import TieredCacheManager, TierPolicy
from tests.servers.postgres import IndexFactory


def cid_of(n: int) -> str:
    return cid_key(sha256_cid(RAW, f"object {n}".encode()))


# -- the queue --------------------------------------------------------------------------


def test_a_claimed_cid_is_nobody_elses_until_its_lease_expires(make_index: IndexFactory) -> None:
    queue = RepairQueue(make_index())
    queue.enqueue([cid_of(n) for n in range(10)])
    queue.enqueue([cid_of(0)])  # queued twice: one entry
    first = queue.claim("a", 6, lease_s=0.5)
    second = queue.claim("b", 6, lease_s=60)
    assert len(first) == 6 and len(second) == 4 and not set(first) & set(second)
    assert queue.claim("c", 10, lease_s=60) == []
    assert queue.status().leased == 10 and queue.held_by_others("c")
    time.sleep(0.6)  # a's lease runs out: a was killed
    taken = queue.claim("c", 10, lease_s=60)
    assert sorted(taken) == sorted(first)
    assert not queue.finish("a", first[0])  # a lost it
    assert all(queue.finish("c", cid) for cid in taken)
    queue.fail("b", second[0], "boom", retry_after_s=60)
    assert queue.claim("c", 10, lease_s=60) == []  # failed: waits for its retry
    assert queue.status().retrying == 1
    with pytest.raises(InvalidInputError):
        queue.claim("c", 0, lease_s=1)


def test_concurrent_claims_never_share_a_cid(make_index: IndexFactory) -> None:
    """Four workers, each with its own connection, drain 400 CIDs in small batches."""
    RepairQueue(make_index()).enqueue([cid_of(n) for n in range(400)])
    queues = [RepairQueue(make_index()) for _ in range(4)]
    got: dict[int, list[str]] = {n: [] for n in range(4)}

    def drain(n: int) -> None:
        while batch := queues[n].claim(f"w{n}", 7, lease_s=60):
            for cid in batch:
                assert queues[n].finish(f"w{n}", cid)
            got[n] += batch

    threads = [threading.Thread(target=drain, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    claimed = [cid for batch in got.values() for cid in batch]
    assert sorted(claimed) == sorted(cid_of(n) for n in range(400))  # each exactly once
    assert queues[0].status().queued == 0


def test_a_lease_is_fenced_by_its_claim(make_index: IndexFactory) -> None:
    queue = RepairQueue(make_index())
    queue.enqueue([cid_of(1)])
    [first] = queue.claim_leases("a", 1, lease_s=0.3)
    fence = queue.fence(first)
    with queue.index.transaction():
        assert fence.held() and not fence.others_may_write()
    time.sleep(0.4)  # expired, but nobody took it over: still a's to record
    with queue.index.transaction():
        assert fence.held() and not fence.others_may_write()
    [second] = queue.claim_leases("b", 1, lease_s=60)
    assert (second.cid, second.token) == (first.cid, first.token + 1)
    with queue.index.transaction():
        assert not fence.held() and fence.others_may_write()  # b may be writing now
        assert queue.fence(second).held()
    queue.fail("b", second.cid, "boom", retry_after_s=60)
    with queue.index.transaction():
        assert not fence.held() and not fence.others_may_write()  # nobody holds it


class QueueMachine(RuleBasedStateMachine):
    """Enqueue, claim, finish and fail from three owners against a model of the leases."""

    where = ""

    def __init__(self) -> None:
        super().__init__()
        self.index = open_index(self.where)
        with self.index.transaction() as db:
            db.execute("DELETE FROM repair_queue")
        self.queue = RepairQueue(self.index)
        self.waiting: set[str] = set()
        self.held: dict[str, str] = {}  # cid -> owner
        self.tokens: dict[str, int] = {}  # cid -> its live claim's token
        self.failed: set[str] = set()
        self.leases: list[Lease] = []  # every claim ever made, for the fences

    def teardown(self) -> None:
        self.index.close()

    @rule(ns=st.lists(st.integers(0, 30), max_size=8))
    def enqueue(self, ns: list[int]) -> None:
        cids = {cid_of(n) for n in ns}
        self.queue.enqueue(cids)
        self.waiting |= cids - set(self.held) - self.failed

    @rule(owner=st.sampled_from("abc"), limit=st.integers(1, 5))
    def claim(self, owner: str, limit: int) -> None:
        leases = self.queue.claim_leases(owner, limit, lease_s=600)
        got = [lease.cid for lease in leases]
        assert set(got) <= self.waiting and len(got) == min(limit, len(self.waiting))
        for lease in leases:
            self.waiting.discard(lease.cid)
            self.held[lease.cid] = owner
            self.tokens[lease.cid] = lease.token
        self.leases += leases

    @precondition(lambda self: self.leases)
    @rule(pick=st.data())
    def fence(self, pick: st.DataObject) -> None:
        """A claim's fence holds exactly while the model says that claim holds the CID."""
        lease = pick.draw(st.sampled_from(self.leases))
        mine = (self.held.get(lease.cid), self.tokens.get(lease.cid)) == (lease.owner, lease.token)
        fence = self.queue.fence(lease)
        with self.index.transaction():
            assert fence.held() == mine
            assert fence.others_may_write() == (lease.cid in self.held and not mine)

    @precondition(lambda self: self.held)
    @rule(pick=st.data(), other=st.sampled_from("abc"))
    def finish(self, pick: st.DataObject, other: str) -> None:
        cid = pick.draw(st.sampled_from(sorted(self.held)))
        owner = self.held[cid]
        assert self.queue.finish(other, cid) == (other == owner)
        if other == owner:
            del self.held[cid]
            del self.tokens[cid]

    @precondition(lambda self: self.held)
    @rule(pick=st.data())
    def fail(self, pick: st.DataObject) -> None:
        cid = pick.draw(st.sampled_from(sorted(self.held)))
        self.queue.fail(self.held.pop(cid), cid, "no tier answered", retry_after_s=600)
        del self.tokens[cid]
        self.failed.add(cid)

    @invariant()
    def counts_match(self) -> None:
        status = self.queue.status()
        assert (status.queued, status.leased) == (len(self.waiting), len(self.held))


def test_queue_machine(tmp_path: Path) -> None:
    run_queue_machine(str(tmp_path / "index.sqlite3"))


def run_queue_machine(where: str) -> None:
    """The queue machine on the index at ``where`` (tests/integration: on PostgreSQL)."""

    class Machine(QueueMachine):
        pass

    Machine.where = where
    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


# -- node-aware locations ----------------------------------------------------------------


def test_another_nodes_disk_counts_for_policy_but_is_never_read(
    make_index: IndexFactory, tmp_path: Path
) -> None:
    a, b = make_index(node_id="node-a"), make_index(node_id="node-b")
    cid = cid_of(1)
    a.record(cid, "disk", "/a/cache/x")
    a.record(cid, "s3", "bucket/x")
    assert {loc.backend for loc in b.locations(cid)} == {"s3"}  # b cannot read a's disk
    both = b.locations(cid, all_nodes=True)
    assert {(loc.backend, loc.node) for loc in both} == {("disk", "node-a"), ("s3", "")}
    b.record(cid, "disk", "/b/cache/x")
    assert b.forget(cid, "disk") and not b.forget(cid, "disk")  # its own only
    assert {loc.node for loc in a.locations(cid, all_nodes=True)} == {"node-a", ""}
    tiers = TieredCacheManager([DiskBackend(tmp_path / "disk")], b)
    plan = plan_replication(tiers, cid, policy=ReplicationPolicy(min_copies=2))
    # s3 is no tier of b, but its copy is there for the nodes that have it: the policy
    # of two copies is met, and b makes no third one (nor would its status say short)
    assert plan.have == ("disk@node-a", "s3") and plan.targets == () and not plan.shortfall
    three = plan_replication(tiers, cid, policy=ReplicationPolicy(min_copies=3))
    assert three.targets == ("disk",)
    needs_s3 = ReplicationPolicy(min_copies=1, required=("s3",))
    a.forget(cid, "s3")
    plan = plan_replication(tiers, cid, policy=needs_s3)
    assert plan.targets == () and plan.shortfall == 1  # only a node with s3 can make it


# -- workers -------------------------------------------------------------------------------


def _tiers(index: MetadataIndex, root: Path) -> TieredCacheManager:
    return TieredCacheManager(
        [DiskBackend(root / "disk"), DiskBackend(root / "vault", name="vault")],
        index,
        TierPolicy(put_to=("disk",)),
    )


def _node(index: MetadataIndex, root: Path, name: str) -> TieredCacheManager:
    """Node ``name``'s tiers: its own disk, and the vault every node shares."""
    return TieredCacheManager(
        [DiskBackend(root / name / "disk"), DiskBackend(root / "vault", name="vault")],
        index,
        TierPolicy(put_to=("disk",)),
    )


def test_two_workers_bring_every_cid_to_its_policy_once(
    make_index: IndexFactory, tmp_path: Path
) -> None:
    seed = _tiers(make_index(), tmp_path)
    cids = [cid_key(seed.add([f"payload {n}".encode()], to=["disk"]).cid) for n in range(40)]
    policies = PolicySet(ReplicationPolicy(min_copies=2))
    assert [s.cids for s in summarize_short(seed, policies)] == [40]
    workers = [
        PolicyWorker(_tiers(make_index(), tmp_path), policies, owner=f"w{n}", batch=3)
        for n in range(2)
    ]
    reports = []
    threads = [threading.Thread(target=lambda w=w: reports.append(w.run_once())) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert sum(r.repaired for r in reports) == 40 and not any(r.failed for r in reports)
    for cid in cids:
        assert sorted(loc.backend for loc in seed.index.locations(cid)) == ["disk", "vault"]
    assert summarize_short(seed, policies) == []
    again = workers[0].run_once()
    assert (again.queued, again.repaired) == (0, 0)


class _Paused(BaseSubscriber):
    """Pauses a read at its first bytes and runs ``meanwhile`` (another worker's work)."""

    def __init__(self, meanwhile: Callable[[], None]) -> None:
        self.meanwhile: Callable[[], None] | None = meanwhile

    def on_progress(self, key: str, nbytes: int, **kwargs: object) -> None:
        if self.meanwhile is not None:
            run, self.meanwhile = self.meanwhile, None
            run()


def test_a_worker_paused_past_its_lease_records_nothing(
    make_index: IndexFactory, tmp_path: Path
) -> None:
    """A plans and reads, is paused past its lease, B takes over and makes the copy:
    A's disk copy is refused in its recording transaction and never put in place."""
    a, b = (_node(make_index(node_id=f"node-{n}"), tmp_path, n) for n in "ab")
    policies = PolicySet(ReplicationPolicy(min_copies=2))
    cid = a.add([b"copied once"], to=["vault"]).cid
    queue = RepairQueue(a.index)
    queue.enqueue([cid_key(cid)])
    [lease] = queue.claim_leases("a", 1, lease_s=0.2)
    reports = []

    def paused() -> None:
        time.sleep(0.3)  # a's lease runs out; b claims the CID and copies it
        reports.append(PolicyWorker(b, policies, owner="b").run_once())

    a.subscribers.append(_Paused(paused))
    with pytest.raises(LeaseLostError), a.fenced(queue.fence(lease)):
        replicate(a, cid, policies=policies)
    assert reports[0].repaired == 1
    where = {(loc.backend, loc.node) for loc in a.index.locations(cid, all_nodes=True)}
    assert where == {("vault", ""), ("disk", "node-b")}  # no copy made twice
    assert not a.tier("disk").has(cid)
    assert not [p for p in (tmp_path / "a").rglob("*") if p.is_file()]


def test_a_fenced_copy_in_a_shared_tier_is_removed_unless_it_may_be_anothers(
    make_index: IndexFactory, tmp_path: Path
) -> None:
    a = _tiers(make_index(node_id="node-a"), tmp_path)
    queue = RepairQueue(a.index)
    data = [b"one object, one key"]
    cid = a.add(data, to=["disk"]).cid
    queue.enqueue([cid_key(cid)])
    [stale] = queue.claim_leases("a", 1, lease_s=0.1)
    time.sleep(0.2)
    [live] = queue.claim_leases("b", 1, lease_s=60)
    with pytest.raises(LeaseLostError), a.fenced(queue.fence(stale)):
        a.put(cid, data, to=["vault"])  # b may be writing the same key: kept
    assert a.tier("vault").has(cid) and "vault" not in a.whereis(cid)
    assert queue.finish("b", live.cid)  # b is done (and recorded nothing there)
    with pytest.raises(LeaseLostError), a.fenced(queue.fence(stale)):
        a.put(cid, data, to=["vault"])  # nobody's: removed
    assert not a.tier("vault").has(cid) and "vault" not in a.whereis(cid)
    a.put(cid, data, to=["vault"])  # b's copy, recorded
    with pytest.raises(LeaseLostError), a.fenced(queue.fence(stale)):
        a.put(cid, data, to=["vault"])  # a row claims the object: kept
    assert a.tier("vault").has(cid) and "vault" in a.whereis(cid)
    with a.fenced(queue.fence(live)):  # a fence on another CID leaves this one alone
        a.put(a.add([b"other"], to=["disk"]).cid, [b"other"], to=["vault"])


def test_a_worker_repairs_a_missing_copy_and_reports_what_it_cannot(
    make_index: IndexFactory, tmp_path: Path
) -> None:
    tiers = _tiers(make_index(), tmp_path)
    cid = tiers.add([b"kept twice"], to=["disk", "vault"]).cid
    lonely = tiers.add([b"only here"], to=["vault"]).cid
    tiers.tier("disk").delete(cid)
    tiers.index.mark_missing(cid, "disk", "gone")
    tiers.tier("vault").delete(lonely)
    tiers.index.mark_missing(lonely, "vault", "gone")
    worker = PolicyWorker(tiers, PolicySet(), owner="w", retry_after_s=600)
    report = worker.run_once()
    assert report.repaired == 1 and list(report.failed) == [cid_key(lonely)]
    assert tiers.tier("disk").has(cid)
    assert worker.queue.status().retrying == 1


def test_enforce_and_the_policy_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from ipfs_kit_py.cli.main import main
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("IPFS_KIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IPFS_KIT_INDEX", str(tmp_path / "index.sqlite3"))
    with ipfs_kit() as kit:
        cid = kit.add(b"keep me", to=["disk"]).cid
        kit.keep(cid, min_copies=2)
    assert main(["policy", "status", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["short"] == [{"policy": "min_copies=2", "cids": 1, "copies_lacking": 1}]
    assert main(["policy", "run", "--once", "--json"]) == 0  # no second durable tier
    assert json.loads(capsys.readouterr().out)["report"]["queued"] == 0
    with ipfs_kit() as kit:
        report = kit.enforce()
        assert report.repaired == 0 and kit.policy_status()["queue"].queued == 0


def test_removing_this_nodes_copy_keeps_another_nodes_record(
    make_index: IndexFactory, tmp_path: Path
) -> None:
    a = _tiers(make_index(node_id="node-a"), tmp_path / "a")
    b = _tiers(make_index(node_id="node-b"), tmp_path / "b")
    cid = a.add([b"held on two nodes"], to=["disk"], pinned=True).cid
    b.put(cid, [b"held on two nodes"], to=["disk"], pinned=True)
    b.remove(cid, ["disk"])  # a's disk still holds it: allowed, and the record stays
    assert b.index.content(cid) is not None
    assert [(loc.backend, loc.node) for loc in b.index.locations(cid, all_nodes=True)] == [
        ("disk", "node-a")
    ]
    with pytest.raises(LastCopyError):
        a.remove(cid, ["disk"])  # now the last copy anywhere


@pytest.mark.parametrize(
    "argv",
    [
        ["policy", "run", "--json"],  # a loop never prints its one object
        ["policy", "run", "--once", "--interval=-1"],
        ["policy", "run", "--once", "--lease=0"],
        ["policy", "run", "--once", "--lease=nan"],
        ["policy", "run", "--once", "--batch=0"],
    ],
)
def test_policy_run_refuses_settings_that_never_end_or_mean_nothing(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ipfs_kit_py.cli.main import main

    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("IPFS_KIT_INDEX", str(tmp_path / "index.sqlite3"))
    assert main(argv) == 2
