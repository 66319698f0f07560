"""The job layer: runs recorded in the database, retries by error class, connection state machine."""

import datetime as dt
import zlib

import pytest

from hub import connections, health, jobs, vendor_accounts
from hub.errors import TransientError
from hub.models import NEEDS_ATTENTION, OK, SyncRun

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}
BAD = {"api_key": "ex-wrong-key-9999", "company": "acme"}


def test_save_then_test_marks_connection_ok(example_integration, run_jobs, hub_db):
    connections.save_credentials(example_integration, dict(GOOD, api_key="  ex-good-key-0001 \n"))
    assert example_integration.status == "untested"
    run_jobs()
    hub_db.session.refresh(example_integration)
    assert example_integration.status == OK
    assert example_integration.account_name == "Acme Books OÜ"
    assert example_integration.expires_on.isoformat() == "2027-03-31"
    run = SyncRun.query.filter_by(kind="test_connection").one()
    assert run.status == "succeeded" and run.attempts == 1 and run.trigger == "save"


def test_auth_error_is_not_retried_and_needs_attention(example_integration, run_jobs, hub_db):
    connections.save_credentials(example_integration, BAD)
    run_jobs()
    hub_db.session.refresh(example_integration)
    run = SyncRun.query.filter_by(kind="test_connection").one()
    assert run.status == "failed" and run.attempts == 1
    assert run.error["kind"] == "auth"
    assert example_integration.status == NEEDS_ATTENTION
    assert "rejected the API key" in example_integration.last_error["message"]


def test_config_error_is_not_retried(example_integration, run_jobs, hub_db):
    connections.save_credentials(example_integration, dict(GOOD, company="nosuch"))
    run_jobs()
    run = SyncRun.query.filter_by(kind="test_connection").one()
    assert (run.status, run.attempts, run.error["kind"]) == ("failed", 1, "config")


def _probe_action(run):
    """A background run that talks to the vendor (retried like an import)."""
    return {"account_name": vendor_accounts.call_vendor(run, "hub_test_connection").account_name}


jobs.register(jobs.Kind("probe", _probe_action, queue="imports", on_attention=health.record_failure))


def _probe(integration):
    return jobs.start_run("probe", firm_id=integration.firm_id, integration_id=integration.id, trigger="schedule")


def test_transient_errors_are_retried_then_fail(example_integration, run_jobs, hub_db, serve, hub_app):
    from hub_example import sandbox

    example_integration.settings = {"origin": serve(sandbox.create_app(fail_with=503))}
    hub_db.session.commit()
    connections.save_credentials(example_integration, GOOD)
    run = _probe(example_integration)
    run_jobs(timeout=30)
    hub_db.session.refresh(run)
    assert run.status == "failed"
    assert run.attempts == jobs.MAX_ATTEMPTS
    assert run.error["kind"] == "transient"
    hub_db.session.refresh(example_integration)
    assert example_integration.status == "untested", "a vendor outage says nothing about the credentials"


def test_interactive_runs_fail_fast_and_say_so(example_integration, run_jobs, hub_db, serve):
    from hub_example import sandbox

    example_integration.settings = {"origin": serve(sandbox.create_app(fail_with=503))}
    hub_db.session.commit()
    connections.save_credentials(example_integration, GOOD)
    run_jobs(timeout=30)
    run = SyncRun.query.filter_by(kind="test_connection").one()
    assert (run.status, run.attempts, run.error["kind"]) == ("failed", 1, "transient")
    assert "Not retried automatically" in run.error["hint"]


def test_rate_limited_is_retried_until_it_succeeds(example_integration, run_jobs, hub_db, serve):
    from hub_example import sandbox

    app = sandbox.create_app(fail_with=429)
    example_integration.settings = {"origin": serve(app)}
    hub_db.session.commit()
    connections.save_credentials(example_integration, GOOD)
    run_jobs()  # the save's test connection fails fast
    run = _probe(example_integration)
    run_jobs(scheduled=False)  # the first attempt only: its retry stays scheduled
    hub_db.session.refresh(run)
    assert run.status == "retrying" and run.error["kind"] == "rate_limited"
    app.before_request_funcs[None].clear()
    run_jobs()
    hub_db.session.refresh(run)
    assert run.status == "succeeded" and run.attempts == 2


