"""Invoice export (v1/sendinvoice), find-invoice, tax rates, products and paid status back."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from hub_merit import sandbox

from hub.errors import TransientError, VendorRejected
from hub.types import Address, Invoice, InvoiceLine, InvoiceParty

DEMO = sandbox.DEMO_CREDENTIALS


def taxes(state, creds=DEMO):
    return {t["Code"]: t["Id"] for t in state.company(creds["api_id"]).taxes}


def make_invoice(state, number="UKU-2026-0042", **overrides):
    t = taxes(state)
    lines = (
        InvoiceLine("Raamatupidamisteenus november", Decimal("1"), Decimal("250.0000"), Decimal("22"),
                    product_code="RAAM", tax_id=t["22%"], unit="tk"),
        InvoiceLine("Palgaarvestus", Decimal("7"), Decimal("12.5000"), Decimal("22"), product_code="PALK",
                    tax_id=t["22%"]),
        InvoiceLine("Raamat", Decimal("2"), Decimal("9.99"), Decimal("9"), tax_id=t["9%"]),
    )
    values = dict(reference="exp-17-merit", number=number,
                  client=InvoiceParty(name="Uus Klient OÜ", reg_code="16000001", email="arved@uus.test",
                                      address=Address(street="Pikk 1", city="Tallinn", postal_code="10123",
                                                      country="EE")),
                  issue_date=dt.date(2026, 11, 20), due_date=dt.date(2026, 12, 4), currency="EUR", lines=lines,
                  total_net=Decimal("357.48"), total_vat=Decimal("75.03"), total=Decimal("432.51"))
    values.update(overrides)
    return Invoice(**values)


def test_export_payload_is_pinned(call, state):
    invoice = make_invoice(state)
    receipt = call("hub_export_invoice", credentials=DEMO, invoice=invoice)
    assert receipt.number == "UKU-2026-0042" and not receipt.already_existed
    [req] = state.requests  # every line has a tax id: no gettaxes call needed
    assert (req.method, req.host, req.path) == ("POST", "aktiva.merit.ee", "/api/v1/sendinvoice")
    body = json.loads(req.body)
    t = taxes(state)
    assert body == {
        "Customer": {"Name": "Uus Klient OÜ", "CountryCode": "EE", "NotTDCustomer": False, "RegNo": "16000001",
                     "Email": "arved@uus.test", "Address": "Pikk 1", "City": "Tallinn", "PostalCode": "10123"},
        "DocDate": "20261120000000", "DueDate": "20261204000000", "TransactionDate": "20261120000000",
        "InvoiceNo": "UKU-2026-0042", "CurrencyCode": "EUR",
        "InvoiceRow": [
            {"Item": {"Code": "RAAM", "Description": "Raamatupidamisteenus november", "Type": 2, "UOMName": "tk"},
             "Quantity": 1, "Price": 250, "TaxId": t["22%"]},
            {"Item": {"Code": "PALK", "Description": "Palgaarvestus", "Type": 2}, "Quantity": 7, "Price": 12.5,
             "TaxId": t["22%"]},
            {"Item": {"Code": "TEENUS", "Description": "Raamat", "Type": 2}, "Quantity": 2, "Price": 9.99,
             "TaxId": t["9%"]},
        ],
        # VAT summed per TaxId: 22% of 337.50 = 74.25; 9% of 19.98 = 1.80
        "TaxAmount": [{"TaxId": t["22%"], "Amount": 74.25}, {"TaxId": t["9%"], "Amount": 1.80}],
        "TotalAmount": 357.48,
    }
    assert b'"Amount":1.80' in req.body and b'"TotalAmount":357.48' in req.body  # numbers, '.' separator
    assert b"Email" not in req.body.split(b"InvoiceRow")[1]  # nothing asks Merit to e-mail the invoice
    created = state.created[-1]
    assert receipt.vendor_invoice_id == created["SIHId"]
    assert created["TaxAmount"] == Decimal("76.05") and created["TotalSum"] == Decimal("433.53")


def test_export_twice_leaves_one_invoice(call, state):
    invoice = make_invoice(state)
    first = call("hub_export_invoice", credentials=DEMO, invoice=invoice)
    second = call("hub_export_invoice", credentials=DEMO, invoice=invoice)
    assert second.already_existed and second.vendor_invoice_id == first.vendor_invoice_id
    company = state.company(DEMO["api_id"])
    assert [i["InvoiceNo"] for i in company.invoices].count("UKU-2026-0042") == 1
    assert len(state.created) == 1
    # the duplicate answer was a 400 text, then one lookup window of one day
    assert [r.status for r in state.requests] == [200, 400, 200]
    assert state.requests[2].body == b'{"PeriodStart":"20261120","PeriodEnd":"20261120"}'


def test_find_invoice_before_and_after_export(call, state):
    invoice = make_invoice(state)
    assert call("hub_find_invoice", credentials=DEMO, invoice=invoice) is None
    receipt = call("hub_export_invoice", credentials=DEMO, invoice=invoice)
    found = call("hub_find_invoice", credentials=DEMO, invoice=invoice)
    assert found.vendor_invoice_id == receipt.vendor_invoice_id and found.already_existed
    assert all(r.path == "/api/v1/getinvoices" for r in state.requests if r.path != "/api/v1/sendinvoice")


def test_linked_client_is_sent_by_id(call, state):
    customer = state.company(DEMO["api_id"]).customers[3]
    invoice = make_invoice(state, client=InvoiceParty(name="ignored", vendor_client_id=customer["CustomerId"]))
    call("hub_export_invoice", credentials=DEMO, invoice=invoice)
    assert json.loads(state.requests[-1].body)["Customer"] == {"Id": customer["CustomerId"]}
    assert state.created[-1]["CustomerName"] == customer["Name"]


def test_missing_tax_id_falls_back_to_rate_match(call, state):
    invoice = make_invoice(state, lines=(InvoiceLine("Konsultatsioon", Decimal("2"), Decimal("65"), Decimal("22")),))
    call("hub_export_invoice", credentials=DEMO, invoice=invoice)
    assert [r.path for r in state.requests] == ["/api/v1/gettaxes", "/api/v1/sendinvoice"]
    row = json.loads(state.requests[-1].body)["InvoiceRow"][0]
    assert row["TaxId"] == taxes(state)["22%"]


def test_unknown_rate_without_tax_id_is_rejected_per_line(call, state):
    invoice = make_invoice(state, lines=(InvoiceLine("X", Decimal("1"), Decimal("10"), Decimal("17")),))
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", credentials=DEMO, invoice=invoice)
    assert "lines" in caught.value.field_messages
    assert [r.path for r in state.requests] == ["/api/v1/gettaxes"]


def test_invoice_without_rows_is_rejected_before_sending(call, state):
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", credentials=DEMO, invoice=make_invoice(state, lines=()))
    assert caught.value.field_messages == {"lines": ["Merit Aktiva needs at least one invoice row."]}
    assert state.requests == []


def test_more_than_200_rows_is_rejected(call, state):
    line = make_invoice(state).lines[0]
    with pytest.raises(VendorRejected):
        call("hub_export_invoice", credentials=DEMO, invoice=make_invoice(state, lines=(line,) * 201))
    assert state.requests == []


def test_vendor_400_becomes_field_messages(call, state):
    t = taxes(state)
    # the hub mapped 22 % lines to Merit's 9 % tax: Merit refuses the TaxAmount
    invoice = make_invoice(state, lines=(InvoiceLine("X", Decimal("1"), Decimal("100"), Decimal("22"),
                                                     tax_id=t["9%"]),))
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", credentials=DEMO, invoice=invoice)
    assert "TaxAmount" in caught.value.field_messages[""][0]
    assert state.created == []


def test_sandbox_answers_an_invoice_without_rows_with_a_stack_trace(app, now):
    import httpx
    from hub_merit.client import MeritClient

    from hub.testing import make_context

    ctx = make_context("merit", httpx.WSGITransport(app=app), now=lambda: now)
    with pytest.raises(TransientError):
        MeritClient(ctx, DEMO).call("sendinvoice", {"InvoiceNo": "1", "InvoiceRow": []})


def test_tax_rates_and_products(call, state):
    rates = call("hub_list_tax_rates", credentials=sandbox.DEMO_CLIENT_CREDENTIALS[1])  # Finland
    assert {(r.code, r.rate) for r in rates} >= {("25,5%", Decimal("25.5")), ("14%", Decimal("14"))}
    assert all(r.id for r in rates)
    products = call("hub_list_products", credentials=DEMO)
    company = state.company(DEMO["api_id"])
    assert len(products) == len(company.items) == 8
    raam = next(p for p in products if p.code == "RAAM")
    assert raam.unit_price == Decimal("250") and raam.unit == "tk"
    assert raam.tax_id == taxes(state)["22%"]
    assert [r.path for r in state.requests][-2:] == ["/api/v1/getitems", "/api/v1/gettaxes"]


def test_paid_status_comes_back(call, state, now):
    invoice = make_invoice(state)
    receipt = call("hub_export_invoice", credentials=DEMO, invoice=invoice)
    state.pay_invoice(DEMO["api_id"], receipt.vendor_invoice_id, Decimal("100.00"), dt.date(2026, 11, 21))
    before = len(state.requests)
    payments = call("hub_fetch_payments", credentials=DEMO, since=dt.date(2026, 11, 1))
    ours = [p for p in payments if p.vendor_invoice_id == receipt.vendor_invoice_id]
    assert len(ours) == 1
    assert ours[0].paid_amount == Decimal("100.00") and ours[0].paid_on == dt.date(2026, 11, 21)
    assert not ours[0].fully_paid and ours[0].invoice_number == "UKU-2026-0042"
    state.pay_invoice(DEMO["api_id"], receipt.vendor_invoice_id, Decimal("333.53"), dt.date(2026, 11, 22))
    payments = call("hub_fetch_payments", credentials=DEMO, since=dt.date(2026, 11, 1))
    ours = next(p for p in payments if p.vendor_invoice_id == receipt.vendor_invoice_id)
    assert ours.fully_paid and ours.paid_amount == Decimal("433.53") and ours.paid_on == dt.date(2026, 11, 22)
    # seeded customer payments in November map to their invoices
    company = state.company(DEMO["api_id"])
    seeded = {p["DocumentNo"] for p in company.payments if p["Direction"] == 1
              and dt.date(2026, 11, 1) <= dt.date.fromisoformat(p["DocumentDate"][:10]) <= now.date()}
    assert seeded <= {p.invoice_number for p in payments}
    assert len(state.requests) - before > 0


def test_payments_call_count(call, state, now):
    since = now.date().replace(day=1) - dt.timedelta(days=60)
    call("hub_fetch_payments", credentials=DEMO, since=since)
    paths = [r.path for r in state.requests]
    # payments: one window (≤ 3 months); invoices: since minus 12 months → today = 5 windows at most
    assert paths.count("/api/v1/getpayments") == 1
    assert paths.count("/api/v1/getinvoices") <= 5
