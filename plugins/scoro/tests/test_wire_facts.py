"""The wire facts (hub_scoro.wire): the README's table names the assumed ones, and the client and the sandbox read
their shapes from the same table (that every fact is sourced is checked in test_client.py)."""

from pathlib import Path

import httpx
from hub_scoro import client, sandbox
from hub_scoro.wire import FACTS

from hub.testing import make_context

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
    assert isinstance(scoro.invoice_request(make_invoice("20260042"), 3)["no"], int)  # `no` is a number (C2)
