"""Repository-wide pytest set-up (the hub's fixtures themselves are in ``hub.testing.pytest_plugin``).

``HUB_TEST_SERVICES_ONLY=1`` keeps only the tests that use the database or Redis — those asking for one of the
hub's service fixtures (``hub_app`` and everything built on it: ``hub_clean``, ``hub_db``, ``run_jobs``, ...;
``hub_database_url``; ``hub_redis_url``) or marked ``services`` — and deselects the rest. CI runs the whole
suite on the embedded defaults (SQLite, embedded Redis) and then, with this set, once more on PostgreSQL and
the real Redis: a test that touches neither would only repeat itself there.
"""

from __future__ import annotations

import os

import pytest

SERVICE_FIXTURES = frozenset({"hub_app", "hub_database_url", "hub_redis_url"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("HUB_TEST_SERVICES_ONLY") != "1":
        return
    keep, drop = [], []
    for item in items:
        uses_services = SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        (keep if uses_services or item.get_closest_marker("services") else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
