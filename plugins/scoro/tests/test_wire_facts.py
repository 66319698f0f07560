"""The wire facts (hub_scoro.wire): the README's table names the assumed ones, and the client and the sandbox read
their shapes from the same table (that every fact is sourced is checked in test_client.py)."""

import dataclasses
from decimal import Decimal
from pathlib import Path

import httpx
from hub_scoro import client, sandbox
from hub_scoro.wire import FACTS

from hub.testing import make_context
from hub.types import TaxRate

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def test_the_readme_table_names_the_facts_it_marks_as_assumed():
    assumed = {name for name, fact in FACTS.items() if fact.source == "assumed"}
    section = README.split("## How faithful is this", 1)[1].split("\n## ", 1)[0]
    assert assumed and all(f"`{name}`" in section for name in assumed)


def test_client_and_sandbox_read_their_shapes_from_the_facts(make_invoice):
    assert client.PAGE_SIZE == sandbox.MAX_PER_PAGE == FACTS["list_page_max"].value
    assert client.DOMAINS == FACTS["domains"].value
    assert client.base_url({"subdomain": "acme"}).endswith(FACTS["api_path"].value)
    assert (client.API_KEY_FIELD, client.ACCOUNT_FIELD) == FACTS["auth_fields"].value
    assert client.COUNTRY_LENGTH == sandbox.COUNTRY_LENGTH == FACTS["address_country_length"].value == 3
    assert len(client.scoro_country("EE")) == FACTS["address_country_length"].value
    assert sandbox.ADDRESS_FIELDS == FACTS["address_fields"].value
    assert set(client.scoro_address(make_invoice().client)) <= set(FACTS["address_fields"].value)
    assert sandbox.DEFAULT_KNOBS["daily_limit"] == FACTS["daily_request_limit"].value
    assert client.DATE_FORMAT == sandbox.DATE_FORMAT == FACTS["date_format"].value
    assert list(client.LANGUAGES) == list(FACTS["languages"].value)


def test_every_field_the_client_sends_is_a_field_of_scoros_published_types(credentials, make_invoice):
    ctx = make_context("scoro", httpx.MockTransport(lambda r: httpx.Response(500)))
    scoro = client.ScoroClient(ctx, credentials())
    for number in ("20260042", "INV-2026-0001"):
        invoice = make_invoice(number)
        request = scoro.invoice_request(invoice, 3)
        assert set(request) <= set(FACTS["invoice_fields"].value)
        for line in request["lines"]:
            assert set(line) <= set(FACTS["invoice_line_fields"].value)
        contact = client.contact_request(invoice.client, client.scoro_address(invoice.client))
        assert set(contact) <= set(FACTS["contact_fields"].value)
        assert set(contact["addresses"][0]) <= set(FACTS["address_fields"].value)
    number = scoro.invoice_request(make_invoice("20260042"), 3)["no"]
    assert isinstance(number, int) is FACTS["invoice_no_numeric"].value  # `no` is a number (C2)


def test_the_client_filters_lists_only_on_the_exact_match_filters(harness, make_invoice):
    """Filters match exactly on these fields (assumed): every filter the client sends is one of them."""
    h = harness()
    invoice = make_invoice("101", reference="r1")
    h.call("hub_export_invoice", invoice=invoice)  # the contact by registry code
    h.call("hub_find_invoice", invoice=invoice)  # the invoice by number
    h.call("hub_export_invoice", invoice=make_invoice("INV-1", reference="r2", vendor_client_id="3"))  # by date
    for reg_code, vat_no in ((None, "EE109876543"), (None, None)):  # the contact by VAT number, then by name
        party = dataclasses.replace(invoice.client, name=f"Other {vat_no}", reg_code=reg_code, vat_no=vat_no)
        h.call("hub_export_invoice", invoice=dataclasses.replace(make_invoice(f"10{len(h.requests)}"),
                                                                 reference=f"r{len(h.requests)}", client=party))
    sent = [key for r in h.requests for key in r.json().get(FACTS["list_filter_field"].value, {})]
    assert sorted(set(sent)) == sorted(FACTS["list_filters_exact"].value)


def test_tax_rates_need_only_the_published_vat_code_fields(credentials):
    published = FACTS["vat_code_fields"].value
    code = dict(zip(published, (7, "S", "Standard 20%", "20.00", 1, 1, 0), strict=True))
    answer = {"status": "OK", "statusCode": 200, "messages": None, "data": [code]}
    ctx = make_context("scoro", httpx.MockTransport(lambda r: httpx.Response(200, json=answer)))
    scoro = client.ScoroClient(ctx, credentials())
    assert scoro.tax_rates() == [TaxRate(id="7", code="S", name="Standard 20%", rate=Decimal("20.00"))]
    assert scoro.sales_vat_code(Decimal("20")) == 7
    for account in sandbox.seed().values():  # and the sandbox's VAT codes carry every one of them
        assert all(set(published) <= set(c) for c in account.vat_codes)


def test_the_sandbox_answers_an_error_in_the_assumed_shape(harness):
    h = harness()
    http = httpx.Client(transport=httpx.WSGITransport(app=h.app), base_url="https://acme.scoro.com")
    demo = sandbox.DEMO_CREDENTIALS
    auth = dict(zip(FACTS["auth_fields"].value, (demo["api_key"], demo["company_account_id"]), strict=True))
    answer = http.post(f"{FACTS['api_path'].value}/invoices/modify", json={**auth, "request": {"date": "soon"}}).json()
    shape = FACTS["error_shape"].value
    assert set(FACTS["envelope_fields"].value) <= set(answer)
    assert set(shape) <= set(answer) and set(answer["messages"]) == set(shape["messages"])
    assert all(isinstance(m, list) and all(isinstance(t, str) for t in m) for m in answer["messages"].values())
    assert answer["errors"] and all(isinstance(m, list) for m in answer["errors"].values())
