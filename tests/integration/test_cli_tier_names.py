"""Tier names given to ``forget`` and ``ls`` mean what they mean everywhere else.

``kubo`` names the ipfs tier (so ``forget --from kubo`` drops the ipfs entry), an
unconfigured backend says what to set, a name no tier has is refused, and filters
that would silently select everything or nothing are refused (real kubo node).
"""

from __future__ import annotations

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
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("IPFS_KIT_S3_BUCKET", raising=False)
    return tmp_path


def _added(env: Path, capsys: pytest.CaptureFixture[str]) -> str:
    f = env / "f.bin"
    f.write_bytes(os.urandom(20_000))
    assert main(["add", "--to", "disk,kubo", "-Q", str(f)]) == 0
    return capsys.readouterr().out.strip()


def test_forget_from_kubo_drops_the_ipfs_entry(
    env: Path, kubo: KuboNode, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = _added(env, capsys)
    assert main(["forget", cid, "--from", "kubo"]) == 0
    assert capsys.readouterr().out.strip() == f"forgot {cid} in ipfs"
    with ipfs_kit() as kit:
        assert kit.whereis(cid) == ["disk"]
        assert kit.forget(cid, ["kubo", "disk"]) == ["disk"]


def test_forget_from_a_tier_with_no_entry_says_so(
    env: Path, kubo: KuboNode, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = _added(env, capsys)
    assert main(["forget", cid, "--from", "s3"]) == 0  # a backend, just not configured
    assert capsys.readouterr().out.strip() == f"{cid}: no entry in s3 to forget"
    assert main(["forget", cid, "--from", "nope"]) == 2
    assert "no tier named 'nope'" in capsys.readouterr().err
    with ipfs_kit() as kit:
        assert kit.whereis(cid) == ["disk", "ipfs"]


def test_ls_backend_explains_an_empty_answer(
    env: Path, kubo: KuboNode, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = _added(env, capsys)
    assert main(["ls", "--backend", "kubo"]) == 0
    assert cid in capsys.readouterr().out
    assert main(["ls", "--backend", "s3"]) == 3
    assert "S3 not configured: set AWS_ACCESS_KEY_ID" in capsys.readouterr().err
    assert main(["ls", "--backend", "nope", "--json"]) == 2
    assert "no tier named 'nope'" in capsys.readouterr().out


@pytest.mark.parametrize(
    "flag",
    [
        ["--limit", "-1"],
        ["--min-size", "-5"],
        ["--older-than-days", "nan"],
        ["--older-than-days", "inf"],
        ["--min-access", "-1"],
    ],
)
def test_ls_refuses_filters_that_select_all_or_nothing(
    env: Path, kubo: KuboNode, flag: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _added(env, capsys)
    assert main(["ls", *flag]) == 2
    assert f"{flag[0]} must be a number >= 0" in capsys.readouterr().err
