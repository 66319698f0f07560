"""Paid status back (hub_fetch_payments): v2 getpayments, whose PaymAPIDetails name the invoices a payment pays."""

import datetime as dt
import json
from decimal import Decimal

import httpx
import hub_merit
import pytest
from hub_merit import sandbox

from hub.testing import make_context, vendor_registry
from hub.types import Invoice, InvoiceLine, InvoiceParty

DEMO = sandbox.DEMO_CREDENTIALS


def export(call, state, number="UKU-2026-0042", issue=dt.date(2026, 11, 20)):
    tax = next(t["Id"] for t in state.company(DEMO["api_id"]).taxes if t["Code"] == "22%")
    invoice = Invoice(reference=f"ref-{number}", number=number, client=InvoiceParty(name="Uus Klient OÜ",
                                                                                    reg_code="16000001"),
                      issue_date=issue, due_date=issue + dt.timedelta(days=14), currency="EUR",
                      lines=(InvoiceLine("Raamatupidamine", Decimal("1"), Decimal("355.35"), Decimal("22"),
                                         tax_id=tax),),
                      total_net=Decimal("355.35"), total_vat=Decimal("78.18"), total=Decimal("433.53"))
    return call("hub_export_invoice", credentials=DEMO, invoice=invoice)


def test_paid_status_comes_back_per_payment(call, state):
    receipt = export(call, state)
    state.pay_invoice(DEMO["api_id"], receipt.vendor_invoice_id, Decimal("100.00"), dt.date(2026, 11, 21))
    payments = call("hub_fetch_payments", credentials=DEMO, since=dt.date(2026, 11, 1))
    ours = [p for p in payments if p.vendor_invoice_id == receipt.vendor_invoice_id]
    assert len(ours) == 1
    assert ours[0].paid_amount == Decimal("100.00") and ours[0].paid_on == dt.date(2026, 11, 21)
    assert not ours[0].fully_paid and ours[0].invoice_number == "UKU-2026-0042"
    state.pay_invoice(DEMO["api_id"], receipt.vendor_invoice_id, Decimal("333.53"), dt.date(2026, 11, 22))
    payments = call("hub_fetch_payments", credentials=DEMO, since=dt.date(2026, 11, 1))
    ours = [p for p in payments if p.vendor_invoice_id == receipt.vendor_invoice_id]
    # one Payment per payment: the core adds them up (paid amount recomputed from every payment since)
    assert [(p.paid_amount, p.paid_on, p.fully_paid) for p in ours] == [
        (Decimal("100.00"), dt.date(2026, 11, 21), False), (Decimal("333.53"), dt.date(2026, 11, 22), True)]


def test_only_v2_getpayments_is_asked_one_call_per_three_months(call, state, now):
    since = now.date().replace(day=1) - dt.timedelta(days=60)
    call("hub_fetch_payments", credentials=DEMO, since=since)
    assert [r.path for r in state.requests] == ["/api/v2/getpayments"]
    assert json.loads(state.requests[0].body) == {"PeriodStart": since.strftime("%Y%m%d"),
                                                  "PeriodEnd": now.date().strftime("%Y%m%d")}
    call("hub_fetch_payments", credentials=DEMO, since=dt.date(2025, 11, 1))  # 13 months → 5 windows
    assert [r.path for r in state.requests].count("/api/v2/getpayments") == 1 + 5


# -- defect 2 (issue 13): the payment's own number is not the invoice's -------------------------------------------

def test_a_payment_is_matched_by_the_invoice_it_pays_not_by_its_own_number(now):
    """Shaped like Merit's list-of-payments: a payment numbered "1001" that pays invoice "1002". Before the fix the
    client read v1 DocumentNo (the payment's own number) as the invoice number and paid the wrong invoice."""
    payment = {"PIHId": "350999b0-7015-44e3-82c4-cd64b7357950", "BankName": "LHV", "CounterPartType": 2,
               "CounterPartName": "Mari Maasikas", "CurrencyCode": "EUR", "CurrencyRate": 1.0,
               "DocumentDate": "2026-11-13T00:00:00", "DocumentNo": "1001", "Direction": 1, "Amount": 100.00,
               "PaymAPIDetails": [{"PaymId": "350999b0-7015-44e3-82c4-cd64b7357950", "DocNo": "1002",
                                   "DocAmount": 100.00, "PaidAmount": 100.00, "CurrencyCode": "EUR",
                                   "CurrencyRate": 1.0}]}
    invoices = [{"SIHId": f"inv-{no}", "InvoiceNo": no, "DocumentDate": "2026-11-02T00:00:00", "TotalSum": 100.0,
                 "PaidAmount": 100.0 if no == "1002" else 0, "Paid": no == "1002"} for no in ("1001", "1002")]

    def handler(request):
        path = request.url.path
        if path.endswith("/getpayments"):
            rows = [payment] if path.startswith("/api/v2/") else [{k: v for k, v in payment.items()
                                                                  if k != "PaymAPIDetails"}]
            return httpx.Response(200, json=rows)
        if path.endswith("/getinvoices"):
            return httpx.Response(200, json=invoices)
        return httpx.Response(404)

    ctx = make_context("merit", httpx.MockTransport(handler), now=lambda: now)
    payments = vendor_registry("merit", hub_merit).call("merit", "hub_fetch_payments", ctx=ctx, credentials=DEMO,
                                                        since=dt.date(2026, 11, 1))
    assert [(p.invoice_number, p.paid_amount, p.paid_on, p.fully_paid) for p in payments] == [
        ("1002", Decimal("100.0"), dt.date(2026, 11, 13), True)]


