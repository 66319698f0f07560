"""Booked as issued (issue 27): invoices with rounding-sensitive lines go to the sandbox over real HTTP, are read
back with ``hub_find_invoice`` (Scoro's own ``invoices/view``), and Scoro's booked totals equal the hub's to the
cent; a sandbox made to book otherwise shows it. Also: a private person is a ``person`` contact, and the daily
quota waits until 00:00 UTC."""

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal

import hub_scoro
import pytest
from hub_scoro import sandbox

from hub import testing
from hub.errors import RateLimited
from hub.testing import sample_invoice
from hub.testing.sandbox import serve
from hub.types import Address, Invoice, InvoiceLine, InvoiceParty

CENT = Decimal("0.01")


COMPANY = InvoiceParty(name="Põhja Puit OÜ", reg_code="12345678", email="arved@pohja.example",
                       address=Address(street="Mere pst 1", city="Tallinn", postal_code="10111", country="EE"))
PERSON = InvoiceParty(name="Mari Maasikas", email="mari@example.test", private_person=True,
                      address=Address(street="Väga pika nimega tänav " * 8, city="Tallinn", postal_code="10111",
                                      country="EE"))
CASES = {
    "three-dimes": ([("Pen", "1", "0.10", "22")] * 3, COMPANY),
    "zero": ([("Export", "1", "400.00", "0")], COMPANY),
    "many-small": ([(f"Row {n}", "3", "0.333", r) for n in range(25) for r in ("24", "9", "0", "13")], COMPANY),
    "person": ([("Consulting", "1.5", "60.00", "24"), ("Book", "2", "9.99", "9")], PERSON),
}


def invoice(n: int, lines, client) -> Invoice:
    lines = tuple(InvoiceLine(text, Decimal(q), Decimal(p), Decimal(r)) for text, q, p, r in lines)
    return sample_invoice(reference=f"hub-booked-{n}", number=f"2026099{n}", client=client, lines=lines,
                          vat_rounding=hub_scoro.hub_vendor().vat_rounding)


@pytest.fixture
def export_and_read_back(credentials):
    """``export_and_read_back(origin, invoice)``: export over HTTP to the sandbox at ``origin``, find it again and
    return what Scoro booked."""

    return lambda origin, inv: testing.export_and_read_back("scoro", hub_scoro, credentials(), inv, origin=origin)


@pytest.mark.parametrize("case", CASES)
def test_booked_totals_equal_the_hubs_to_the_cent(case, export_and_read_back):
    lines, client = CASES[case]
    inv = invoice(list(CASES).index(case), lines, client)
    with serve(sandbox.create_app()) as served:
        booked = export_and_read_back(served.origin, inv)
    assert (booked.total_net, booked.total_vat, booked.total) == (inv.total_net, inv.total_vat, inv.total)
    assert booked.currency == "EUR"
    assert [(b.net, b.vat_rate) for b in booked.lines] == [(line.net.quantize(CENT, ROUND_HALF_UP), line.vat_rate)
                                                           for line in inv.lines]


def test_a_private_person_is_created_as_a_person_contact(export_and_read_back):
    with serve(sandbox.create_app()) as served:
        export_and_read_back(served.origin, invoice(3, *CASES["person"]))
        created = [json.loads(r.body)["request"] for r in served.app.extensions["sandbox"].requests
                   if r.path == "/api/v2/contacts/modify"]
    assert [(c["contact_type"], c["name"]) for c in created] == [("person", "Mari Maasikas")]


def test_a_sandbox_booking_vat_per_line_shows_in_the_booked_totals(export_and_read_back):
    inv = invoice(0, *CASES["three-dimes"])
    with serve(sandbox.create_app(book_vat_rounding="line")) as served:
        booked = export_and_read_back(served.origin, inv)
    assert (inv.total_vat, booked.total_vat, booked.total) == (Decimal("0.07"), Decimal("0.06"), Decimal("0.36"))


@pytest.mark.parametrize("error_http_status", ["mirror", "200"])
def test_the_daily_quota_waits_until_midnight_utc(error_http_status, harness):
    now = dt.datetime(2026, 11, 22, 21, 30, tzinfo=dt.UTC)
    h = harness(now=lambda: now, daily_limit=2, error_http_status=error_http_status)
    h.call("hub_test_connection")
    h.call("hub_list_tax_rates")
    with pytest.raises(RateLimited) as caught:
        h.call("hub_list_tax_rates")
    assert caught.value.retry_after == 9000  # 2 h 30 min to 00:00 UTC
    assert (caught.value.until, caught.value.quota) == (dt.datetime(2026, 11, 23, 0, 0), "daily")  # parked, uncounted
    assert "daily API request quota" in caught.value.message
    assert "x-daily-requests-remaining: 0" in caught.value.message and "00:00 UTC" in caught.value.message
    assert h.requests[-1].status == (429 if error_http_status == "mirror" else 200)


def test_a_short_rate_limit_is_not_taken_for_the_daily_quota(harness):
    h = harness(rate_limit="1/60")
    h.call("hub_test_connection")
    with pytest.raises(RateLimited) as caught:
        h.call("hub_test_connection")
    assert "daily" not in caught.value.message and caught.value.retry_after <= 60
    assert caught.value.until is None and caught.value.quota is None

