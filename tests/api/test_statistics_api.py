"""Summary settings and mapping, custom fields, Reload data and its progress, summary tasks, runs."""

import pytest

from hub import connections, linking, statistics
from hub.models import Client, CustomField, SummaryTask, SummaryValue, Topic

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}


@pytest.fixture
def linked(api, example_integration, firm, hub_db, run_jobs):
    """Example integration with credentials, a custom field and all three clients linked (vendor ids 1..3)."""
    connections.save_credentials(example_integration, GOOD)
    run_jobs()
    clients = Client.query.filter_by(firm_id=firm.id).order_by(Client.id).all()
    for i, client in enumerate(clients, start=1):
        linking.link_client(None, client_id=client.id, integration=example_integration,
                            vendor_client_id=str(i), vendor_client_name=f"Client {i:02d}")
    return {"integration": example_integration, "clients": clients}


@pytest.fixture
def imported(api, linked, run_jobs):
    """Settings saved with ``documents`` mapped, and a reload run through."""
    field = api.post("/custom-fields", json={"name": "Documents"}).get_json()
    api.put("/integrations/example/summary-settings", json={"mapping": {"documents": field["id"]}})
    run = api.post("/integrations/example/reload", json={}).get_json()
    run_jobs()
    return {**linked, "field": field, "run": run}


# -- custom fields and topics --------------------------------------------------------------------------
def test_custom_fields(api, member_api, firm):
    response = api.post("/custom-fields", json={"name": " Sale entries "})
    assert response.status_code == 201
    field = response.get_json()
    assert field["name"] == "Sale entries" and field["kind"] == "number"
    again = api.post("/custom-fields", json={"name": "Sale entries"})
    assert again.status_code == 200 and again.get_json()["id"] == field["id"]
    assert [f["name"] for f in member_api.get("/custom-fields").get_json()] == ["Sale entries"]
    assert api.post("/custom-fields", json={"name": ""}).status_code == 422
    assert api.post("/custom-fields", json={"name": "   "}).get_json()["errors"] == {"name": ["Must not be blank."]}


def test_topics_and_clients(member_api, firm, hub_db):
    hub_db.session.add(Topic(firm_id=firm.id, name="Bookkeeping"))
    hub_db.session.commit()
    assert [t["name"] for t in member_api.get("/topics").get_json()] == ["Bookkeeping"]
    assert [c["name"] for c in member_api.get("/clients").get_json()] == ["Client 1", "Client 2", "Client 3"]


# -- summary settings ------------------------------------------------------------------------------------
def test_summary_settings_defaults_and_save(api, member_api, linked, firm, hub_db):
    body = member_api.get("/integrations/example/summary-settings").get_json()
    assert body["task_title"] == "Monthly summary" and body["import_day"] == "last_work_day"
    assert body["mapping"] == {} and [f["key"] for f in body["statistic_fields"]] == ["documents", "entries",
                                                                                       "payments"]
    topic = Topic(firm_id=firm.id, name="Bookkeeping")
    hub_db.session.add(topic)
    hub_db.session.commit()
    field = api.post("/custom-fields", json={"name": "Documents"}).get_json()
    settings = {"task_title": "Summary", "topic_id": topic.id, "import_day": 5,
                "mapping": {"documents": field["id"], "entries": None}}
    response = api.put("/integrations/example/summary-settings", json=settings)
    assert response.status_code == 200
    saved = response.get_json()
    assert saved["mapping_changed"] is True
    assert saved["mapping"] == {"documents": field["id"]} and saved["import_day"] == 5
    assert api.put("/integrations/example/summary-settings", json=settings).get_json()["mapping_changed"] is False
    assert member_api.get("/integrations/example/summary-settings").get_json()["topic_id"] == topic.id


def test_summary_settings_field_errors(api, other_firm, linked, hub_db):
    theirs = CustomField(firm_id=other_firm.id, name="Theirs")
    hub_db.session.add(theirs)
    hub_db.session.commit()
    response = api.put("/integrations/example/summary-settings", json={"mapping": {"nope": None}})
    assert response.status_code == 422 and "mapping" in response.get_json()["errors"]
    response = api.put("/integrations/example/summary-settings", json={"mapping": {"documents": theirs.id}})
    assert response.get_json()["errors"] == {"mapping": ["Pick one of the firm's custom task fields."]}
    response = api.put("/integrations/example/summary-settings", json={"import_day": 31, "topic_id": 999})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert "import_day" in errors or "topic_id" in errors


def test_summary_settings_of_a_vendor_without_statistics(api, hub_registry):
    without = [slug for slug, v in hub_registry.vendors.items() if not v.can("statistics")]
    if not without:
        pytest.skip("every installed vendor has statistics")
    assert api.get(f"/integrations/{without[0]}/summary-settings").status_code == 409
    assert api.post(f"/integrations/{without[0]}/reload", json={}).status_code == 409


# -- reload, progress, summary tasks ----------------------------------------------------------------------
def test_reload_needs_a_mapping(api, linked):
    response = api.post("/integrations/example/reload", json={})
    assert response.status_code == 409 and "Map at least one data field" in response.get_json()["detail"]


