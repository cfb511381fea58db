"""tests/unit needs no server: the index tests run on SQLite here, and the same tests run
on a real PostgreSQL from tests/integration (``test_*_pg.py``, ``index_engine`` set there)."""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).parent
_SERVERS = (  # the session fixtures of tests/servers that start a process
    "postgres",
    "kubo",
    "kubo_auth",
    "kubo_online",
    "kubo_private",
    "seaweedfs",
    "seaweedfs_private",
    "storacha_service",
)


@pytest.fixture
def index_engine() -> str:
    """SQLite only: no PostgreSQL server for unit tests."""
    return "sqlite"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A unit test that asks for a server is a mistake: say so before anything starts."""
    for item in items:
        if _HERE not in item.path.parents:
            continue
        wanted = sorted(set(getattr(item, "fixturenames", ())) & set(_SERVERS))
        if wanted:
            raise pytest.UsageError(
                f"{item.nodeid} starts a server ({', '.join(wanted)}): move it to tests/integration"
            )
