"""Odd input through the facade and the CLI: empty content, special files, endless streams."""

from __future__ import annotations

import io
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipfs_kit_py.cli.main import main
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, import_file
from ipfs_kit_py.errors import InputPathError, ResourceLimitError
from ipfs_kit_py.ipfs_kit import ipfs_kit

EMPTY_V0 = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"  # `ipfs add` of an empty file
EMPTY_DIR_V0 = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"  # `ipfs add -r` of an empty dir


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for kind in ("CACHE", "DATA", "CONFIG"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    monkeypatch.delenv("IPFS_KIT_CONFIG", raising=False)
    monkeypatch.delenv("IPFS_KIT_MAX_STREAM_BYTES", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def kit(home: Path) -> Iterator[ipfs_kit]:
    with ipfs_kit() as k:
        yield k


def part_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".part")]


# -- empty content ------------------------------------------------------------------------


@pytest.mark.parametrize("to", [None, ["memory"], ["disk"], ["memory", "disk"]])
def test_empty_bytes_add_cat_get_in_every_local_tier(
    kit: ipfs_kit, home: Path, to: list[str] | None
) -> None:
    added = kit.add(b"", to=to)
    assert str(added.cid) == EMPTY_V0
    assert added.size == 0
    assert set(added.stored) == set(to or ["memory", "disk"])
    assert kit.cat(added.cid) == b""
    assert b"".join(kit.get(added.cid)) == b""
    out = kit.get_to_path(added.cid, home / "out")
    assert out.read_bytes() == b""
    if to != ["memory"]:  # memory is per process: verify checks the durable copies
        assert kit.verify(added.cid).ok


def test_empty_file_stream_and_iterable(kit: ipfs_kit, home: Path) -> None:
    empty = home / "empty"
    empty.write_bytes(b"")
    assert str(kit.add(empty).cid) == EMPTY_V0
    assert str(kit.add(io.BytesIO(b"")).cid) == EMPTY_V0
    assert str(kit.add(iter([])).cid) == EMPTY_V0
    assert str(kit.add(iter([b"", b""])).cid) == EMPTY_V0
    v1 = kit.add(b"", profile=KUBO_CID_V1)
    assert v1.cid == import_file([b""], KUBO_CID_V1).cid
    assert kit.cat(v1.cid) == b""


def test_empty_content_from_disk_only_after_memory_is_gone(kit: ipfs_kit) -> None:
    added = kit.add(b"")
    kit.remove(added.cid, ["memory"])
    assert kit.whereis(added.cid) == ["disk"]
    assert kit.cat(added.cid) == b""


def test_empty_directory_round_trips(kit: ipfs_kit, home: Path) -> None:
    (home / "emptydir").mkdir()
    added = kit.add(home / "emptydir")
    assert str(added.cid) == EMPTY_DIR_V0
    target = kit.get_to_path(added.cid, home / "restored")
    assert target.is_dir() and not any(target.iterdir())


def test_a_directory_without_files_is_where_it_was_added(kit: ipfs_kit, home: Path) -> None:
    (home / "hollow" / "inner").mkdir(parents=True)  # directories only, no file
    (home / "emptydir").mkdir()
    empty = kit.add(home / "emptydir", to=["disk"]).cid
    assert kit.whereis(empty) == ["disk"]
    assert kit.whereis(kit.add(home / "emptydir", to=["memory"]).cid) == ["memory", "disk"]
    hollow = kit.add(home / "hollow", to=["memory", "disk"]).cid
    assert kit.whereis(hollow) == ["memory", "disk"]


def test_empty_content_through_the_dict_face(kit: ipfs_kit) -> None:
    added = kit.ipfs_add(b"")
    assert added["success"] and added["cid"] == EMPTY_V0 and added["size"] == 0
    cat = kit.ipfs_cat(EMPTY_V0)
    assert cat["success"] and cat["data"] == b"" and cat["size"] == 0


def test_empty_file_and_stdin_through_the_cli(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (home / "empty").write_bytes(b"")
    assert main(["add", "--json", "empty"]) == 0
    assert json.loads(capsys.readouterr().out)["cid"] == EMPTY_V0
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert main(["add", "-Q", "-"]) == 0
    assert capsys.readouterr().out.strip() == EMPTY_V0
    assert main(["get", EMPTY_V0, "-o", "got"]) == 0
    assert (home / "got").read_bytes() == b""
    (home / "d").mkdir()
    assert main(["add", "-r", "-Q", "d"]) == 0
    assert capsys.readouterr().out.strip().endswith(EMPTY_DIR_V0)


# -- special files ------------------------------------------------------------------------


def test_a_fifo_is_refused_without_blocking(kit: ipfs_kit, home: Path) -> None:
    fifo = home / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputPathError, match="FIFO"):
        kit.add(fifo)
    assert part_files(home) == []


def test_a_character_device_is_refused(kit: ipfs_kit, home: Path) -> None:
    with pytest.raises(InputPathError, match="character device"):
        kit.add("/dev/zero")
    assert part_files(home) == []


def test_a_socket_is_refused(kit: ipfs_kit, home: Path) -> None:
    path = home / "sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(InputPathError, match=r"cannot read|socket"):
            kit.add(path)


def test_cli_refuses_fifo_and_devices_even_for_only_hash(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(home / "fifo")
    for argv in (["add", "fifo"], ["add", "-n", "fifo"], ["add", "/dev/zero"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and "it is a" in err


# -- unbounded streams --------------------------------------------------------------------


def zeros(total_chunks: int | None = None) -> Iterator[bytes]:
    n = 0
    while total_chunks is None or n < total_chunks:
        n += 1
        yield bytes(1 << 16)


def test_an_endless_stream_stops_at_max_stream_bytes(home: Path) -> None:
    with ipfs_kit(max_stream_bytes=1 << 20) as kit:
        with pytest.raises(ResourceLimitError, match="max_stream_bytes"):
            kit.add(zeros())
        with open("/dev/zero", "rb") as endless, pytest.raises(ResourceLimitError):
            kit.add(endless)  # a file object is a stream: bounded, not refused
        assert kit.add(zeros(16)).size == 1 << 20  # exactly the limit is fine
        assert kit.index.count() == 1
    assert part_files(home) == []


def test_max_stream_bytes_from_env_and_config_file(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPFS_KIT_MAX_STREAM_BYTES", "1000")
    with ipfs_kit() as kit:
        assert kit.config.max_stream_bytes == 1000
        assert kit.config_summary()["max_stream_bytes"] == 1000
        with pytest.raises(ResourceLimitError):
            kit.add(iter([b"x" * 1001]))
        assert kit.add(b"x" * 5000).size == 5000  # bytes and paths have a known size
    config = home / "c.toml"
    config.write_text("[tiers]\nmax_stream_bytes = 10\n")
    with ipfs_kit(config) as kit:
        assert kit.config.max_stream_bytes == 10


def test_cli_max_stream_bytes_flag(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"y" * 5000)))
    assert main(["add", "--max-stream-bytes", "4096", "-"]) == 1
    err = capsys.readouterr().err
    assert "max_stream_bytes" in err and "Traceback" not in err
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"y" * 5000)))
    assert main(["add", "--max-stream-bytes", "5000", "-Q", "-"]) == 0
    assert main(["add", "--max-stream-bytes", "-1", "-"]) == 2
    assert part_files(home) == []
