"""Over real loopback HTTP: the sandbox served by werkzeug, the hooks on a real httpx client with the
hub's origin override (requests go to 127.0.0.1 with the real Trigon host in the Host header)."""

import httpx
import hub_trigon
import pytest
from hub_trigon import sandbox

from hub.errors import TransientError
from hub.testing import make_context, vendor_registry
from hub.testing.sandbox import serve
from hub.types import Period

YEAR = Period.span(Period(2025, 11), Period(2026, 10))


@pytest.fixture
def served():
    with serve(sandbox.create_app()) as server:
        yield server.app, server.origin


def test_reload_over_loopback(served):
    app, origin = served
    state = app.extensions["sandbox"]
    registry = vendor_registry("trigon", hub_trigon)
    ctx = make_context("trigon", origin=origin)
    ctx.http.sleep = lambda seconds: None
    creds = dict(sandbox.DEMO_CREDENTIALS)
    try:
        info = registry.call("trigon", "hub_test_connection", ctx=ctx, credentials=creds)
        assert info.account_name == "Demo Raamatupidamine OÜ"
        assert str(info.expires_on) == "2027-05-31"
        clients = registry.call("trigon", "hub_list_clients", ctx=ctx, credentials=creds, query="")
        assert len(clients) == 36
        registry.call("trigon", "hub_refresh_statistics", ctx=ctx, credentials=creds, client="1002", periods=YEAR)
        stats = registry.call("trigon", "hub_fetch_statistics", ctx=ctx, credentials=creds, client="1002",
                              periods=YEAR)
    finally:
        ctx.close()
    for period in YEAR:
        truth = state.true_volumes("1002", str(period))
        assert stats[period]["incoming_payments"] == truth["incomingPayments"]
        assert stats[period]["documents"] == truth["documents"]
    assert {r.headers.get("Host") for r in state.api_requests()} == {"api.trigon.ee"}
    summary = httpx.get(f"{origin}/_sandbox/requests").json()
    assert summary == {"total": 6, "by_status": {"200": 5, "202": 1}}


def test_test_environment_host_is_routed_by_host_header(served):
    app, origin = served
    ctx = make_context("trigon", origin=origin)
    try:
        info = vendor_registry("trigon", hub_trigon).call(
            "trigon", "hub_test_connection", ctx=ctx, credentials=dict(sandbox.TEST_ENV_CREDENTIALS))
    finally:
        ctx.close()
    assert info.account_name.endswith("(test)")
    assert app.extensions["sandbox"].api_requests()[0].headers["Host"] == "api-test.trigon.ee"


def test_timeout_over_loopback(served):
    app, origin = served
    app.extensions["sandbox"].knobs.update(fault="timeout", timeout_s=1.0)
    ctx = make_context("trigon", origin=origin, timeout=0.2)
    try:
        with pytest.raises(TransientError) as caught:
            vendor_registry("trigon", hub_trigon).call("trigon", "hub_test_connection", ctx=ctx,
                                                       credentials=dict(sandbox.DEMO_CREDENTIALS))
    finally:
        ctx.close()
    assert "did not answer in time" in caught.value.message
