"""The Directo facts no XSD covers (:mod:`hub_directo.wire`): each names its source, the assumed ones are owned
up to in the README, and the client and the sandbox hold the same values."""

from __future__ import annotations

import dataclasses
import datetime as dt
import urllib.parse
from pathlib import Path

import defusedxml.ElementTree as SafeET
import hub_directo
from hub_directo import client, ops, sandbox
from hub_directo.client import VAT_CODES
from hub_directo.wire import FACTS, fact

from hub.testing import sample_invoice
from hub.testing.wire import check_wire_facts

README = Path(hub_directo.__file__).resolve().parent.parent / "README.md"


def test_every_fact_names_its_source_and_assumed_ones_are_in_the_readme():
    check_wire_facts(FACTS, README.read_text(encoding="utf-8"))


def test_client_and_sandbox_hold_the_facts():
    assert client.XML_DIRECT_URL == fact("endpoint")
    assert f"{sandbox.HOST}{sandbox.PATH}" == fact("endpoint").removeprefix("https://")
    assert tuple(client.COMPONENTS) == sandbox.COMPONENTS == fact("components")
    assert client.MAX_DOC_NUMBER == sandbox.MAX_DOC_NUMBER == fact("max_document_number")
    assert client.RETRY_AFTER == fact("retry_after_seconds")
    assert sandbox.MAX_POST == fact("max_post_bytes")
    assert client.format_date(dt.date(2026, 1, 31)) == dt.date(2026, 1, 31).strftime(fact("filter_date_format"))
    assert {code: int(rate) for code, (_, rate) in client.VAT_CODES.items()} == fact("vat_codes")
    assert {code: int(rate) for code, rate in sandbox.VAT_CODES.items()} == fact("vat_codes")
    assert client.BUYER_TYPE_FIELD == sandbox.BUYER_TYPE_FIELD == fact("invoice_buyer_type_field")
    assert client.BUYER_TYPES == fact("buyer_type_values")
    handled = {5, *ops.CREATED, *ops.ALREADY_THERE, *ops.REJECTED, *ops.RETRYABLE}
    assert handled == set(fact("result_codes")), "every documented result code has a decided outcome"


def test_the_sandboxs_auth_bodies_are_the_documented_ones():
    for response, documented in ((sandbox._unauthorized(), fact("unauthorized_body")),
                                 (sandbox._err("token required"), fact("token_missing_body"))):
        got, want = SafeET.fromstring(response.get_data()), SafeET.fromstring(documented)
        assert (got.tag, got.attrib, got.text) == (want.tag, want.attrib, want.text)


def test_requests_carry_only_the_documented_form_fields(call, state):
    call("hub_test_connection", credentials=sandbox.DEMO_CREDENTIALS)
    call("hub_export_invoice", credentials=sandbox.DEMO_CREDENTIALS, invoice=mapped(sample_invoice()))
    token, reads, writes = fact("token_field"), set(fact("read_fields")), set(fact("write_fields"))
    for rec in state.api_requests():
        form = dict(urllib.parse.parse_qsl(rec.body.decode()))
        kind = writes if form.get("put") == "1" else reads
        assert set(form) - {token} - kind <= set(fact("filters")), form
        assert kind <= set(form)


def mapped(invoice):  # noqa: ANN001, ANN201 - the hub maps every line's VAT to a Directo code before export
    codes = {rate: code for code, (_, rate) in VAT_CODES.items()}
    lines = tuple(dataclasses.replace(line, tax_id=codes[line.vat_rate]) for line in invoice.lines)
    return dataclasses.replace(invoice, lines=lines)
