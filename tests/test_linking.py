"""Linking at scale and the link lifecycle: suggested matches from one paged lookup, bulk confirm, the
mismatch warning, unlink after imports, relink + Reload overwriting (also by 0)."""

import pytest

from hub import clients, connections, linking, statistics
from hub.errors import ConfigError
from hub.models import Client, ClientConnection, InvoiceExport, SummaryTask, SummaryValue, SyncRun
from hub.types import Period

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}


def test_names_and_codes_are_normalised():
    assert clients.normalise_name("Viljandi Veski OÜ") == clients.normalise_name("VILJANDI  VESKI, oü")
    assert clients.normalise_name("Põhjala Puit AS") == "pohjala puit"
    assert clients.normalise_name("Kala Sp. z o.o.") == "kala"
    assert clients.normalise_code(" ee 1012-3456 ") == "EE10123456"
    assert clients.vat_keys("EE101234567") == {"EE101234567", "101234567"}


def test_a_manual_link_that_looks_like_another_company_warns(example_integration, firm):
    client = Client.query.filter_by(firm_id=firm.id).first()
    client.name, client.reg_code = "Viljandi Veski OÜ", "12345678"
    wrong = linking.link_client(None, client_id=client.id, integration=example_integration,
                                vendor_client_id="77", vendor_client_name="Saaremaa Seafood OÜ",
                                vendor_client_reg_code="87654321")
    warnings = linking.link_warnings(wrong)
    assert len(warnings) == 2 and "Saaremaa Seafood OÜ" in warnings[0] and "87654321" in warnings[1]
    right = linking.link_client(wrong, client_id=client.id, integration=example_integration,
                                vendor_client_id="78", vendor_client_name="VILJANDI VESKI oü")
    assert linking.link_warnings(right) == [], "same company, other spelling; no reg. code to compare"


@pytest.fixture
def big_vendor(monkeypatch):
    """The example vendor with 500 client records (10 a page): reg. codes for 1–400, names only after."""
    from hub_example import sandbox

    records = [{"id": i, "name": f"Client {i:03d}", **({"reg": f"1000{i:04d}"} if i <= 400 else {})}
               for i in range(1, 501)]
    monkeypatch.setattr(sandbox, "CLIENTS", records)
    return records


def test_500_clients_get_suggestions_from_one_paged_lookup(big_vendor, example_integration, example_sandbox, firm,
                                                           hub_db, run_jobs):
    connections.save_credentials(example_integration, GOOD)
    run_jobs()
    for i in range(4, 501):  # the firm has 500 clients (three come with the fixture, reg. codes 1–3)
        if i <= 400:
            hub_db.session.add(Client(firm_id=firm.id, name=f"Firma {i}", reg_code=f"1000-{i:04d}"))
        elif i <= 480:
            hub_db.session.add(Client(firm_id=firm.id, name=f"CLIENT {i:03d} OÜ"))
        else:
            hub_db.session.add(Client(firm_id=firm.id, name=f"Somebody Else {i}"))
    hub_db.session.commit()
    calls = example_sandbox[0].config["calls"]
    calls.clear()
    run = linking.suggest_links(example_integration)
    run_jobs()
    hub_db.session.refresh(run)
    assert run.status == "succeeded", run.error
    client_pages = [c for c in calls if c.endswith("/clients")]
    assert len(client_pages) == 50 == len(calls), "one paged lookup: 500 records / 10 a page, nothing per client"
    result = run.result
    assert (result["vendor_records"], result["clients"]) == (500, 500)
    by_match = {}
    for s in result["suggestions"]:
        by_match[s["match"]] = by_match.get(s["match"], 0) + 1
    assert by_match == {"reg_code": 400, "name": 80}
    assert len(result["unmatched_client_ids"]) == 20
    firma_7 = Client.query.filter_by(name="Firma 7").one()
    pick = next(s for s in result["suggestions"] if s["client_id"] == firma_7.id)
    assert (pick["vendor_client_id"], pick["match"]) == ("7", "reg_code")
    assert pick["warnings"] and "Client 007" in pick["warnings"][0], "same reg. code, other name: shown"
    # the admin confirms all of them at once
    linked = linking.link_suggested(example_integration, run, [s["client_id"] for s in result["suggestions"]])
    assert len(linked) == 480 and len(calls) == 50, "confirming calls the vendor no more"
    assert {c.id for c in linking.unlinked_clients(example_integration)} == set(result["unmatched_client_ids"])
    with pytest.raises(ConfigError, match="No suggestion"):
        linking.link_suggested(example_integration, run, result["unmatched_client_ids"][:1])


