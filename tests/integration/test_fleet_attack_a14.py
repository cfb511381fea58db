"""Attacks on the shared index and the fleet (issue 14), against a real PostgreSQL and a
real SeaweedFS: what one node does must never break another node's work or lose the last
copy, and no password leaves the process in a message, a repr or a log line."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.servers.postgres import Postgres
from tests.servers.seaweedfs import SeaweedS3, boto_client

from ipfs_kit_py.backends.disk import DiskBackend
from ipfs_kit_py.backends.s3.client import S3Client
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.errors import (
    BackendError,
    ConfigurationError,
    LastCopyError,
    MetadataIndexError,
)
from ipfs_kit_py.index import open_index
from ipfs_kit_py.tiers.manager import TieredCacheManager, TierPolicy
from ipfs_kit_py.upload_ledger import FOREIGN_STALE_S, UploadLedger, upload_endpoint

MiB = 1 << 20


def _dead_pid() -> int:
    """The id of a process that ran and exited: what a pid of another machine looks like
    from here (nothing, or somebody else)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


# -- multipart uploads in flight on another node ----------------------------------------


@pytest.mark.timeout(120)
def test_another_nodes_live_multipart_upload_is_never_aborted(
    postgres_url: str, seaweedfs: SeaweedS3
) -> None:
    """Node A (another machine) is uploading; node B's S3 client sweeps the bucket: A's
    pid means nothing on B, so B must leave A's upload alone and A completes it."""
    server, boto = seaweedfs, boto_client(seaweedfs)
    key = f"ipfs/a14-live-{uuid.uuid4().hex}"
    live = boto.create_multipart_upload(Bucket=server.bucket, Key=key)
    config = S3Config.from_sources(server.s3_args())
    endpoint = upload_endpoint(config)
    with open_index(postgres_url, node_id="node-b") as index, S3Client(config) as client:
        with index.transaction() as db:  # A's ledger entry, as A's kit writes it
            db.execute(
                "INSERT INTO s3_uploads VALUES (?, ?, ?, ?, ?)",
                (endpoint, server.bucket, key, time.time(), f"{_dead_pid()}-1@node-a"),
            )
        client.uploads = UploadLedger(index, endpoint)
        assert client.sweep_uploads(server.bucket) == 0
        assert [u.key for u in client.uploads.recorded(server.bucket)] == [key]
    part = boto.upload_part(
        Bucket=server.bucket, Key=key, UploadId=live["UploadId"], PartNumber=1, Body=b"x" * 10
    )
    boto.complete_multipart_upload(
        Bucket=server.bucket,
        Key=key,
        UploadId=live["UploadId"],
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )
    assert boto.get_object(Bucket=server.bucket, Key=key)["Body"].read() == b"x" * 10


def test_own_dead_and_long_abandoned_foreign_uploads_are_stale(postgres_url: str) -> None:
    """This node's entries are judged by their process; another node's only by age."""
    with open_index(postgres_url, node_id="node-b") as index:
        ledger = UploadLedger(index, "http://s3.test")
        now, dead = time.time(), _dead_pid()
        rows = [
            ("own-dead", now, f"{dead}-1@node-b"),
            ("foreign-fresh", now, f"{dead}-1@node-a"),
            ("foreign-old", now - FOREIGN_STALE_S - 60, f"{dead}-1@node-a"),
            ("legacy-fresh", now, f"{dead}-1"),  # written before entries named a node
        ]
        with index.transaction() as db:
            for key, started, owner in rows:
                db.execute(
                    "INSERT INTO s3_uploads VALUES (?, ?, ?, ?, ?)",
                    ("http://s3.test", "bucket", key, started, owner),
                )
        mine = ledger.begin("bucket", "own-live")
        assert mine.owner.endswith("@node-b")
        stale = {u.key for u in ledger.stale("bucket", set())}
        assert stale == {"own-dead", "foreign-old", "own-live"}  # own-live: not active
        assert "own-live" not in {u.key for u in ledger.stale("bucket", {mine})}


# -- the last copy, removed from two nodes at once --------------------------------------


