"""Booked as issued (issue 27): invoices with rounding-sensitive lines go to the sandbox over real HTTP, are read
back with ``hub_find_invoice`` (Merit's own ``getinvoice`` answer), and Merit's booked totals equal the hub's to the
cent when the hub totals them Merit's way (``vat_rounding="line"``); a sandbox made to book otherwise shows it."""

import datetime as dt
import json
from decimal import Decimal

import httpx
import hub_merit
import pytest
from hub_merit import sandbox
from hub_merit.client import MeritClient
from hub_merit.wire import fact

from hub import testing
from hub.errors import VendorRejected
from hub.testing import make_context, sample_invoice, vendor_registry
from hub.testing.sandbox import serve
from hub.types import Address, InvoiceLine, InvoiceParty

DEMO = sandbox.DEMO_CREDENTIALS
FINLAND = sandbox.DEMO_CLIENT_CREDENTIALS[1]
CENT = Decimal("0.01")


def tax_ids(app, creds):
    return {t["TaxPct"]: t["Id"] for t in app.extensions["sandbox"].company(creds["api_id"]).taxes
            if t["Code"] != "-"}


def invoice(app, number, lines, creds=DEMO, client=None):
    ids = tax_ids(app, creds)
    lines = tuple(InvoiceLine(text, Decimal(q), Decimal(p), Decimal(r), tax_id=ids[Decimal(r)])
                  for text, q, p, r in lines)
    return sample_invoice(reference=f"ref-{number}", number=number, lines=lines,
                          client=client or InvoiceParty(name="Väike Klient OÜ", reg_code="16000009", email="a@b.test"),
                          vat_rounding=hub_merit.hub_vendor().vat_rounding)


THREE_DIMES = [("Pastakas", "1", "0.10", "22")] * 3  # rows give 0.06 VAT; one sum per rate would give 0.07
TWO_ODD = [("Kaal", "1", "10.004", "22")] * 2  # rows give 20.00 net; the unrounded sum 20.008 would give 20.01
MANY_SMALL = [(f"Rida {n}", "3", "0.333", r) for n in range(40) for r in ("24", "9", "0", "13")]
LONG_PERSON = InvoiceParty(name="Mari Maasikas", private_person=True, email="mari@example.test", address=Address(
    street="Väga pika nimega tänav " * 8, city="Kõige pikema nimega alevik Eestis", postal_code="10123",
    country="EE"))


@pytest.fixture
def serve_merit():
    served_apps = []

    def start(**knobs):
        served = serve(sandbox.create_app(**knobs))
        served_apps.append(served)
        return served
    yield start
    for served in served_apps:
        served.stop()


def export_and_read_back(served, inv, creds=DEMO):
    return testing.export_and_read_back("merit", hub_merit, creds, inv, origin=served.origin)


@pytest.mark.parametrize(("number", "lines", "creds"), [
    ("R-3DIMES", THREE_DIMES, DEMO), ("R-2ODD", TWO_ODD, DEMO), ("R-MANY", MANY_SMALL, DEMO),
    ("R-FI", [("Palvelu", "7", "0.155", "25.5"), ("Kirja", "3", "0.35", "14"), ("Vienti", "1", "99.99", "0")],
     FINLAND),
])
def test_booked_totals_equal_the_hubs_to_the_cent(serve_merit, number, lines, creds):
    served = serve_merit()
    inv = invoice(served.app, number, lines, creds)
    booked = export_and_read_back(served, inv, creds)
    assert (booked.total_net, booked.total_vat, booked.total) == (inv.total_net, inv.total_vat, inv.total)
    assert booked.currency == "EUR" and len(booked.lines) == len(inv.lines)
    assert sum(line.vat for line in booked.lines) == inv.total_vat
    assert [line.vat_rate for line in booked.lines] == [line.vat_rate for line in inv.lines]


def test_the_sent_amounts_are_the_row_rounded_sums(serve_merit):
    served = serve_merit()
    export_and_read_back(served, invoice(served.app, "R-3DIMES", THREE_DIMES))
    export_and_read_back(served, invoice(served.app, "R-2ODD", TWO_ODD))
    sent = [json.loads(r.body) for r in served.app.extensions["sandbox"].requests if r.path.endswith("sendinvoice")]
    assert [[e["Amount"] for e in body["TaxAmount"]] for body in sent] == [[0.06], [4.4]]
    assert [body["TotalAmount"] for body in sent] == [0.3, 20.0]


