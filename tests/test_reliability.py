"""Nothing gets stuck (in-process): the outbox, the claim per attempt, the reconciler's rules, 503 while Redis is
away, Reload parents that always finish, /metrics and `flask hub status`."""

import contextlib
import datetime as dt
import socket

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq.job import Job, JobStatus

from hub import connections, health, jobs, linking, schedule, statistics, vendor_accounts
from hub.api import auth
from hub.models import Client, Notification, SyncRun, db, utcnow

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}
LATER = dt.timedelta(minutes=5)


def _probe_action(run):
    return {"account_name": vendor_accounts.call_vendor(run, "hub_test_connection").account_name}


jobs.register(jobs.Kind("reliability_probe", _probe_action, queue="imports", on_attention=health.record_failure))


def probe(integration, **kw):
    return jobs.start_run("reliability_probe", firm_id=integration.firm_id, integration_id=integration.id,
                          trigger="schedule", **kw)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_down(hub_app):
    """``with redis_down():`` — every use of the app's Redis fails to connect inside the block."""
    services = hub_app.extensions["hub"]

    @contextlib.contextmanager
    def down():
        real = services._redis
        # no retries: redis-py's default backoff (three retries) would make every command here take seconds
        services._redis = redis.Redis(host="127.0.0.1", port=closed_port(), socket_connect_timeout=0.2,
                                      retry=Retry(NoBackoff(), 0))
        try:
            yield
        finally:
            services._redis = real

    return down


@pytest.fixture
def fast_liveness(monkeypatch):
    monkeypatch.setenv("HUB_WORKER_HEARTBEAT", "0.1")  # liveness keys expire after 0.3 s


@pytest.fixture
def linked(example_integration, firm, hub_db, run_jobs):
    """The example integration with credentials, one mapped field and the firm's three clients linked."""
    connections.save_credentials(example_integration, GOOD)
    run_jobs()
    docs = statistics.create_custom_field(firm.id, "Documents")
    statistics.save_summary_settings(example_integration, {"mapping": {"documents": docs.id}})
    for i, client in enumerate(Client.query.filter_by(firm_id=firm.id).order_by(Client.id), start=1):
        linking.link_client(None, client_id=client.id, integration=example_integration,
                            vendor_client_id=str(i), vendor_client_name=f"Client {i}")
    return example_integration


# -- the outbox ---------------------------------------------------------------------------------------
def test_a_run_whose_enqueue_failed_is_recorded_and_enqueued_once_redis_is_back(example_integration, hub_db,
                                                                                run_jobs, redis_down):
    connections.save_credentials(example_integration, GOOD)
    run_jobs()
    with redis_down(), pytest.raises(jobs.QueueUnavailable) as raised:
        probe(example_integration)
    run = SyncRun.query.filter_by(kind="reliability_probe").one()
    assert run.status == "queued" and raised.value.run_ids == [run.id]
    assert "no need to try again" in str(raised.value)
    assert schedule.reconcile(now=utcnow()) == 0, "within the grace period nothing is touched"
    assert jobs.reconcile(now=utcnow() + LATER)["outbox"] == 1
    run_jobs()
    hub_db.session.refresh(run)
    assert run.status == "succeeded" and run.attempts == 1


def test_reload_with_redis_down_records_every_child(linked, hub_db, run_jobs, redis_down):
    with redis_down(), pytest.raises(jobs.QueueUnavailable) as raised:
        statistics.reload(linked)
    children = SyncRun.query.filter_by(kind="import").all()
    assert len(children) == 3 and sorted(raised.value.run_ids) == sorted(c.id for c in children)
    assert jobs.reconcile(now=utcnow() + LATER)["outbox"] == 3
    run_jobs()
    parent = SyncRun.query.filter_by(kind="reload").one()
    assert parent.status == "succeeded" and parent.progress_done == 3
    assert "3 of 3 clients imported" in Notification.query.one().body


