from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from ipfs_kit_py.cli.main import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_only_hash_prints_kubo_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "hello.txt"
    f.write_bytes(b"hello\n")
    code, out, _ = run(["add", "--only-hash", str(f)], capsys)
    assert code == 0
    assert out == "added QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN hello.txt\n"


def test_cid_version_1_implies_raw_leaves_like_kubo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "e"
    f.write_bytes(b"")
    _, out, _ = run(["add", "-n", "-Q", "--cid-version=1", str(f)], capsys)
    assert out.strip() == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    _, out, _ = run(["add", "-n", "-Q", "--cid-version=1", "--raw-leaves=false", str(f)], capsys)
    assert out.strip().startswith("bafybei")


def test_stdin_is_named_by_its_cid(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"hello\n"))
    monkeypatch.setattr(sys, "stdin", stdin)
    _, out, _ = run(["add", "-n", "-"], capsys)
    cid = "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"
    assert out == f"added {cid} {cid}\n"


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "x"
    f.write_bytes(b"x" * 300_000)
    code, out, _ = run(["add", "-n", "--json", "--chunker=size-1000", str(f)], capsys)
    value = json.loads(out)
    assert code == 0
    assert value["profile"] == "size-1000,pb,v0,w174"
    assert value["cid"].startswith("Qm")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["add", "-n", "{missing}"], "no such file"),
        (["add", "-n", "{dir}"], "use the '-r' flag"),
        (["add", "-n", "--chunker=rabin", "{file}"], "not supported"),
        (["add", "-n", "--chunker=size-0", "{file}"], "out of range"),
        (["add", "-n", "--chunker=size-2000000", "{file}"], "out of range"),
        (["add", "-n", "--chunker=size-abc", "{file}"], "must be an integer"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"1")
    paths = {"missing": tmp_path / "nope", "dir": tmp_path, "file": f}
    code, out, err = run([a.format(**paths) for a in argv], capsys)
    assert code == 2
    assert message in err
    assert out == ""


def test_json_errors_are_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(["add", "-n", "--json", str(tmp_path / "nope")], capsys)
    assert code == 2
    assert json.loads(out) == {
        "success": False,
        "error": f"no such file: {tmp_path / 'nope'}",
        "error_type": "InputPathError",
    }


def test_recursive_add_prints_what_kubo_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # expected lines are kubo 0.43.1's `ipfs add -r -n dt` for this tree
    root = tmp_path / "dt"
    (root / "sub" / "empty").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"a\n")
    (root / "sub" / "b").write_bytes(b"b\n")
    (root / ".hid").write_bytes(b"h\n")
    code, out, _ = run(["add", "-r", "-n", str(root)], capsys)
    assert code == 0
    assert out.splitlines() == [
        "added Qmbvkmk9LFsGneteXk3G7YLqtLVME566ho6ibaQZZVHaC9 dt/a.txt",
        "added QmR9pC5uCF3UExca8RSrCVL8eKv7nHMpATzbEQkAHpXmVM dt/sub/b",
        "added QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn dt/sub/empty",
        "added QmasAzQKkaCWrc8ipoP6FKhWTYp9sZHqjewCoeT5xQskxz dt/sub",
        "added QmXJ6VZ3eUWBijeRhxwVRfitg7knYQGdZX1iDqq2MGzjNz dt",
    ]


@pytest.mark.parametrize(
    ("flags", "prefix"),
    [
        (["--raw-leaves"], "bafk"),
        (["--raw-leaves=true"], "bafk"),
        (["--raw-leaves=false"], "Qm"),
        (["--no-raw-leaves"], "Qm"),
        ([], "Qm"),
    ],
)
def test_raw_leaves_flag_spellings_do_not_swallow_the_path(
    flags: list[str], prefix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "one"
    f.write_bytes(b"1")  # one chunk: the root is the leaf, so its CID shows the leaf kind
    code, out, _ = run(["add", "-n", "-Q", *flags, str(f)], capsys)
    assert code == 0
    assert out.strip().startswith(prefix)
