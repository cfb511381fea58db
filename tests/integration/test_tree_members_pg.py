"""tests/unit/test_tree_members.py on a real PostgreSQL (see conftest.py): the same
tests, migration 10's backfill of an older database, and the model."""

from __future__ import annotations

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from tests.unit.test_tree_members import *  # noqa: F403
from tests.unit.test_tree_members import (
    MEMBERS_V10,
    TreeMembersMachine,
    check_backfilled,
    old_rows,
)

from ipfs_kit_py.index import open_index
from ipfs_kit_py.index_schema import migration_statements


@pytest.fixture
def index_engine() -> str:
    return "postgresql"


def test_postgres_migration_10_backfills_the_members_of_existing_trees(
    postgres_url: str,
) -> None:
    rows, expect = old_rows()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for version in range(MEMBERS_V10 - 1):
            for statement in migration_statements(version, postgres=True):
                conn.execute(statement)
        conn.execute("CREATE TABLE ipfs_kit_schema (version BIGINT NOT NULL)")
        conn.execute("INSERT INTO ipfs_kit_schema VALUES (%s)", (MEMBERS_V10 - 1,))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO content (cid, kind, metadata, created) VALUES (%s, %s, %s, 1)",
                rows,
            )
    with open_index(postgres_url) as index:
        check_backfilled(index, expect)


def test_tree_members_machine_on_postgres(postgres_url: str) -> None:
    class OnPostgres(TreeMembersMachine):
        where = postgres_url

    run_state_machine_as_test(
        OnPostgres,
        settings=settings(
            max_examples=15,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
