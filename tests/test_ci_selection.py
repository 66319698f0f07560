"""``HUB_TEST_SERVICES_ONLY=1`` (conftest.py): CI's PostgreSQL pass keeps exactly the tests that use the services."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def collected(*paths: str, services_only: bool) -> set[str]:
    env = {k: v for k, v in os.environ.items() if k != "HUB_TEST_SERVICES_ONLY"}
    if services_only:
        env["HUB_TEST_SERVICES_ONLY"] = "1"
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", *paths],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True).stdout
    return {line for line in out.splitlines() if "::" in line}


def test_services_only_keeps_the_database_tests_and_drops_the_rest():
    paths = ("tests/test_migrations.py", "tests/test_credentials.py")
    everything = collected(*paths, services_only=False)
    kept = collected(*paths, services_only=True)
    assert "tests/test_migrations.py::test_migrations_match_models" in kept  # uses hub_db
    assert any(t.startswith("tests/test_credentials.py::") for t in everything)
    assert not any(t.startswith("tests/test_credentials.py::") for t in kept)  # pure functions
    assert kept < everything
