"""A worker process writes the vendor plugins' log lines (``hub.vendor.<slug>``) to standard error at
``HUB_LOG_LEVEL`` — what docs/plugins/troubleshooting.md promises an author reading `flask hub up`'s console."""

import os
import subprocess
import sys

import pytest

from hub import connections
from hub.models import SyncRun


@pytest.mark.slow
def test_worker_writes_vendor_log_lines_at_debug(example_integration, hub_app, hub_db, hub_database_url,
                                                 hub_redis_url, tmp_path):
    connections.save_credentials(example_integration, {"api_key": "ex-good-key-0001", "company": "acme"})
    assert SyncRun.query.filter_by(kind="test_connection").one().status == "queued"
    env = dict(os.environ, FLASK_APP="hub.app:create_app", DATABASE_URL=hub_database_url, REDIS_URL=hub_redis_url,
               HUB_SECRET_KEYS=",".join(hub_app.extensions["hub"].vault._keys), HUB_INSTANCE_PATH=str(tmp_path),
               HUB_LOG_LEVEL="DEBUG", SECRET_KEY="test")
    done = subprocess.run([sys.executable, "-m", "flask", "hub", "worker", "--burst"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    vendor_lines = [line for line in done.stderr.splitlines() if " hub.vendor.example: " in line]
    assert vendor_lines, done.stderr[-2000:]
    assert any("hub_test_connection" in line for line in vendor_lines), vendor_lines
    assert "ex-good-key-0001" not in done.stderr
