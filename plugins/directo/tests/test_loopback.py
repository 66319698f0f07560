"""The sandbox over real loopback HTTP, reached the way the demo and the benchmarks reach it: the
plugin writes Directo's real URL and ``origin`` sends it to 127.0.0.1 with ``Host: login.directo.ee``."""

from __future__ import annotations

import logging

import httpx
import hub_directo
import pytest
from hub_directo import sandbox

from hub.errors import TransientError
from hub.testing import make_context, vendor_registry
from hub.types import Period


def test_hooks_over_real_http(live_sandbox):
    origin, app = live_sandbox()
    registry = vendor_registry("directo", hub_directo)
    ctx = make_context("directo", origin=origin)
    try:
        info = registry.call("directo", "hub_test_connection", ctx=ctx, credentials=sandbox.DEMO_CREDENTIALS)
        clients = registry.call("directo", "hub_list_clients", ctx=ctx, credentials=sandbox.DEMO_CREDENTIALS,
                                query="")
        stats = registry.call("directo", "hub_fetch_statistics", ctx=ctx,
                              credentials=sandbox.DEMO_CLIENT_CREDENTIALS[2], client=None,
                              periods=Period.span(Period(2026, 1), Period(2026, 12)))
    finally:
        ctx.close()
    assert info.account_name == "Uku Demo Raamatupidamine OÜ"
    assert len(clients) == 31
    assert sum(v["sale_entries"] for v in stats.values()) > 0
    with httpx.Client(base_url=origin) as http:
        # the test reads customer + 5 permission probes; clients 1; statistics 4
        assert http.get("/_sandbox/requests").json() == {"total": 11, "by_status": {"200": 11}}
    hosts = {r.host for r in app.extensions["sandbox"].api_requests()}
    assert hosts == {"login.directo.ee"}


def test_timeout_is_transient(live_sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    origin, _ = live_sandbox(fault="timeout", timeout_s=1.0)
    ctx = make_context("directo", origin=origin, timeout=0.2)
    try:
        with pytest.raises(TransientError) as caught:
            vendor_registry("directo", hub_directo).call("directo", "hub_test_connection", ctx=ctx,
                                                         credentials=sandbox.DEMO_CREDENTIALS)
    finally:
        ctx.close()
    assert caught.value.retry_after == 60
    assert sandbox.DEMO_CREDENTIALS["token"] not in caplog.text
