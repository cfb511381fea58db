"""tests/unit/test_policy_worker.py's index tests, on a real PostgreSQL (see conftest.py)."""

from __future__ import annotations

import pytest
from tests.unit.test_policy_worker import *  # noqa: F403
from tests.unit.test_policy_worker import run_queue_machine


@pytest.fixture
def index_engine() -> str:
    return "postgresql"


def test_queue_machine_on_postgres(postgres_url: str) -> None:
    run_queue_machine(postgres_url)
