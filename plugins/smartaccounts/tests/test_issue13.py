"""Issue 13 (wire defects found against independent clients): lists under their own key next to `deleted`,
an article code on every invoice row, and 503 + Retry-After as throttling."""

import datetime as dt
import json
from decimal import Decimal

import httpx
import hub_smartaccounts
import pytest
from hub_smartaccounts import client as sa_client
from hub_smartaccounts import sandbox
from hub_smartaccounts.client import SmartAccountsApi

from hub.errors import ConfigError, RateLimited, TransientError, VendorRejected
from hub.testing import make_context, vendor_registry
from hub.types import ExportReceipt, InvoiceLine, Period, Product

from .test_export import make_invoice

DEMO = sandbox.DEMO_CREDENTIALS


def _bodies(state, suffix):
    return [json.loads(r.body) for r in state.requests if r.path.endswith(suffix)]


# -- lists come under a service-specific key, next to `deleted` --------------------------------------------------
@pytest.mark.parametrize("endpoint, key", [("purchasesales/clientinvoices:get", "clientInvoices"),
                                           ("purchasesales/vendorinvoices:get", "vendorInvoices"),
                                           ("purchasesales/payments:get", "payments")])
def test_the_sandbox_answers_document_lists_under_their_own_key_next_to_deleted(make_ctx, endpoint, key):
    body = SmartAccountsApi(make_ctx(), DEMO).read(endpoint, dateFrom="01.01.2026", dateTo="31.01.2026")
    assert set(body) == {key, "deleted", "hasMoreEntries"}
    assert body[key] and all(isinstance(i, int) for i in body["deleted"]) and body["deleted"]


def test_statistics_read_the_go_clients_shape(call):
    """The answer shape of the independent Go client: rows under `clientInvoices`, a `deleted` array beside."""
    def handler(request):
        key = {"/api/purchasesales/clientinvoices:get": "clientInvoices",
               "/api/purchasesales/vendorinvoices:get": "vendorInvoices",
               "/api/purchasesales/payments:get": "payments", "/api/general/entries:get": "entries"}[request.url.path]
        rows = [{"id": n, "date": f"{n:02d}.02.2026", "accountType": "BANK"} for n in range(1, 4)]
        return httpx.Response(200, json={key: rows, "deleted": [{"id": 99}], "hasMoreEntries": False})

    stats = call("hub_fetch_statistics", ctx=make_context("smartaccounts", httpx.MockTransport(handler)),
                 credentials=DEMO, client=None, periods=[Period(2026, 2)])
    assert stats[Period(2026, 2)] == {"sale_entries": 3, "purchase_entries": 3, "bank_entries": 3, "documents": 3,
                                      "cash_entries": 0, "manual_entries": 0}


def test_find_invoice_reads_the_go_clients_shape(call):
    row = {"id": 501, "invoiceNumber": "UKU-1001", "number": "M501", "date": "20.11.2026",
           "comment": "Uku ref uku-inv-1001-smartaccounts"}

    def handler(request):
        assert request.url.path == "/api/purchasesales/clientinvoices:get"
        return httpx.Response(200, json={"clientInvoices": [row], "deleted": [], "hasMoreEntries": False})

    found = call("hub_find_invoice", ctx=make_context("smartaccounts", httpx.MockTransport(handler)),
                 credentials=DEMO, invoice=make_invoice())
    assert found == ExportReceipt(vendor_invoice_id="501", number="UKU-1001", already_existed=True)


def test_an_answer_without_the_lists_key_is_not_guessed_at():
    body = {"invoices": [{"id": 1, "date": "01.02.2026"}], "hasMoreEntries": False}
    ctx = make_context("smartaccounts", httpx.MockTransport(lambda r: httpx.Response(200, json=body)))
    with pytest.raises(TransientError, match="expected list of clientInvoices .*hasMoreEntries, invoices"):
        list(SmartAccountsApi(ctx, DEMO).pages("purchasesales/clientinvoices:get"))


# -- every invoice row carries an article code -----------------------------------------------------------------
def test_the_sandbox_refuses_a_row_without_an_article_code(make_ctx, state):
    company = state.by_key(DEMO["api_key"])
    with pytest.raises(VendorRejected) as caught:
        SmartAccountsApi(make_ctx(), DEMO).write("purchasesales/clientinvoices:add", {
            "clientId": company.clients[0]["id"], "date": "20.11.2026",
            "rows": [{"description": "x", "quantity": 1, "price": 1, "vatPc": "24"}]})
    assert caught.value.field_messages == {"rows[0].code": ["rows[0].code: an article code is required"]}


