"""Every ``ipfs-kit`` command with hostile arguments: a one-line error and a documented code.

The sweep walks the real parser, so a new command or option is covered the day it is
added. A failure names the argv: an exception escaping ``main``, an exit code outside the
documented ones, a traceback, or the last-resort "unexpected" path (an unmapped error).
"""

from __future__ import annotations

import argparse
import io
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ipfs_kit_py.cli import main as cli_main
from ipfs_kit_py.cli.main import build_parser, main
from ipfs_kit_py.errors import ContentNotFoundError, InputPathError, MetadataIndexError
from ipfs_kit_py.ipfs_kit import ipfs_kit
from tests.servers.process import free_port

HOSTILE_OPTION_VALUES = ["", "[red]x[/red]", "a\x00b", "\udcff\udcfe", "b" + "a" * 5000, "-1"]
HOSTILE = [
    "",
    "-",
    " ",
    "[red]x[/red]",
    "d5/[/]",
    "a\x00b",
    "\udcff\udcfe",  # undecodable bytes as argv carries them (surrogateescape)
    "b" + "a" * 5000,
    "/proc/x",  # the only absolute path: nothing can be created there, even by root
    "fifo",  # a named pipe nobody reads: as input it must be refused, as output too
    "missing-dir/x",
    "file/x",
    "dir",
    "dir/",
    "../../escaped",  # stays inside tmp_path (the sweep runs in tmp_path/work/deep)
    "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN",
    "bafkqablimvwgy3y",
    "-1",
    "99999999999999999999999",
    "nan",
]
DOCUMENTED = {0, 1, 2, 3, 4}


def leaf_commands(parser: argparse.ArgumentParser) -> Iterator[tuple[list[str], Any]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield [], parser
        return
    for action in subs:
        for name, sub in action.choices.items():
            for path, leaf in leaf_commands(sub):
                yield [name, *path], leaf


def benign(dest: str) -> str:
    """A value that is valid for a positional, so the hostile one is what gets tested."""
    return {
        "path": "file",
        "car": "file",
        "local_path": "file",
        "key": "k",
        "cid": "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN",
        "prefix": "p/",
    }.get(dest, "file")


REQUIRED_OPTIONS = {"-o": "out-target", "--from": "disk", "-c": "upload/add"}


def sweep() -> Iterator[list[str]]:
    for path, leaf in leaf_commands(build_parser()):
        positionals = [a for a in leaf._actions if not a.option_strings]
        options = [a for a in leaf._actions if a.option_strings and a.nargs != 0]
        options = [a for a in options if a.dest != "help"]
        required = []
        for a in options:
            if a.required:
                required += [a.option_strings[0], REQUIRED_OPTIONS[a.option_strings[0]]]
        base = [benign(a.dest) for a in positionals]
        for i in range(len(positionals)):
            for value in HOSTILE:
                yield [*path, *required, *base[:i], value, *base[i + 1 :]]
        for option in options:
            for value in HOSTILE_OPTION_VALUES:
                others = [
                    x
                    for j in range(0, len(required), 2)
                    if required[j] != option.option_strings[0]
                    for x in required[j : j + 2]
                ]
                yield [*path, *others, f"{option.option_strings[0]}={value}", *base]
        yield [*path, "--json", *required, *base]


@pytest.fixture
def hostile_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith(("AWS_", "S3_", "IPFS_", "STORACHA_")):
            monkeypatch.delenv(name)
    for kind in ("CACHE", "DATA", "CONFIG"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    dead = f"http://127.0.0.1:{free_port()}"  # S3 is configured, and nobody answers
    config = tmp_path / "config.toml"
    config.write_text(
        f'[s3]\naccess_key_id = "K"\nsecret_access_key = "S"\nendpoint_url = "{dead}"\n'
        'bucket = "bucket-x"\nmax_retries = 0\nretry_timeout = 1\nconnect_timeout = 1\n'
    )
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(config))
    # Never a system path: a bug must not be able to replace /etc/passwd or /dev/zero
    work = tmp_path / "work" / "deep"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    (work / "file").write_bytes(b"some bytes\n")
    (work / "dir").mkdir()
    (work / "dir" / "inner").write_bytes(b"inner\n")
    os.mkfifo(work / "fifo")
    with ipfs_kit() as kit:
        kit.add(work / "file")
    return work


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_every_command_answers_hostile_arguments_with_one_line(
    hostile_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # one parser (every command) for the sweep: building it costs more than most commands
    parser = build_parser()
    monkeypatch.setattr(cli_main, "build_parser", lambda argv=None: parser)
    problems = []
    runs = 0
    with_s3 = os.environ["IPFS_KIT_CONFIG"]
    without = str(hostile_home / "no-s3.toml")
    for argv in sweep():
        # S3 (at a dead port) only where it is the subject: building it costs each command
        monkeypatch.setenv("IPFS_KIT_CONFIG", with_s3 if argv[0] == "s3" else without)
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"stdin bytes")))
        code, text = run(argv, capsys)
        runs += 1
        if "Traceback" in text or "run with -vv" in text or code not in DOCUMENTED:
            problems.append(f"{argv!r}: exit {code}: {text.strip()[-300:]}")
    assert runs > 800
    assert problems == [], "\n".join(problems)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for kind in ("CACHE", "DATA", "CONFIG"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    monkeypatch.delenv("IPFS_KIT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file").write_bytes(b"x\n")
    return tmp_path


@pytest.fixture
def cid(home: Path) -> str:
    with ipfs_kit() as kit:
        return str(kit.add(b"stored\n").cid)


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["get", "{cid}", "-o", "file/x"], 2, "cannot write"),
        (["get", "{cid}", "-o", "/proc/x"], 2, "cannot write /proc/x"),
        # the message names what refused the file, not only the target (which may exist)
        (["get", "{cid}", "-o", "/proc/x"], 2, "/proc is on a file system that takes no new"),
        (["get", "{cid}", "-o", "/proc/self/status"], 2, "/proc/self is on a file system"),
        (["get", "{cid}", "-o", "file/x"], 2, "cannot write file/x: file is not a directory"),
        (["get", "{cid}", "-o", "file/a/x"], 2, "the directory file/a: Not a directory"),
        (["car", "pack", "file", "-o", "missing-dir/x.car"], 2, "does not exist"),
        (["rm", "--from", "disk", "b" + "a" * 5000], 2, "invalid CID"),
        (["rm", "--from", "disk", "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"], 1, "not in"),
        (["rm", "--from", "", "{cid}"], 2, "at least one tier"),
        (["rm", "--from", ",", "{cid}"], 2, "at least one tier"),
        (["rm", "--from", "nope", "{cid}"], 2, "no tier named"),
    ],
)
def test_the_reported_cases_are_one_line_errors(
    argv: list[str], code: int, message: str, cid: str, capsys: pytest.CaptureFixture[str]
) -> None:
    got, text = run([a.format(cid=cid) for a in argv], capsys)
    assert got == code
    assert message in text
    assert "Traceback" not in text and len(text.strip().splitlines()) == 1


