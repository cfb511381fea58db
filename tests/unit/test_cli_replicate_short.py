"""``replicate --min-copies N`` that no configured tier can reach says so and exits 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.cli.main import main


@pytest.fixture
def cid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    for kind in ("CACHE", "DATA", "CONFIG"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    monkeypatch.delenv("IPFS_KIT_CONFIG", raising=False)
    for name in ("IPFS_API_URL", "AWS_ACCESS_KEY_ID", "STORACHA_KEY", "IPFS_KIT_GATEWAYS"):
        monkeypatch.delenv(name, raising=False)
    f = tmp_path / "f.txt"
    f.write_text("one durable copy, on disk")
    assert main(["add", "-Q", str(f)]) == 0  # memory + disk: one durable copy
    return capsys.readouterr().out.strip()


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(min_value=0, max_value=50))
def test_replicate_reports_what_it_cannot_reach(
    cid: str, capsys: pytest.CaptureFixture[str], copies: int
) -> None:
    code = main(["replicate", cid, "--min-copies", str(copies), "--json"])
    answer = json.loads(capsys.readouterr().out)
    short = max(0, copies - 1)
    assert answer["report"]["short"] == short and answer["report"]["already"] == ["disk"]
    assert code == (1 if short else 0) and answer["success"] is (short == 0)


def test_the_text_says_short_and_what_to_do(cid: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replicate", cid, "--min-copies", "3"]) == 1
    out = capsys.readouterr().out
    assert "short by 2: 1 durable copies" in out and "lower --min-copies" in out
