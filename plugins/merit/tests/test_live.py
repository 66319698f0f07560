"""Over real loopback HTTP: the origin override keeps the real host in the Host header."""

import datetime as dt

import httpx
import hub_merit
import pytest
from hub_merit import sandbox

from hub.errors import AuthError, TransientError
from hub.testing import make_context, vendor_registry
from hub.types import Period

DEMO = sandbox.DEMO_CREDENTIALS


def test_hooks_over_loopback(live):
    origin, app = live
    registry = vendor_registry("merit", hub_merit)
    ctx = make_context("merit", origin=origin)
    try:
        info = registry.call("merit", "hub_test_connection", ctx=ctx, credentials=DEMO)
        assert info.account_id == DEMO["api_id"]
        stats = registry.call("merit", "hub_fetch_statistics", ctx=ctx, credentials=DEMO, client=None,
                              periods=Period.span(Period(2026, 1), Period(2026, 12)))
        assert stats[Period(2026, 1)]["entries"] == 23
        fi = sandbox.DEMO_CLIENT_CREDENTIALS[1]
        registry.call("merit", "hub_test_connection", ctx=ctx, credentials=fi)
        with pytest.raises(AuthError):
            registry.call("merit", "hub_test_connection", ctx=ctx, credentials={**fi, "country": "EE"})
    finally:
        ctx.close()
    state = app.extensions["sandbox"]
    assert [r.host for r in state.requests[:2]] == ["aktiva.merit.ee", "aktiva.merit.ee"]
    assert state.requests[-2].host == "app.passelimerit.fi" and state.requests[-1].host == "aktiva.merit.ee"
    with httpx.Client(base_url=origin) as http:
        assert http.get("/_sandbox/requests").json() == {"total": 19, "by_status": {"200": 18, "401": 1}}
        http.post("/_sandbox/knobs", json={"fault": "500"})
        assert state.knobs["fault"] == "500"
        assert http.post("/_sandbox/knobs", json={"nope": 1}).status_code == 400
        http.post("/_sandbox/reset")
        assert http.get("/_sandbox/requests").json() == {"total": 0, "by_status": {}}


def test_unknown_host_is_404(live):
    origin, _ = live
    with httpx.Client() as http:
        response = http.post(f"{origin}/api/v1/gettaxes", content=b"{}", headers={"Host": "merit.example"})
    assert response.status_code == 404


def test_timeout_is_transient(live):
    origin, app = live
    app.extensions["sandbox"].update_knobs({"fault": "timeout", "timeout_s": 0.6})
    ctx = make_context("merit", timeout=0.15, origin=origin, now=lambda: dt.datetime.now(dt.UTC))
    try:
        with pytest.raises(TransientError):
            vendor_registry("merit", hub_merit).call("merit", "hub_test_connection", ctx=ctx, credentials=DEMO)
    finally:
        ctx.close()