def test_rows_without_a_product_get_the_default_article_created_once(call, make_ctx, state):
    company = state.by_key(DEMO["api_key"])
    ctx = make_ctx()
    call("hub_export_invoice", ctx=ctx, credentials=DEMO, invoice=make_invoice())
    call("hub_export_invoice", ctx=ctx, credentials=DEMO, invoice=make_invoice(number="UKU-1002", reference="r2"))
    assert [r.query_string.split("&code=")[1].split("&")[0] for r in state.requests
            if r.path.endswith("articles:get")] == ["UKU"]  # looked up once, then remembered
    assert _bodies(state, "articles:add") == [
        {"code": "UKU", "description": "Uku invoice line", "type": "SERVICE", "activeSales": True}]
    assert [a for a in company.articles if a["code"] == "UKU"][0]["type"] == "SERVICE"
    for body in _bodies(state, "clientinvoices:add"):
        assert [row["code"] for row in body["rows"]] == ["SERV", "UKU"]  # the mapped code, else the default


def test_an_operator_default_article_that_exists_is_not_created(call, make_ctx, state):
    ctx = make_ctx(settings={"default_article": "CONS"})
    call("hub_export_invoice", ctx=ctx, credentials=DEMO, invoice=make_invoice())
    assert not _bodies(state, "articles:add")
    assert [row["code"] for row in _bodies(state, "clientinvoices:add")[0]["rows"]] == ["SERV", "CONS"]


def test_rows_that_all_have_a_product_code_cost_no_article_call(call, state):
    lines = (InvoiceLine("Rent", Decimal("1"), Decimal("650"), Decimal("24"), product_code="RENT", tax_id="24"),)
    call("hub_export_invoice", credentials=DEMO, invoice=make_invoice(lines=lines))
    assert not [r for r in state.requests if "articles:" in r.path]


def test_a_default_article_smartaccounts_refuses_is_a_config_error():
    def handler(request):
        if request.url.path.endswith("articles:get"):
            return httpx.Response(200, json={"articles": [], "hasMoreEntries": False})
        return httpx.Response(400, json={"errors": [{"code": "INVALID_VALUE", "field": "code",
                                                     "message": "code: too long"}]})

    ctx = make_context("smartaccounts", httpx.MockTransport(handler), settings={"default_article": "X" * 80})
    with pytest.raises(ConfigError) as caught:
        sa_client.default_article(SmartAccountsApi(ctx, DEMO))
    assert "code: too long" in caught.value.message and "Create an article with code" in caught.value.hint


def test_articles_are_the_products_the_hub_maps_to(call, state):
    vendor = vendor_registry("smartaccounts", hub_smartaccounts).get("smartaccounts")
    assert "products" in vendor.capabilities
    company = state.by_key(DEMO["api_key"])
    company.articles.append({**company.articles[0], "code": "OLD", "activeSales": False})
    products = call("hub_list_products", credentials=DEMO)
    assert products[0] == Product(id="SERV", code="SERV", name="Raamatupidamisteenus", unit_price=Decimal("45.0"),
                                  unit="h", tax_id="24")
    assert [p.code for p in products] == ["SERV", "CONS", "GOODS", "SHIP", "RENT"]  # not the inactive one
    assert [r.path for r in state.requests] == ["/api/purchasesales/articles:get"]


# -- 503 with Retry-After is throttling ------------------------------------------------------------------------
def test_a_503_with_a_long_retry_after_is_rate_limited(make_ctx, state):
    state.knobs.update(fault="503", retry_after=120)
    with pytest.raises(RateLimited) as caught:
        SmartAccountsApi(make_ctx(), DEMO).read("settings/vatpcs:get")
    assert caught.value.retry_after == 120
    assert [r.status for r in state.requests] == [503]


def test_a_503_with_a_short_retry_after_is_waited_out(make_ctx, state):
    state.knobs.update(fault="503", fault_every=2, retry_after=1)
    api = SmartAccountsApi(make_ctx(), DEMO)
    api.read("settings/vatpcs:get")
    api.read("settings/vatpcs:get")
    assert [r.status for r in state.requests] == [200, 503, 200]


def test_the_sandbox_throttles_with_503_and_the_wait(make_ctx, state):
    state.knobs.update(rate_limit=None, daily_limit=1)
    api = SmartAccountsApi(make_ctx(now=lambda: dt.datetime.now(dt.UTC)), DEMO)
    api.read("settings/vatpcs:get")
    with pytest.raises(RateLimited) as caught:
        api.read("settings/vatpcs:get")
    assert state.requests[-1].status == 503 and caught.value.retry_after > 80000


def test_a_default_article_created_meanwhile_by_another_export_is_used():
    gets = []

    def handler(request):
        if request.url.path.endswith("articles:get"):
            gets.append(1)
            rows = [{"code": "UKU", "description": "Uku invoice line"}] if len(gets) > 1 else []
            return httpx.Response(200, json={"articles": rows, "hasMoreEntries": False})
        return httpx.Response(400, json={"errors": [{"code": "ARTICLE_EXISTS", "field": "code",
                                                     "message": "code: article UKU already exists"}]})

    ctx = make_context("smartaccounts", httpx.MockTransport(handler))
    assert sa_client.default_article(SmartAccountsApi(ctx, DEMO)) == "UKU" and len(gets) == 2
