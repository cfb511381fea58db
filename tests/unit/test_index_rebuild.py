"""``index check`` / ``index rebuild`` with the disk tier: damaged files, salvage, lost copies."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.disk import DiskBackend
from ipfs_kit_py.cli.main import main
from ipfs_kit_py.content.cid import parse_cid
from ipfs_kit_py.errors import ConfigurationError, IndexCorruptError
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.index_rebuild import rebuild_index, salvage
from ipfs_kit_py.ipfs_kit import ipfs_kit


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("IPFS_KIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IPFS_KIT_INDEX", str(tmp_path / "index.sqlite3"))
    for name in ("IPFS_KIT_S3_BUCKET", "S3_ENDPOINT_URL", "IPFS_API_URL", "STORACHA_KEY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    lines = (captured.out or captured.err).strip().splitlines()
    return code, json.loads(lines[-1])


def test_a_garbage_index_is_named_then_rebuilt_from_the_disk_tier(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ipfs_kit() as kit:
        a = kit.add(os.urandom(5000), to=["disk"]).cid
        b = kit.add(os.urandom(7000), to=["disk"]).cid
    index = env / "index.sqlite3"
    index.write_bytes(b"\x00garbage" * 1000)
    for leftover in ("-wal", "-shm"):
        Path(f"{index}{leftover}").unlink(missing_ok=True)

    code, r = cli(capsys, "ls")
    assert code == 3 and r["error_type"] == "IndexCorruptError" and str(index) in r["error"]
    code, r = cli(capsys, "index", "check")
    assert code == 3 and r["error_type"] == "IndexCorruptError"

    code, r = cli(capsys, "index", "rebuild")
    assert code == 0 and r["report"]["found"] == {"disk": 2}
    assert r["report"]["moved_to"] and Path(r["report"]["moved_to"]).exists()
    code, r = cli(capsys, "index", "check")
    assert code == 0 and r["index"]["problems"] == [] and r["index"]["good"] == 2
    with ipfs_kit() as kit:
        assert kit.whereis(a) == ["disk"] and kit.whereis(b) == ["disk"]
        assert kit.verify(a).ok and kit.verify(b).ok


def test_rebuild_keeps_pins_tags_and_directories_and_marks_lost_copies(env: Path) -> None:
    tree = env / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "f.txt").write_bytes(b"file in a tree")
    with ipfs_kit() as kit:
        kept = kit.add(os.urandom(3000), to=["disk"], pin=True, tags=["keep"]).cid
        lost = kit.add(os.urandom(3000), to=["disk"], tags=["gone"]).cid
        directory = kit.add(tree, to=["disk"]).cid
        kit.tiers.disk.delete(lost)  # type: ignore[union-attr]  # behind the kit's back
        report = kit.rebuild_index()
        assert report.found == {"disk": 2} and report.missing == 1 and report.pins == 1
        assert report.salvage_errors == ()
        [loc] = kit.index.locations(kept)
        assert loc.pinned and kit.index.content(kept).tags == ("keep",)  # type: ignore[union-attr]
        [gone] = kit.index.locations(lost, include_bad=True)
        assert gone.state == "missing" and "index rebuild" in (gone.reason or "")
        assert kit.index.content(lost).tags == ("gone",)  # type: ignore[union-attr]
        assert kit.whereis(directory) == ["disk"]
        kit.get_to_path(directory, env / "out")  # the tree came back from the old record
        assert (env / "out" / "sub" / "f.txt").read_bytes() == b"file in a tree"


# -- any damage: a typed error or a sound index, and a rebuild that always works ---------

_PRISTINE: dict[str, bytes] = {}


def _pristine(base: Path) -> bytes:
    """One small index with records, copies, tags and pins (built once per session)."""
    if "index" not in _PRISTINE:
        from ipfs_kit_py.content.cid import sha256_cid

        path = base / "pristine.sqlite3"
        with MetadataIndex(path) as index:
            for n in range(120):
                key = sha256_cid(0x55, n.to_bytes(4, "big"))
                index.upsert_content(key, size=n, metadata={"n": n})
                index.record(key, "disk", f"/d/{n}", pinned=n % 3 == 0)
                index.tag(key, f"t{n % 5}")
            index._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _PRISTINE["index"] = path.read_bytes()
    return _PRISTINE["index"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    damage=st.lists(
        st.tuples(st.integers(0, 40_000), st.binary(min_size=1, max_size=600)),
        min_size=1,
        max_size=4,
    ),
    truncate=st.one_of(st.none(), st.integers(0, 40_000)),
)
def test_damage_gives_a_typed_error_and_rebuild_always_works(
    tmp_path: Path, damage: list[tuple[int, bytes]], truncate: int | None
) -> None:
    raw = bytearray(_pristine(tmp_path))
    for offset, data in damage:
        raw[offset : offset + len(data)] = data
    if truncate is not None:
        del raw[truncate:]
    case = Path(tempfile.mkdtemp(dir=tmp_path))
    path = case / "index.sqlite3"
    path.write_bytes(bytes(raw))
    try:
        with MetadataIndex(path) as index:
            index.query()
            index.check()
            index.stats()
    except (IndexCorruptError, ConfigurationError) as exc:  # e.g. a "newer" schema number
        assert str(path) in str(exc)
    salvage(path)  # never raises, whatever it finds
    disk = DiskBackend(case / "cache")
    stored = disk.put(
        parse_cid("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"), [b"x"]
    )
    report = rebuild_index(path, [disk])
    assert report.found == {"disk": 1}
    with MetadataIndex(path) as index:
        assert index.check() == [] and [loc.locator for loc in index.locations(stored.cid)] == [
            stored.locator
        ]
