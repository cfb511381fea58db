"""tests/unit/test_index.py's index tests, on a real PostgreSQL (see conftest.py)."""

from __future__ import annotations

import socket

import psycopg
import pytest
from tests.unit.test_index import *  # noqa: F403
from tests.unit.test_index import cid_of

from ipfs_kit_py.errors import ConfigurationError
from ipfs_kit_py.index import MIGRATIONS, open_index
from ipfs_kit_py.index_schema import migration_statements


@pytest.fixture
def index_engine() -> str:
    return "postgresql"


def test_postgres_index_from_a_newer_version_is_refused(postgres_url: str) -> None:
    with open_index(postgres_url):
        pass
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE ipfs_kit_schema SET version = version + 1")
    with pytest.raises(ConfigurationError, match="newer"):
        open_index(postgres_url)


def test_postgres_migration_from_v1_keeps_data(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for statement in migration_statements(0, postgres=True):
            conn.execute(statement)
        conn.execute("CREATE TABLE ipfs_kit_schema (version BIGINT NOT NULL)")
        conn.execute("INSERT INTO ipfs_kit_schema VALUES (1)")
        conn.execute(
            "INSERT INTO locations (cid, backend, locator, stored_at) VALUES (%s, 's3', 'k', 1)",
            (cid_of(1),),
        )
    with open_index(postgres_url) as idx:
        assert idx.schema_version == len(MIGRATIONS)
        [loc] = idx.locations(cid_of(1))
        assert (loc.backend, loc.locator, loc.node) == ("s3", "k", "")


def test_a_shared_index_names_its_node_by_default(postgres_url: str) -> None:
    with open_index(postgres_url) as idx:
        assert idx.node_id == socket.gethostname()
        idx.record(cid_of(1), "disk", "/x")
        assert [loc.node for loc in idx.locations(cid_of(1))] == [socket.gethostname()]
