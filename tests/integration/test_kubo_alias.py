"""A real kubo node: its tier is ``ipfs`` and answers to ``kubo`` everywhere a tier is named."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests.servers.kubo import KuboNode

from ipfs_kit_py.cli.main import main
from ipfs_kit_py.ipfs_kit import ipfs_kit


@pytest.fixture
def env(kubo: KuboNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for kind in ("CACHE", "DATA", "CONFIG"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("IPFS_API_URL", kubo.api_url)
    return tmp_path


def test_kubo_and_ipfs_name_the_same_tier(env: Path, kubo: KuboNode) -> None:
    data = os.urandom(300_000)
    with ipfs_kit() as kit:
        added = kit.add(data, to=["kubo"])
        assert "ipfs" in added.stored and kubo.cli("cat", str(added.cid)).stdout == data
        assert kit.whereis(added.cid) == ["ipfs"]
        assert kit.replicate(added.cid, ["kubo", "disk"]).copied == ("disk",)
        assert kit.remove(added.cid, ["kubo"]) == ["ipfs"]
        assert kit.whereis(added.cid) == ["disk"]
        status = {s.name: s for s in kit.backends()}["ipfs"]
        assert status.reachable and status.aliases == ("kubo",)


def test_cli_to_kubo_whereis_and_ls(
    env: Path, kubo: KuboNode, capsys: pytest.CaptureFixture[str]
) -> None:
    f = env / "f.bin"
    f.write_bytes(os.urandom(50_000))
    assert main(["add", "--to", "kubo", "-Q", str(f)]) == 0
    cid = capsys.readouterr().out.strip()
    assert cid.startswith("Qm") and kubo.cli("cat", cid).stdout == f.read_bytes()
    assert main(["whereis", cid]) == 0
    assert capsys.readouterr().out.split() == ["ipfs"]
    assert main(["ls", "--backend", "kubo", "--json"]) == 0
    [item] = json.loads(capsys.readouterr().out)["content"]
    assert item["added_cid"] == cid
    assert main(["backends"]) == 0
    [row] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("ipfs")]
    assert row.split()[:5] == ["ipfs", "/", "kubo", "KuboBackend", "yes"]
