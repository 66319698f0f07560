"""The API of linking at scale and client details: suggestions, bulk link, unlinked clients, unlink after
imports, GET/PATCH a client's details; all in the OpenAPI document."""

from hub import statistics
from hub.models import Client, ClientConnection, SummaryTask

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}


def test_suggest_then_confirm_in_bulk_then_unlink(api, example_integration, firm, hub_db, run_jobs):
    assert api.put("/integrations/example/credentials", json={"credentials": GOOD}).status_code == 200
    run_jobs()
    answer = api.post("/integrations/example/link-suggestions")
    assert answer.status_code == 202 and answer.headers["Location"].startswith("/api/v1/runs/")
    run_jobs()
    run_id = answer.get_json()["run"]["id"]
    result = api.get(f"/runs/{run_id}").get_json()["result"]
    ids = [s["client_id"] for s in result["suggestions"]]
    assert len(ids) == 3 and {s["match"] for s in result["suggestions"]} == {"reg_code"}
    assert len(api.get("/integrations/example/unlinked-clients").get_json()) == 3
    linked = api.post("/integrations/example/connections/bulk", json={"run_id": run_id, "client_ids": ids})
    assert linked.status_code == 200, linked.get_json()
    body = linked.get_json()["linked"]
    assert len(body) == 3 and all(item["warnings"] for item in body), "'Client 1' vs the vendor's 'Client 01'"
    assert api.get("/integrations/example/unlinked-clients").get_json() == []
    missing = api.post("/integrations/example/connections/bulk", json={"run_id": run_id, "client_ids": [999999]})
    assert missing.status_code == 404
    # an import, then unlink: history kept
    field = statistics.create_custom_field(firm.id, "Documents")
    statistics.save_summary_settings(example_integration, {"mapping": {"documents": field.id}})
    statistics.reload(example_integration)
    run_jobs()
    client_id = ids[0]
    tasks = SummaryTask.query.filter_by(client_id=client_id).count()
    assert tasks == 12
    assert api.delete(f"/integrations/example/connections/{client_id}").status_code == 204
    assert ClientConnection.query.filter_by(client_id=client_id).count() == 0
    assert SummaryTask.query.filter_by(client_id=client_id).count() == tasks
    assert api.delete(f"/integrations/example/connections/{client_id}").status_code == 404


def test_link_with_a_mismatching_record_answers_warnings(api, example_integration, firm):
    client = Client.query.filter_by(firm_id=firm.id).first()
    client.name = "Viljandi Veski OÜ"
    answer = api.put(f"/integrations/example/connections/{client.id}",
                     json={"vendor_client_id": "9", "vendor_client_name": "Saaremaa Seafood OÜ"})
    assert answer.status_code == 200
    assert "Saaremaa Seafood OÜ" in answer.get_json()["warnings"][0]


def test_client_details_get_and_patch(api, member_api, firm):
    client = Client.query.filter_by(firm_id=firm.id).first()
    patched = api.patch(f"/clients/{client.id}", json={
        "reg_code": " 12345678 ", "email": "books@acme.example", "customer_type": "company",
        "address_street": "Pikk 1", "address_city": "Tallinn", "address_postal_code": "10123",
        "address_country": "ee"})
    assert patched.status_code == 200, patched.get_json()
    body = patched.get_json()
    assert (body["reg_code"], body["address_country"], body["email"]) == ("12345678", "EE", "books@acme.example")
    assert member_api.get(f"/clients/{client.id}").get_json() == body
    bad = api.patch(f"/clients/{client.id}", json={"email": "not-an-address", "customer_type": "robot"})
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) >= {"email", "customer_type"}
    private = api.patch(f"/clients/{client.id}", json={"customer_type": "private", "vat_no": "EE123"})
    assert private.status_code == 422 and "vat_no" in private.get_json()["errors"]
    assert api.patch(f"/clients/{client.id}", json={"reg_code": ""}).get_json()["reg_code"] is None
    assert member_api.patch(f"/clients/{client.id}", json={"email": None}).status_code == 403


def test_the_new_operations_are_documented(member_api):
    paths = member_api.get("/openapi.json").get_json()["paths"]
    assert "post" in paths["/api/v1/integrations/{vendor}/link-suggestions"]
    assert "post" in paths["/api/v1/integrations/{vendor}/connections/bulk"]
    assert "get" in paths["/api/v1/integrations/{vendor}/unlinked-clients"]
    assert "delete" in paths["/api/v1/integrations/{vendor}/connections/{client_id}"]
    assert {"get", "patch"} <= set(paths["/api/v1/clients/{client_id}"])
