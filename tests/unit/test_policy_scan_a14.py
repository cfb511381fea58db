"""A policy scan reads the index a page at a time (issue 14 attack): ``policy status`` and
``policy run`` over thousands of CIDs cost a few queries per 500 CIDs, not four per CID,
and ``MetadataIndex.page`` says exactly what the one-CID calls say, on both engines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.disk import DiskBackend
from ipfs_kit_py.content.cid import RAW, cid_key, sha256_cid
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.policy_worker import EnforceReport, PolicyWorker, summarize_short
from ipfs_kit_py.replication import PolicySet, ReplicationPolicy, plan_replication
from ipfs_kit_py.tiers.manager import TieredCacheManager, TierPolicy
from tests.servers.postgres import IndexFactory


def cid_of(n: int) -> str:
    return cid_key(sha256_cid(RAW, f"scan object {n}".encode()))


def _tiers(index: MetadataIndex, root: Path) -> TieredCacheManager:
    disks = [DiskBackend(root / "disk"), DiskBackend(root / "vault", name="vault")]
    return TieredCacheManager(disks, index, TierPolicy(put_to=("disk",)))


class _Counted:
    """Counts the index's reads (the queries a scan sends)."""

    def __init__(self, index: MetadataIndex) -> None:
        self.reads = 0
        self._read = index._read

        def read(*args: Any, **kwargs: Any) -> Any:
            self.reads += 1
            return self._read(*args, **kwargs)

        index._read = read  # type: ignore[method-assign]


def test_status_and_scan_of_thousands_read_a_page_at_a_time(
    make_index: IndexFactory, tmp_path: Path
) -> None:
    index = make_index(node_id="node-a")
    n = 2400
    index.record_many([(cid_of(i), "vault", f"/vault/{i}") for i in range(n)])
    index.tag(cid_of(0), "precious")
    policies = PolicySet(ReplicationPolicy(2), {"precious": ReplicationPolicy(3)})
    tiers = _tiers(index, tmp_path)
    counted = _Counted(index)
    short = summarize_short(tiers, policies)
    assert [(s.policy, s.cids, s.copies_lacking) for s in short] == [
        ("min_copies=2", n - 1, n - 1),
        ("min_copies=3", 1, 2),
    ]
    assert counted.reads <= 5 * (n // 500 + 2)  # four per CID would be 9,600
    worker = PolicyWorker(tiers, policies, owner="w")
    counted.reads = 0
    report = EnforceReport()
    worker.scan(report)
    assert (report.scanned, report.queued) == (n, n)
    assert counted.reads <= 5 * (n // 500 + 2)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    copies=st.lists(
        st.tuples(
            st.integers(0, 6),
            st.sampled_from(["disk", "vault", "s3"]),
            st.sampled_from(["node-a", "node-b"]),
            st.sampled_from(["good", "bad", "missing"]),
        ),
        max_size=20,
    ),
    tagged=st.sets(st.integers(0, 6), max_size=3),
)
def test_page_says_what_the_one_cid_calls_say(
    make_index: IndexFactory,
    tmp_path: Path,
    copies: list[tuple[int, str, str, str]],
    tagged: set[int],
) -> None:
    nodes = {"node-a": make_index(node_id="node-a"), "node-b": make_index(node_id="node-b")}
    try:
        index = nodes["node-a"]
        with index.transaction() as db:
            for table in ("locations", "tags", "content"):
                db.execute(f"DELETE FROM {table}")
        for n, backend, node, state in copies:
            nodes[node].record(cid_of(n), backend, f"/{node}/{backend}/{n}")
            if state == "bad":
                nodes[node].mark_verified(cid_of(n), backend, ok=False)
            elif state == "missing":
                nodes[node].mark_missing(cid_of(n), backend, "gone")
        for n in tagged:
            index.upsert_content(cid_of(n), size=n)
            index.tag(cid_of(n), "precious", f"t{n}")
        keys = [cid_of(n) for n in range(8)]  # some never seen
        page = index.page(keys)
        assert list(page) == keys
        tiers = _tiers(index, tmp_path)
        policies = PolicySet(ReplicationPolicy(2), {"precious": ReplicationPolicy(3)})
        worker = PolicyWorker(tiers, policies, owner="w")
        for key in keys:
            record, known = page[key]
            assert record == index.content(key)
            assert known == index.locations(key, include_bad=True, all_nodes=True)
            wanted = plan_replication(tiers, key, policies=policies).targets
            damaged = any(loc.state != "good" for loc in index.locations(key, include_bad=True))
            assert worker.needs_work(key) == bool(wanted or damaged)
    finally:
        for each in nodes.values():
            each.close()  # one example at a time holds connections