def test_api_answers_503_with_a_message_when_redis_is_down(hub_app, firm, example_integration, hub_db, redis_down):
    connections.save_credentials(example_integration, GOOD)
    token = auth.create_token(firm.id, name="script", role="admin").secret
    client = hub_app.test_client()
    with redis_down():
        response = client.post("/api/v1/integrations/example/test-connection", json={"credentials": GOOD},
                               headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == 503 and "starts automatically once the queue is back" in body["detail"]
    assert response.headers["Retry-After"] == "30"


def test_a_queued_run_whose_job_ended_without_it_is_enqueued_again(example_integration, hub_db, hub_app,
                                                                     run_jobs):
    connections.save_credentials(example_integration, GOOD)
    run_jobs()
    run = probe(example_integration)  # its job failed before claiming the run (the database was away)
    Job.fetch(run.job_id, connection=hub_app.extensions["hub"].redis).set_status(JobStatus.FAILED)
    assert jobs.reconcile(now=utcnow() + LATER)["outbox"] == 1
    run_jobs()
    hub_db.session.refresh(run)
    assert run.status == "succeeded"


# -- one execution per attempt ------------------------------------------------------------------------
def test_an_attempt_enqueued_twice_runs_once(example_integration, hub_db, run_jobs, serve):
    from hub_example import sandbox

    app = sandbox.create_app()
    example_integration.settings = {"origin": serve(app)}
    hub_db.session.commit()
    connections.save_credentials(example_integration, GOOD)
    run_jobs()
    calls = len(app.config["calls"])
    run = probe(example_integration)
    jobs.enqueue_run(run)  # e.g. the outbox after Redis came back with the job still there
    run_jobs()
    hub_db.session.refresh(run)
    assert run.status == "succeeded" and run.attempts == 1
    assert len(app.config["calls"]) == calls + 1


# -- the reconciler's rules ---------------------------------------------------------------------------
def running(run, *, worker="hub.lost-host.4242", ago=LATER):
    """Make ``run`` look like an attempt that started ``ago`` on ``worker`` and was never recorded."""
    run.status, run.attempts, run.worker = "running", run.attempts + 1, worker
    run.started_at = run.updated_at = utcnow() - ago
    db.session.commit()
    return run


def test_a_run_on_a_dead_worker_is_retried_with_its_attempt_counted(example_integration, hub_db, run_jobs,
                                                                    fast_liveness):
    connections.save_credentials(example_integration, GOOD)
    run_jobs()
    run = running(probe(example_integration, enqueue=False))
    assert jobs.reconcile()["dead_worker"] == 1
    hub_db.session.refresh(run)
    assert run.status == "retrying" and run.error["kind"] == "abandoned" and "hub.lost-host.4242" in run.error[
        "message"]
    run_jobs()
    hub_db.session.refresh(run)
    assert run.status == "succeeded" and run.attempts == 2


def test_a_live_worker_is_left_alone(example_integration, hub_db, hub_app, fast_liveness):
    run = running(probe(example_integration, enqueue=False), worker="hub.alive.1")
    hub_app.extensions["hub"].redis.set(jobs.LIVENESS_PREFIX + "hub.alive.1", "1", ex=60)
    assert jobs.reconcile() == {"job_failed": 0, "dead_worker": 0, "overdue": 0, "outbox": 0, "batch": 0}
    hub_db.session.refresh(run)
    assert run.status == "running"


def test_after_a_redis_restart_workers_get_time_to_announce_themselves(example_integration, hub_db, monkeypatch):
    monkeypatch.setenv("HUB_WORKER_HEARTBEAT", "100000")  # Redis has been up for less than 3 intervals
    run = running(probe(example_integration, enqueue=False), ago=dt.timedelta(days=30))
    assert jobs.reconcile()["dead_worker"] == 0
    hub_db.session.refresh(run)
    assert run.status == "running"


def test_interactive_runs_on_a_dead_worker_fail_at_once(example_integration, hub_db, fast_liveness):
    connections.save_credentials(example_integration, GOOD)
    run = SyncRun.query.filter_by(kind="test_connection").one()
    running(run)
    jobs.reconcile()
    hub_db.session.refresh(run)
    assert run.status == "failed" and run.error["kind"] == "abandoned"
    assert "Not retried automatically" in run.error["hint"]


def test_a_run_whose_job_failed_in_the_queue_is_settled(example_integration, hub_db, hub_app):
    run = probe(example_integration)
    running(run, worker=None, ago=dt.timedelta(seconds=1))
    Job.fetch(run.job_id, connection=hub_app.extensions["hub"].redis).set_status(JobStatus.FAILED)
    assert jobs.reconcile()["job_failed"] == 1
    hub_db.session.refresh(run)
    assert run.status == "retrying" and "ended failed in the queue" in run.error["message"]


def test_attempts_run_out_and_the_run_fails_with_the_reason(example_integration, hub_db, fast_liveness, hub_app):
    run = probe(example_integration, enqueue=False)
    run.attempts = jobs.MAX_ATTEMPTS - 1
    running(run)
    jobs.reconcile()
    hub_db.session.refresh(run)
    assert run.status == "failed" and run.finished_at is not None
    assert run.error["hint"] == f"Gave up after {jobs.MAX_ATTEMPTS} attempts; start it again when the cause is fixed."


def test_reaping_a_worker_settles_only_its_runs(example_integration, hub_db):
    mine = running(probe(example_integration, enqueue=False), worker="hub.h.1")
    other = running(probe(example_integration, enqueue=False), worker="hub.h.2")
    assert jobs.reap_worker("hub.h.1", reason="its worker process 1 ended (signal 9)") == 1
    hub_db.session.refresh(mine)
    hub_db.session.refresh(other)
    assert (mine.status, other.status) == ("retrying", "running")
    assert "signal 9" in mine.error["message"]


# -- Reload parents (batches) always finish -----------------------------------------------------------
def test_a_reload_parent_whose_child_count_was_lost_finishes_and_notifies(linked, hub_db, run_jobs, monkeypatch):
    lost = []
    original = jobs._count_child

    def flaky(run):  # the first child's count dies with its process
        if not lost:
            lost.append(run.id)
            return
        original(run)

    monkeypatch.setattr(jobs, "_count_child", flaky)
    parent = statistics.reload(linked)
    run_jobs()
    hub_db.session.refresh(parent)
    assert parent.status == "running" and parent.progress_done == 2
    assert jobs.reconcile(now=utcnow())["batch"] == 0, "the last child ended just now"
    assert jobs.reconcile(now=utcnow() + LATER)["batch"] == 1
    hub_db.session.refresh(parent)
    assert parent.status == "succeeded" and parent.progress_done == 3 and parent.result["failed"] == 0
    assert "3 of 3 clients imported" in Notification.query.one().body


def test_a_reload_interrupted_before_its_children_were_enqueued_still_finishes(linked, hub_db, run_jobs,
                                                                               monkeypatch):
    """The process dies after the Reload and its children are recorded (one transaction) and before they are
    enqueued: the reconciler's outbox enqueues them, and the parent finishes with its notification."""
    def dies(*args, **kwargs):
        raise RuntimeError("the web process died here")

    monkeypatch.setattr(jobs, "_enqueue_many", dies)
    with pytest.raises(RuntimeError):
        statistics.reload(linked)
    monkeypatch.undo()
    hub_db.session.expire_all()
    parent = SyncRun.query.filter_by(kind="reload").one()
    assert parent.status == "running" and parent.progress_total == 3
    assert SyncRun.query.filter_by(parent_run_id=parent.id, status="queued").count() == 3
    assert jobs.reconcile(now=utcnow() + LATER)["outbox"] == 3
    run_jobs()
    hub_db.session.refresh(parent)
    assert parent.status == "succeeded" and parent.result == {"clients": 3, "failed": 0}
    assert "3 of 3 clients imported" in Notification.query.one().body


def test_a_reload_parent_left_finishing_is_finished_again(linked, hub_db, run_jobs):
    parent = statistics.reload(linked)
    run_jobs()
    Notification.query.delete()
    parent = db.session.get(SyncRun, parent.id)
    parent.status, parent.finished_at, parent.updated_at = "finishing", None, utcnow()
    hub_db.session.commit()
    assert jobs.reconcile(now=utcnow())["batch"] == 0
    assert jobs.reconcile(now=utcnow() + LATER)["batch"] == 1
    hub_db.session.refresh(parent)
    assert parent.status == "succeeded" and Notification.query.count() == 1
    assert len(parent.items) == 3, "finished again: the per-client outcomes are not duplicated"


# -- operators can see it -----------------------------------------------------------------------------
def test_metrics_report_runs_queues_and_vendor_requests(hub_app, example_integration, hub_db, run_jobs):
    connections.save_credentials(example_integration, GOOD)
    probe(example_integration)
    client = hub_app.test_client()
    queued = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_data(as_text=True)
    assert 'hub_runs{kind="reliability_probe",state="queued"} 1.0' in queued
    assert 'hub_queue_jobs{queue="imports",registry="queued"} 1.0' in queued
    run_jobs()
    text = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_data(as_text=True)
    assert 'hub_runs{kind="reliability_probe",state="succeeded"} 1.0' in text
    assert 'hub_vendor_requests_total{outcome="ok",vendor="example"}' in text
    assert "hub_vendor_request_seconds_bucket" in text and "hub_run_duration_seconds_bucket" in text
    assert "hub_redis_up 1.0" in text


def test_metrics_have_durations_for_every_kind_batches_included(hub_app, linked, hub_db, run_jobs):
    statistics.reload(linked)
    run_jobs()
    text = hub_app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_data(as_text=True)
    for kind in ("reload", "import", "test_connection"):
        assert f'hub_run_duration_seconds_count{{kind="{kind}",state="succeeded"}}' in text, kind


def test_metrics_are_not_served_to_other_addresses_without_the_token(hub_app, hub_db, monkeypatch):
    client = hub_app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403
    monkeypatch.setenv("HUB_METRICS_TOKEN", "scrape-me")
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 401
    ok = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"},
                    headers={"Authorization": "Bearer scrape-me"})
    assert ok.status_code == 200 and "hub_runs" in ok.get_data(as_text=True)


def test_status_prints_runs_queues_and_workers(hub_app, example_integration, hub_db):
    probe(example_integration)
    result = hub_app.test_cli_runner().invoke(args=["hub", "status"])
    assert result.exit_code == 0, result.output
    assert "reliability_probe" in result.output and "queued" in result.output
    assert "imports" in result.output and "workers alive: 0" in result.output
