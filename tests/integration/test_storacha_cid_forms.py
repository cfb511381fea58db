"""A CIDv0 upload in Storacha is the same copy asked for as ``Qm…`` or as its CIDv1 key.

The index keys content by CIDv1 (``cid_key``), so ``verify --all``, ``repair`` and
``rm`` reach the Storacha backend with the ``bafy…`` form of a ``Qm…`` upload: the
backend must find, confirm and remove it by either form (the same node).
"""

from __future__ import annotations

import os

import pytest
from tests.servers.storacha import StorachaService, StorachaTestCredentials

from ipfs_kit_py.content.cid import cid_key, parse_cid
from ipfs_kit_py.content.unixfs import KUBO_DEFAULT
from ipfs_kit_py.ipfs_kit import ipfs_kit


@pytest.fixture
def kit(storacha_tier_kit: ipfs_kit) -> ipfs_kit:
    return storacha_tier_kit


def _added_v0(kit: ipfs_kit) -> tuple[str, str]:
    added = kit.add(os.urandom(3000), profile=KUBO_DEFAULT, to=["disk", "storacha"])
    v0 = str(added.cid)
    assert v0.startswith("Qm")
    return v0, cid_key(parse_cid(v0))


def test_verify_by_the_index_key_finds_a_cidv0_upload(kit: ipfs_kit) -> None:
    v0, v1 = _added_v0(kit)
    storacha = kit.tiers.tier("storacha")
    assert storacha.has(parse_cid(v0)) and storacha.has(parse_cid(v1))
    for form in (v1, v0):
        check = kit.verify(form)
        assert set(check.good) == {"disk", "storacha"} and not check.missing, check
    assert all(c.ok and not c.missing for c in kit.verify_all())  # the scrub, by index key
    report = kit.repair(v1)
    assert not report.failed and not report.copied, report


def test_replicating_the_cidv1_form_of_a_cidv0_node_succeeds(kit: ipfs_kit) -> None:
    v0, v1 = _added_v0(kit)
    kit.tiers.index.forget_many([(parse_cid(v1), "storacha")])  # as if the copy were lost
    report = kit.replicate(v1, ["storacha"])
    assert report.copied == ("storacha",) and not report.failed, report
    assert "storacha" in kit.whereis(v0)


def test_removing_by_the_index_key_removes_the_cidv0_upload(kit: ipfs_kit) -> None:
    v0, v1 = _added_v0(kit)
    storacha = kit.tiers.tier("storacha")
    kit.remove(v1, ["storacha"])
    assert not storacha.has(parse_cid(v0)) and not storacha.has(parse_cid(v1))
    assert kit.whereis(v0) == ["disk"]


def test_cli_storacha_rm_takes_either_form(
    kit: ipfs_kit,
    storacha_service: StorachaService,
    storacha_credentials: StorachaTestCredentials,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ipfs_kit_py.cli.main import main

    args = storacha_service.backend_args(storacha_credentials)
    monkeypatch.setenv("STORACHA_KEY", args["key"])
    monkeypatch.setenv("STORACHA_PROOF", args["proof"])
    v0, v1 = _added_v0(kit)
    flags = [
        "--service-url",
        args["service_url"],
        "--service-did",
        args["service_did"],
        "--space",
        args["space"],
    ]
    monkeypatch.setenv("STORACHA_SERVICE_KEY", args["service_key"])
    monkeypatch.setenv("STORACHA_RECEIPTS_URL", args["receipts_url"])
    assert main(["storacha", *flags, "rm", v1, "--json"]) == 0, capsys.readouterr()
    assert not kit.tiers.tier("storacha").has(parse_cid(v0))
    assert main(["storacha", *flags, "rm", v1]) == 1  # gone: not found in either form
    assert "not found" in capsys.readouterr().err
