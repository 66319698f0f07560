"""Invoice export: buyer found or created, the exact body, idempotency, find-invoice, rejections."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from hub_smartaccounts import sandbox

from hub.errors import VendorRejected
from hub.types import Address, ExportReceipt, Invoice, InvoiceLine, InvoiceParty

DEMO = sandbox.DEMO_CREDENTIALS


def make_invoice(**changes):
    base = dict(
        reference="uku-inv-1001-smartaccounts", number="UKU-1001",
        client=InvoiceParty(name="Uus Klient OÜ", reg_code="16123456", vat_no="EE102345678",
                            email="arved@uusklient.ee",
                            address=Address(street="Pikk 1", city="Tallinn", postal_code="10123", country="EE")),
        issue_date=dt.date(2026, 11, 20), due_date=dt.date(2026, 12, 4), currency="EUR",
        lines=(InvoiceLine("Raamatupidamisteenus november", Decimal("10"), Decimal("45.00"), Decimal("24"),
                           product_code="SERV", tax_id="24", unit="h"),
               InvoiceLine("Konsultatsioon", Decimal("1.5"), Decimal("80.00"), Decimal("24"))),
        total_net=Decimal("570.00"), total_vat=Decimal("136.80"), total=Decimal("706.80"), notes="Aitäh!")
    base.update(changes)
    return Invoice(**base)


def _bodies(state, suffix):
    return [json.loads(r.body) for r in state.requests if r.path.endswith(suffix)]


def test_export_creates_the_buyer_then_the_invoice(call, state):
    receipt = call("hub_export_invoice", credentials=DEMO, invoice=make_invoice())
    assert isinstance(receipt, ExportReceipt) and not receipt.already_existed
    assert receipt.number == "UKU-1001"
    paths = [(r.method, r.path) for r in state.requests]
    assert paths == [("GET", "/api/purchasesales/clients:get"), ("POST", "/api/purchasesales/clients:add"),
                     ("GET", "/api/settings/vatpcs:get"),
                     ("GET", "/api/purchasesales/articles:get"), ("POST", "/api/purchasesales/articles:add"),
                     ("POST", "/api/purchasesales/clientinvoices:add")]
    assert "nameOrRegCode=16123456" in state.requests[0].query_string
    (client_body,) = _bodies(state, "clients:add")
    assert client_body == {"name": "Uus Klient OÜ", "regCode": "16123456", "vatNumber": "EE102345678",
                           "address": {"country": "EE", "city": "Tallinn", "address1": "Pikk 1",
                                       "postalCode": "10123"},
                           "contacts": [{"type": "EMAIL", "value": "arved@uusklient.ee"}]}
    (body,) = _bodies(state, "clientinvoices:add")
    company = state.by_key(DEMO["api_key"])
    new_client = company.clients[-1]
    assert body == {
        "clientId": new_client["id"], "date": "20.11.2026", "dueDate": "04.12.2026", "currency": "EUR",
        "invoiceNumber": "UKU-1001", "comment": "Uku ref uku-inv-1001-smartaccounts",
        "rows": [{"code": "SERV", "description": "Raamatupidamisteenus november", "quantity": 10.0, "price": 45.0,
                  "vatPc": "24", "unit": "h"},
                 {"code": "UKU", "description": "Konsultatsioon", "quantity": 1.5, "price": 80.0, "vatPc": "24"}],
        "invoiceNote": "Aitäh!"}
    stored = company.client_invoices[-1]
    assert receipt.vendor_invoice_id == str(stored["id"])
    assert stored["totalAmount"] == 706.8 and stored["vatAmount"] == 136.8
    assert not any("mail" in k.lower() for k in body)  # never ask SmartAccounts to e-mail the customer


def test_existing_buyer_is_reused_by_registry_code(call, state):
    company = state.by_key(DEMO["api_key"])
    known = company.clients[3]
    party = InvoiceParty(name="whatever name", reg_code=known["regCode"])
    call("hub_export_invoice", credentials=DEMO, invoice=make_invoice(client=party))
    assert not _bodies(state, "clients:add")
    assert _bodies(state, "clientinvoices:add")[0]["clientId"] == known["id"]


def test_linked_client_id_is_used_directly(call, state):
    company = state.by_key(DEMO["api_key"])
    party = InvoiceParty(name="Linked", vendor_client_id=str(company.clients[0]["id"]))
    call("hub_export_invoice", credentials=DEMO, invoice=make_invoice(client=party))
    assert not any(r.path.endswith("clients:get") for r in state.requests)
    assert _bodies(state, "clientinvoices:add")[0]["clientId"] == company.clients[0]["id"]


def test_export_twice_gives_one_invoice(call, state):
    company = state.by_key(DEMO["api_key"])
    count = len(company.client_invoices)
    first = call("hub_export_invoice", credentials=DEMO, invoice=make_invoice())
    second = call("hub_export_invoice", credentials=DEMO, invoice=make_invoice())
    assert len(company.client_invoices) == count + 1
    assert second.already_existed and second.vendor_invoice_id == first.vendor_invoice_id
    assert len(_bodies(state, "clients:add")) == 1  # the second attempt found the buyer


def test_find_invoice_after_a_lost_answer(call, state):
    assert call("hub_find_invoice", credentials=DEMO, invoice=make_invoice()) is None
    receipt = call("hub_export_invoice", credentials=DEMO, invoice=make_invoice())
    found = call("hub_find_invoice", credentials=DEMO, invoice=make_invoice())
    assert (found.vendor_invoice_id, found.number, found.already_existed) == (receipt.vendor_invoice_id,
                                                                              "UKU-1001", True)
    assert found.booked.total == Decimal("706.80")  # read back from SmartAccounts' own answer (contract 1.2)
    lookup, rates = state.requests[-2:]
    assert lookup.method == "GET" and lookup.path == "/api/purchasesales/clientinvoices:get"
    assert rates.path == "/api/settings/vatpcs:get"
    assert "&dateFrom=20.11.2026&dateTo=20.11.2026&invoiceNumber=UKU-1001&fetchRows=true&pageNumber=1&" in \
        lookup.query_string


def test_same_number_different_invoice_is_rejected(call):
    call("hub_export_invoice", credentials=DEMO, invoice=make_invoice())
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", credentials=DEMO, invoice=make_invoice(reference="other-ref"))
    assert "already has a different invoice numbered UKU-1001" in caught.value.message
    assert caught.value.field_messages["invoiceNumber"]


def test_vat_code_falls_back_to_the_rate(call, state):
    line = InvoiceLine("Majutus", Decimal("2"), Decimal("50"), Decimal("13"))
    call("hub_export_invoice", credentials=DEMO, invoice=make_invoice(lines=(line,)))
    assert _bodies(state, "clientinvoices:add")[0]["rows"] == [
        {"code": "UKU", "description": "Majutus", "quantity": 2.0, "price": 50.0, "vatPc": "13"}]


def test_unknown_vat_rate_is_rejected_before_sending(call, state):
    line = InvoiceLine("Odd", Decimal("1"), Decimal("1"), Decimal("17"))
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", credentials=DEMO, invoice=make_invoice(lines=(line,)))
    assert "17%" in caught.value.field_messages["lines[0].tax_id"][0]
    assert not _bodies(state, "clientinvoices:add")


def test_vendor_field_messages_on_refusal(call):
    line = InvoiceLine("Unknown article", Decimal("1"), Decimal("1"), Decimal("24"), product_code="NOPE",
                       tax_id="24")
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", credentials=DEMO, invoice=make_invoice(lines=(line,)))
    assert caught.value.field_messages == {"rows[0].code": ["rows[0].code: article NOPE not found"]}
