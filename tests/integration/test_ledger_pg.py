"""tests/unit/test_ledger.py's index tests, on a real PostgreSQL (see conftest.py)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from tests.unit.test_ledger import *  # noqa: F403
from tests.unit.test_ledger import LedgerMachine


@pytest.fixture
def index_engine() -> str:
    return "postgresql"


def test_ledger_machine_on_postgres(postgres_url: str) -> None:
    class OnPostgres(LedgerMachine):
        where = postgres_url

    run_state_machine_as_test(
        OnPostgres,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
