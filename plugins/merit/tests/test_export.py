"""Invoice export (v1/sendinvoice), find-invoice, tax rates, products and paid status back."""

import datetime as dt
import json
from decimal import Decimal

import httpx
import pytest
from hub_merit import sandbox
from hub_merit.client import MeritClient, build_invoice_payload
from hub_merit.wire import fact

from hub.errors import TransientError, VendorRejected
from hub.testing import make_context
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
    # the duplicate answer was a 400 text, then one lookup window of one day, then the read-back of what Merit
    # booked (getinvoice, and gettaxes for the rows' percentages)
    assert [r.status for r in state.requests] == [200, 400, 200, 200, 200]
    assert state.requests[2].body == b'{"PeriodStart":"20261120","PeriodEnd":"20261120"}'


def test_find_invoice_before_and_after_export(call, state):
    invoice = make_invoice(state)
    assert call("hub_find_invoice", credentials=DEMO, invoice=invoice) is None
    receipt = call("hub_export_invoice", credentials=DEMO, invoice=invoice)
    found = call("hub_find_invoice", credentials=DEMO, invoice=invoice)
    assert found.vendor_invoice_id == receipt.vendor_invoice_id and found.already_existed
    assert all(r.path in ("/api/v1/getinvoices", "/api/v1/getinvoice", "/api/v1/gettaxes")
               for r in state.requests if r.path != "/api/v1/sendinvoice")


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


def test_sandbox_answers_an_invoice_without_rows_with_a_stack_trace(app, state, now):
    """Merit answers a payload that makes no sense with HTTP 200 and a stack trace: for sendinvoice that is the
    caller's data, refused (not a fault to retry for ever)."""
    ctx = make_context("merit", httpx.WSGITransport(app=app), now=lambda: now)
    with pytest.raises(VendorRejected) as caught:
        MeritClient(ctx, DEMO).call("sendinvoice", {"InvoiceNo": "1", "InvoiceRow": []})
    assert state.requests[-1].status == 200
    assert caught.value.field_messages == {"": ["Object reference not set to an instance of an object."]}


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


# -- defect 3 (issue 13): sendinvoice as Merit documents it -----------------------------------------------------
LONG = ("Raamatupidamisteenus november 2026: algdokumentide kontroll, pearaamatu kanded, käibedeklaratsioon "
        "KMD ja KMD INF, palgaarvestus ning TSD deklaratsioon")  # 151 characters


def test_long_description_is_cut_to_100_and_kept_in_full_in_the_footer_comment(call, state):
    assert len(LONG) > 100
    t = taxes(state)
    invoice = make_invoice(state, notes="Täname!", lines=(
        InvoiceLine("Palgaarvestus", Decimal("1"), Decimal("10"), Decimal("22"), tax_id=t["22%"]),
        InvoiceLine(LONG, Decimal("1"), Decimal("250"), Decimal("22"), product_code="RAAM", tax_id=t["22%"])))
    call("hub_export_invoice", credentials=DEMO, invoice=invoice)
    body = json.loads(state.requests[-1].body)
    short = body["InvoiceRow"][1]["Item"]["Description"]
    assert 90 < len(short) <= 100 and short.endswith("…") and LONG.startswith(short[:-1])
    assert body["InvoiceRow"][0]["Item"]["Description"] == "Palgaarvestus"
    assert body["Fcomment"] == f"Täname!\n\nRow 2: {LONG}"
    assert state.created[-1]["_fcomment"] == body["Fcomment"], "Merit took the invoice, the full text with it"


def test_sandbox_refuses_a_description_over_100_characters_as_merit_does(app, state, now):
    """Merit's ItemObject Description is Str 100: a longer one dies writing the row (200 + stack trace), which
    the client reports as the caller's data."""
    invoice = make_invoice(state, lines=(InvoiceLine("x" * 101, Decimal("1"), Decimal("10"), Decimal("22"),
                                                     tax_id=taxes(state)["22%"]),))
    payload = build_invoice_payload(invoice, [taxes(state)["22%"]], "EE")
    payload["InvoiceRow"][0]["Item"]["Description"] = "x" * 101  # what the old client sent (it cut at 150)
    ctx = make_context("merit", httpx.WSGITransport(app=app), now=lambda: now)
    with pytest.raises(VendorRejected) as caught:
        MeritClient(ctx, DEMO).call("sendinvoice", payload)
    assert "would be truncated" in str(caught.value)
    assert fact("description_too_long_answer")[1] in str(caught.value)
    assert state.requests[-1].status == 200 and state.created == []
    payload["InvoiceRow"][0]["Item"]["Description"] = "x" * 100
    answer = MeritClient(ctx, DEMO).call("sendinvoice", payload)
    assert answer["InvoiceId"] and set(answer) == set(fact("send_invoice_answer"))


