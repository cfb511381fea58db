"""A policy worker stopped (SIGSTOP) past its lease, in a real process, on a real shared
index (PostgreSQL, and a SQLite file) and a real S3 (SeaweedFS): another worker takes the
CID over and makes the copy; resumed (SIGCONT), the first records nothing and leaves no
file, so the CID ends with exactly the copies its policy asked for."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from tests.servers.nodes import finish, kit_cli, node_env
from tests.servers.seaweedfs import SeaweedS3

from ipfs_kit_py.content.cid import cid_key, parse_cid

SIZE = 48 * 1024 * 1024  # a download long enough to stop the worker in the middle of it
ATTEMPTS = 3  # a stop that lands outside the download is retried with a new object


def _env(root: Path, name: str, where: str, s3: SeaweedS3) -> dict[str, str]:
    return node_env(
        root,
        name,
        where,
        "[replication]\nmin_copies = 2\n"
        f'[s3]\nendpoint_url = "{s3.endpoint_url}"\naccess_key_id = "{s3.access_key}"\n'
        f'secret_access_key = "{s3.secret_key}"\nregion = "{s3.region}"\n'
        f'bucket = "{s3.bucket}"\nkey_prefix = "fence-{root.name}/"\n',
    )


@pytest.mark.parametrize("engine", ["postgresql", "sqlite"])
def test_a_worker_stopped_past_its_lease_records_nothing(
    engine: str, request: pytest.FixtureRequest, seaweedfs: SeaweedS3, tmp_path: Path
) -> None:
    if engine == "postgresql":
        where = request.getfixturevalue("postgres").new_database()
    else:
        where = str(tmp_path / "index.sqlite3")
    misses = []
    for attempt in range(ATTEMPTS):
        root = tmp_path / f"try{attempt}"
        root.mkdir()
        missed = _stop_one_worker(root, where, seaweedfs)
        if missed is None:
            return
        misses.append(missed)
    raise AssertionError(f"the stop never landed in a download: {misses}")


def _stop_one_worker(root: Path, where: str, s3: SeaweedS3) -> str | None:
    """The scenario once; None when done, else why the stop missed (retry)."""
    seed, a, b = (_env(root, n, where, s3) for n in ("seed", "node-a", "node-b"))
    data = os.urandom(SIZE)
    (root / "object").write_bytes(data)
    code, out, err = finish(kit_cli(seed, "add", "--to", "s3", "-Q", str(root / "object")))
    assert code == 0, err
    key = cid_key(parse_cid(out.strip()))
    args = ("policy", "run", "--once", "--json", "--batch", "1")
    worker_a = kit_cli(a, *args, "--lease", "1")
    try:
        if not _stop_in_download(worker_a, root / "node-a"):
            return "node-a finished or never downloaded"
        if _copies(where, key) != [("s3", "")] or _holds_locks(where):
            return "node-a recorded its copy, or holds a lock, when it stopped"
        code, out, err = finish(kit_cli(b, *args, "--lease", "30"), timeout=300)
        assert code == 0, err
        assert json.loads(out)["report"]["repaired"] == 1
        assert _copies(where, key) == [("disk", "node-b"), ("s3", "")]
    finally:
        worker_a.send_signal(signal.SIGCONT)
    code, out, err = finish(worker_a, timeout=300)
    assert code == 0, err
    report = json.loads(out)["report"]
    assert (report["repaired"], report["lost"]) == (0, 1), (report, err)
    assert _copies(where, key) == [("disk", "node-b"), ("s3", "")]  # no copy made twice
    left = [p for p in (root / "node-a").rglob("*") if p.is_file() and p.stat().st_size == SIZE]
    assert not left, f"node-a left its unrecorded copy: {left}"
    return None


def _stop_in_download(proc: subprocess.Popen[str], home: Path) -> bool:
    """SIGSTOP ``proc`` once a temp file of its download grows in its cache; False if
    it ended first."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        for tmp in (home / "cache").rglob("tmp"):
            if any(entry.is_file() for entry in os.scandir(tmp)):
                proc.send_signal(signal.SIGSTOP)
                return True
        time.sleep(0.002)
    return False


def _copies(where: str, key: str) -> list[tuple[str, str]]:
    """The good copies of ``key``: (backend, node), sorted."""
    sql = "SELECT backend, node FROM locations WHERE cid = ? AND bad = 0 AND missing = 0"
    if where.startswith("postgresql://"):
        with psycopg.connect(where, autocommit=True) as conn:
            rows = conn.execute(sql.replace("?", "%s"), (key,)).fetchall()
    else:
        with sqlite3.connect(where) as conn:
            rows = conn.execute(sql, (key,)).fetchall()
    return sorted((str(backend), str(node)) for backend, node in rows)


def _holds_locks(where: str) -> bool:
    """True if the stopped worker is inside a transaction (the other would wait on it)."""
    if where.startswith("postgresql://"):
        with psycopg.connect(where, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%'"
            ).fetchone()
        return bool(row and row[0])
    lite = sqlite3.connect(where, timeout=0.5)
    try:
        lite.execute("BEGIN IMMEDIATE")
        lite.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        lite.close()
