"""The import's write path has a PostgreSQL form (arrays in a few statements: 1.78× less worker CPU per client in
``bench/reload.py``) beside the SQLite one. Both must be tested by the default ``make test``: when this run is on
SQLite and a PostgreSQL server answers on this machine, the import and Reload tests run again on it, in a pytest
of their own (a database of their own, ``hub_write_paths_<pid>``, made anew and dropped after). CI's PostgreSQL
pass runs them there anyway.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

POSTGRES = os.environ.get("HUB_TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = f"hub_write_paths_{os.getpid()}"  # of this run: two runs on one machine do not drop each other's
TESTS = ["tests/test_statistics.py", "tests/test_statistics_costs.py"]


def _postgres(statement: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES, connect_timeout=2, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            if statement:
                conn.execute(statement)
        return True
    except Exception:
        return False


def _postgres_answers() -> bool:
    return _postgres(f"CREATE DATABASE {DATABASE}")


@pytest.mark.slow
def test_the_import_tests_pass_on_postgresql_too(hub_database_url):
    if not hub_database_url.startswith("sqlite"):
        pytest.skip("this run is on PostgreSQL already: the import tests ran on it")
    if not _postgres_answers():
        pytest.skip(f"no PostgreSQL answers at {POSTGRES}: CI's PostgreSQL pass runs the import tests there")
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, HUB_TEST_DATABASE_URL=POSTGRES.rsplit("/", 1)[0] + f"/{DATABASE}")
    env.pop("HUB_TEST_REDIS_URL", None)  # an embedded Redis of its own
    env.pop("PYTEST_ADDOPTS", None)
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-x", *TESTS], cwd=root,
                              env=env, capture_output=True, text=True, timeout=600)
    finally:
        _postgres("")  # dropped
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1]
