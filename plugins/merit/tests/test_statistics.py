"""Monthly statistics: counts equal what the seeded data implies, with the fewest calls (4 per list per year)."""

import datetime as dt
from collections import Counter
from decimal import Decimal

import httpx
import hub_merit
import pytest
from hub_merit import STATISTIC_KEYS, sandbox
from hub_merit.client import parse_date

from hub.testing import make_context, vendor_registry
from hub.types import Period, RateLimit

DEMO = sandbox.DEMO_CREDENTIALS
YEAR = Period.span(Period(2025, 12), Period(2026, 11))


def expected(company: sandbox.Company, periods: list[Period]) -> dict:
    """Counts computed straight from the sandbox's store, following the README definitions."""
    def months(rows, date_field="DocumentDate", when=lambda r: True):
        return Counter(Period.of(parse_date(r[date_field])) for r in rows if when(r))

    vat = lambda r: Decimal(str(r["TaxAmount"])) != 0  # noqa: E731
    entries, sales, purch, pays = (months(company.glbatches, "BatchDate"), months(company.invoices),
                                   months(company.purchases), months(company.payments))
    vat_sales, vat_purch = months(company.invoices, when=vat), months(company.purchases, when=vat)
    return {p: {"entries": entries[p], "vat_entries": vat_sales[p] + vat_purch[p],
                "documents": sales[p] + purch[p] + pays[p], "sales_invoices": sales[p],
                "purchase_invoices": purch[p], "payments": pays[p]} for p in periods}


def test_twelve_months_match_seed_with_sixteen_calls(call, state):
    stats = call("hub_fetch_statistics", credentials=DEMO, client=None, periods=YEAR)
    assert stats == expected(state.company(DEMO["api_id"]), YEAR)
    # 4 list endpoints x 4 windows of 3 months
    assert len(state.requests) == 16
    per_endpoint = Counter(r.path for r in state.requests)
    assert per_endpoint == {"/api/v1/getglbatches": 4, "/api/v1/getinvoices": 4, "/api/v1/getpurchorders": 4,
                            "/api/v1/getpayments": 4}
    assert all(r.status == 200 and r.method == "POST" for r in state.requests)
    invoice_windows = [r.body for r in state.requests if r.path == "/api/v1/getinvoices"]
    assert invoice_windows == [b'{"PeriodStart":"20251201","PeriodEnd":"20260228"}',
                               b'{"PeriodStart":"20260301","PeriodEnd":"20260531"}',
                               b'{"PeriodStart":"20260601","PeriodEnd":"20260831"}',
                               b'{"PeriodStart":"20260901","PeriodEnd":"20261130"}']
    gl = [r.body for r in state.requests if r.path == "/api/v1/getglbatches"]
    assert gl[0] == b'{"PeriodStart":"20251201","PeriodEnd":"20260228","DateType":0}'


def test_known_counts_for_the_demo_company(call):
    """Pinned numbers of the seeded demo company (fixed seed), so a changed seed is noticed."""
    stats = call("hub_fetch_statistics", credentials=DEMO, client=None, periods=[Period(2026, 1)])
    assert stats == {Period(2026, 1): {"entries": 23, "vat_entries": 11, "documents": 22, "sales_invoices": 7,
                                       "purchase_invoices": 6, "payments": 9}}


@pytest.mark.parametrize("creds", sandbox.DEMO_CLIENT_CREDENTIALS, ids=["EE", "FI", "PL"])
def test_other_client_companies(call, state, creds):
    periods = Period.span(Period(2025, 1), Period(2025, 12))
    stats = call("hub_fetch_statistics", credentials=creds, client=None, periods=periods)
    assert stats == expected(state.company(creds["api_id"]), periods)
    assert all(sum(v.values()) > 0 for v in stats.values())
    assert len(state.requests) == 16


