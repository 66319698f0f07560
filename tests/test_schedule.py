"""Import-day rules on real holiday calendars, catch-up, and the due-and-not-done dispatcher."""

import datetime as dt
import threading

import pytest

from hub import connections, linking, statistics
from hub.models import MonthlyImport, SyncRun
from hub.schedule import dispatch_imports, due_periods, import_date, work_day_calendar
from hub.types import Period

D = dt.date


@pytest.mark.parametrize("country, period, rule, expected", [
    ("EE", Period(2026, 2), "last_work_day", D(2026, 2, 27)),     # 28 Feb is a Saturday
    ("EE", Period(2024, 3), "last_work_day", D(2024, 3, 28)),     # Good Friday 29 Mar, then the weekend
    ("NO", Period(2024, 3), "last_work_day", D(2024, 3, 27)),     # Norway also keeps Maundy Thursday
    ("GB", Period(2026, 8), "last_work_day", D(2026, 8, 28)),     # Summer bank holiday Monday 31 Aug
    ("FI", Period(2026, 12), "last_work_day", D(2026, 12, 31)),   # a Thursday, not a holiday
    ("PL", Period(2026, 10), "last_work_day", D(2026, 10, 30)),   # 31 Oct is a Saturday
    ("LV", Period(2026, 5), "last_work_day", D(2026, 5, 29)),     # 31 May Sunday, 30 Saturday
    ("EE", Period(2026, 2), "last_calendar_day", D(2026, 2, 28)),
    ("EE", Period(2028, 2), "last_calendar_day", D(2028, 2, 29)),  # leap year
    ("EE", Period(2026, 1), 24, D(2026, 2, 24)),                  # a given day is taken literally, holiday or not
    ("EE", Period(2026, 12), 1, D(2027, 1, 1)),                   # across the year end
    ("NO", Period(2026, 4), 17, D(2026, 5, 17)),
])
def test_import_day_rules(country, period, rule, expected):
    assert import_date(period, rule, country) == expected


def test_calendars_know_the_national_days():
    assert D(2026, 2, 24) in work_day_calendar("EE", 2026)
    assert D(2026, 5, 17) in work_day_calendar("NO", 2026)
    assert work_day_calendar("XX", 2026) == {}


def test_catch_up_after_a_gap():
    # linked 10 June, the dispatcher was down until 22 November: June..October are due, November not yet
    due = due_periods("last_work_day", "EE", D(2026, 6, 10), D(2026, 11, 22))
    assert [str(p) for p in due] == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    due = due_periods(5, "EE", D(2026, 6, 10), D(2026, 11, 22))  # May's import date (5 June) is before the link
    assert [str(p) for p in due] == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    assert due_periods("last_calendar_day", "EE", D(2026, 11, 22), D(2026, 11, 29)) == []
    assert due_periods("last_calendar_day", "EE", D(2026, 11, 22), D(2026, 11, 30)) == [Period(2026, 11)]


@pytest.fixture
def linked(example_integration, firm, hub_db, run_jobs):
    """The example integration with credentials, a mapping and one linked client (linked 15 Aug 2026)."""
    connections.save_credentials(example_integration, {"api_key": "ex-good-key-0001", "company": "acme"})
    run_jobs()
    docs = statistics.create_custom_field(firm.id, "Documents")
    statistics.save_summary_settings(example_integration, {"task_title": "Summary", "import_day": "last_work_day",
                                                           "mapping": {"documents": docs.id}})
    client = firm_clients(firm)[0]
    conn = linking.link_client(None, client_id=client.id, integration=example_integration,
                               vendor_client_id="3", vendor_client_name="Client 03")
    conn.created_at = dt.datetime(2026, 8, 15, 9, 0)
    hub_db.session.commit()
    return conn


def firm_clients(firm):
    from hub.models import Client

    return Client.query.filter_by(firm_id=firm.id).order_by(Client.id).all()


NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


def test_dispatcher_enqueues_due_months_once(linked, run_jobs, hub_db):
    assert dispatch_imports(now=NOW) == 1
    run = SyncRun.query.filter_by(kind="import").one()
    assert run.params["periods"] == ["2026-08", "2026-09", "2026-10"] and run.trigger == "schedule"
    assert dispatch_imports(now=NOW) == 0, "already claimed: not enqueued again"
    run_jobs()
    assert {m.status for m in MonthlyImport.query} == {"done"}
    assert dispatch_imports(now=NOW) == 0
    assert dispatch_imports(now=dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)) == 1  # 30 Nov: a Monday


def test_two_dispatchers_at_once_import_each_month_once(linked, hub_app, hub_db):
    results, barrier = [], threading.Barrier(2)

    def dispatch():
        with hub_app.app_context():
            barrier.wait()
            results.append(dispatch_imports(now=NOW))

    threads = [threading.Thread(target=dispatch) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    hub_db.session.expire_all()
    assert sum(results) >= 1
    claimed = [p for run in SyncRun.query.filter_by(kind="import") for p in run.params["periods"]]
    assert sorted(claimed) == ["2026-08", "2026-09", "2026-10"], "no month claimed twice"
    assert MonthlyImport.query.count() == 3


def test_connection_needing_attention_is_skipped_and_resumes(linked, example_integration, run_jobs, hub_db):
    example_integration.status = "needs_attention"
    hub_db.session.commit()
    assert dispatch_imports(now=NOW) == 0
    connections.save_credentials(example_integration, {"api_key": "ex-good-key-0001", "company": "acme"})
    run_jobs()  # the test enqueued on save passes: ok again
    hub_db.session.refresh(example_integration)
    assert example_integration.status == "ok"
    assert dispatch_imports(now=NOW) == 1