@pytest.mark.parametrize("links", [
    {"PaymId": "p", "DocNo": "A-1", "DocAmount": 50, "PaidAmount": 20, "DocId": "sih-1"},  # one object (Merit's table)
    [{"PaymId": "p", "DocNo": "A-1", "DocAmount": 50, "PaidAmount": 20, "DocId": "sih-1"}],
], ids=["object", "list"])
def test_payment_links_as_an_object_or_a_list(now, links):
    row = {"DocumentDate": "2026-11-13T00:00:00", "DocumentNo": "77", "Direction": 1, "PaymAPIDetails": links}
    ctx = make_context("merit", httpx.MockTransport(lambda r: httpx.Response(200, json=[row])), now=lambda: now)
    [payment] = vendor_registry("merit", hub_merit).call("merit", "hub_fetch_payments", ctx=ctx, credentials=DEMO,
                                                         since=dt.date(2026, 11, 1))
    assert (payment.vendor_invoice_id, payment.invoice_number, payment.paid_amount, payment.fully_paid) == (
        "sih-1", "A-1", Decimal("20"), False)


def test_vendor_and_other_payments_are_not_invoice_payments(now):
    rows = [{"DocumentDate": "2026-11-13T00:00:00", "DocumentNo": "5", "Direction": d,
             "PaymAPIDetails": [{"DocNo": "B-1", "DocAmount": 10, "PaidAmount": 10}]} for d in (2, 3, 4)]
    ctx = make_context("merit", httpx.MockTransport(lambda r: httpx.Response(200, json=rows)), now=lambda: now)
    assert vendor_registry("merit", hub_merit).call("merit", "hub_fetch_payments", ctx=ctx, credentials=DEMO,
                                                    since=dt.date(2026, 11, 1)) == []


def test_seeded_payments_map_to_the_invoices_they_paid_not_to_invoices_sharing_their_number(call, state, now):
    """In the sandbox, as in Merit, payment documents are numbered on their own and their numbers overlap the
    invoice numbers: every Payment names an invoice that payment really paid."""
    company = state.company(DEMO["api_id"])
    since = dt.date(2026, 9, 1)
    payments = call("hub_fetch_payments", credentials=DEMO, since=since)
    paid = {(link["DocId"], link["DocNo"], p["DocumentDate"][:10])
            for p in company.payments if p["Direction"] == 1 and p["DocumentDate"][:10] >= since.isoformat()
            for link in p["_links"]}
    assert len(payments) == len(paid) >= 20
    assert {(p.vendor_invoice_id, p.invoice_number, p.paid_on.isoformat()) for p in payments} == paid
    invoice_numbers = {i["InvoiceNo"] for i in company.invoices}
    own_numbers = {p["DocumentNo"] for p in company.payments}
    assert own_numbers & invoice_numbers, "the trap: payment numbers that are also invoice numbers"
    by_id = {i["SIHId"]: i for i in company.invoices}
    for p in payments:
        assert by_id[p.vendor_invoice_id]["InvoiceNo"] == p.invoice_number
        if p.fully_paid:
            assert by_id[p.vendor_invoice_id]["Paid"]


def test_payment_of_an_invoice_issued_long_before_since_is_found(call, state):
    """``since`` bounds the payments, not the invoices: a payment on/after ``since`` of an invoice issued 14 months
    earlier is reported (the old client only looked at invoices of the 12 months before ``since``)."""
    receipt = export(call, state, number="OLD-2025-0007", issue=dt.date(2025, 9, 15))
    state.pay_invoice(DEMO["api_id"], receipt.vendor_invoice_id, Decimal("433.53"), dt.date(2026, 11, 21))
    payments = call("hub_fetch_payments", credentials=DEMO, since=dt.date(2026, 11, 1))
    ours = [p for p in payments if p.invoice_number == "OLD-2025-0007"]
    assert [(p.vendor_invoice_id, p.paid_amount, p.paid_on, p.fully_paid) for p in ours] == [
        (receipt.vendor_invoice_id, Decimal("433.53"), dt.date(2026, 11, 21), True)]


def test_without_doc_id_the_invoice_number_is_the_link(now):
    """Merit's own table lists no DocId in PaymAPIDetails: then the Payment carries only the invoice number, which
    the core matches its exports by."""
    row = {"DocumentDate": "2026-11-13T00:00:00", "DocumentNo": "77", "Direction": 1,
           "PaymAPIDetails": [{"DocNo": "A-1", "DocAmount": 50, "PaidAmount": 50}]}
    ctx = make_context("merit", httpx.MockTransport(lambda r: httpx.Response(200, json=[row])), now=lambda: now)
    [payment] = vendor_registry("merit", hub_merit).call("merit", "hub_fetch_payments", ctx=ctx, credentials=DEMO,
                                                         since=dt.date(2026, 11, 1))
    assert (payment.vendor_invoice_id, payment.invoice_number, payment.fully_paid) == ("", "A-1", True)
