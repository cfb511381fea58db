"""Tiers with a real kubo node: the "ipfs" tier, its CIDs, and fallback to it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.servers.kubo import KuboNode

from ipfs_kit_py.ipfs_kit import ipfs_kit


@pytest.fixture
def kit(kubo_kit: ipfs_kit) -> ipfs_kit:
    return kubo_kit


def test_kubo_tier_holds_the_same_cid_and_serves_reads(kit: ipfs_kit, kubo: KuboNode) -> None:
    assert [t.name for t in kit.tiers.tiers] == ["memory", "disk", "ipfs"]
    data = os.urandom(700_000)
    added = kit.add(data, to=["ipfs"])
    assert kubo.cli("cat", str(added.cid)).stdout == data  # kubo agrees on the CID
    assert kit.whereis(added.cid) == ["ipfs"]
    assert kit.cat(added.cid) == data
    assert kit.whereis(added.cid) == ["disk", "ipfs"]
    statuses = {s.name: s for s in kit.backends()}
    assert statuses["ipfs"].configured and statuses["ipfs"].reachable


def test_gateway_tier_finds_content_the_index_never_saw(
    kubo: KuboNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.servers.process import free_port

    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    data = os.urandom(600_000)
    source = tmp_path / "f.bin"
    source.write_bytes(data)
    cid = kubo.cli_text("add", "-Q", str(source))  # CIDv0, as kubo adds by default
    dead = f"http://127.0.0.1:{free_port()}"
    with ipfs_kit(
        cache_dir=tmp_path / "cache",
        index_path=tmp_path / "index.sqlite3",
        gateway={"urls": [dead, kubo.gateway_url]},
    ) as kit:
        assert [t.name for t in kit.tiers.tiers] == ["memory", "disk", "gateway", "gateway2"]
        assert kit.cat(cid) == data  # the dead gateway is skipped, the live one verified
        assert kit.tiers.breaker.is_open("gateway")
        assert kit.whereis(cid) == ["disk"]  # a gateway is never recorded as a copy
        assert kit.replicate(cid, min_copies=2).copied == ()  # gateways take no copies


@pytest.mark.parametrize("profile_name", ["STORACHA", "KUBO_CID_V1", "KUBO_DEFAULT"])
def test_replicating_to_kubo_keeps_the_cid_of_any_profile(
    kit: ipfs_kit, kubo: KuboNode, profile_name: str
) -> None:
    from ipfs_kit_py.content import unixfs

    profile = getattr(unixfs, profile_name)
    data = os.urandom(3 * 1024 * 1024 + 5)  # several chunks: a dag-pb root in every profile
    added = kit.add(data, to=["disk"], profile=profile)
    report = kit.replicate(added.cid, to=["ipfs"])
    assert report.copied == ("ipfs",), report.failed
    assert kubo.cli("cat", str(added.cid)).stdout == data
    assert kit.whereis(added.cid) == ["disk", "ipfs"]