def test_reload_answers_202_with_a_progress_resource(api, linked, run_jobs):
    field = api.post("/custom-fields", json={"name": "Documents"}).get_json()
    api.put("/integrations/example/summary-settings", json={"mapping": {"documents": field["id"]}})
    response = api.post("/integrations/example/reload", json={})
    assert response.status_code == 202
    run = response.get_json()
    assert response.headers["Location"] == run["url"]
    assert run["kind"] == "reload" and run["progress_total"] == 3 and run["progress_done"] == 0
    run_jobs()
    done = api.get(f"/runs/{run['id']}").get_json()
    assert done["status"] == "succeeded" and done["progress_done"] == 3
    assert {i["outcome"] for i in done["items"]} == {"imported"}


def test_reload_one_client(api, imported, run_jobs):
    client = imported["clients"][0]
    run = api.post("/integrations/example/reload", json={"client_id": client.id}).get_json()
    assert run["progress_total"] == 1
    assert api.post("/integrations/example/reload", json={"client_id": 999999}).status_code == 404


def test_summary_tasks_filter_and_paginate(api, member_api, imported):
    client = imported["clients"][1]
    page = member_api.get("/summary-tasks", query_string={"per_page": 5}).get_json()
    assert page["total"] == 36 and len(page["items"]) == 5 and page["page"] == 1
    periods = [t["period"] for t in page["items"]]
    assert periods == sorted(periods, reverse=True)
    mine = member_api.get("/summary-tasks", query_string={"client_id": client.id, "per_page": 200}).get_json()
    assert mine["total"] == 12 and {t["client_id"] for t in mine["items"]} == {client.id}
    months = sorted(t["period"] for t in mine["items"])
    ranged = member_api.get("/summary-tasks", query_string={"client_id": client.id, "from": months[2],
                                                            "to": months[4]}).get_json()
    assert sorted(t["period"] for t in ranged["items"]) == months[2:5]
    task = ranged["items"][0]
    value = task["values"][0]
    assert task["vendor"] == "example" and value["field"] == "Documents" and value["vendor_field"] == "documents"
    assert value["source"] == "example: Client 02" and value["value"] is not None
    assert member_api.get(f"/summary-tasks/{task['id']}").get_json() == task
    assert member_api.get("/summary-tasks", query_string={"vendor": "nope"}).get_json()["total"] == 0
    assert member_api.get("/summary-tasks", query_string={"page": 99}).get_json()["items"] == []


def test_summary_task_query_errors(member_api):
    response = member_api.get("/summary-tasks", query_string={"from": "2026-13"})
    assert response.status_code == 422 and response.get_json()["errors"] == {"from": ["Use a month as YYYY-MM."]}
    response = member_api.get("/summary-tasks", query_string={"from": "2026-05", "to": "2026-01"})
    assert response.status_code == 200 and response.get_json()["items"] == [], "from after to: no month"
    assert member_api.get("/summary-tasks", query_string={"per_page": 0}).status_code == 422
    assert member_api.get("/summary-tasks/999999").status_code == 404


def test_accept_a_flagged_value(api, member_api, imported, hub_db):
    value = SummaryValue.query.first()
    value.flag, value.pending_value, old = "dropped from 5 to 0", 0, value.value
    hub_db.session.commit()
    assert member_api.post(f"/summary-values/{value.id}/accept").status_code == 403
    response = api.post(f"/summary-values/{value.id}/accept")
    assert response.status_code == 200
    assert response.get_json()["value"] == 0 and response.get_json()["flag"] is None and old != 0
    assert api.post("/summary-values/999999/accept").status_code == 404


def test_runs_list_and_filter(api, imported):
    runs = api.get("/runs", query_string={"per_page": 200}).get_json()
    kinds = {r["kind"] for r in runs["items"]}
    assert {"reload", "import", "test_connection"} <= kinds
    reloads = api.get("/runs", query_string={"kind": "reload", "vendor": "example"}).get_json()
    assert reloads["total"] == 1 and reloads["items"][0]["id"] == imported["run"]["id"]
    assert api.get("/runs", query_string={"status": "failed"}).get_json()["total"] == 0
    assert api.get("/runs/999999").status_code == 404


def test_firm_isolation_of_statistics(api, other_api, imported, other_firm, hub_db):
    task = SummaryTask.query.first()
    value = SummaryValue.query.first()
    assert other_api.get(f"/summary-tasks/{task.id}").status_code == 404
    assert other_api.post(f"/summary-values/{value.id}/accept").status_code == 404
    assert other_api.get("/summary-tasks").get_json()["total"] == 0
    assert other_api.get("/custom-fields").get_json() == []
    assert other_api.get(f"/runs/{imported['run']['id']}").status_code == 404
    assert other_api.get("/summary-tasks", query_string={"client_id": imported["clients"][0].id}
                         ).get_json()["total"] == 0
    other_client = Client.query.filter_by(firm_id=other_firm.id).one()
    assert api.post("/integrations/example/reload", json={"client_id": other_client.id}).status_code == 404
    assert statistics.summary_settings(imported["integration"])["mapping"]
