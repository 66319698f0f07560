"""The wire facts (hub_merit.wire): every assumed or inferred one in the README's faithfulness table, and the
sandbox answering in exactly those shapes (it reads them from the same table as the client). The check that every
fact is sourced (check_wire_facts) is in test_client.py."""

from pathlib import Path

import httpx
import pytest
from hub_merit import sandbox
from hub_merit.client import MeritClient
from hub_merit.wire import FACTS, fact

from hub.testing import make_context
from hub.testing.wire import SOURCE_KINDS

README = Path(__file__).resolve().parents[1] / "README.md"
DEMO = sandbox.DEMO_CREDENTIALS


def test_the_readme_faithfulness_table_names_every_assumed_and_inferred_fact():
    text = README.read_text(encoding="utf-8")
    table = text[text.index("## How faithful is this"):]
    for name, wire_fact in FACTS.items():
        assert wire_fact.source in SOURCE_KINDS
        if wire_fact.source in ("assumed", "inferred"):
            assert f"`{name}`" in table, f"{name} ({wire_fact.source}) is missing from the README's table"


@pytest.fixture
def merit(app):
    return MeritClient(make_context("merit", httpx.WSGITransport(app=app)), DEMO)


WINDOW = {"PeriodStart": "20261001", "PeriodEnd": "20261122"}


def test_sandbox_lists_carry_the_fact_named_fields(merit):
    invoices = merit.call(fact("endpoint_invoices"), WINDOW)
    assert invoices and all({fact("invoice_date"), fact("invoice_id"), fact("invoice_number"),
                             fact("invoice_vat")} <= set(r) for r in invoices)
    assert all(fact("purchase_date") in r for r in merit.call(fact("endpoint_purchases"), WINDOW))
    batches = merit.call(fact("endpoint_gl_batches"), {**WINDOW, "DateType": fact("gl_batch_date_type")})
    assert batches and all(fact("gl_batch_date") in r and "DocumentDate" not in r for r in batches)


def test_sandbox_v1_payments_have_no_links_and_v2_payments_do(merit):
    v1 = merit.call(fact("endpoint_payments"), WINDOW)
    v2 = merit.call(fact("endpoint_payment_links"), WINDOW)
    assert v1 and len(v1) == len(v2)
    assert all(fact("payment_links") not in r and "_links" not in r for r in v1)
    customer = [r for r in v2 if r[fact("payment_direction")] == fact("payment_direction_customer")]
    assert customer and all(len(r[fact("payment_links")]) == 1 for r in customer)
    keys = {fact("payment_link_invoice_number"), fact("payment_link_doc_amount"), fact("payment_link_paid_amount"),
            fact("payment_link_invoice_id")}
    assert all(keys <= set(link) for r in customer for link in r[fact("payment_links")])
    # the payment's own number is never the number of the invoice it pays
    assert all(r["DocumentNo"] != link[fact("payment_link_invoice_number")]
               for r in customer for link in r[fact("payment_links")])


def test_sandbox_doc_amount_is_the_paid_invoices_total(merit):
    """``DocAmount`` of a v2 link is the paid invoice's total with VAT (wire fact ``doc_amount_is_total``)."""
    net_key, _, total_key = fact("invoice_details_header")[:3]
    invoices = {r[fact("invoice_number")]: r for r in merit.call(fact("endpoint_invoices"), WINDOW)}
    links = [link for r in merit.call(fact("endpoint_payment_links"), WINDOW)
             if r[fact("payment_direction")] == fact("payment_direction_customer") for link in r[fact("payment_links")]
             if link[fact("payment_link_invoice_number")] in invoices]
    assert links
    for link in links:
        invoice = invoices[link[fact("payment_link_invoice_number")]]
        assert link[fact("payment_link_doc_amount")] == invoice[total_key if fact("doc_amount_is_total") else net_key]


def test_client_constants_come_from_the_facts():
    from hub_merit import client

    assert client.BASES == fact("hosts") and client.WINDOW_MONTHS == fact("list_window_months")
    assert fact("endpoint_send_invoice") in client.DATA_ENDPOINTS


def test_the_plugin_imports_without_pytest():
    """A production install has no pytest: the plugin (its facts are ``hub.wire.WireFact``s, plain data) loads
    and its facts read, and so does its sandbox (``hub.testing`` loads its pytest-based suite only when used)."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['pytest'] = None\n"
            "import hub_merit, hub_merit.sandbox\n"
            "from hub_merit.wire import fact\n"
            "assert fact('gl_batch_date') == 'BatchDate' and hub_merit.hub_vendor().slug == 'merit'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