def test_unexpected_plugin_error_keeps_traceback(example_integration, run_jobs, hub_db, serve):
    from hub_example import sandbox

    example_integration.settings = {"origin": serve(sandbox.create_app(garbage=True))}
    hub_db.session.commit()
    connections.save_credentials(example_integration, GOOD)
    run = _probe(example_integration)
    run_jobs(timeout=30)
    hub_db.session.refresh(run)
    # the example plugin maps a non-JSON body to TransientError: retried, then failed
    assert run.status == "failed" and run.error["kind"] == "transient" and run.attempts == jobs.MAX_ATTEMPTS


def test_test_connection_on_unsaved_candidate_keeps_stored_values(example_integration, run_jobs, hub_db):
    connections.save_credentials(example_integration, GOOD)
    run_jobs()
    run = connections.test_connection(example_integration, {"api_key": "ex-wrong-key-9999", "company": "acme"})
    run_jobs()
    hub_db.session.refresh(run)
    hub_db.session.refresh(example_integration)
    assert run.status == "failed" and run.error["kind"] == "auth"
    assert example_integration.status == OK, "a failed test of unsaved values must not touch the saved ones"
    stored = vendor_accounts.stored_credentials(example_integration)
    assert stored["api_key"] == "ex-good-key-0001"


def test_blank_secret_on_edit_keeps_stored(example_integration, run_jobs, hub_db):
    connections.save_credentials(example_integration, GOOD)
    connections.save_credentials(example_integration, {"api_key": "   ", "company": "acme"})
    assert vendor_accounts.stored_credentials(example_integration)["api_key"] == "ex-good-key-0001"


def test_saving_a_passing_candidate_marks_ok_without_new_test(example_integration, run_jobs, hub_db):
    run = connections.test_connection(example_integration, GOOD)
    run_jobs()
    hub_db.session.refresh(run)
    assert run.status == "succeeded"
    connections.save_credentials(example_integration, GOOD, tested_run=run)
    assert example_integration.status == OK
    assert SyncRun.query.filter_by(kind="test_connection").count() == 1


def test_client_lookup_pages_to_the_end(example_integration, run_jobs, hub_db):
    connections.save_credentials(example_integration, GOOD)
    run = connections.lookup_clients(example_integration, "client")
    run_jobs()
    hub_db.session.refresh(run)
    assert run.status == "succeeded"
    assert len(run.result["clients"]) == 25


def _redis_dump(redis) -> bytes:
    out = []
    for key in redis.scan_iter(count=1000):
        kind = redis.type(key)
        if kind == b"string":
            out.append(redis.get(key) or b"")
        elif kind == b"hash":
            for field, value in redis.hgetall(key).items():
                out += [field, value]
                try:
                    out.append(zlib.decompress(value))
                except zlib.error:
                    pass
        elif kind == b"list":
            out += redis.lrange(key, 0, -1)
        elif kind == b"zset":
            out += [m for m, _ in redis.zrange(key, 0, -1, withscores=True)]
        elif kind == b"set":
            out += list(redis.smembers(key))
        elif kind == b"stream":
            for _id, fields in redis.xrange(key):
                for field, value in fields.items():
                    out += [field, value]
                    try:
                        out.append(zlib.decompress(value))
                    except zlib.error:
                        pass
    return b"\n".join(out)


def test_no_secret_in_redis_or_logs(example_integration, run_jobs, hub_db, hub_app, caplog):
    caplog.set_level("DEBUG")
    connections.save_credentials(example_integration, GOOD)
    connections.test_connection(example_integration, {"api_key": "ex-other-key-0002", "company": "beta"})
    connections.lookup_clients(example_integration, "")
    run_jobs()
    dump = _redis_dump(hub_app.extensions["hub"].redis)
    assert dump, "the jobs left their records in Redis"
    for secret in (b"ex-good-key-0001", b"ex-other-key-0002"):
        assert secret not in dump
        assert secret.decode() not in caplog.text


