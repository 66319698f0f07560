"""A vendor quota that resets at a known time (RateLimited(until=..., quota=...)): the run waits for the reset,
uncounted, and says so; it does not fail after the kind's attempts."""

import datetime as dt

from hub import jobs
from hub.errors import RateLimited
from hub.models import SyncRun, utcnow

QUOTA_HITS = jobs.MAX_ATTEMPTS + 2  # more than a run's attempts: counted, it would fail
SEEN: list[dt.datetime] = []


def next_midnight() -> dt.datetime:
    now = dt.datetime.now(dt.UTC)
    return (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def _daily_quota_action(run):
    SEEN.append(utcnow())
    if len(SEEN) <= QUOTA_HITS:
        raise RateLimited("Example's daily request quota is used up.", until=next_midnight(), quota="daily",
                          hint="It resets at midnight UTC.")
    return {"done": True}


jobs.register(jobs.Kind("quota_probe", _daily_quota_action, queue="imports"))


def test_a_daily_quota_parks_the_run_until_its_reset_without_counting(example_integration, run_jobs, hub_db,
                                                                       hub_clock):
    SEEN.clear()
    run = jobs.start_run("quota_probe", firm_id=example_integration.firm_id, integration_id=example_integration.id,
                         trigger="schedule")
    run_jobs(scheduled=False)  # the first attempt: it meets the quota
    hub_db.session.refresh(run)
    midnight = next_midnight().replace(tzinfo=None)
    assert run.status == "retrying" and run.next_attempt_at == midnight
    assert (run.attempts, run.quota_waits) == (1, 1)
    assert run.error["quota"] == "daily" and run.error["until"] == midnight.isoformat() + "Z"
    assert jobs.quota_wait(run) == "waiting for Example Books's daily quota until 00:00 UTC"
    if not hub_clock.movable:
        return
    run_jobs()  # the clock moves to each midnight: the quota is met again and again, then the work goes through
    hub_db.session.refresh(run)
    assert run.status == "succeeded" and run.attempts == QUOTA_HITS + 1 and run.quota_waits == QUOTA_HITS
    assert all(seen >= prev.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
               for prev, seen in zip(SEEN, SEEN[1:], strict=False)), "never tried before the reset"
    assert jobs.quota_wait(run) is None


def test_an_ordinary_rate_limit_still_counts(example_integration, hub_db, hub_app):
    run = jobs.start_run("quota_probe", firm_id=example_integration.firm_id, integration_id=example_integration.id,
                         enqueue=False)
    run.attempts = jobs.MAX_ATTEMPTS
    run.status = "running"
    hub_db.session.commit()
    assert jobs._record_failure(run.id, RateLimited("Slow down.", retry_after=30)) == "failed"
    assert hub_db.session.get(SyncRun, run.id).quota_waits == 0


def test_the_api_says_what_a_run_waits_for(example_integration, hub_db, hub_app):
    from hub.api.common import run_out

    run = jobs.start_run("quota_probe", firm_id=example_integration.firm_id, integration_id=example_integration.id,
                         enqueue=False)
    run.attempts, run.status = 1, "running"
    hub_db.session.commit()
    jobs._record_failure(run.id, RateLimited("Quota used up.", until=next_midnight(), quota="daily"))
    with hub_app.test_request_context():
        out = run_out(hub_db.session.get(SyncRun, run.id))
    assert out["waiting"] == "waiting for Example Books's daily quota until 00:00 UTC"
    assert out["next_attempt_at"] == next_midnight().replace(tzinfo=None) and out["error"]["quota"] == "daily"


def test_a_reset_already_past_is_an_ordinary_counted_retry(example_integration, hub_db, hub_app):
    run = jobs.start_run("quota_probe", firm_id=example_integration.firm_id, integration_id=example_integration.id,
                         enqueue=False)
    run.attempts, run.status = 1, "running"
    hub_db.session.commit()
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    assert jobs._record_failure(run.id, RateLimited("Quota.", until=past, quota="daily")) == "retrying"
    run = hub_db.session.get(SyncRun, run.id)
    assert (run.status, run.quota_waits) == ("retrying", 0), "counted: a vendor always saying 'now' cannot loop"
