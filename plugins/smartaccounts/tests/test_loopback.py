"""Over real loopback HTTP: the core's origin override (real URL, Host header kept), as the demo and benchmarks run."""

import httpx
import hub_smartaccounts
import pytest
from hub_smartaccounts import sandbox

from hub.errors import AuthError, RateLimited, TransientError
from hub.testing import make_context, vendor_registry
from hub.types import Period

SLUG = "smartaccounts"


@pytest.fixture
def live(serve):
    app = sandbox.create_app()
    return app, serve(app)


def _call(origin, hook, **kwargs):
    ctx = make_context(SLUG, origin=origin)
    try:
        return vendor_registry(SLUG, hub_smartaccounts).call(SLUG, hook, ctx=ctx, **kwargs)
    finally:
        ctx.close()


def test_connection_statistics_and_tax_rates_over_http(live):
    app, origin = live
    info = _call(origin, "hub_test_connection", credentials=sandbox.DEMO_CREDENTIALS)
    assert info.account_name.startswith("SmartAccounts company")
    for credentials in sandbox.DEMO_CLIENT_CREDENTIALS:
        stats = _call(origin, "hub_fetch_statistics", credentials=credentials, client=None,
                      periods=Period.span(Period(2026, 1), Period(2026, 3)))
        assert set(stats) == {Period(2026, 1), Period(2026, 2), Period(2026, 3)}
        assert all(v["documents"] > 0 for v in stats.values())
    state = app.extensions["sandbox"]
    assert {r.host for r in state.requests} == {"sa.smartaccounts.eu"}  # the real host kept in the Host header
    assert all(r.status == 200 for r in state.requests)
    with httpx.Client() as http:
        counts = http.get(f"{origin}/_sandbox/requests").json()
    assert counts == {"total": len(state.requests), "by_status": {"200": len(state.requests)}}


def test_bad_secret_over_http(live):
    _, origin = live
    with pytest.raises(AuthError):
        _call(origin, "hub_test_connection",
              credentials={**sandbox.DEMO_CREDENTIALS, "api_secret": "1" * 32})


def test_rate_limit_over_http(live):
    app, origin = live
    app.extensions["sandbox"].knobs["rate_limit"] = "2/60"
    _call(origin, "hub_test_connection", credentials=sandbox.DEMO_CREDENTIALS)
    _call(origin, "hub_test_connection", credentials=sandbox.DEMO_CREDENTIALS)
    with pytest.raises(RateLimited) as caught:
        _call(origin, "hub_test_connection", credentials=sandbox.DEMO_CREDENTIALS)
    assert caught.value.retry_after and caught.value.retry_after > 10
    # another company's key has its own budget
    _call(origin, "hub_test_connection", credentials=sandbox.DEMO_CLIENT_CREDENTIALS[0])


def test_timeout_over_http(live):
    app, origin = live
    app.extensions["sandbox"].knobs.update(fault="timeout", timeout_s=0.5)
    ctx = make_context(SLUG, timeout=0.1, origin=origin)
    try:
        with pytest.raises(TransientError, match="did not answer in time"):
            vendor_registry(SLUG, hub_smartaccounts).call(SLUG, "hub_test_connection", ctx=ctx,
                                                          credentials=sandbox.DEMO_CREDENTIALS)
    finally:
        ctx.close()
