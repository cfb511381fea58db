"""The command line's own parsing: ``--`` ends options wherever it stands, and a command
line parsed by the lean parser (its command alone) reads as the full parser reads it."""

from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.cli.main import (
    COMMANDS,
    build_parser,
    end_of_options,
    kubo_style_booleans,
    main,
    plain_before,
)

FULL = build_parser()
# argv tokens: option spellings of the commands, values, odd words, and the markers
WORDS = st.sampled_from(
    [
        *COMMANDS,
        "show",
        "up",
        "ls",
        "--json",
        "-v",
        "-vv",
        "--verbose",
        "-n",
        "-Q",
        "-o",
        "--to",
        "--from",
        "--all",
        "--cid-version",
        "1",
        "--raw-leaves=false",
        "--help",
        "-h",
        "x",
        "-x",
        "--",
        "",
    ]
)
TOKENS = st.lists(WORDS | st.text(max_size=8), max_size=7)
OPERAND = st.text(min_size=1, max_size=20).filter(lambda t: "\x00" not in t)


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[str, Any]:
    """How ``parser`` reads ``argv``: its namespace (handlers by name), or how it exits
    and what it prints then (help, usage errors)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            found = vars(parser.parse_args(argv))
    except SystemExit as exc:
        return "exit", (exc.code, out.getvalue(), err.getvalue())
    func = found.pop("func", None)
    found["func"] = getattr(func, "__qualname__", None)
    return "ok", found


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's usage errors
        return int(exc.code or 0)


@settings(max_examples=200, deadline=None)
@given(argv=TOKENS)
def test_without_a_double_dash_nothing_moves(argv: list[str]) -> None:
    if "--" not in argv:
        assert end_of_options(FULL, argv) == argv


@settings(max_examples=100, deadline=None)
@given(operand=OPERAND, verbose=st.sampled_from([[], ["-v"], ["--verbose", "-vv"]]))
def test_a_double_dash_before_the_command_makes_the_rest_operands(
    operand: str, verbose: list[str]
) -> None:
    argv = [*verbose, "--", "cat", operand]
    kind, found = parse(FULL, end_of_options(FULL, argv))
    assert kind == "ok" and found["cid"] == operand and found["command"] == "cat"
    assert parse(FULL, ["cat", "--", operand]) == ("ok", {**found, "verbose": 0})
    kind, found = parse(FULL, end_of_options(FULL, ["--", "storacha", "get", operand]))
    assert kind == "ok" and found["cid"] == operand  # nested: after the last command word


@settings(max_examples=100, deadline=None)
@given(before=TOKENS, after=TOKENS)
def test_kubo_booleans_stop_at_the_double_dash(before: list[str], after: list[str]) -> None:
    argv = [*before, "--", *after]
    out = kubo_style_booleans(argv)
    dash = argv.index("--")
    assert out[dash:] == argv[dash:]
    assert out[:dash] == kubo_style_booleans(argv[:dash])


@settings(max_examples=150, deadline=None)
@given(
    verbose=st.lists(st.sampled_from(["-v", "-vv", "--verbose"]), max_size=2),
    command=st.sampled_from(sorted(COMMANDS)),
    rest=TOKENS,
)
def test_the_lean_parser_reads_a_command_line_as_the_full_one(
    verbose: list[str], command: str, rest: list[str]
) -> None:
    """Built for its command alone, the parser parses, errs and helps exactly alike."""
    argv = kubo_style_booleans([*verbose, command, *rest])
    assert plain_before(argv, command)
    lean = build_parser(argv)
    assert parse(lean, end_of_options(lean, argv)) == parse(FULL, end_of_options(FULL, argv))


@pytest.mark.parametrize("argv", [["-h", "cat", "x"], ["--help", "cat"], ["-vh", "add"]])
def test_the_top_level_help_still_lists_every_command(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert not plain_before(argv, "cat" if "cat" in argv else "add")
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert all(f"    {name}" in out for name in COMMANDS)


def test_double_dash_then_add_adds_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ipfs-kit -- add f`` adds ``f``; after ``--`` an option's spelling is a file name."""
    monkeypatch.chdir(tmp_path)
    for kind in ("DATA", "CACHE", "CONFIG"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    (tmp_path / "f").write_bytes(b"hello\n")
    (tmp_path / "-n").write_bytes(b"a file named like an option\n")
    assert run(["add", "-n", "-Q", "f"]) == 0
    cid_f = capsys.readouterr().out.strip()
    assert run(["add", "-n", "-Q", "--", "-n"]) == 0
    cid_n = capsys.readouterr().out.strip()
    assert run(["--", "add", "f"]) == 0
    assert capsys.readouterr().out.split() == ["added", cid_f, "f"]
    assert run(["-v", "--", "add", "-n"]) == 0  # the file "-n", stored: not --only-hash
    assert capsys.readouterr().out.split() == ["added", cid_n, "-n"]
    assert run(["--", "add", "-Q", "f"]) == 2  # two files: add takes one
    assert "unrecognized arguments: f" in capsys.readouterr().err
    assert run(["--", "cat", cid_f]) == 0
    assert capsys.readouterr().out == "hello\n"
