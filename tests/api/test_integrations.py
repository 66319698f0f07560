"""Vendors, integrations, credentials (write-only), test connection, client connections and lookup."""

import pytest

from hub import vendor_accounts
from hub.models import Client, ClientConnection, SyncRun

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}
BETA = {"api_key": "ex-other-key-0002", "company": "beta"}  # a client that is its own account


@pytest.fixture
def saved(api, example_integration, hub_db):
    """The example integration (enabled, routed to its sandbox) with good credentials saved."""
    assert api.put("/integrations/example/credentials", json={"credentials": GOOD}).status_code == 200
    return example_integration


# -- vendors -------------------------------------------------------------------------------------------
def test_vendors_list_capabilities_and_credentials_schema(member_api):
    vendors = {v["slug"]: v for v in member_api.get("/vendors").get_json()}
    example = vendors["example"]
    assert example["loaded"] and example["name"] == "Example Books"
    assert example["capabilities"][:3] == ["test_connection", "client_lookup", "statistics"]
    assert [f["key"] for f in example["statistic_fields"]] == ["documents", "entries", "payments"]
    schema = example["credentials_schema"]
    assert schema["required"] == ["api_key", "company"]
    assert schema["properties"]["api_key"]["writeOnly"] is True
    assert schema["properties"]["api_key"]["title"] == "API key"
    assert "writeOnly" not in schema["properties"]["company"]
    assert member_api.get("/vendors/example").get_json() == example


def test_vendor_that_failed_to_load_is_listed_with_its_error(member_api, hub_registry):
    from hub.plugins import LoadFailure

    hub_registry.failures["ghost"] = LoadFailure("ghost", "import failed: ImportError", "hub-ghost", "9.9")
    try:
        ghost = member_api.get("/vendors/ghost").get_json()
    finally:
        del hub_registry.failures["ghost"]
    assert ghost["loaded"] is False and ghost["error"] == "import failed: ImportError"


def test_unknown_vendor_is_404(member_api):
    for path in ("/vendors/nope", "/integrations/nope", "/integrations/nope/connections"):
        response = member_api.get(path)
        assert response.status_code == 404 and response.mimetype == "application/problem+json", path


# -- integrations and credentials ------------------------------------------------------------------------
def test_integration_not_set_up_yet(member_api):
    body = member_api.get("/integrations/example").get_json()
    assert body["id"] is None and body["status"] == "not_configured" and body["enabled"] is False
    assert body["credentials"] == {"api_key": {"set": False}}
    assert "example" in {i["vendor"] for i in member_api.get("/integrations").get_json()}


def test_enable_and_disable(api, hub_db):
    response = api.patch("/integrations/example", json={"enabled": True})
    assert response.status_code == 200
    assert response.get_json()["enabled"] is True and response.get_json()["status"] == "not_configured"
    body = api.patch("/integrations/example", json={"enabled": False}).get_json()
    assert body["enabled"] is False and body["status"] == "disabled"


def test_enable_needs_the_team_plan(api, firm, hub_db):
    firm.plan = "basic"
    hub_db.session.commit()
    response = api.patch("/integrations/example", json={"enabled": True})
    assert response.status_code == 409
    body = response.get_json()
    assert body["kind"] == "config" and "Team plan" in body["detail"] and body["hint"]


def test_enable_validates_the_body(api):
    response = api.patch("/integrations/example", json={"enabled": "maybe", "extra": 1})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"enabled", "extra"}


def test_credentials_are_write_only(api, example_integration, hub_db):
    response = api.put("/integrations/example/credentials", json={"credentials": {**GOOD, "company": "  acme "}})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert GOOD["api_key"] not in text
    body = response.get_json()
    assert body["credentials"] == {"api_key": {"set": True}, "company": "acme"}
    assert body["status"] == "untested"
    assert GOOD["api_key"] not in api.get("/integrations/example").get_data(as_text=True)
    assert GOOD["api_key"] not in api.get("/integrations").get_data(as_text=True)
    # a blank secret keeps the saved one
    api.put("/integrations/example/credentials", json={"credentials": {"api_key": "", "company": "acme2"}})
    assert vendor_accounts.stored_credentials(example_integration) == {"api_key": GOOD["api_key"], "company": "acme2"}


def test_credentials_validation_is_field_level(api, example_integration):
    response = api.put("/integrations/example/credentials", json={"credentials": {"api_key": "k"}})
    assert response.status_code == 409, "neither sent nor saved: a conflict with what is saved"
    assert response.get_json()["errors"] == {"company": ["Required: nothing is saved for this field yet."]}
    response = api.put("/integrations/example/credentials", json={"credentials": {"api_key": "k", "company": 7}})
    assert response.status_code == 422 and "company" in response.get_json()["errors"]
    response = api.put("/integrations/example/credentials", json={})
    assert response.status_code == 422 and "credentials" in response.get_json()["errors"]