def test_a_bad_copy_on_one_node_stays_queued_for_that_nodes_worker(
    make_index: IndexFactory, tmp_path: Path
) -> None:
    """Node A's scan queues its bad disk copy; node B's worker claims it first and has
    nothing to do from B (the shared vault copy is good): the entry must stay for A,
    whose worker then rewrites its disk copy in the same pass."""
    a = _tiers(make_index(node_id="node-a"), tmp_path / "a")
    b = TieredCacheManager(
        [DiskBackend(tmp_path / "b" / "disk"), a.tier("vault")],
        make_index(node_id="node-b"),
        TierPolicy(put_to=("disk",)),
    )
    cid = a.add([b"rotting on node a"], to=["disk", "vault"]).cid
    path = Path(a.index.locations(cid)[0].locator)
    path.chmod(0o644)
    path.write_bytes(b"rotten!")
    a.index.mark_verified(cid, "disk", ok=False)
    worker_a = PolicyWorker(a, PolicySet(), owner="wa", lease_s=0.3, poll_s=0.05)
    worker_b = PolicyWorker(b, PolicySet(), owner="wb", lease_s=0.3, poll_s=0.05)
    worker_a.scan(EnforceReport())  # a found it ...
    report_b = worker_b.run_once()  # ... b got there first: nothing for b to do
    assert (report_b.repaired, report_b.already) == (0, 1)
    assert worker_a.queue.status().queued + worker_a.queue.status().leased == 1
    report_a = worker_a.run_once()  # waits out b's lease, then rewrites its copy
    assert report_a.repaired == 1 and not report_a.failed
    assert a.index.locations(cid)[0].state == "good"
    assert path.read_bytes() == b"rotting on node a"


def test_verify_on_another_node_counts_the_first_nodes_copy_for_the_policy(
    make_index: IndexFactory, tmp_path: Path
) -> None:
    """Policies count every node's copies: node B's verify of content held on node A's
    disk alone is not short of a one-copy policy (B reads no copy of it, so not ok)."""
    from ipfs_kit_py.replication import verify

    a = _tiers(make_index(node_id="node-a"), tmp_path / "a")
    b = _tiers(make_index(node_id="node-b"), tmp_path / "b")
    cid = a.add([b"held by node a only"], to=["disk"]).cid
    check = verify(b, cid, PolicySet())
    assert (check.good, check.short, check.ok) == ((), 0, False)
    assert verify(b, cid, PolicySet(ReplicationPolicy(2))).short == 1
    assert plan_replication(b, cid, policies=PolicySet()).targets == ()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(node=st.text(max_size=220))
def test_any_node_id_is_kept_exactly_or_refused(make_index: IndexFactory, node: str) -> None:
    """Hostile node ids (unicode, SQL and format metacharacters, spaces, huge): a valid one
    names its copies exactly; any other is an InvalidInputError, or a ConfigurationError
    from the configuration, before anything is written."""
    from ipfs_kit_py.errors import ConfigurationError, InvalidInputError
    from ipfs_kit_py.index import valid_node_id
    from ipfs_kit_py.kit_config import KitConfig

    cid = cid_of(99)
    if not node or not valid_node_id(node):
        if node:
            with pytest.raises(InvalidInputError):
                make_index(node_id=node)
            with pytest.raises(ConfigurationError):
                KitConfig.from_sources({"node_id": node}, {}, {})
        return
    index = make_index(node_id=node)
    try:
        index.record(cid, "disk", "/x")
        assert [loc.node for loc in index.locations(cid)] == [node]
        assert index.forget(cid, "disk")
    finally:
        index.close()  # one example at a time holds a connection
