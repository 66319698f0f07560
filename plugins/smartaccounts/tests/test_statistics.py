"""Statistics: the counts the seeded data implies, one paged read per list over the whole window."""

import datetime as dt
import math
from collections import Counter
from decimal import Decimal

import httpx
import pytest
from hub_smartaccounts import client as sa_client
from hub_smartaccounts import sandbox
from hub_smartaccounts.client import SmartAccountsApi

from hub.testing import make_context
from hub.types import Period

DEMO = sandbox.DEMO_CREDENTIALS
YEAR = Period.span(Period(2025, 11), Period(2026, 10))


def _day(text):
    return dt.datetime.strptime(text, "%d.%m.%Y").date()


def expected(company, periods):
    """The counts, computed straight from the sandbox's data store."""
    first, last = periods[0].first_day, periods[-1].last_day
    out = {p: dict.fromkeys(sa_client.STATISTIC_KEYS, 0) for p in periods}

    def inside(items):
        return [i for i in items if first <= _day(i["date"]) <= last]

    for key, items, keep in [
        ("sale_entries", company.client_invoices, lambda i: True),
        ("purchase_entries", company.vendor_invoices, lambda i: True),
        ("bank_entries", company.payments, lambda i: i["accountType"] == "BANK"),
        ("cash_entries", company.payments, lambda i: i["accountType"] == "CASH"),
        ("documents", company.entries(), lambda i: True),
        ("manual_entries", company.entries(), lambda i: i["docType"] == "LEDGER_ENTRY"),
    ]:
        for item in inside(items):
            if keep(item):
                out[Period.of(_day(item["date"]))][key] += 1
    pages = sum(max(1, math.ceil(len(inside(items)) / sandbox.PAGE_SIZE))
                for items in (company.client_invoices, company.vendor_invoices, company.payments, company.entries()))
    return out, pages


@pytest.mark.parametrize("credentials", [DEMO, *sandbox.DEMO_CLIENT_CREDENTIALS])
def test_twelve_months_match_the_seeded_data_with_minimal_calls(credentials, call, state):
    stats = call("hub_fetch_statistics", credentials=credentials, client=None, periods=YEAR)
    want, pages = expected(state.by_key(credentials["api_key"]), YEAR)
    assert stats == want
    assert len(state.requests) == pages
    paths = Counter(r.path for r in state.requests)
    assert set(paths) == {"/api/purchasesales/clientinvoices:get", "/api/purchasesales/vendorinvoices:get",
                          "/api/purchasesales/payments:get", "/api/general/entries:get"}
    for r in state.requests:  # every call asks for the whole window
        assert "&dateFrom=01.11.2025&dateTo=31.10.2026&pageNumber=" in r.query_string


def test_demo_company_known_numbers(call, state):
    """Pinned numbers of the seeded demo company (seed 20261122), so a seed change is noticed."""
    stats = call("hub_fetch_statistics", credentials=DEMO, client=None, periods=YEAR)
    assert stats[Period(2026, 1)] == {"sale_entries": 24, "purchase_entries": 10, "bank_entries": 11,
                                      "documents": 52, "cash_entries": 5, "manual_entries": 2}
    assert sum(v["sale_entries"] for v in stats.values()) == 228
    # 228 sales invoices (3 pages) + 132 purchase invoices (2) + 212 payments (3) + 596 ledger entries (6)
    assert len(state.requests) == 3 + 2 + 3 + 6


def test_pages_until_has_more_entries_is_false(call, state):
    call("hub_fetch_statistics", credentials=DEMO, client=None, periods=YEAR)
    invoices = [r for r in state.requests if r.path.endswith("clientinvoices:get")]
    assert [r.query_string.split("pageNumber=")[1].split("&")[0] for r in invoices] == ["1", "2", "3"]


def test_small_client_year_is_four_calls():
    """A client with at most 100 documents of each kind a year: exactly 4 calls per client-year."""
    calls = []

    def handler(request):
        calls.append(request.url.path)
        key = {"/api/purchasesales/clientinvoices:get": "clientInvoices", "/api/purchasesales/vendorinvoices:get":
               "vendorInvoices", "/api/purchasesales/payments:get": "payments",
               "/api/general/entries:get": "entries"}[request.url.path]
        items = [{"id": 1, "date": "15.03.2026", "accountType": "BANK", "docType": "LEDGER_ENTRY"}]
        return httpx.Response(200, json={key: items, "deleted": [7, 8], "hasMoreEntries": False})

    ctx = make_context("smartaccounts", httpx.MockTransport(handler))
    stats = sa_client.fetch_statistics(SmartAccountsApi(ctx, DEMO), YEAR)
    assert len(calls) == 4
    assert stats[Period(2026, 3)] == {"sale_entries": 1, "purchase_entries": 1, "bank_entries": 1, "documents": 1,
                                      "cash_entries": 0, "manual_entries": 1}
    assert all(sum(v.values()) == 0 for p, v in stats.items() if p != Period(2026, 3))


def test_every_period_and_key_even_when_empty(call):
    periods = Period.span(Period(2024, 1), Period(2024, 3))  # before the seeded data
    stats = call("hub_fetch_statistics", credentials=DEMO, client=None, periods=periods)
    assert stats == {p: dict.fromkeys(sa_client.STATISTIC_KEYS, 0) for p in periods}


def test_created_invoice_is_counted(call, state):
    company = state.by_key(DEMO["api_key"])
    before = call("hub_fetch_statistics", credentials=DEMO, client=None, periods=[Period(2026, 11)])
    company.client_invoices.append(sandbox._build_invoice(
        company, company.clients[0], "22.11.2026", "X-1", None, "", [
            {"code": None, "description": "x", "quantity": Decimal(1), "price": Decimal(1), "vatPc": "24"}]))
    after = call("hub_fetch_statistics", credentials=DEMO, client=None, periods=[Period(2026, 11)])
    assert after[Period(2026, 11)]["sale_entries"] == before[Period(2026, 11)]["sale_entries"] + 1
    assert after[Period(2026, 11)]["documents"] == before[Period(2026, 11)]["documents"] + 1


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
