"""Invoice export: buyer found or created, the exact body, idempotency, find-invoice, rejections."""

from decimal import Decimal

import httpx
import pytest
from hub_smartaccounts import sandbox

from hub.errors import VendorRejected
from hub.testing import make_context
from hub.types import ExportReceipt, InvoiceLine, InvoiceParty

DEMO = sandbox.DEMO_CREDENTIALS


def test_export_creates_the_buyer_then_the_invoice(call, state, make_invoice, bodies):
    receipt = call("hub_export_invoice", credentials=DEMO, invoice=make_invoice())
    assert isinstance(receipt, ExportReceipt) and not receipt.already_existed
    assert receipt.number == "UKU-1001"
    paths = [(r.method, r.path) for r in state.requests]
    assert paths == [("GET", "/api/purchasesales/clients:get"), ("POST", "/api/purchasesales/clients:add"),
                     ("GET", "/api/settings/vatpcs:get"),
                     ("GET", "/api/purchasesales/articles:get"), ("POST", "/api/purchasesales/articles:add"),
                     ("POST", "/api/purchasesales/clientinvoices:add")]
    assert "nameOrRegCode=16123456" in state.requests[0].query_string
    (client_body,) = bodies("clients:add")
    assert client_body == {"name": "Uus Klient OÜ", "regCode": "16123456", "vatNumber": "EE102345678",
                           "address": {"country": "EE", "city": "Tallinn", "address1": "Pikk 1",
                                       "postalCode": "10123"},
                           "contacts": [{"type": "EMAIL", "value": "arved@uusklient.ee"}]}
    (body,) = bodies("clientinvoices:add")
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


def test_existing_buyer_is_reused_by_registry_code(call, state, make_invoice, bodies):
    company = state.by_key(DEMO["api_key"])
    known = company.clients[3]
    party = InvoiceParty(name="whatever name", reg_code=known["regCode"])
    call("hub_export_invoice", credentials=DEMO, invoice=make_invoice(client=party))
    assert not bodies("clients:add")
    assert bodies("clientinvoices:add")[0]["clientId"] == known["id"]


def test_linked_client_id_is_used_directly(call, state, make_invoice, bodies):
    company = state.by_key(DEMO["api_key"])
    party = InvoiceParty(name="Linked", vendor_client_id=str(company.clients[0]["id"]))
    call("hub_export_invoice", credentials=DEMO, invoice=make_invoice(client=party))
    assert not any(r.path.endswith("clients:get") for r in state.requests)
    assert bodies("clientinvoices:add")[0]["clientId"] == company.clients[0]["id"]


def test_export_twice_gives_one_invoice(call, state, make_invoice, bodies):
    company = state.by_key(DEMO["api_key"])
    count = len(company.client_invoices)
    first = call("hub_export_invoice", credentials=DEMO, invoice=make_invoice())
    second = call("hub_export_invoice", credentials=DEMO, invoice=make_invoice())
    assert len(company.client_invoices) == count + 1
    assert second.already_existed and second.vendor_invoice_id == first.vendor_invoice_id
    assert len(bodies("clients:add")) == 1  # the second attempt found the buyer


def test_find_invoice_after_a_lost_answer(call, state, make_invoice):
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


def test_same_number_different_invoice_is_rejected(call, make_invoice):
    call("hub_export_invoice", credentials=DEMO, invoice=make_invoice())
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", credentials=DEMO, invoice=make_invoice(reference="other-ref"))
    assert "already has a different invoice numbered UKU-1001" in caught.value.message
    assert caught.value.field_messages["invoiceNumber"]


def test_vat_code_falls_back_to_the_rate(call, state, make_invoice, bodies):
    line = InvoiceLine("Majutus", Decimal("2"), Decimal("50"), Decimal("13"))
    call("hub_export_invoice", credentials=DEMO, invoice=make_invoice(lines=(line,)))
    assert bodies("clientinvoices:add")[0]["rows"] == [
        {"code": "UKU", "description": "Majutus", "quantity": 2.0, "price": 50.0, "vatPc": "13"}]


def test_unknown_vat_rate_is_rejected_before_sending(call, state, make_invoice, bodies):
    line = InvoiceLine("Odd", Decimal("1"), Decimal("1"), Decimal("17"))
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", credentials=DEMO, invoice=make_invoice(lines=(line,)))
    assert "17%" in caught.value.field_messages["lines[0].tax_id"][0]
    assert not bodies("clientinvoices:add")


def test_vendor_field_messages_on_refusal(call, make_invoice):
    line = InvoiceLine("Unknown article", Decimal("1"), Decimal("1"), Decimal("24"), product_code="NOPE",
                       tax_id="24")
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", credentials=DEMO, invoice=make_invoice(lines=(line,)))
    assert caught.value.field_messages == {"rows[0].code": ["rows[0].code: article NOPE not found"]}


def test_find_invoice_reads_the_go_clients_shape(call, make_invoice):
    row = {"id": 501, "invoiceNumber": "UKU-1001", "number": "M501", "date": "20.11.2026",
           "comment": "Uku ref uku-inv-1001-smartaccounts"}

    def handler(request):
        assert request.url.path == "/api/purchasesales/clientinvoices:get"
        return httpx.Response(200, json={"clientInvoices": [row], "deleted": [], "hasMoreEntries": False})

    found = call("hub_find_invoice", ctx=make_context("smartaccounts", httpx.MockTransport(handler)),
                 credentials=DEMO, invoice=make_invoice())
    assert found == ExportReceipt(vendor_invoice_id="501", number="UKU-1001", already_existed=True)
