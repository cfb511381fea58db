"""Tiers with the local Storacha service: a copy there is a home reads fall back to."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.servers.storacha import StorachaService, StorachaTestCredentials

from ipfs_kit_py.content.unixfs import STORACHA
from ipfs_kit_py.ipfs_kit import ipfs_kit


@pytest.fixture
def kit(
    storacha_service: StorachaService,
    storacha_credentials: StorachaTestCredentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ipfs_kit]:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    storacha = storacha_service.backend_args(storacha_credentials)
    with ipfs_kit(
        cache_dir=tmp_path / "cache", index_path=tmp_path / "index.sqlite3", storacha=storacha
    ) as k:
        yield k


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
