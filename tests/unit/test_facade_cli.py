"""The content commands of ``ipfs-kit`` over real memory + disk tiers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipfs_kit_py.backends.disk import DiskBackend
from ipfs_kit_py.cli.main import main
from ipfs_kit_py.content.cid import cid_key, parse_cid
from ipfs_kit_py.ipfs_kit import ipfs_kit


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for kind in ("CACHE", "DATA", "CONFIG"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    monkeypatch.delenv("IPFS_KIT_CONFIG", raising=False)
    return tmp_path


@pytest.fixture
def cid(home: Path) -> str:
    with ipfs_kit() as kit:
        return str(kit.add(b"cli bytes\n" * 100, tags=["docs"]).cid)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_cat_get_whereis(cid: str, home: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["cat", cid]) == 0
    assert capsysbinary.readouterr().out == b"cli bytes\n" * 100
    assert main(["get", cid, "-o", str(home / "out.txt")]) == 0
    assert (home / "out.txt").read_bytes() == b"cli bytes\n" * 100


def test_json_outputs(cid: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "whereis", "--json", cid)
    assert code == 0 and json.loads(out)["backends"] == ["disk"]
    code, out = run(capsys, "ls", "--json", "--tag", "docs")
    assert code == 0 and json.loads(out)["count"] == 1
    code, out = run(capsys, "verify", "--json", cid)
    assert code == 0 and json.loads(out)["checks"][0]["good"] == ["disk"]
    code, out = run(capsys, "backends", "--json")
    names = {b["name"]: b for b in json.loads(out)["backends"]}
    assert names["disk"]["reachable"] and not names["s3"]["configured"]
    code, out = run(capsys, "config", "show", "--json")
    assert json.loads(out)["config"]["put_to"] == ["memory", "disk"]


def test_rm_then_cat_fails_with_exit_1(cid: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "rm", cid, "--from", "disk", "--json")
    assert code == 0 and json.loads(out)["removed"] == ["disk"]
    code, out = run(capsys, "cat", "--json", cid)
    assert code == 1 and json.loads(out)["error_type"] == "ContentNotFoundError"
    code, _ = run(capsys, "whereis", cid)
    assert code == 1


def test_usage_errors_exit_2(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "cat", "not-a-cid")[0] == 2
    assert run(capsys, "verify")[0] == 2
    assert (
        run(capsys, "rm", "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN", "--from", "x")[0] == 2
    )


def test_config_show_masks_secrets(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = home / "config.toml"
    config.write_text('[s3]\nsecret_access_key = "hunter2"\n')
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(config))
    code, out = run(capsys, "config", "show")
    assert code == 0 and "hunter2" not in out and "***" in out


def test_progress_bars_subscriber_shows_and_clears() -> None:
    from ipfs_kit_py.cli.content import ProgressBars

    bars = ProgressBars(delay_s=0)
    bars.on_start("bafy-key", 100)
    bars.on_progress("bafy-key", 40)
    bars.on_progress("bafy-key", 60)
    [task] = bars.progress.tasks
    assert task.completed == 100 and task.total == 100
    bars.on_done("bafy-key", None)
    assert bars.progress.tasks == []
    bars.stop()


def test_verify_all_reports_a_corrupt_copy(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ipfs_kit() as kit:
        good = cid_key(kit.add(b"good bytes", to=["disk"]).cid)
        gone = str(kit.add(b"removed bytes", to=["disk"]).cid)
        kit.remove(gone, from_=["disk"])
        tree = home / "tree"
        tree.mkdir()
        (tree / "f").write_bytes(b"in a tree")
        kit.add(tree, to=["disk"])
    code, out = run(capsys, "verify", "--all", "--json")
    checks = json.loads(out)["checks"]
    assert code == 0 and good in {c["cid"] for c in checks} and len(checks) == 2
    with ipfs_kit() as kit:
        disk = kit.tiers.tier("disk")
        assert isinstance(disk, DiskBackend)
        disk.path_for(parse_cid(good)).write_bytes(b"rotten")
    code, out = run(capsys, "verify", "--all", "--json")
    bad = [c for c in json.loads(out)["checks"] if c["bad"]]
    assert code == 1 and [c["bad"] for c in bad] == [["disk"]]
