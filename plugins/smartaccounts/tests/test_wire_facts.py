"""The wire facts (hub_smartaccounts.wire): every one sourced, every assumed one owned up to in the README, the
client and the sandbox reading their shapes from the same table, and every field the client sends a known one."""

import json
from pathlib import Path

from hub_smartaccounts import client, sandbox
from hub_smartaccounts.wire import FACTS, list_key

from hub.testing.wire import check_wire_facts

from .test_export import make_invoice

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
DEMO = sandbox.DEMO_CREDENTIALS


def test_every_fact_is_sourced_or_owned_up_to_in_the_readme():
    check_wire_facts(FACTS, README)


def test_the_faithfulness_table_names_every_assumed_fact():
    assumed = {name for name, fact in FACTS.items() if fact.source == "assumed"}
    section = README.split("## How faithful is this", 1)[1].split("\n## ", 1)[0]
    assert assumed and all(f"`{name}`" in section for name in assumed)


def test_client_and_sandbox_read_their_shapes_from_the_facts():
    assert client.BASE_URL == FACTS["base_url"].value
    assert client.DATE_FORMAT == sandbox.DATE_FORMAT == FACTS["date_format"].value
    assert client.TIMESTAMP_FORMAT == sandbox.TIMESTAMP_FORMAT == FACTS["timestamp_format"].value
    assert str(client.TALLINN) == str(sandbox.TALLINN) == FACTS["timestamp_zone"].value
    assert sandbox.PAGE_SIZE == FACTS["page_size"].value
    assert client.MORE_KEY == sandbox.MORE_KEY == FACTS["more_key"].value
    assert sandbox.DELETED_KEY == FACTS["deleted_key"].value
    assert sandbox.THROTTLE_STATUS == FACTS["throttle_status"].value == 503
    assert list_key("purchasesales/clientinvoices:get") == "clientInvoices"
    assert list_key("purchasesales/payments:get") == FACTS["payments_list_key"].value
    assert set(client.STATISTIC_LISTS) <= set(FACTS["list_keys"].value) | {"purchasesales/payments:get"}


def test_every_field_the_client_sends_is_a_known_field(call, state):
    call("hub_export_invoice", credentials=DEMO, invoice=make_invoice())
    sent = {r.path.rsplit("/", 1)[-1]: json.loads(r.body) for r in state.requests if r.method == "POST"}
    assert set(sent["clients:add"]) <= set(FACTS["client_add_fields"].value)
    assert set(sent["clients:add"]["address"]) <= set(FACTS["client_address_fields"].value)
    assert set(sent["articles:add"]) == set(FACTS["article_add_fields"].value)
    assert sent["articles:add"]["type"] in FACTS["article_types"].value
    invoice = sent["clientinvoices:add"]
    assert set(invoice) <= set(FACTS["invoice_add_fields"].value)
    for row in invoice["rows"]:
        assert set(row) <= set(FACTS["invoice_row_fields"].value) and row["code"]  # the code is never missing
    reads = {r.path.rsplit("/", 1)[-1]: r.query_string for r in state.requests if r.method == "GET"}
    assert reads["clients:get"].startswith("apikey=") and "&timestamp=" in reads["clients:get"]
    assert f"&{FACTS['client_search_param'].value}=" in reads["clients:get"]
    assert f"&{FACTS['article_search_param'].value}=UKU&" in reads["articles:get"]
