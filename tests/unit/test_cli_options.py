"""Every group option of ``ipfs-kit`` works after the sub-commands too, as users type it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.cli.main import build_parser, main, verbosity

Path_ = tuple[str, ...]


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def leaves() -> list[tuple[Path_, list[list[argparse.Action]]]]:
    """Every runnable command path, with the options each group above it defines."""
    found: list[tuple[Path_, list[list[argparse.Action]]]] = []

    def walk(
        parser: argparse.ArgumentParser,
        path: Path_,
        above: list[list[argparse.Action]],
        seen: frozenset[str],
    ) -> None:
        children = subcommands(parser)
        if not children:
            found.append((path, above))
        own = [a for a in parser._actions if a.option_strings and a.dest not in seen]
        own = [a for a in own if a.dest != "help"]
        for name, child in children.items():
            walk(child, (*path, name), [*above, own], seen | {a.dest for a in own})

    walk(build_parser(), (), [], frozenset())
    return found


LEAVES = leaves()
PARSER = build_parser()


def value_for(action: argparse.Action) -> str:
    if action.choices:
        return str(next(iter(action.choices)))
    return "7" if action.type in (int, float) else "v"


def required_args(parser: argparse.ArgumentParser) -> list[str]:
    """Values for a leaf's required positionals and options."""
    argv: list[str] = []
    for action in parser._actions:
        if not action.option_strings and action.nargs is None:
            argv.append(value_for(action))
        elif action.option_strings and action.required:
            argv += [action.option_strings[0], value_for(action)]
    return argv


def option_tokens(action: argparse.Action) -> list[str]:
    if action.nargs == 0:  # store_true, count
        return [action.option_strings[-1]]
    return [action.option_strings[-1], value_for(action)]


def leaf_parser(path: Path_) -> argparse.ArgumentParser:
    parser = PARSER
    for name in path:
        parser = subcommands(parser)[name]
    return parser


def test_every_command_path_is_covered() -> None:
    paths = {path for path, _ in LEAVES}
    assert ("storacha", "up") in paths and ("add",) in paths and ("config", "show") in paths
    assert all(above[0] for _, above in LEAVES)  # -v comes from the top for every one


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(LEAVES), st.data())
def test_group_options_after_the_subcommand_mean_what_they_mean_before_it(
    leaf: tuple[Path_, list[list[argparse.Action]]], data: st.DataObject
) -> None:
    path, above = leaf
    tail = required_args(leaf_parser(path))
    chosen = [
        data.draw(st.lists(st.sampled_from(opts), unique=True)) if opts else [] for opts in above
    ]
    before: list[str] = []
    for name, options in zip(path, chosen, strict=True):
        before += [token for option in options for token in option_tokens(option)] + [name]
    after = [*path, *tail] + [t for options in chosen for o in options for t in option_tokens(o)]
    expected = PARSER.parse_args([*before, *tail])
    got = PARSER.parse_args(after)
    for options in chosen:
        for option in options:
            assert getattr(got, option.dest) == getattr(expected, option.dest), option.dest
    assert got.command == expected.command


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for kind in ("CACHE", "DATA", "CONFIG"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    for name in ("IPFS_KIT_CONFIG", "STORACHA_KEY", "STORACHA_PROOF"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_storacha_json_after_the_subcommand(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = home / "f.txt"
    f.write_text("hello")
    for argv in (["storacha", "up", str(f), "--json"], ["storacha", "--json", "up", str(f)]):
        assert main(argv) == 3  # parsed; then refused for want of credentials, as JSON
        answer = json.loads(capsys.readouterr().out)
        assert answer["error_type"] == "NotConfiguredError" and "STORACHA_KEY" in answer["error"]
    assert main(["storacha", "ls", "--space", "did:key:z6Mk", "--json"]) == 3
    assert json.loads(capsys.readouterr().out)["success"] is False


def test_verbose_after_any_command(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = home / "f.txt"
    f.write_text("hello")
    assert main(["add", "-n", "-Q", str(f), "-v"]) == 0
    assert capsys.readouterr().out.startswith("Qm")
    assert main(["config", "show", "--json", "-vv"]) == 0
    assert json.loads(capsys.readouterr().out)["success"] is True
    assert build_parser().parse_args(["config", "show", "-vv"]).verbose == 2


def test_an_option_a_command_does_not_take_is_still_refused(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["add", "-n", str(home), "--space", "x"])  # --space is storacha's only
    assert exc.value.code == 2
    assert "unrecognized arguments: --space" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "count"),
    [
        (["-v", "ls", "-v"], 2),
        (["-vv", "ls"], 2),
        (["ls", "--verbose", "-v", "-v"], 3),
        (["ls"], 0),
        (["add", "--", "-v"], 0),  # a file named -v
        (["-v", "add", "-Q", "x"], 1),
    ],
)
def test_verbosity_counts_every_v_before_and_after_the_command(argv: list[str], count: int) -> None:
    assert verbosity(argv) == count