def test_output_into_an_existing_directory_means_a_file_inside(
    cid: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (home / "d").mkdir()
    assert run(["get", cid, "-o", "d"], capsys)[0] == 0
    assert (home / "d" / cid).read_bytes() == b"stored\n"
    assert run(["get", cid, "-o", "new/"], capsys)[0] == 0
    assert (home / "new" / cid).read_bytes() == b"stored\n"
    assert run(["car", "pack", "file", "-o", "d"], capsys)[0] == 0
    assert (home / "d" / "file.car").stat().st_size > 0


def test_rm_of_present_then_absent(cid: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["rm", "--from", "disk", cid], capsys)[0] == 0
    code, text = run(["rm", "--from", "disk", cid], capsys)
    assert code == 1 and "is not in disk" in text
    with ipfs_kit() as kit, pytest.raises(ContentNotFoundError):
        kit.remove(cid, ["disk"])
    with ipfs_kit() as kit:
        failed = kit.ipfs_remove(cid, ["disk"])
    assert failed["success"] is False and failed["error_type"] == "ContentNotFoundError"


@pytest.mark.parametrize("garbage", [os.urandom(5000), b"SQLite format 3\x00" + b"\xff" * 4000])
def test_a_corrupt_index_is_a_typed_error_everywhere(
    garbage: bytes, cid: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = home / "data" / "ipfs-kit" / "index.sqlite3"
    for suffix in ("-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    index.write_bytes(garbage)
    for argv in (["ls"], ["add", "file"], ["whereis", cid], ["cat", cid], ["verify", "--all"]):
        code, text = run(argv, capsys)
        assert code == 3, argv  # a MetadataIndexError is a ConfigurationError: exit 3
        assert "index" in text and "Traceback" not in text and "run with -vv" not in text
    with ipfs_kit() as kit:
        with pytest.raises(MetadataIndexError) as info:
            kit.add(b"x")
        assert isinstance(info.value.__cause__, sqlite3.DatabaseError)
        result = kit.ipfs_add(b"x")
    assert result["success"] is False and result["error_type"] == "IndexCorruptError"


def test_typed_get_to_path_raises_input_path_errors_not_oserror(cid: str, home: Path) -> None:
    with ipfs_kit() as kit:
        for target in ("file/x", "/proc/x", "", "a\x00b"):
            with pytest.raises(InputPathError):
                kit.get_to_path(cid, target)
        failed = kit.ipfs_get(cid, "/proc/x")
    assert failed["error_type"] == "InputPathError"
    assert not [p for p in home.rglob("*.part")]
