"""The ledger against a real kubo node: pins are what kubo holds, gateways hold nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.servers.kubo import KuboNode

from ipfs_kit_py.content.cid import cid_key, parse_cid
from ipfs_kit_py.errors import LastCopyError
from ipfs_kit_py.ipfs_kit import ipfs_kit


@pytest.fixture
def kit(kubo_kit: ipfs_kit) -> ipfs_kit:
    return kubo_kit


def _pins(kubo: KuboNode) -> set[str]:
    out = kubo.cli_text("pin", "ls", "--type=recursive", "-q")
    return {cid_key(parse_cid(line)) for line in out.split()}


def _pin_strings(kubo: KuboNode) -> set[str]:
    return set(kubo.cli_text("pin", "ls", "--type=recursive", "-q").split())


def test_verify_checks_the_pin_and_repair_pins_again(kit: ipfs_kit, kubo: KuboNode) -> None:
    data = os.urandom(400_000)
    added = kit.add(data, to=["ipfs"])
    assert kit.verify(added.cid).good == ("ipfs",)
    kubo.cli("pin", "rm", str(added.cid))  # no GC: the blocks are still there
    check = kit.verify(added.cid)
    assert check.missing == ("ipfs",) and not check.good
    [loc] = kit.index.locations(added.cid, include_bad=True)
    assert loc.state == "missing" and loc.marked_at and "ipfs" in (loc.reason or "")
    assert kit.whereis(added.cid) == []
    kit.add(data, to=["disk"])  # a good copy to repair from
    report = kit.repair(added.cid)
    assert report.copied == ("ipfs",)
    assert cid_key(added.cid) in _pins(kubo)
    assert kit.verify(added.cid).good == ("disk", "ipfs")


def test_remove_by_the_v1_form_drops_kubos_v0_pin(kit: ipfs_kit, kubo: KuboNode) -> None:
    data = os.urandom(300_000)
    added = kit.add(data, to=["ipfs"])  # kubo's default: pinned as CIDv0
    assert added.cid.version == 0 and str(added.cid) in _pin_strings(kubo)
    v1 = cid_key(added.cid)
    assert kit.verify(v1).good == ("ipfs",)  # the v1 form finds the v0 pin
    assert kit.remove(v1, from_=["ipfs"]) == ["ipfs"]
    assert cid_key(added.cid) not in _pins(kubo)
    assert kit.whereis(added.cid) == []


def test_v1_pin_is_removed_by_the_v0_form(kit: ipfs_kit, kubo: KuboNode, tmp_path: Path) -> None:
    source = tmp_path / "f.bin"
    source.write_bytes(os.urandom(300_000))
    v0 = parse_cid(kubo.cli_text("add", "-Q", "--pin=false", str(source)))
    kubo.cli("pin", "add", cid_key(v0))  # kubo pins the v1 string form
    assert kit.tiers.tier("ipfs").has(v0)
    kit.tiers.tier("ipfs").delete(v0)
    assert cid_key(v0) not in _pins(kubo)


def test_unpinned_content_read_from_kubo_is_returned_and_not_recorded(
    kit: ipfs_kit, kubo: KuboNode, tmp_path: Path
) -> None:
    data = os.urandom(200_000)
    source = tmp_path / "f.bin"
    source.write_bytes(data)
    cid = kubo.cli_text("add", "-Q", "--pin=false", str(source))
    assert kit.cat(cid) == data  # verified bytes, though kubo does not hold (pin) them
    assert kit.whereis(cid) == ["disk"]


def test_gateway_reads_are_never_a_copy(
    kubo: KuboNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    data = os.urandom(250_000)
    source = tmp_path / "f.bin"
    source.write_bytes(data)
    kubo.cli("add", "-Q", str(source))
    with ipfs_kit(
        cache_dir=tmp_path / "cache",
        index_path=tmp_path / "index.sqlite3",
        gateway={"urls": [kubo.gateway_url]},
    ) as kit:
        added = kit.add(data, to=["disk"], pin=True)
        kit.tiers.disk.delete(added.cid)  # behind the kit's back
        assert kit.cat(added.cid) == data  # the gateway serves, verified; disk is warmed
        assert kit.whereis(added.cid) == ["disk"]
        assert all(
            loc.backend != "gateway" for loc in kit.index.locations(added.cid, include_bad=True)
        )
        with pytest.raises(LastCopyError):
            kit.remove(added.cid, from_=["disk"])
        assert kit.verify(added.cid).good == ("disk",)
