"""The plugin against the sandbox over real loopback HTTP (the way the demo firm and benchmarks use it)."""

import httpx
import hub_scoro
import marshmallow
import pytest
from hub_scoro import sandbox

from hub import credentials as creds
from hub.errors import AuthError, TransientError
from hub.testing import make_context, vendor_registry
from hub.testing.sandbox import serve

ACME = "acme.scoro.com"


@pytest.fixture
def server():
    with serve(sandbox.create_app()) as served:
        yield served.app, served.origin


@pytest.fixture
def registry():
    return vendor_registry("scoro", hub_scoro)


def test_connection_tax_rates_and_export_over_http(server, registry, credentials, make_invoice):
    app, origin = server
    ctx = make_context("scoro", origin=origin)
    try:
        info = registry.call("scoro", "hub_test_connection", ctx=ctx, credentials=credentials())
        assert info.account_name == "Acme Consulting OÜ"
        rates = registry.call("scoro", "hub_list_tax_rates", ctx=ctx, credentials=credentials())
        assert [r.code for r in rates][:2] == ["24", "22"]
        receipt = registry.call("scoro", "hub_export_invoice", ctx=ctx, credentials=credentials(),
                                invoice=make_invoice())
        assert receipt.number == "20260042" and not receipt.already_existed
        with pytest.raises(AuthError):
            registry.call("scoro", "hub_test_connection", ctx=ctx,
                          credentials=credentials(api_key="scoro-acme-wrong-000000000000000"))
    finally:
        ctx.close()
    state = app.extensions["sandbox"]
    assert {r.host for r in state.requests} == {ACME}  # routed by the Host header the hub keeps
    assert len(state.created_invoices(ACME)) == 1
    counts = httpx.get(f"{origin}/_sandbox/requests").json()
    assert counts == {"total": 6, "by_status": {"200": 5, "401": 1}}


def test_a_pasted_full_url_gets_the_prefix_to_use():
    with pytest.raises(marshmallow.ValidationError) as caught:
        creds.validate(hub_scoro.Credentials, {**sandbox.DEMO_CREDENTIALS, "subdomain": "https://acme.scoro.com/dashboard"})
    assert caught.value.messages["subdomain"] == [
        "Enter only the prefix of your Scoro address, not the full address: use acme."]


def test_an_export_whose_answer_timed_out_is_found_and_not_duplicated(server, registry, credentials, make_invoice):
    app, origin = server
    httpx.post(f"{origin}/_sandbox/knobs", json={"fault": "timeout", "timeout_s": 1.0})
    ctx = make_context("scoro", timeout=0.3, origin=origin)
    invoice = make_invoice(vendor_client_id="3")
    try:
        with pytest.raises(TransientError):
            registry.call("scoro", "hub_export_invoice", ctx=ctx, credentials=credentials(), invoice=invoice)
        httpx.post(f"{origin}/_sandbox/knobs", json={"fault": None})
        found = registry.call("scoro", "hub_find_invoice", ctx=ctx, credentials=credentials(), invoice=invoice)
        assert found is not None and found.already_existed
        again = registry.call("scoro", "hub_export_invoice", ctx=ctx, credentials=credentials(), invoice=invoice)
        assert again.vendor_invoice_id == found.vendor_invoice_id and again.already_existed
    finally:
        ctx.close()
    assert len(app.extensions["sandbox"].created_invoices(ACME)) == 1
