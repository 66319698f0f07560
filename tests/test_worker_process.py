"""A real forking RQ worker process (``flask hub worker``) against real Redis reaches the database."""

import os
import subprocess
import sys

import pytest
from rq.job import Job

from hub import connections
from hub.models import OK, SyncRun


@pytest.mark.slow
def test_forking_worker_process_runs_jobs_into_the_database(example_integration, hub_app, hub_db,
                                                            hub_database_url, hub_redis_url, tmp_path):
    connections.save_credentials(example_integration, {"api_key": "ex-good-key-0001", "company": "acme"})
    run = SyncRun.query.filter_by(kind="test_connection").one()
    assert run.status == "queued"
    env = dict(os.environ, FLASK_APP="hub.app:create_app", DATABASE_URL=hub_database_url, REDIS_URL=hub_redis_url,
               HUB_SECRET_KEYS=",".join(hub_app.extensions["hub"].vault._keys), HUB_INSTANCE_PATH=str(tmp_path),
               SECRET_KEY="test")
    done = subprocess.run([sys.executable, "-m", "flask", "hub", "worker", "--burst"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    hub_db.session.expire_all()
    run = hub_db.session.get(SyncRun, run.id)
    assert run.status == "succeeded", run.error
    assert run.result["account_name"] == "Acme Books OÜ"
    assert hub_db.session.get(type(example_integration), example_integration.id).status == OK
    job = Job.fetch(run.job_id, connection=hub_app.extensions["hub"].redis)
    result = job.latest_result()
    assert result is not None and result.return_value == "succeeded"
    assert "ex-good-key-0001" not in done.stderr + done.stdout
