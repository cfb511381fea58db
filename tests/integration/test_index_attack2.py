"""Second attack on the shared index (issue 14), against a real PostgreSQL: a stuck
transaction never hangs the other writers, and a read-only role can open the index."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from tests.servers.postgres import Postgres

from ipfs_kit_py.errors import InvalidInputError, MetadataIndexError
from ipfs_kit_py.index import MIGRATIONS, open_index
from ipfs_kit_py.index_postgres import PostgresIndex

CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


@pytest.mark.timeout(120)
def test_a_writer_behind_a_stuck_transaction_fails_in_seconds(postgres_url: str) -> None:
    """A process of this node stopped inside a transaction holds the node's lock: the
    next writer fails with MetadataIndexError after the lock timeout, not never."""
    holder = PostgresIndex(postgres_url, node_id="node-a")
    waiter = PostgresIndex(postgres_url, node_id="node-a", lock_timeout_s=1)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.transaction():
            holder.upsert_content(CID, size=3)
            held.set()
            release.wait(60)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(30)
        with pytest.raises(MetadataIndexError, match="held a lock too long"):
            waiter.record(CID, "disk", "/somewhere")
        assert waiter.locations(CID) == []  # reads go on meanwhile
    finally:
        release.set()
        thread.join()
    waiter.record(CID, "disk", "/somewhere")  # the lock is free again: the write works
    assert [loc.backend for loc in waiter.locations(CID)] == ["disk"]
    holder.close()
    waiter.close()


def test_a_url_that_sets_its_own_lock_timeout_keeps_it(postgres: Postgres) -> None:
    url = postgres.new_database() + "?options=-c%20lock_timeout%3D1234ms"
    with PostgresIndex(url, node_id="n", lock_timeout_s=5) as index:
        assert index.fetch("SELECT current_setting('lock_timeout')") == [("1234ms",)]
    with PostgresIndex(postgres.new_database(), node_id="n", lock_timeout_s=5) as index:
        assert index.fetch("SELECT current_setting('lock_timeout')") == [("5s",)]


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), True, "30"])
def test_a_bad_lock_timeout_is_refused(postgres_url: str, bad: object) -> None:
    with pytest.raises(InvalidInputError):
        PostgresIndex(postgres_url, node_id="n", lock_timeout_s=bad)  # type: ignore[arg-type]


@pytest.mark.timeout(120)
def test_a_read_only_role_opens_the_index_and_reads(postgres: Postgres) -> None:
    """Opening an up-to-date index writes nothing (no DDL, no schema lock): a role with
    SELECT only (a notebook, a dashboard) reads it; its writes fail with the reason."""
    url = postgres.new_database()
    with open_index(url, node_id="node-a") as index:
        index.record(CID, "s3", "s3://bucket/key")
    role = f"reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    reader_url = url.replace("postgres@", f"{role}@")
    with open_index(reader_url, node_id="node-b") as reader:
        assert reader.schema_version == len(MIGRATIONS)
        assert [loc.backend for loc in reader.locations(CID)] == ["s3"]
        assert reader.count() == 1
        with pytest.raises(MetadataIndexError, match="permission denied"):
            reader.record(CID, "disk", "/x")


@pytest.mark.timeout(120)
def test_many_processes_opening_an_old_schema_migrate_it_once(postgres: Postgres) -> None:
    """The quick check before the lock must not let two openers both migrate."""
    from ipfs_kit_py.index_schema import migration_statements

    url = postgres.new_database()
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("CREATE TABLE ipfs_kit_schema (version BIGINT NOT NULL)")
        for version in range(5):
            for statement in migration_statements(version, postgres=True):
                conn.execute(statement)
        conn.execute("INSERT INTO ipfs_kit_schema VALUES (5)")
    errors: list[BaseException] = []

    def open_one(n: int) -> None:
        try:
            with open_index(url, node_id=f"node-{n}") as index:
                assert not index.check()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not errors, errors
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT version FROM ipfs_kit_schema").fetchall()
    assert rows == [(len(MIGRATIONS),)]


@pytest.fixture
def own_postgres() -> Iterator[Postgres]:
    """A PostgreSQL server of its own, for a test that stops it."""
    from tests.servers.postgres import start_postgres

    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.timeout(120)
def test_a_server_gone_is_named_with_libpqs_reason(own_postgres: Postgres) -> None:
    """The pool only says it got no connection in its timeout; the error says why."""
    import subprocess

    from tests.servers.postgres import _as_owner, pg_bin

    url = own_postgres.new_database()
    with PostgresIndex(url, node_id="n", connect_timeout_s=2) as index:
        index.record(CID, "s3", "k")
        ctl = [pg_bin("pg_ctl"), "-D", str(own_postgres.data_dir), "-m", "fast", "-w", "stop"]
        subprocess.run(_as_owner(ctl), capture_output=True, timeout=60, check=True)
        with pytest.raises(MetadataIndexError, match="refused") as caught:
            index.locations(CID)
        assert "couldn't get a connection" in str(caught.value)
