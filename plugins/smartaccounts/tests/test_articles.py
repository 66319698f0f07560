"""Articles: the company's sales articles are the products the hub maps to, every invoice row carries an article
code (the sandbox refuses a row without one), and rows without a product go on the default article, created once."""

from decimal import Decimal

import httpx
import hub_smartaccounts
import pytest
from hub_smartaccounts import client as sa_client
from hub_smartaccounts import sandbox
from hub_smartaccounts.client import SmartAccountsApi
from hub_smartaccounts.wire import FACTS

from hub.errors import ConfigError, VendorRejected
from hub.testing import make_context, vendor_registry
from hub.types import InvoiceLine, Product

DEMO = sandbox.DEMO_CREDENTIALS


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


def test_the_sandbox_answers_articles_with_the_fields_the_client_maps(make_ctx):
    """Wire fact ``article_fields``: every article of ``articles:get`` carries them (the client maps code,
    description, unit, vatPc, activeSales and priceSales onto the hub's products)."""
    rows = list(SmartAccountsApi(make_ctx(), DEMO).pages("purchasesales/articles:get"))
    assert rows and all(set(FACTS["article_fields"].value) <= set(row) for row in rows)


def test_the_sandbox_refuses_a_row_without_an_article_code(make_ctx, state):
    company = state.by_key(DEMO["api_key"])
    with pytest.raises(VendorRejected) as caught:
        SmartAccountsApi(make_ctx(), DEMO).write("purchasesales/clientinvoices:add", {
            "clientId": company.clients[0]["id"], "date": "20.11.2026",
            "rows": [{"description": "x", "quantity": 1, "price": 1, "vatPc": "24"}]})
    assert caught.value.field_messages == {"rows[0].code": ["rows[0].code: an article code is required"]}


def test_rows_without_a_product_get_the_default_article_created_once(call, make_ctx, state, make_invoice, bodies):
    company = state.by_key(DEMO["api_key"])
    ctx = make_ctx()
    call("hub_export_invoice", ctx=ctx, credentials=DEMO, invoice=make_invoice())
    call("hub_export_invoice", ctx=ctx, credentials=DEMO, invoice=make_invoice(number="UKU-1002", reference="r2"))
    assert [r.query_string.split("&code=")[1].split("&")[0] for r in state.requests
            if r.path.endswith("articles:get")] == ["UKU"]  # looked up once, then remembered
    assert bodies("articles:add") == [
        {"code": "UKU", "description": "Uku invoice line", "type": "SERVICE", "activeSales": True}]
    assert [a for a in company.articles if a["code"] == "UKU"][0]["type"] == "SERVICE"
    for body in bodies("clientinvoices:add"):
        assert [row["code"] for row in body["rows"]] == ["SERV", "UKU"]  # the mapped code, else the default


def test_an_operator_default_article_that_exists_is_not_created(call, make_ctx, state, make_invoice, bodies):
    ctx = make_ctx(settings={"default_article": "CONS"})
    call("hub_export_invoice", ctx=ctx, credentials=DEMO, invoice=make_invoice())
    assert not bodies("articles:add")
    assert [row["code"] for row in bodies("clientinvoices:add")[0]["rows"]] == ["SERV", "CONS"]


def test_rows_that_all_have_a_product_code_cost_no_article_call(call, state, make_invoice):
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
