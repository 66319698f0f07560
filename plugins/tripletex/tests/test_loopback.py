"""Against the sandbox over real loopback HTTP, with the real hosts kept in the Host header."""

from __future__ import annotations

import pytest
from hub_tripletex import sandbox

from hub.errors import TransientError
from hub.testing import make_context

SLUG = "tripletex"


@pytest.fixture
def loopback_ctx(live_server):
    made = []

    def factory(timeout: float | None = None):
        # a short client timeout for the timeout fault
        ctx = make_context(SLUG, origin=live_server, settings=dict(sandbox.DEMO_SETTINGS), timeout=timeout)
        made.append(ctx)
        return ctx

    yield factory
    for ctx in made:
        ctx.close()


def test_connection_clients_products_and_vat_types_over_http(registry, loopback_ctx, state, good):
    ctx = loopback_ctx()
    info = registry.call(SLUG, "hub_test_connection", ctx=ctx, credentials=good)
    assert info.account_name == "Fjord Regnskap AS"
    clients = registry.call(SLUG, "hub_list_clients", ctx=ctx, credentials=good, query="")
    assert len(clients) == 2208
    assert len([r for r in state.requests if r["path"] == "/v2/customer"]) == 3  # more than one page
    assert registry.call(SLUG, "hub_list_products", ctx=ctx, credentials=good)
    rates = registry.call(SLUG, "hub_list_tax_rates", ctx=ctx, credentials=good)
    assert {r.id for r in rates} >= {"3", "31", "32"}
    assert {r["host"] for r in state.requests} == {"tripletex.no"}
    assert len([r for r in state.requests if r["path"] == "/v2/token/session/:create"]) == 1


def test_export_retried_after_a_timeout_creates_one_invoice(registry, loopback_ctx, state, good, make_invoice):
    state.knobs.update(fault="timeout", fault_path="/v2/invoice", fault_method="POST", timeout_s=0.6)
    with pytest.raises(TransientError):
        registry.call(SLUG, "hub_export_invoice", ctx=loopback_ctx(timeout=0.3), credentials=good,
                      invoice=make_invoice())
    assert len(state.created_invoices) == 1  # Tripletex created it; only the answer was lost
    state.knobs.update(fault=None)
    ctx = loopback_ctx()
    found = registry.call(SLUG, "hub_find_invoice", ctx=ctx, credentials=good, invoice=make_invoice())
    again = registry.call(SLUG, "hub_export_invoice", ctx=ctx, credentials=good, invoice=make_invoice())
    assert found is not None and again.already_existed
    assert again.vendor_invoice_id == found.vendor_invoice_id == str(state.created_invoices[0]["id"])
    assert len(state.created_invoices) == 1
    assert len([r for r in state.requests if r["method"] == "POST" and r["path"] == "/v2/invoice"]) == 1


def test_test_environment_over_http(registry, loopback_ctx, state):
    credentials = {"employee_token": "test-sbx-employee-demo-0101", "environment": "test", "company_id": "0"}
    info = registry.call(SLUG, "hub_test_connection", ctx=loopback_ctx(), credentials=credentials)
    assert info.account_name == "Testfirma Integrasjon AS"
    assert {r["host"] for r in state.requests} == {"api-test.tripletex.tech"}