def test_a_private_person_with_a_long_address_is_booked_with_the_address_cut(serve_merit):
    served = serve_merit()
    inv = invoice(served.app, "R-PERSON", THREE_DIMES + TWO_ODD, client=LONG_PERSON)
    booked = export_and_read_back(served, inv)
    assert (booked.total_net, booked.total_vat, booked.buyer_name) == (inv.total_net, inv.total_vat, "Mari Maasikas")
    customer = next(c for c in served.app.extensions["sandbox"].company(DEMO["api_id"]).customers
                    if c["Name"] == "Mari Maasikas")
    assert len(customer["Address"]) == 100 and len(customer["City"]) == 30 and customer["NotTDCustomer"] is True


@pytest.mark.parametrize(("field", "value"), [("postal_code", "1" * 16), ("email", "a" * 75 + "@b.test")])
def test_a_too_long_postal_code_or_email_is_refused_before_sending(serve_merit, field, value):
    served = serve_merit()
    address = Address(street="Pikk 1", city="Tallinn", postal_code=value if field == "postal_code" else "10123",
                      country="EE")
    client = InvoiceParty(name="Pikk Klient OÜ", reg_code="16000010", address=address,
                          email=value if field == "email" else "a@b.test")
    with pytest.raises(VendorRejected) as refused:
        export_and_read_back(served, invoice(served.app, "R-LONG", THREE_DIMES, client=client))
    assert "too long for Merit" in str(refused.value) and "at most" in refused.value.field_messages["client"][0]
    assert not [r for r in served.app.extensions["sandbox"].requests if r.path.endswith("sendinvoice")]


def test_a_sandbox_booking_vat_once_per_rate_shows_in_the_booked_totals(serve_merit):
    served = serve_merit(book_vat_rounding="rate")
    inv = invoice(served.app, "R-DIFF", THREE_DIMES)
    booked = export_and_read_back(served, inv)
    assert (inv.total_vat, booked.total_vat, booked.total) == (Decimal("0.06"), Decimal("0.07"), Decimal("0.37"))


def test_finland_reads_percent_and_gets_gl_batches_with_get():
    app = sandbox.create_app()
    with serve(app) as served:
        registry = vendor_registry("merit", hub_merit)
        ctx = make_context("merit", origin=served.origin)
        try:
            rates = registry.call("merit", "hub_list_tax_rates", ctx=ctx, credentials=FINLAND)
            stats = registry.call("merit", "hub_fetch_statistics", ctx=ctx, credentials=FINLAND, client=None,
                                  periods=[hub_merit.Period(2026, 1)])
        finally:
            ctx.close()
    assert Decimal("25.5") in {r.rate for r in rates}
    assert sum(v["entries"] for v in stats.values()) > 0
    gl = [(r.method, r.status) for r in app.extensions["sandbox"].requests if r.path.endswith("getglbatches")]
    assert gl == [("GET", 200)]


def test_gl_batches_fall_back_to_the_other_method_on_405():
    """A Finnish company whose service takes POST after all (the sources disagree): GET first, then POST on 405."""
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if request.method == "GET":
            return httpx.Response(405, text="Method Not Allowed")
        return httpx.Response(200, json=[{"BatchDate": "2026-01-05T00:00:00"}])

    ctx = make_context("merit", httpx.MockTransport(handler))
    try:
        rows = MeritClient(ctx, FINLAND).list_rows("v1/getglbatches", dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    finally:
        ctx.close()
    assert (seen, rows) == (["GET", "POST"], [{"BatchDate": "2026-01-05T00:00:00"}])


def test_the_sandbox_refuses_a_new_customer_field_over_its_limit():
    """What Merit enforces (wire fact ``new_customer_max``): a longer field fails as a "would be truncated" page."""
    ids = {t["TaxPct"]: t["Id"] for t in sandbox.seed_companies()[0].taxes if t["Code"] != "-"}
    payload = {"Customer": {"Name": "Pikk OÜ", "CountryCode": "EE", "NotTDCustomer": False, "City": "x" * 31},
               "DocDate": "20261120000000", "DueDate": "20261204000000", "InvoiceNo": "R-CITY",
               "InvoiceRow": [{"Item": {"Code": "TEENUS", "Description": "x", "Type": 2}, "Quantity": 1, "Price": 1,
                               "TaxId": ids[Decimal(22)]}],
               "TaxAmount": [{"TaxId": ids[Decimal(22)], "Amount": 0.22}], "TotalAmount": 1}
    ctx = make_context("merit", httpx.WSGITransport(app=sandbox.create_app()))
    try:
        with pytest.raises(VendorRejected) as refused:
            MeritClient(ctx, DEMO).call("v1/sendinvoice", payload)
    finally:
        ctx.close()
    assert "would be truncated" in refused.value.message
    assert fact("customer_field_too_long_answer")[1] in refused.value.message