def test_comment_longer_than_merit_keeps_is_refused_before_sending(call, state):
    invoice = make_invoice(state, notes="n" * 3950, lines=(
        InvoiceLine(LONG, Decimal("1"), Decimal("10"), Decimal("22"), tax_id=taxes(state)["22%"]),))
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", credentials=DEMO, invoice=invoice)
    assert "4000" in caught.value.field_messages["lines"][0]
    assert state.requests == []


def customer_sent(call, state, party, creds=DEMO, number="UKU-2026-0043"):
    t = {x["Code"]: x["Id"] for x in state.company(creds["api_id"]).taxes}
    rate = next(code for code in t if code.endswith("%") and code not in ("0%",))
    pct = Decimal(rate.rstrip("%").replace(",", "."))
    invoice = make_invoice(state, number=number, client=party, currency="EUR",
                           lines=(InvoiceLine("Konsultatsioon", Decimal("1"), Decimal("100"), pct, tax_id=t[rate]),))
    call("hub_export_invoice", credentials=creds, invoice=invoice)
    return json.loads(state.requests[-1].body)["Customer"]


@pytest.mark.parametrize("party, country, not_td", [
    (InvoiceParty(name="Kodumaine Ehitus OÜ", reg_code="12345678", vat_no="EE101234567"), "EE", False),
    (InvoiceParty(name="Mari Maasikas"), "EE", True),  # no registry code, no VAT number: a private person
    (InvoiceParty(name="Jaan Tamm", reg_code="38001085718"), "EE", True),  # an Estonian personal code
    (InvoiceParty(name="Suomi Rakennus Oy", reg_code="1234567-8", vat_no="FI12345678"), "FI", True),  # VAT prefix
    (InvoiceParty(name="Riga Logistics SIA", reg_code="40003000000",
                  address=Address(city="Riga", country="LV")), "LV", True),  # address country
    (InvoiceParty(name="Athens Trade AE", reg_code="123", vat_no="EL123456789"), "GR", True),
], ids=["domestic-company", "private", "personal-code", "foreign-by-vat", "foreign-by-address", "greece-EL"])
def test_not_td_customer_follows_merit_rule_for_estonia(call, state, party, country, not_td):
    """Merit: "EE True for physical persons and foreign companies" (the old client always sent false)."""
    customer = customer_sent(call, state, party)
    assert (customer["CountryCode"], customer["NotTDCustomer"]) == (country, not_td)


@pytest.mark.parametrize("party, not_td", [
    (InvoiceParty(name="Berlin Handel GmbH", reg_code="HRB 1", vat_no="DE123456789"), False),
    (InvoiceParty(name="Jan Kowalski", reg_code="44051401359"), True),  # PESEL: a private person
    (InvoiceParty(name="Anna Nowak", reg_code="ABC-1", private_person=True), True),  # the hub says so (1.1)
])
def test_not_td_customer_in_poland_is_true_for_private_persons_only(call, state, party, not_td):
    """Merit: "PL True for physical persons" — a foreign company is not a private person."""
    customer = customer_sent(call, state, party, creds=sandbox.DEMO_CLIENT_CREDENTIALS[2])
    assert customer["NotTDCustomer"] is not_td


def test_sandbox_refuses_a_foreign_company_sent_as_a_tax_declaration_customer(app, state, now):
    """An Estonian company's new foreign customer with NotTDCustomer false is refused with a 400
    {"Message": …}; the client reports Merit's message itself, not the JSON around it."""
    t = taxes(state)
    invoice = make_invoice(state, client=InvoiceParty(name="Helsinki Oy", vat_no="FI12345678"), lines=(
        InvoiceLine("Konsultatsioon", Decimal("1"), Decimal("100"), Decimal("22"), tax_id=t["22%"]),))
    payload = build_invoice_payload(invoice, [t["22%"]], "EE")
    assert payload["Customer"]["NotTDCustomer"] is True
    payload["Customer"]["NotTDCustomer"] = False  # what the old client sent for everyone
    ctx = make_context("merit", httpx.WSGITransport(app=app), now=lambda: now)
    with pytest.raises(VendorRejected) as caught:
        MeritClient(ctx, DEMO).call("sendinvoice", payload)
    assert state.requests[-1].status == 400 == fact("foreign_not_td_answer")
    [message] = caught.value.field_messages[""]
    assert message.startswith("NotTDCustomer must be true for a foreign customer (FI)") and "{" not in message
    payload["Customer"]["NotTDCustomer"] = "false"  # Merit wants a JSON boolean
    with pytest.raises(VendorRejected):
        MeritClient(ctx, DEMO).call("sendinvoice", payload)
    assert state.created == []


def test_a_garbled_non_stack_trace_answer_to_sendinvoice_stays_transient():
    ctx = make_context("merit", httpx.MockTransport(lambda r: httpx.Response(200, text="<html>Bad gateway</html>")))
    with pytest.raises(TransientError):
        MeritClient(ctx, DEMO).call("sendinvoice", {"InvoiceNo": "1"})