def test_credentials_saved_after_a_passing_test_are_ok_at_once(api, example_integration, wait_runs_inline, hub_db):
    run = api.post("/integrations/example/test-connection", json={"credentials": GOOD}).get_json()
    assert run["status"] == "succeeded"
    body = api.put("/integrations/example/credentials",
                   json={"credentials": GOOD, "tested_run_id": run["id"]}).get_json()
    assert body["status"] == "ok" and body["account_name"]


# -- test connection ------------------------------------------------------------------------------------
def test_test_connection_answers_when_the_worker_is_quick(api, saved, wait_runs_inline):
    response = api.post("/integrations/example/test-connection", json={})
    assert response.status_code == 200
    run = response.get_json()
    assert run["kind"] == "test_connection" and run["status"] == "succeeded" and run["finished"]
    assert run["result"]["account_name"] and "fingerprint" not in run["result"]
    assert api.get("/integrations/example").get_json()["status"] == "ok"


def test_test_connection_202_with_a_run_to_poll(api, saved, run_jobs):
    run_jobs()  # the test queued by the save
    response = api.post("/integrations/example/test-connection", json={"credentials": {"api_key": "bad"}})
    assert response.status_code == 202
    run = response.get_json()
    assert response.headers["Location"] == run["url"] == f"/api/v1/runs/{run['id']}"
    assert run["status"] == "queued" and not run["finished"]
    run_jobs()
    polled = api.get(f"/runs/{run['id']}").get_json()
    assert polled["status"] == "failed" and polled["error"]["kind"] == "auth"
    assert '"bad"' not in api.get(f"/runs/{run['id']}").get_data(as_text=True), "no credential in a run"
    # a test of unsaved values says nothing about the saved ones
    assert api.get("/integrations/example").get_json()["status"] == "ok"


def test_test_connection_rejects_invalid_candidates(api, example_integration):
    response = api.post("/integrations/example/test-connection", json={"credentials": {"api_key": "x"}})
    assert response.status_code == 409 and "company" in response.get_json()["errors"]
    response = api.post("/integrations/example/test-connection", json={"credentials": {"api_key": "x", "company": []}})
    assert response.status_code == 422 and "company" in response.get_json()["errors"]


