"""The ``test_*_pg.py`` modules run tests of tests/unit on a real PostgreSQL: they import a
unit module's tests and set ``index_engine``; the imported tests that open no index
(they do not use ``index_engine``) already ran in tests/unit and are left out here; the
module's own tests always run."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    for item in items:
        engine_run = item.path.name.endswith("_pg.py") and item.path.parent.name == "integration"
        function = getattr(item, "function", None)
        module = getattr(item, "module", None)
        imported = getattr(function, "__module__", None) != getattr(module, "__name__", "")
        if engine_run and imported and "index_engine" not in getattr(item, "fixturenames", ()):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
