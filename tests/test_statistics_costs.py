"""What one client job of a reload costs in SQL statements and Redis round trips — pinned, so a change that adds a
query per value, per month or per client shows up here (issue 21). Counted, never timed.

If a change needs more (or, better, fewer), update the numbers and say why in the commit."""

import functools

import pytest
import redis.connection
from sqlalchemy import event

from hub import connections, jobs, linking, statistics
from hub.models import Client, SummaryValue, SyncRun

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}

#: Inside ``jobs.execute`` of one import of 12 months × 2 fields (not the last child, which also finishes the
#: parent). The import itself: the connection read with its integration (one joined read); the tasks upserted, the
#: values upserted, the run's items inserted, the scheduled months updated (the read of values a 0 would overwrite
#: is skipped: no 0 came), the webhook endpoints listening for ``statistics.imported`` looked up (none: nothing more
#: is read) — 6. The batch's progress: the parent's counter updated (the job layer; the parent's per-client outcomes
#: are read from the children when it finishes) — 1. The job layer's own: "running" with the attempt counted, the
#: row coming back from that UPDATE (RETURNING), and "succeeded" — 2. The run is not re-read after the job's own
#: commits (the job's session does not expire at commit; was 15 with 5 re-reads): 9.
#: On PostgreSQL the values, items and months are one statement (data-modifying CTEs over arrays) — 7 — plus a
#: ``SET LOCAL synchronous_commit TO OFF`` in the claim's and the counter's transactions (their commits do not wait
#: for the disk; the months and the outcome still do): 9.
SQL_PER_CLIENT_JOB = {"sqlite": 9, "postgresql": 9}
#: The same job's own Redis round trips: one slot of the vendor account's request budget (RQ's bookkeeping
#: around the job is RQ's, counted by bench/reload.py).
REDIS_PER_CLIENT_JOB = 1


class Counter:
    def __init__(self) -> None:
        self.sql = self.redis = 0


@pytest.fixture
def counted(hub_db, monkeypatch):
    """Counts of SQL statements and Redis round trips (one per command or pipeline sent) while ``counting``."""
    counter = Counter()
    state = {"on": False}

    def on_sql(*args):
        if state["on"]:
            counter.sql += 1

    send = redis.connection.AbstractConnection.send_packed_command

    def on_redis(self, command, check_health=True):
        if state["on"]:
            counter.redis += 1
        return send(self, command, check_health)

    event.listen(hub_db.engine, "before_cursor_execute", on_sql)
    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", on_redis)
    yield counter, state
    event.remove(hub_db.engine, "before_cursor_execute", on_sql)


@pytest.fixture
def linked(example_integration, firm, hub_db, run_jobs):
    """The example integration with two mapped fields and ``n`` linked clients."""
    connections.save_credentials(example_integration, GOOD)
    run_jobs()
    docs = statistics.create_custom_field(firm.id, "Documents")
    entries = statistics.create_custom_field(firm.id, "Entries")
    statistics.save_summary_settings(example_integration, {"mapping": {"documents": docs.id, "entries": entries.id}})

    def link(n: int) -> None:
        for i in range(n):
            client = Client(firm_id=firm.id, name=f"Extra {i}")
            hub_db.session.add(client)
            hub_db.session.commit()
            linking.link_client(None, client_id=client.id, integration=example_integration,
                                vendor_client_id=str(i % 3 + 1))

    return example_integration, link


def test_a_client_job_costs_a_fixed_number_of_statements_and_round_trips(linked, counted, run_jobs, monkeypatch,
                                                                        hub_db):
    integration, link = linked
    link(4)  # with the firm's 3 clients unlinked: 4 connections, 12 months, 2 fields
    counter, state = counted
    per_job: list[tuple[int, int]] = []
    execute = jobs.execute

    @functools.wraps(execute)  # RQ finds the job's function by its name: hub.jobs.execute
    def measured(run_id: int) -> str:
        sql, rds = counter.sql, counter.redis
        state["on"] = True
        try:
            return execute(run_id)
        finally:
            state["on"] = False
            per_job.append((counter.sql - sql, counter.redis - rds))

    monkeypatch.setattr(jobs, "execute", measured)
    statistics.reload(integration)
    run_jobs()
    hub_db.session.expire_all()
    assert SyncRun.query.filter_by(kind="reload").one().status == "succeeded"
    assert SummaryValue.query.count() == 4 * 12 * 2
    assert len(per_job) == 4
    *children, last = per_job
    assert children == [(SQL_PER_CLIENT_JOB[hub_db.engine.dialect.name], REDIS_PER_CLIENT_JOB)] * 3
    # the last child also finishes the parent (once per reload)
    assert last[0] > SQL_PER_CLIENT_JOB[hub_db.engine.dialect.name]


def test_a_second_import_of_the_same_months_costs_the_same(linked, counted, run_jobs, monkeypatch, hub_db):
    """Overwriting existing tasks and values is no dearer than creating them (no row-at-a-time updates)."""
    integration, link = linked
    link(2)
    statistics.reload(integration)
    run_jobs()
    counter, state = counted
    per_job: list[int] = []
    execute = jobs.execute

    @functools.wraps(execute)  # RQ finds the job's function by its name: hub.jobs.execute
    def measured(run_id: int) -> str:
        sql = counter.sql
        state["on"] = True
        try:
            return execute(run_id)
        finally:
            state["on"] = False
            per_job.append(counter.sql - sql)

    monkeypatch.setattr(jobs, "execute", measured)
    statistics.reload(integration)
    run_jobs()
    assert per_job[0] == SQL_PER_CLIENT_JOB[hub_db.engine.dialect.name]


@pytest.mark.parametrize("clients", [1, 6])
def test_starting_a_reload_costs_the_same_for_any_number_of_clients(linked, counted, clients):
    """The children of a reload are recorded in one insert and enqueued in one Redis pipeline."""
    integration, link = linked
    link(clients)
    counter, state = counted
    state["on"] = True
    statistics.reload(integration)
    state["on"] = False
    assert SyncRun.query.filter_by(kind="import").count() == clients
    assert (counter.sql, counter.redis) == STARTING_A_RELOAD


#: ``statistics.reload``: the integration, its connections and the firm read; the parent run inserted (already
#: running), every child run in one insert and one update of their job ids, in one transaction
#: (``jobs.start_batch``); the parent and the integration re-read, the audit event; and one Redis pipeline.
STARTING_A_RELOAD = (9, 1)
