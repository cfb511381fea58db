"""Tiers with the local Storacha service: a copy there is a home reads fall back to."""

from __future__ import annotations

import os

import pytest

from ipfs_kit_py.content.unixfs import STORACHA
from ipfs_kit_py.ipfs_kit import ipfs_kit


@pytest.fixture
def kit(storacha_tier_kit: ipfs_kit) -> ipfs_kit:
    return storacha_tier_kit


def test_storacha_copy_serves_when_local_copies_are_gone(kit: ipfs_kit) -> None:
    assert [t.name for t in kit.tiers.tiers] == ["memory", "disk", "storacha"]
    data = os.urandom(1_500_000)
    added = kit.add(data, profile=STORACHA, to=["disk", "storacha"])
    assert kit.whereis(added.cid) == ["disk", "storacha"]
    kit.remove(added.cid, from_=["disk"])
    assert kit.cat(added.cid) == data
    assert kit.whereis(added.cid) == ["disk", "storacha"]
    check = kit.verify(added.cid)
    assert set(check.good) == {"disk", "storacha"} and check.ok