def test_future_months_are_zero_for_payments_but_present(call):
    periods = [Period(2026, 12)]
    stats = call("hub_fetch_statistics", credentials=DEMO, client=None, periods=periods)
    assert set(stats[Period(2026, 12)]) == set(STATISTIC_KEYS)
    assert stats[Period(2026, 12)]["payments"] == 0  # nothing is paid after "today" (2026-11-22)
    assert stats[Period(2026, 12)]["sales_invoices"] > 0


def test_one_month_is_one_call_per_list(call, state):
    call("hub_fetch_statistics", credentials=DEMO, client=None, periods=[Period(2026, 5)])
    assert len(state.requests) == 4


def test_two_year_reload_stays_under_the_rate_limit(call, state):
    """The sandbox enforces 60/min by default; a 24-month reload is 32 calls and sees no 429."""
    periods = Period.span(Period(2025, 1), Period(2026, 12))
    call("hub_fetch_statistics", credentials=DEMO, client=None, periods=periods)
    assert state.knobs["rate_limit"] == "60/60"
    assert state.by_status() == {"200": 32}


def test_published_rate_limit_is_declared(registry):
    assert registry.get("merit").info.rate_limits == (RateLimit(60, 60),)
    assert registry.get("merit").info.per_client_credentials is True


def test_seed_is_deterministic():
    a, b = sandbox.seed_companies(), sandbox.seed_companies()
    assert [c.credentials for c in a] == [c.credentials for c in b]
    assert [len(c.invoices) for c in a] == [len(c.invoices) for c in b]
    assert a[0].invoices[5] == b[0].invoices[5]
    first = min(parse_date(g["BatchDate"]) for c in a for g in c.glbatches)
    last = max(parse_date(g["BatchDate"]) for c in a for g in c.glbatches)
    assert first <= dt.date(2025, 1, 31) and last >= dt.date(2026, 12, 1)
    assert sum(len(c.customers) for c in a) >= 24


# -- defect 1 (issue 13): GL batches are dated by BatchDate -----------------------------------------------------

def test_entries_count_gl_batches_by_batch_date_as_merit_documents_them(now):
    """Rows shaped like Merit's own getglbatches example (BatchDate, no DocumentDate) are counted. Before the
    fix the client bucketed GL batches by DocumentDate, which they do not have: "Entries" was always 0."""
    def row(no, day):
        return {"GLBId": f"0e0b6b8e-0cd5-4d35-a37f-d09e2492{no:04d}", "BatchCode": "PÄ", "No": no,
                "Document": f"doc-{no}", "BatchDate": f"{day}T00:00:00", "CurrencyCode": "EUR",
                "CurrencyRate": 1.0, "TotalAmount": 10.0, "PriceInclVat": 1, "FileExists": True}

    def handler(request):
        if request.url.path.endswith("/getglbatches"):
            return httpx.Response(200, json=[row(1, "2026-03-02"), row(2, "2026-03-31"), row(3, "2026-04-01")])
        return httpx.Response(200, json=[])

    ctx = make_context("merit", httpx.MockTransport(handler), now=lambda: now)
    stats = vendor_registry("merit", hub_merit).call("merit", "hub_fetch_statistics", ctx=ctx, credentials=DEMO,
                                                     client=None, periods=[Period(2026, 3), Period(2026, 4)])
    assert stats[Period(2026, 3)]["entries"] == 2 and stats[Period(2026, 4)]["entries"] == 1


def test_sandbox_gl_batches_have_the_documented_shape(app):
    """The sandbox answers getglbatches as Merit does: BatchDate, and no DocumentDate a client could lean on."""
    from hub_merit.client import MeritClient

    ctx = make_context("merit", httpx.WSGITransport(app=app))
    rows = MeritClient(ctx, DEMO).call("getglbatches", {"PeriodStart": "20260101", "PeriodEnd": "20260131"})
    assert rows and all("BatchDate" in r and "DocumentDate" not in r for r in rows)
    assert set(rows[0]) == {"GLBId", "BatchCode", "No", "Document", "BatchDate", "CurrencyCode", "CurrencyRate",
                            "TotalAmount", "PriceInclVat", "FileExists"}