def _node_tiers(url: str, node: str, root: Path) -> TieredCacheManager:
    index = open_index(url, node_id=node)
    return TieredCacheManager([DiskBackend(root / node / "disk")], index, TierPolicy())


@pytest.mark.timeout(300)
def test_two_nodes_removing_their_copies_at_once_never_lose_the_last(
    postgres: Postgres, tmp_path: Path
) -> None:
    url = postgres.new_database()
    a, b = _node_tiers(url, "node-a", tmp_path), _node_tiers(url, "node-b", tmp_path)
    try:
        payloads = [f"kept on two nodes {n}".encode() for n in range(60)]
        cids = [a.add([p], to=["disk"], pinned=True).cid for p in payloads]
        for cid, data in zip(cids, payloads, strict=True):
            b.put(cid, [data], to=["disk"], pinned=True)
        start = threading.Barrier(2)
        refused: dict[str, int] = {"node-a": 0, "node-b": 0}

        def remove_all(tiers: TieredCacheManager) -> None:
            start.wait()
            for cid in cids:
                try:
                    tiers.remove(cid, ["disk"])
                except LastCopyError:
                    refused[tiers.index.node_id] += 1

        threads = [threading.Thread(target=remove_all, args=(t,)) for t in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(240)
        assert sum(refused.values()) == len(cids)  # one of the two copies always stays
        for cid in cids:
            [left] = a.index.locations(cid, all_nodes=True)
            holder = a if left.node == "node-a" else b
            assert holder.tier("disk").has(cid)  # and its file is there
    finally:
        for tiers in (a, b):
            tiers.index.close()


@pytest.mark.timeout(120)
def test_a_remote_copy_whose_delete_fails_stays_in_the_ledger(
    postgres_url: str, seaweedfs_private: SeaweedS3, tmp_path: Path
) -> None:
    """``remove`` forgets a remote copy before deleting it (outside the lock); a delete
    the server refuses puts the entry back as it was."""
    from ipfs_kit_py.backends.s3.backend import S3Backend

    seaweedfs = seaweedfs_private
    config = S3Config.from_sources(seaweedfs.s3_args(max_retries=1, retry_timeout=2))
    s3 = S3Backend(config)
    with open_index(postgres_url, node_id="node-a") as index:
        tiers = TieredCacheManager([DiskBackend(tmp_path / "disk"), s3], index, TierPolicy())
        cid = tiers.add([b"on s3 and disk " + uuid.uuid4().bytes], to=["disk", "s3"]).cid
        before = {loc.backend: loc for loc in index.locations(cid)}
        seaweedfs.kill()
        try:
            with pytest.raises(BackendError):  # the server is gone
                tiers.remove(cid, ["s3"])
        finally:
            seaweedfs.restart()
        after = {loc.backend: loc for loc in index.locations(cid)}
        assert after.keys() == {"disk", "s3"}
        assert after["s3"].locator == before["s3"].locator
        tiers.remove(cid, ["s3"])
        assert not s3.has(cid) and [loc.backend for loc in index.locations(cid)] == ["disk"]
        s3.close()


# -- passwords ---------------------------------------------------------------------------


@pytest.fixture
def password_role(postgres: Postgres) -> str:
    """A role that logs in with a password (scram), and the URL's host:port/db part."""
    import psycopg

    role = f"pw_{uuid.uuid4().hex[:8]}"
    hba = postgres.data_dir / "pg_hba.conf"
    hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD 'Right-Pw-42'")
        conn.execute("SELECT pg_reload_conf()")
    time.sleep(0.5)  # the postmaster rereads pg_hba.conf on SIGHUP
    return role


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "userinfo, query",
    [
        ("{role}:S3cret-Wr0ng", ""),  # refused login
        ("{role}", "?password=S3cret-Wr0ng"),  # libpq's query form
        ("{role}:S3cret%zz", ""),  # a '%' not percent-encoded: libpq echoes the token
        ("{role}:S3cret-Wr0ng", "?sslmode=S3cret-Wr0ng"),  # echoed by libpq's check
        ("{role}:S3cret?Wr0ng", ""),  # an unencoded '?': no query, still the password
    ],
)
def test_a_bad_login_fails_at_once_with_its_reason_and_never_shows_the_password(
    postgres: Postgres,
    password_role: str,
    userinfo: str,
    query: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"postgresql://{userinfo.format(role=password_role)}@127.0.0.1:{postgres.port}/postgres"
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    with pytest.raises((MetadataIndexError, ConfigurationError)) as caught:
        open_index(url + query, node_id="n")
    assert time.monotonic() - started < 5  # a refused login is not a 10 s timeout
    text = f"{caught.value} {caught.value!r} {caught.value.__cause__!r} {caplog.text}"
    assert "S3cret" not in text
    if "%zz" not in userinfo and "sslmode" not in query and "?" not in userinfo:
        assert "password authentication failed" in str(caught.value)


def test_the_index_url_password_is_in_no_repr_and_no_config_dump(
    postgres: Postgres, password_role: str, tmp_path: Path
) -> None:
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    base = f"127.0.0.1:{postgres.port}/postgres"
    for url in (
        f"postgresql://{password_role}:Right-Pw-42@{base}",
        f"postgresql://{password_role}@{base}?password=Right-Pw-42",
    ):
        with ipfs_kit({}, cache_dir=tmp_path, index_url=url, node_id="n") as kit:
            shown = f"{kit!r} {kit.config!r} {kit.config_summary()} {kit.index!r}"
            shown += kit.index.location
            assert "Right-Pw-42" not in shown
            assert kit.index.count() >= 0  # the right password opens it


def test_an_unreachable_index_fails_in_seconds(tmp_path: Path) -> None:
    from tests.servers.process import free_port

    started = time.monotonic()
    with pytest.raises(MetadataIndexError, match="cannot reach"):
        open_index(f"postgresql://kit:pw@127.0.0.1:{free_port()}/db", node_id="n")
    assert time.monotonic() - started < 5


def test_lock_cid_is_for_a_transaction_on_both_engines(postgres_url: str, tmp_path: Path) -> None:
    from ipfs_kit_py.errors import InvalidInputError

    cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    for where in (str(tmp_path / "index.sqlite3"), postgres_url):
        with open_index(where, node_id="n") as index:
            with pytest.raises(InvalidInputError):
                index.lock_cid(cid)
            with index.transaction():
                assert index.lock_cid(cid) and index.lock_cid(cid, wait=False)


# -- leases --------------------------------------------------------------------------------


@pytest.mark.timeout(300)
def test_a_copy_longer_than_its_lease_is_made_once(
    postgres_url: str, seaweedfs: SeaweedS3, tmp_path: Path
) -> None:
    """A 48 MiB copy (S3 to disk) under a 0.1 s lease, while a worker of another node
    asks for work every 0.02 s: the copying worker keeps its lease as long as it copies,
    so the CID is copied once, by one node."""
    from ipfs_kit_py.backends.s3.backend import S3Backend
    from ipfs_kit_py.policy_worker import PolicyWorker
    from ipfs_kit_py.replication import PolicySet, ReplicationPolicy

    args = seaweedfs.s3_args(key_prefix=f"a14-lease-{uuid.uuid4().hex[:8]}/")

    def node(name: str) -> TieredCacheManager:
        s3 = S3Backend(S3Config.from_sources(args))
        disk = DiskBackend(tmp_path / name / "disk")
        return TieredCacheManager([disk, s3], open_index(postgres_url, node_id=name))

    a, b = node("node-a"), node("node-b")
    try:
        piece = uuid.uuid4().bytes * 65536  # 1 MiB
        cid = a.add((piece for _ in range(48)), to=["s3"]).cid
        policies = PolicySet(ReplicationPolicy(min_copies=2))
        workers = [PolicyWorker(t, policies, lease_s=0.1, poll_s=0.02) for t in (a, b)]
        reports = []
        first = threading.Thread(target=lambda: reports.append(workers[0].run_once()))
        first.start()
        deadline = time.monotonic() + 60
        while not workers[0].queue.held_by_others("nobody") and time.monotonic() < deadline:
            time.sleep(0.005)  # until a holds the lease: it is copying
        reports.append(workers[1].run_once())  # asks while a copies, again and again
        first.join(120)
        assert sum(r.repaired for r in reports) == 1
        assert not any(r.failed for r in reports)
        copies = a.index.locations(cid, all_nodes=True)
        assert sorted((c.backend, c.node) for c in copies) == [("disk", "node-a"), ("s3", "")]
    finally:
        for tiers in (a, b):
            tiers.index.close()
            for tier in tiers.tiers:
                tier.close()


def test_a_worker_whose_clock_runs_ahead_takes_no_live_lease(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lease times come from the database server's clock: a worker whose own clock is two
    minutes ahead (a fault one machine cannot show for real: its clock is faked) still
    sees another worker's 60 s leases as live."""
    from ipfs_kit_py.repair_queue import RepairQueue

    cids = [f"bafkreih{n:052d}" for n in range(5)]
    with open_index(postgres_url, node_id="w1") as one, open_index(postgres_url) as two:
        RepairQueue(one).enqueue(cids)
        assert len(RepairQueue(one).claim("w1", 5, lease_s=60)) == 5
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + 120)  # the module every one uses
        assert RepairQueue(two).claim("w2", 5, lease_s=60) == []
        assert RepairQueue(two).status().leased == 5


# -- the database restarts ------------------------------------------------------------------


@pytest.fixture
def private_postgres() -> Iterator[Postgres]:
    """A PostgreSQL server of its own, for tests that restart it."""
    from tests.servers.postgres import start_postgres

    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.timeout(180)
def test_a_database_restart_costs_no_request(private_postgres: Postgres) -> None:
    """Every pooled connection breaks when the server restarts; the next requests (reads,
    writes, transactions, from several threads) each get a working one."""
    cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    with open_index(private_postgres.new_database(), node_id="n") as index:

        def busy() -> None:
            for _ in range(10):
                index.record(cid, "s3", "bucket/x")
                index.locations(cid)

        threads = [threading.Thread(target=busy) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        private_postgres.restart()
        errors: list[Exception] = []

        def after() -> None:
            try:
                busy()
                with index.transaction():
                    index.lock_cid(cid)
                    index.mark_verified(cid, "s3", ok=True)
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=after) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert [loc.backend for loc in index.locations(cid)] == ["s3"]


@pytest.mark.timeout(180)
def test_an_interrupted_upload_never_aborts_another_upload_of_the_same_key(
    seaweedfs: SeaweedS3, tmp_path: Path
) -> None:
    """Two adds of the same content (the same key) at once, each with its own client; the
    second is interrupted (Ctrl-C): the first completes, and the second's parts are
    aborted once the first is over."""
    server, boto = seaweedfs, boto_client(seaweedfs)
    config = S3Config.from_sources(server.s3_args())
    key = f"ipfs/a14-same-{uuid.uuid4().hex}"
    outcome: dict[str, str] = {}
    first_running = threading.Event()
    with open_index(tmp_path / "index.sqlite3") as index:

        def upload(name: str, parts: int, interrupt: bool) -> None:
            with S3Client(config) as client:
                client.uploads = UploadLedger(index, upload_endpoint(config))

                def source() -> Iterator[bytes]:
                    for n in range(parts):
                        if name == "first" and n == 12:
                            first_running.set()
                        if name == "first":
                            time.sleep(0.05)
                        yield uuid.uuid4().bytes * 65536
                    if interrupt:
                        raise KeyboardInterrupt

                try:
                    client.put(server.bucket, key, source())
                    outcome[name] = "ok"
                except BaseException as exc:
                    outcome[name] = type(exc).__name__

        first = threading.Thread(target=upload, args=("first", 40, False))
        first.start()
        assert first_running.wait(60)
        upload("second", 20, True)
        first.join(120)
        assert outcome == {"first": "ok", "second": "KeyboardInterrupt"}
        assert boto.head_object(Bucket=server.bucket, Key=key)["ContentLength"] == 40 << 20
        with S3Client(config) as client:
            client.uploads = UploadLedger(index, upload_endpoint(config))
            client.sweep_uploads(server.bucket)
            assert client.uploads.recorded(server.bucket) == []
        listed = boto.list_multipart_uploads(Bucket=server.bucket, Prefix=key)
        assert not listed.get("Uploads")
