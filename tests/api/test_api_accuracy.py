"""API document accuracy and request checks found by schemathesis (issue 17, items 6-7)."""

from hub import statistics


def test_idempotency_key_is_documented_on_posts_only(api):
    spec = api.get("/openapi.json").get_json()
    for path, item in spec["paths"].items():
        assert not any(p.get("name") == "Idempotency-Key" for p in item.get("parameters", [])), path
        for method, op in item.items():
            if method == "parameters":
                continue
            named = [p["name"] for p in op.get("parameters", [])]
            if method == "get":
                assert "Idempotency-Key" not in named, (method, path)
    issue = spec["paths"]["/api/v1/invoices/{invoice_id}/issue"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in issue["parameters"]]


def test_zero_is_not_a_boolean(api, example_integration):
    response = api.patch("/integrations/example", json={"enabled": 0})
    assert response.status_code == 422 and "enabled" in response.get_json()["errors"]
    assert api.patch("/integrations/example", json={"export_invoices": "yes"}).status_code == 422
    assert api.patch("/integrations/example", json={"enabled": False}).status_code == 200


def test_summary_settings_need_a_body(api, firm, example_integration, hub_db):
    field = statistics.create_custom_field(firm.id, "Documents")
    statistics.save_summary_settings(example_integration, {"mapping": {"documents": field.id}})
    response = api.put("/integrations/example/summary-settings")
    assert response.status_code == 422 and "_body" in response.get_json()["errors"]
    response = api.put("/integrations/example/summary-settings", data="", content_type="application/json")
    assert response.status_code == 422
    hub_db.session.refresh(example_integration)
    assert statistics.summary_settings(example_integration)["mapping"] == {"documents": field.id}, "kept"


def test_optional_bodies_are_documented_as_optional(api):
    spec = api.get("/openapi.json").get_json()["paths"]
    for path in ("/api/v1/integrations/{vendor}/reload", "/api/v1/integrations/example/test-connection",
                 "/api/v1/integrations/{vendor}/client-lookup"):
        assert spec[path]["post"]["requestBody"].get("required") is not True, path
    assert spec["/api/v1/integrations/example/summary-settings"]["put"]["requestBody"]["required"] is True


def test_a_member_gets_403_before_any_422(member_api, example_integration):
    response = member_api.put("/integrations/example/credentials", json={"credentials": {"api_key": "a\u0000b"}})
    assert response.status_code == 403
    response = member_api.post("/custom-fields", json={"name": "x\u0000"})
    assert response.status_code == 403
    response = member_api.put("/integrations/example/summary-settings")
    assert response.status_code == 403


def test_admin_still_gets_422_for_unstorable_text(api, example_integration):
    response = api.post("/custom-fields", json={"name": "x\u0000"})
    assert response.status_code == 422


def test_vendor_dependent_bodies_are_documented_per_vendor(api):
    """OpenAPI cannot tie a body to a path value: the credentials and summary-settings paths are listed per
    vendor with that vendor's fields (unknown fields refused), the mapping paths per kind."""
    spec = api.get("/openapi.json").get_json()
    paths = spec["paths"]
    assert "/api/v1/integrations/{vendor}/credentials" not in paths
    body = paths["/api/v1/integrations/example/credentials"]["put"]["requestBody"]["content"]["application/json"]
    credentials = body["schema"]["properties"]["credentials"]
    assert set(credentials["properties"]) == {"api_key", "company"} and credentials["additionalProperties"] is False
    assert "required" not in credentials, "a field left out keeps the saved value"
    assert credentials["properties"]["api_key"]["nullable"] is True
    mapping = paths["/api/v1/integrations/example/summary-settings"]["put"]["requestBody"]["content"][
        "application/json"]["schema"]["properties"]["mapping"]
    assert "documents" in mapping["properties"] and mapping["additionalProperties"] is False
    tax = paths["/api/v1/integrations/{vendor}/tax-rates/mappings"]["put"]["requestBody"]["content"]
    assert tax["application/json"]["schema"]["properties"]["hub_key"]["pattern"]
    for item in paths.values():
        for param in item.get("parameters", []):
            enum = param.get("schema", {}).get("enum")
            assert not enum or param["example"] in enum, param


def test_missing_required_credentials_are_a_409_naming_them(api, example_integration):
    response = api.put("/integrations/example/credentials", json={"credentials": {"company": "acme"}})
    assert response.status_code == 409 and set(response.get_json()["errors"]) == {"api_key"}
    response = api.put("/integrations/example/credentials",
                       json={"credentials": {"company": "acme", "api_key": "ex-key-123"}})
    assert response.status_code == 200
    response = api.put("/integrations/example/credentials", json={"credentials": {"company": "acme2"}})
    assert response.status_code == 200, "the saved key is kept"


def test_reused_idempotency_key_is_a_documented_422(api, firm, hub_db):
    from hub.models import Client

    client = Client.query.filter_by(firm_id=firm.id).first()
    invoice = {"client_id": client.id, "number": "I-1", "issue_date": "2026-02-01", "due_date": "2026-02-15",
               "lines": [{"description": "x", "quantity": "1", "unit_price": "1", "vat_rate": "22"}]}
    headers = {"Idempotency-Key": "k-1"}
    assert api.post("/invoices", json=invoice, headers=headers).status_code == 201
    replay = api.post("/invoices", json=invoice, headers=headers)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    other = api.post("/invoices", json={**invoice, "number": "I-2"}, headers=headers)
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["errors"]
    spec = api.get("/openapi.json").get_json()["paths"]
    for path in ("/api/v1/invoices", "/api/v1/invoices/{invoice_id}/issue", "/api/v1/exports/{export_id}/retry"):
        assert "Idempotency-Key" in spec[path]["post"]["responses"]["422"]["description"], path


def test_duplicate_invoice_number_is_a_conflict(api, firm, hub_db):
    from hub.models import Client

    client = Client.query.filter_by(firm_id=firm.id).first()
    invoice = {"client_id": client.id, "number": "D-1", "issue_date": "2026-02-01", "due_date": "2026-02-15",
               "lines": [{"description": "x", "quantity": "1", "unit_price": "1", "vat_rate": "22"}]}
    assert api.post("/invoices", json=invoice).status_code == 201
    response = api.post("/invoices", json=invoice)
    assert response.status_code == 409 and "number" in response.get_json()["errors"]
    assert api.post("/invoices", json={**invoice, "number": "  "}).status_code == 422
