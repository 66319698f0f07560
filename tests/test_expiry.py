"""Credential expiry (issue 15, item 4): a warning from 30 days before a known expiry, and one
notification before it passes."""

import datetime as dt

from hub import health
from hub.models import Notification

TODAY = dt.date(2026, 12, 2)


def test_expiry_state_warns_from_30_days_before_only(example_integration, hub_db):
    integration = example_integration
    integration.status = "ok"
    for days, expected in ((120, None), (31, None), (30, "expiring"), (1, "expiring"), (0, "expiring"),
                           (-1, "expired")):
        integration.expires_on = TODAY + dt.timedelta(days=days)
        assert health.expiry_state(integration, TODAY) == expected, days
    integration.expires_on = None
    assert health.expiry_state(integration, TODAY) is None
    integration.expires_on, integration.status = TODAY, "disabled"
    assert health.expiry_state(integration, TODAY) is None


def test_one_notification_before_the_expiry_passes(example_integration, hub_db):
    integration = example_integration
    integration.status, integration.expires_on = "ok", TODAY + dt.timedelta(days=45)
    hub_db.session.commit()
    assert health.notify_expiring(TODAY) == 0, "too early"
    assert health.notify_expiring(TODAY + dt.timedelta(days=15)) == 1
    assert health.notify_expiring(TODAY + dt.timedelta(days=16)) == 0, "once"
    assert health.notify_expiring(TODAY + dt.timedelta(days=46)) == 0, "not after it passed"
    [note] = Notification.query.all()
    assert note.title == f"Example Books credentials expire on {integration.expires_on.isoformat()}"
    assert note.link == "/settings/apps/example/connect" and note.level == "warning"
    integration.expires_on = TODAY + dt.timedelta(days=400)  # a new token: announced again when it nears
    hub_db.session.commit()
    assert health.notify_expiring(TODAY + dt.timedelta(days=380)) == 1


def test_the_scheduler_runs_the_expiry_warnings(example_integration, hub_db):
    from hub import schedule

    example_integration.status = "ok"
    example_integration.expires_on = dt.date.today() + dt.timedelta(days=3)
    hub_db.session.commit()
    assert schedule.dispatch()["expiry_warnings"] == 1
    assert schedule.dispatch()["expiry_warnings"] == 0


def test_a_past_expiry_the_vendor_still_accepted_is_not_called_expired(example_integration, hub_db):
    """Issue 29: derived from what happened — a success after the expiry date means the vendor still accepts it."""
    integration = example_integration
    integration.status, integration.expires_on = "ok", TODAY - dt.timedelta(days=6)
    integration.last_success_at = dt.datetime(2026, 11, 25, 9, 0)  # before the date: it has simply expired
    assert health.expiry_state(integration, TODAY) == "expired"
    integration.last_success_at = dt.datetime(2026, 12, 1, 9, 0)  # accepted after the date
    assert health.expiry_state(integration, TODAY) == "reported_past"
    integration.status = "needs_attention"  # refused since: expired
    assert health.expiry_state(integration, TODAY) == "expired"
