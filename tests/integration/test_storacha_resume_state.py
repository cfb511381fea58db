"""Upload state in the metadata index: an upload SIGKILLed after k shards, run again
through the kit, sends (and asks blob/add about) only the shards not accepted before,
and ends with the clean upload's root, index and shard CIDs; a changed file starts over;
``--no-resume`` starts over; a finished upload leaves no state."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.servers.sigkill import kill_after_calls, run_until_killed
from tests.servers.storacha import StorachaService, StorachaTestCredentials

from ipfs_kit_py.backends.storacha.sharding import ShardWriter, encode_dag_index
from ipfs_kit_py.backends.storacha.upload import Uploader
from ipfs_kit_py.cli.main import main
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.content.unixfs import STORACHA, import_file
from ipfs_kit_py.ipfs_kit import ipfs_kit
from ipfs_kit_py.storacha_ledger import StorachaUploadLedger

SHARD = 1_100_000  # one 1 MiB leaf per shard: several shards from a small file
KILLER = kill_after_calls(  # dies after the kill_after-th shard is recorded
    "ipfs_kit_py.storacha_ledger",
    "StorachaUploadLedger.shard_stored",
    """
    from ipfs_kit_py.ipfs_kit import ipfs_kit
    with ipfs_kit() as kit:
        kit.storacha.upload_file(sys.argv[1])
    """,
)


@pytest.fixture
def kit_env(
    storacha_service: StorachaService,
    storacha_credentials: StorachaTestCredentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """The kit's environment (its own index and config dirs), set here and for children."""
    env = storacha_service.client_env(
        storacha_credentials,
        STORACHA_SHARD_SIZE=str(SHARD),
        STORACHA_UPLOAD_CONCURRENCY="1",  # one transfer at a time: exact counts
        IPFS_KIT_CONFIG=str(tmp_path / "absent.toml"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def blob_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[int]]]:
    """Sizes of every space/blob/add asked and every blob PUT in this process."""
    calls: dict[str, list[int]] = {"add": [], "put": []}
    add_blob, put = Uploader.add_blob, Uploader._put

    def adding(self: Uploader, digest: bytes, size: int, body: Any) -> None:
        calls["add"].append(size)
        add_blob(self, digest, size, body)

    def putting(self: Uploader, address: Any, size: int, body: Any) -> None:
        calls["put"].append(size)
        put(self, address, size, body)

    monkeypatch.setattr(Uploader, "add_blob", adding)
    monkeypatch.setattr(Uploader, "_put", putting)
    yield calls


def _kill_after(env: dict[str, str], source: Path, kill_after: int) -> None:
    run_until_killed(KILLER, env, str(source), str(kill_after))


def _clean_upload(source: Path, tmp: Path) -> tuple[CID, list[CID], list[int], CID]:
    """Root, shard CIDs and sizes, and index CID that a clean upload of ``source`` makes."""
    tmp.mkdir()
    writer = ShardWriter(tmp, SHARD)
    root = import_file(source, STORACHA, on_block=writer.add).cid
    shards = writer.finish(root)
    index, _ = encode_dag_index(root, shards)
    return root, [s.cid for s in shards], [s.size for s in shards], index


def _pending(kit: ipfs_kit) -> list[tuple[str, str, int]]:
    return StorachaUploadLedger(kit.index).in_progress()


@pytest.mark.parametrize("kill_after", [1, 3])
def test_a_killed_upload_resumes_from_the_index_sending_only_the_rest(
    kit_env: dict[str, str], blob_calls: dict[str, list[int]], tmp_path: Path, kill_after: int
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(5 * 1024 * 1024 + 12345))
    root, shards, sizes, index = _clean_upload(source, tmp_path / "clean")
    assert len(shards) >= 5
    _kill_after(kit_env, source, kill_after)
    with ipfs_kit() as kit:
        [(space, name, stored)] = _pending(kit)
        assert (space, name, stored) == (kit.storacha.space, f"file:{source}", kill_after)
        result = kit.storacha.upload_file(source)
        assert (result.root, result.shards, result.index) == (root, shards, index)
        # the shards accepted before the kill: no PUT, and not even a blob/add
        rest = sizes[kill_after:]
        assert blob_calls["add"][: len(rest)] == rest and len(blob_calls["add"]) == len(rest) + 1
        assert blob_calls["put"] == blob_calls["add"]  # the rest, then the index
        assert _pending(kit) == []  # finished: the state is gone
        record = kit.storacha.find_upload(root)
        assert record is not None and record["shards"] == shards
        assert b"".join(kit.storacha.get(root)) == source.read_bytes()


def test_a_changed_file_does_not_resume_from_a_stale_state(
    kit_env: dict[str, str], blob_calls: dict[str, list[int]], tmp_path: Path
) -> None:
    source = tmp_path / "changing.bin"
    source.write_bytes(os.urandom(4 * 1024 * 1024 + 999))
    _kill_after(kit_env, source, 2)
    with source.open("r+b") as f:  # same size, new bytes at the end
        f.seek(-10, os.SEEK_END)
        f.write(os.urandom(10))
    root, shards, sizes, index = _clean_upload(source, tmp_path / "clean")
    with ipfs_kit() as kit:
        assert [n for _, _, n in _pending(kit)] == [2]
        result = kit.storacha.upload_file(source)
        assert (result.root, result.shards, result.index) == (root, shards, index)
        assert blob_calls["add"][:-1] == sizes  # every shard asked about again
        assert _pending(kit) == []
        assert b"".join(kit.storacha.get(root)) == source.read_bytes()


def test_no_resume_starts_over_and_resume_is_the_cli_default(
    kit_env: dict[str, str],
    blob_calls: dict[str, list[int]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = tmp_path / "again.bin"
    source.write_bytes(os.urandom(4 * 1024 * 1024 + 5))
    root, shards, sizes, _ = _clean_upload(source, tmp_path / "clean")
    _kill_after(kit_env, source, 2)
    assert main(["storacha", "--json", "up", "--no-resume", str(source)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["cid"] == str(root) and answer["shards"] == [str(s) for s in shards]
    assert blob_calls["add"][:-1] == sizes  # the state was dropped: all asked again
    blob_calls["add"].clear()
    _kill_after(kit_env, source.rename(tmp_path / "moved.bin"), 1)
    assert main(["storacha", "--json", "up", str(tmp_path / "moved.bin")]) == 0
    assert json.loads(capsys.readouterr().out)["cid"] == str(root)
    assert blob_calls["add"][:-1] == sizes[1:]
    with ipfs_kit() as kit:
        assert _pending(kit) == []


def test_up_help_documents_resume(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["storacha", "up", "--help"])
    out = capsys.readouterr().out
    assert "--resume" in out and "--no-resume" in out


def test_an_unusable_index_costs_the_resume_not_the_upload(
    kit_env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    damaged = Path(kit_env["XDG_DATA_HOME"]) / "ipfs-kit" / "index.sqlite3"
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(b"not an index" * 100)
    source = tmp_path / "small.bin"
    source.write_bytes(os.urandom(2 * 1024 * 1024 + 1))
    root, shards, _, index = _clean_upload(source, tmp_path / "clean")
    with ipfs_kit() as kit:
        result = kit.storacha.upload_file(source)
        assert (result.root, result.shards, result.index) == (root, shards, index)
    assert "will not be resumable" in caplog.text and str(damaged) in caplog.text