# -- client connections and lookup ---------------------------------------------------------------------------
def test_link_a_client_and_read_it_back(api, saved, firm, hub_db):
    client = Client.query.filter_by(firm_id=firm.id).order_by(Client.id).first()
    response = api.put(f"/integrations/example/connections/{client.id}",
                       json={"vendor_client_id": "2", "vendor_client_name": "Client 02"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["client_id"] == client.id and body["vendor_client_id"] == "2" and body["own_credentials"] is False
    assert api.get(f"/integrations/example/connections/{client.id}").get_json() == body
    assert [c["client_id"] for c in api.get("/integrations/example/connections").get_json()] == [client.id]
    # re-link to fix a wrong pick, then unlink
    assert api.put(f"/integrations/example/connections/{client.id}",
                   json={"vendor_client_id": "3"}).get_json()["vendor_client_id"] == "3"
    assert api.put(f"/integrations/example/connections/{client.id}",
                   json={"vendor_client_id": None}).get_json()["vendor_client_id"] is None


def test_connection_errors(api, member_api, saved, firm):
    client = Client.query.filter_by(firm_id=firm.id).first()
    assert api.get(f"/integrations/example/connections/{client.id}").status_code == 404, "not linked yet"
    assert api.put(f"/integrations/example/connections/{client.id}", json={}).status_code == 422
    assert api.put("/integrations/example/connections/999999", json={"vendor_client_id": "1"}).status_code == 404
    assert member_api.put(f"/integrations/example/connections/{client.id}",
                          json={"vendor_client_id": "1"}).status_code == 403


def test_per_client_credentials(api, saved, firm, hub_db):
    client = Client.query.filter_by(firm_id=firm.id).first()
    response = api.put(f"/integrations/example/connections/{client.id}/credentials",
                       json={"credentials": {"api_key": "client-key-1", "company": "client-co"}})
    assert response.status_code == 200
    body = response.get_json()
    assert body["own_credentials"] is True and body["credentials"] == {"api_key": {"set": True},
                                                                        "company": "client-co"}
    assert "client-key-1" not in response.get_data(as_text=True)
    conn = ClientConnection.query.filter_by(client_id=client.id).one()
    assert vendor_accounts.stored_credentials(conn)["api_key"] == "client-key-1"
    response = api.put(f"/integrations/example/connections/{client.id}/credentials", json={"credentials": {}})
    assert response.status_code == 200, "blank secrets keep the stored ones"
    bad = api.put(f"/integrations/example/connections/{client.id}/credentials",
                  json={"credentials": {"company": 5}})
    assert bad.status_code == 422


def test_client_lookup(api, saved, wait_runs_inline):
    response = api.post("/integrations/example/client-lookup", json={"query": ""})
    assert response.status_code == 200
    body = response.get_json()
    assert body["run"]["status"] == "succeeded"
    assert body["clients"] and {"id", "name"} <= set(body["clients"][0])


def test_client_lookup_202_then_poll(api, saved, run_jobs):
    response = api.post("/integrations/example/client-lookup", json={"query": "client"})
    assert response.status_code == 202 and response.get_json()["clients"] is None
    run_jobs()
    run = api.get(response.headers["Location"].removeprefix("/api/v1")).get_json()
    assert run["status"] == "succeeded" and "clients" in run["result"]


def test_client_lookup_needs_credentials(api, example_integration):
    response = api.post("/integrations/example/client-lookup", json={})
    assert response.status_code == 409 and response.get_json()["kind"] == "config"


def test_client_lookup_of_a_vendor_without_it(api, hub_registry):
    without = [slug for slug, v in hub_registry.vendors.items() if not v.can("client_lookup")]
    if not without:
        pytest.skip("every installed vendor has client lookup")
    response = api.post(f"/integrations/{without[0]}/client-lookup", json={})
    assert response.status_code == 409 and response.get_json()["type"] == "urn:hub:problem:not-supported"


# -- firm isolation --------------------------------------------------------------------------------------
def test_another_firms_clients_and_runs_are_404(api, other_api, saved, other_firm, firm, run_jobs, hub_db):
    theirs = Client.query.filter_by(firm_id=other_firm.id).one()
    ours = Client.query.filter_by(firm_id=firm.id).first()
    assert api.put(f"/integrations/example/connections/{theirs.id}", json={"vendor_client_id": "1"}).status_code == 404
    assert api.get(f"/integrations/example/connections/{theirs.id}").status_code == 404
    assert api.put(f"/integrations/example/connections/{theirs.id}/credentials",
                   json={"credentials": GOOD}).status_code == 404
    api.put(f"/integrations/example/connections/{ours.id}", json={"vendor_client_id": "1"})
    assert other_api.get(f"/integrations/example/connections/{ours.id}").status_code == 404
    run = SyncRun.query.filter_by(firm_id=firm.id).first()
    assert other_api.get(f"/runs/{run.id}").status_code == 404
    assert other_api.get("/runs").get_json()["total"] == 0
    assert other_api.get("/integrations/example").get_json()["status"] == "not_configured"
    assert other_api.put("/integrations/example/credentials",
                         json={"credentials": GOOD, "tested_run_id": run.id}).status_code == 404


# -- a client's own credentials: test them -----------------------------------------------------------------
def test_test_a_clients_own_credentials(api, member_api, other_api, saved, firm, wait_runs_inline, hub_db):
    client = Client.query.filter_by(firm_id=firm.id).first()
    path = f"/integrations/example/connections/{client.id}/test-connection"
    assert api.post(path, json={}).status_code == 404, "not linked yet"
    api.put(f"/integrations/example/connections/{client.id}", json={"vendor_client_id": "1"})
    response = api.post(path, json={})
    assert response.status_code == 409 and "no credentials of its own" in response.get_json()["detail"]
    # unsaved values first, then save them with the passing run: ok at once
    response = api.post(path, json={"credentials": BETA})
    assert response.status_code == 200
    run = response.get_json()
    assert run["status"] == "succeeded" and run["client_connection_id"] and "fingerprint" not in run["result"]
    body = api.put(f"/integrations/example/connections/{client.id}/credentials",
                   json={"credentials": BETA,
                         "tested_run_id": run["id"]}).get_json()
    assert body["status"] == "ok" and body["own_credentials"] is True
    # the saved ones
    again = api.post(path, json={}).get_json()
    assert again["status"] == "succeeded" and again["client_connection_id"] == run["client_connection_id"]
    assert api.post(path, json={"credentials": {"company": 5}}).status_code == 422
    assert member_api.post(path, json={}).status_code == 403
    assert other_api.post(path, json={}).status_code == 404
    assert api.post("/integrations/example/connections/999999/test-connection", json={}).status_code == 404


def test_test_a_clients_credentials_202_then_poll(api, saved, firm, run_jobs, hub_db):
    client = Client.query.filter_by(firm_id=firm.id).first()
    api.put(f"/integrations/example/connections/{client.id}/credentials",
            json={"credentials": BETA})
    run_jobs()
    response = api.post(f"/integrations/example/connections/{client.id}/test-connection",
                        json={"credentials": {"api_key": "bad"}})
    assert response.status_code == 202 and response.headers["Location"] == response.get_json()["url"]
    run_jobs()
    polled = api.get(response.headers["Location"].removeprefix("/api/v1")).get_json()
    assert polled["status"] == "failed" and polled["error"]["kind"] == "auth"
    conn = ClientConnection.query.filter_by(client_id=client.id).one()
    assert conn.status == "ok", "a test of unsaved values says nothing about the saved ones"
