"""``ipfs-kit ls``: CIDs in the form they were added, headers, readable sizes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.cli.main import main
from ipfs_kit_py.cli.table import format_table, human_size
from ipfs_kit_py.content.cid import cid_key, parse_cid

UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for kind in ("CACHE", "DATA", "CONFIG"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    monkeypatch.delenv("IPFS_KIT_CONFIG", raising=False)
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_ls_shows_the_added_form_with_headers(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small, big = home / "small.txt", home / "big.bin"
    small.write_bytes(b"x" * 100)
    big.write_bytes(bytes(range(256)) * 6000)  # 1.5 MB: several chunks
    v0 = cli(capsys, "add", "-Q", str(small)).strip()
    v1 = cli(capsys, "add", "-Q", "--cid-version=1", str(big)).strip()
    assert v0.startswith("Qm") and v1.startswith("bafy")
    header, *rows = cli(capsys, "ls").splitlines()
    assert header.split() == ["CID", "SIZE", "KIND", "ACCESSES", "TAGS"]
    by_cid = {row.split()[0]: row for row in rows}
    assert set(by_cid) == {v0, v1}
    assert "100 B" in by_cid[v0] and "1.5 MiB" in by_cid[v1]
    listed = json.loads(cli(capsys, "ls", "--json"))["content"]
    forms = {item["cid"]: item["added_cid"] for item in listed}
    assert forms == {cid_key(parse_cid(v0)): v0, v1: v1}  # the key form stays under "cid"
    assert {item["size"] for item in listed} == {100, 1_536_000}


def test_ls_of_nothing_prints_nothing(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "ls") == ""
    assert json.loads(cli(capsys, "ls", "--json"))["count"] == 0


def test_ls_backend_takes_the_kubo_alias(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = home / "f.txt"
    f.write_text("on disk")
    cli(capsys, "add", str(f))
    assert len(cli(capsys, "ls", "--backend", "disk").splitlines()) == 2
    # kubo is not configured here: say what to set rather than list nothing
    # (with a kubo node: tests/integration/test_kubo_alias.py, test_cli_tier_names.py)
    assert main(["ls", "--backend", "kubo"]) == 3
    assert "kubo is not configured: set [kubo] api_url" in capsys.readouterr().err


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2**70))
def test_human_size_reads_back_within_a_rounding(size: int) -> None:
    text = human_size(size)
    number, unit = text.split()
    if size < 1024:
        assert text == f"{size} B"
        return
    value, power = float(number), UNITS.index(unit)
    assert re.fullmatch(r"\d+\.\d", number) and 1.0 <= value < 1024
    assert abs(value * 1024**power - size) <= 0.05 * 1024**power + 1e-9 * size


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**60), st.integers(0, 2**60))
def test_human_size_keeps_order(a: int, b: int) -> None:
    def back(text: str) -> float:
        number, unit = text.split()
        return float(number) * 1024 ** UNITS.index(unit)

    if a <= b:
        assert back(human_size(a)) <= back(human_size(b))


cells = st.text(st.characters(codec="ascii", categories=["L", "N", "P"]), max_size=30)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda n: st.lists(st.lists(cells, min_size=n, max_size=n), min_size=1, max_size=6)
    )
)
def test_format_table_aligns_and_never_cuts_the_last_column(table: list[list[str]]) -> None:
    headers, rows = table[0], table[1:]
    lines = format_table(headers, rows)
    assert len(lines) == len(table)
    widths = [max(len(r[i]) for r in table) for i in range(len(headers) - 1)]
    for line, row in zip(lines, table, strict=True):
        start = 0
        for i, cell in enumerate(row[:-1]):
            assert line[start : start + len(cell)] == cell
            start += widths[i] + 2
        assert line[start:] == row[-1]  # whole, however long


def test_ls_shows_a_directory_as_added(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = home / "tree"
    tree.mkdir()
    (tree / "a.txt").write_text("a")
    root = cli(capsys, "add", "-r", "-Q", str(tree)).strip()
    assert root.startswith("Qm")
    [row] = [line for line in cli(capsys, "ls").splitlines() if line.startswith(root)]
    assert " dir " in row
