"""tests/unit/test_index_nul_attack2.py on a real PostgreSQL (see conftest.py)."""

from __future__ import annotations

import pytest
from tests.unit.test_index_nul_attack2 import *  # noqa: F403


@pytest.fixture
def index_engine() -> str:
    return "postgresql"