def test_retry_delay_honours_retry_after_and_cap(hub_app):
    policy = jobs.Retry(prefix="HUB_UNSET", base=1, cap=900)
    with hub_app.app_context():
        assert policy.delay(1, 30.0) == 30.0
        assert policy.delay(1, 5000.0) == 5000.0, "the vendor's word is kept beyond the hub's own cap"
        assert policy.delay(1, 10 ** 9) == jobs.RETRY_AFTER_MAX
        assert policy.delay(30) <= 900
        assert 0.8 <= policy.delay(1) <= 1.2
        assert 6.4 <= policy.delay(4) <= 9.6
        hub_app.config["HUB_UNSET_RETRY_CAP"] = 5
        assert policy.delay(30) == 5, "the config overrides the kind's default"
        del hub_app.config["HUB_UNSET_RETRY_CAP"]


def test_a_redis_restart_does_not_bring_a_vendors_retry_after_forward(example_integration, hub_db, hub_app):
    """The vendor said "come back in an hour": the due time is on the run, so when Redis comes back empty (a restart)
    the reconciler re-enqueues the retry for that time — not at once."""
    from rq.registry import ScheduledJobRegistry

    from hub.errors import RateLimited
    from hub.models import utcnow

    run = jobs.start_run("probe", firm_id=example_integration.firm_id, integration_id=example_integration.id,
                         enqueue=False)
    run.status, run.attempts = "running", 1
    hub_db.session.commit()
    assert jobs._record_failure(run.id, RateLimited("Slow down.", retry_after=3600)) == "retrying"
    run = hub_db.session.get(SyncRun, run.id)
    due = run.next_attempt_at
    assert dt.timedelta(minutes=59) < due - utcnow() <= dt.timedelta(hours=1)
    hub_app.extensions["hub"].redis.flushdb()  # Redis restarted and kept nothing
    assert jobs.reconcile(now=utcnow() + dt.timedelta(minutes=5))["outbox"] == 1
    queue = jobs.get_queue("imports")
    assert queue.count == 0, "nothing runs before the vendor's time"
    registry = ScheduledJobRegistry(queue=queue)
    [job_id] = registry.get_job_ids()
    scheduled = dt.datetime.fromtimestamp(registry.connection.zscore(registry.key, job_id), dt.UTC).replace(tzinfo=None)
    assert abs((scheduled - due).total_seconds()) < 2
    assert hub_db.session.get(SyncRun, run.id).next_attempt_at == due


@pytest.mark.parametrize("exc, retried", [(TransientError("x"), True)])
def test_error_classes_declare_retry(exc, retried):
    assert exc.retryable is retried


def test_worker_heartbeat_is_coalesced_but_a_job_ttl_is_always_sent(hub_app, monkeypatch):
    """RQ beats 3 times per job (3 commands each); the hub's workers send one pipelined beat per interval, and
    always the one that sets a job's TTL (its time limit + 60 s) before it runs."""
    with hub_app.app_context():
        worker = jobs.make_worker(simple=True, name="hub.test.heartbeat")
        conn = worker.connection
        try:
            sent = []
            monkeypatch.setattr(conn, "hset", lambda *a, **k: sent.append("hset"), raising=False)
            worker.heartbeat()
            assert sent == [] and conn.ttl(worker.key) > 0  # pipelined: not through the client's own hset
            first = worker.last_heartbeat
            worker.heartbeat()
            assert worker.last_heartbeat == first  # within the interval: skipped
            worker.heartbeat(timeout=960)
            assert worker.last_heartbeat > first and conn.ttl(worker.key) > 900  # a TTL of its own: sent
            monkeypatch.setattr(jobs, "HEARTBEAT_EVERY", 0.0)
            worker.heartbeat()
            assert 0 < conn.ttl(worker.key) <= worker.worker_ttl + 60  # interval over: sent again
        finally:
            conn.delete(worker.key, worker.executions_key)
