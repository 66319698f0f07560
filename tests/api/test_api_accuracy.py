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
    for path in ("/api/v1/integrations/{vendor}/reload", "/api/v1/integrations/{vendor}/test-connection",
                 "/api/v1/integrations/{vendor}/client-lookup"):
        assert spec[path]["post"]["requestBody"].get("required") is not True, path
    assert spec["/api/v1/integrations/{vendor}/summary-settings"]["put"]["requestBody"]["required"] is True


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