def test_a_vendor_record_fitting_two_clients_is_no_suggestion(hub_db, firm):
    a = Client(firm_id=firm.id, name="Twin OÜ")
    b = Client(firm_id=firm.id, name="TWIN AS")
    hub_db.session.add_all([a, b])
    hub_db.session.commit()
    from hub.types import VendorClient

    assert linking.match_clients([a, b], [VendorClient(id="1", name="Twin")]) == []
    assert linking.match_clients([a], [VendorClient(id="1", name="Twin"), VendorClient(id="2", name="Twin Oy")]) \
        == [], "ambiguous: two records with the same name"


@pytest.fixture
def imported(example_integration, example_sandbox, firm, hub_db, run_jobs, serve):
    connections.save_credentials(example_integration, GOOD)
    run_jobs()
    docs = statistics.create_custom_field(firm.id, "Documents")
    statistics.save_summary_settings(example_integration, {"mapping": {"documents": docs.id}})
    links = [linking.link_client(None, client_id=c.id, integration=example_integration, vendor_client_id=str(i),
                                 vendor_client_name=f"Client {i:02d}")
             for i, c in enumerate(Client.query.filter_by(firm_id=firm.id).order_by(Client.id), start=1)]
    statistics.reload(example_integration)
    run_jobs()
    assert SummaryValue.query.count() == 36 and all(v.value > 0 for v in SummaryValue.query)
    from hub_example import sandbox

    zero_origin = serve(sandbox.create_app(zero=True))  # the vendor's numbers from now on: all 0
    return {"integration": example_integration, "links": links, "docs": docs, "zero_origin": zero_origin}


def docs_of(client_id):
    return {v.task.period: (v.value, v.flag) for v in SummaryValue.query.join(SummaryTask)
            .filter(SummaryTask.client_id == client_id)}


def test_relink_then_reload_overwrites_the_old_records_values_also_by_zero(imported, hub_db, run_jobs):
    integration, (first, second, _third) = imported["integration"], imported["links"]
    linking.link_client(first, client_id=first.client_id, integration=integration, vendor_client_id="9",
                        vendor_client_name="Client 09")
    integration.settings = {**integration.settings, "origin": imported["zero_origin"]}
    hub_db.session.commit()
    statistics.reload(integration)
    run_jobs()
    relinked = docs_of(first.client_id)
    assert len(relinked) == 12 and set(relinked.values()) == {(0, None)}, "the new record's 0s replace the old"
    same = docs_of(second.client_id)
    assert all(value > 0 and flag and "dropped from" in flag for value, flag in same.values()), \
        "the same record dropping to 0 is still held back"
    # and once imported through the new link, a drop to 0 is guarded again
    assert statistics._same_link(first, SummaryValue.query.join(SummaryTask)
                                 .filter(SummaryTask.client_id == first.client_id).first().imported_at)


def test_relinking_to_the_same_record_keeps_the_guard(imported, hub_db, run_jobs):
    integration, first = imported["integration"], imported["links"][0]
    linking.link_client(first, client_id=first.client_id, integration=integration, vendor_client_id="1",
                        vendor_client_name="Client 01 (renamed)")
    integration.settings = {**integration.settings, "origin": imported["zero_origin"]}
    hub_db.session.commit()
    statistics.reload(integration, connection=first)
    run_jobs()
    assert all(flag for _value, flag in docs_of(first.client_id).values())


def test_unlink_after_imports_keeps_history_and_stops_syncing(imported, hub_db, run_jobs):
    integration, first = imported["integration"], imported["links"][0]
    client_id, connection_id = first.client_id, first.id
    before = docs_of(client_id)
    details = linking.unlink_client(first)
    assert details["vendor_client_id"] == "1"
    assert hub_db.session.get(ClientConnection, connection_id) is None
    assert docs_of(client_id) == before, "the imported months stay"
    assert {r.params.get("client_id") for r in SyncRun.query.filter_by(kind="import")} >= {client_id}
    parent = statistics.reload(integration)
    assert parent.progress_total == 2, "the unlinked client is no longer synced"
    assert client_id in {c.id for c in linking.unlinked_clients(integration)}
    run_jobs()


def test_unlink_is_refused_only_while_a_job_runs(imported, hub_db):
    first = imported["links"][0]
    statistics.import_client(first, [Period(2026, 1)])  # queued, not run
    with pytest.raises(ConfigError, match="still running"):
        linking.unlink_client(first)
    assert InvoiceExport.query.count() == 0
