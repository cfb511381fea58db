"""replicate / verify / repair over real disk tiers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ipfs_kit_py.backends.disk import DiskBackend
from ipfs_kit_py.backends.memory import MemoryBackend
from ipfs_kit_py.errors import ContentNotFoundError, InvalidInputError
from ipfs_kit_py.replication import (
    PolicySet,
    ReplicationPolicy,
    plan_replication,
    repair,
    replicate,
    verify,
)
from ipfs_kit_py.tiers.manager import TieredCacheManager
from tests.servers.postgres import IndexFactory


@pytest.fixture
def tiers(tmp_path: Path, make_index: IndexFactory) -> Iterator[TieredCacheManager]:
    with make_index() as index:
        yield TieredCacheManager(
            [
                MemoryBackend(1 << 20),
                DiskBackend(tmp_path / "cache"),
                DiskBackend(tmp_path / "a", name="a"),
                DiskBackend(tmp_path / "b", name="b"),
            ],
            index,
        )


def disk(tiers: TieredCacheManager, name: str) -> DiskBackend:
    tier = tiers.tier(name)
    assert isinstance(tier, DiskBackend)
    return tier


def test_plan_fills_targets_then_min_copies(tiers: TieredCacheManager) -> None:
    cid = tiers.add([b"plan me"], to=["disk"]).cid
    plan = plan_replication(tiers, cid, to=["a"], policy=ReplicationPolicy(min_copies=3))
    assert (plan.have, plan.targets, plan.shortfall) == (("disk",), ("a", "b"), 0)
    plan = plan_replication(tiers, cid, policy=ReplicationPolicy(min_copies=9, required=("b",)))
    assert plan.targets == ("b", "a") and plan.shortfall == 6
    with pytest.raises(InvalidInputError):
        plan_replication(tiers, cid, to=["nowhere"])


def test_policy_set_merges_tag_policies() -> None:
    policies = PolicySet(ReplicationPolicy(1), {"keep": ReplicationPolicy(2, ("s3",))})
    assert policies.policy_for(["keep", "other"]) == ReplicationPolicy(2, ("s3",))
    assert policies.policy_for([]) == ReplicationPolicy(1)


def test_replicate_copies_and_records(tiers: TieredCacheManager) -> None:
    data = b"replicate me" * 1000
    cid = tiers.add([data], to=["disk"]).cid
    report = replicate(tiers, cid, to=["a", "b"])
    assert report.copied == ("a", "b") and report.already == ("disk",) and not report.failed
    assert b"".join(disk(tiers, "b").get(cid)) == data
    assert replicate(tiers, cid, to=["a"]).copied == ()


def test_verify_marks_bad_and_forgets_missing_and_repair_restores(
    tiers: TieredCacheManager,
) -> None:
    data = b"verify me" * 1000
    cid = tiers.add([data], to=["disk", "a", "b"]).cid
    disk(tiers, "a").path_for(cid).write_bytes(b"rotten")
    disk(tiers, "b").delete(cid)
    check = verify(tiers, cid)
    assert (check.good, check.bad, check.missing, check.ok) == (("disk",), ("a",), ("b",), False)
    assert {loc.backend for loc in tiers.index.locations(cid)} == {"disk"}
    assert {loc.backend for loc in tiers.index.locations(cid, include_bad=True)} == {
        "disk",
        "a",
        "b",
    }
    report = repair(tiers, cid)
    assert set(report.copied) == {"a", "b"}
    assert set(verify(tiers, cid).good) == {"disk", "a", "b"}
    assert b"".join(disk(tiers, "b").get(cid)) == data


def test_repair_without_a_good_copy_fails(tiers: TieredCacheManager) -> None:
    cid = tiers.add([b"only copy"], to=["a"]).cid
    disk(tiers, "a").path_for(cid).write_bytes(b"broken")
    with pytest.raises(ContentNotFoundError):
        repair(tiers, cid)


def test_policies_from_config_tags_and_the_cids_own(tiers: TieredCacheManager) -> None:
    from ipfs_kit_py.errors import ConfigurationError

    policies = PolicySet.from_config(
        {"min_copies": 1, "tags": {"important": {"min_copies": 2, "required": "b"}}}
    )
    assert policies.by_tag["important"] == ReplicationPolicy(2, ("b",))
    cid = tiers.add([b"tagged"], to=["disk"]).cid
    tiers.index.tag(cid, "important")
    assert replicate(tiers, cid, policies=policies).copied == ("b",)
    own = tiers.add([b"own policy"], to=["disk"]).cid
    tiers.index.upsert_content(own, metadata={"replication": {"min_copies": 3}})
    assert set(replicate(tiers, own, policies=policies).copied) == {"a", "b"}
    with pytest.raises(ConfigurationError):
        PolicySet.from_config({"min_copies": "many"})
