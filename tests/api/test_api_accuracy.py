"""API document accuracy and request checks found by schemathesis (issue 17, items 6-7)."""

import pytest

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


# -- the document states the rules the API applies (schemathesis: "schema-valid request rejected") --------
def documented(prop: dict, value: object) -> bool:
    """Whether ``value`` is valid for ``prop`` (the subset of OpenAPI 3.0 schemas these bodies use)."""
    import re

    if value is None:
        return bool(prop.get("nullable")) or any(b.get("nullable") for b in prop.get("anyOf", []))
    if "anyOf" in prop:
        return any(documented(branch, value) for branch in prop["anyOf"])
    kind = prop.get("type")
    if kind == "string" and not isinstance(value, str):
        return False
    if kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        return False
    if isinstance(value, str):
        if not prop.get("minLength", 0) <= len(value) <= prop.get("maxLength", len(value)):
            return False
        if "pattern" in prop and not re.search(prop["pattern"], value):
            return False
        if "enum" in prop and value not in prop["enum"]:
            return False
    if isinstance(value, int) and not prop.get("minimum", value) <= value <= prop.get("maximum", value):
        return False
    return True


GOOD_CREDENTIALS = {
    "merit": {"api_id": "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "api_key": "u5h9abcdefghijklmnopZk0=",
              "country": "EE"},
    "scoro": {"company_account_id": "acme", "api_key": "scoro-key-123", "subdomain": "acme"},
    "directo": {"token": "directo-token-1", "database": "acme_ee"},
    "trigon": {"id_token": "id-token-123", "api_key": "api-key-456"},
    "smartaccounts": {"api_key": "sa-key-12345", "api_secret": "sa-secret-678"},
    "tripletex": {"employee_token": "sbx-employee-fjord-0001"},
}


@pytest.mark.parametrize(("vendor", "field", "value"), [
    ("merit", "api_id", "not-a-guid"), ("merit", "api_id", "3F2504E0-4F89-41D3-9A0C-0305E82C3301"),
    ("merit", "api_key", "short"), ("merit", "api_key", "sixteen-chars-ok"),
    ("scoro", "company_account_id", "acme corp"), ("scoro", "company_account_id", "acme.ee_2"),
    ("scoro", "subdomain", "acme.scoro.com"), ("scoro", "subdomain", "acme-books"),
    ("directo", "token", "short"), ("directo", "token", "has a space"), ("directo", "database", "acme ee"),
    ("directo", "database", "ACME_EE"), ("directo", "invoice_numbers", "0"),
    ("directo", "invoice_numbers", "2147483648"), ("directo", "invoice_numbers", "900001-999999"),
    ("directo", "invoice_numbers", "2147483647"), ("directo", "invoice_numbers", None),
    ("trigon", "api_key", "has space inside"), ("trigon", "api_key", "another-key-9"),
    ("smartaccounts", "api_key", "key&secret=1"), ("smartaccounts", "api_secret", "short"),
    ("tripletex", "company_id", 42), ("tripletex", "company_id", "42"), ("tripletex", "company_id", None),
    ("tripletex", "company_id", "acme"), ("tripletex", "company_id", "\u00b2"), ("tripletex", "company_id", -1),
    ("tripletex", "company_id", True), ("tripletex", "employee_token", "has spaces inside"),
])
def test_credentials_rules_are_in_the_document(api, vendor, field, value):
    """A value the document allows is accepted and one it refuses is refused (each vendor's own rules)."""
    spec = api.get("/openapi.json").get_json()
    body = spec["paths"][f"/api/v1/integrations/{vendor}/credentials"]["put"]["requestBody"]
    prop = body["content"]["application/json"]["schema"]["properties"]["credentials"]["properties"][field]
    response = api.put(f"/integrations/{vendor}/credentials",
                       json={"credentials": {**GOOD_CREDENTIALS[vendor], field: value}})
    assert response.status_code == (200 if documented(prop, value) else 422), response.get_json()


def test_a_blank_secret_keeps_the_saved_one_as_documented(api):
    saved = api.put("/integrations/merit/credentials", json={"credentials": GOOD_CREDENTIALS["merit"]})
    assert saved.status_code == 200
    spec = api.get("/openapi.json").get_json()
    body = spec["paths"]["/api/v1/integrations/merit/credentials"]["put"]["requestBody"]
    prop = body["content"]["application/json"]["schema"]["properties"]["credentials"]["properties"]["api_key"]
    for blank in ("", "  ", None):
        assert documented(prop, blank), blank
        response = api.put("/integrations/merit/credentials", json={"credentials": {"api_key": blank}})
        assert response.status_code == 200, blank
    assert not documented(prop, "short")


@pytest.mark.parametrize(("field", "value"), [
    ("quantity", "0"), ("quantity", "0.0000"), ("quantity", "0.0001"), ("quantity", "1000000000"),
    ("quantity", "1000000000.0001"), ("quantity", "-1"), ("unit_price", "-1000000000"),
    ("unit_price", "10000000000"), ("unit_price", "0"), ("vat_rate", "101"), ("vat_rate", "100.00"),
    ("vat_rate", "9.5"),
])
def test_invoice_line_ranges_are_in_the_document(api, firm, hub_db, field, value):
    from hub.models import Client

    spec = api.get("/openapi.json").get_json()
    line = spec["components"]["schemas"]["InvoiceLine"]["properties"][field]
    client = Client.query.filter_by(firm_id=firm.id).first()
    invoice = {"client_id": client.id, "number": "R-1", "issue_date": "2026-02-01", "due_date": "2026-02-15",
               "lines": [{"description": "x", "quantity": "1", "unit_price": "1", "vat_rate": "22", field: value}]}
    response = api.post("/invoices", json=invoice)
    assert response.status_code == (201 if documented(line, value) else 422), response.get_json()


@pytest.fixture
def any_receiver(hub_app, monkeypatch):
    """Webhook URLs checked by their form only: whether a host resolves to a public address needs DNS, which
    no document can state (that rule is tested in tests/test_webhooks.py)."""
    monkeypatch.setitem(hub_app.config, "HUB_WEBHOOKS_ALLOW_PRIVATE", True)


@pytest.mark.parametrize("url", ["", "000", "ftp://host.example/x", "https://exa mple.example/",
                                 "https://host.example/hooks/hub", "http://127.0.0.1:8080/in?x=1#y",
                                 "https://user:pw@hooks.example/in", "https://bücher.example/"])
def test_webhook_url_rule_is_in_the_document(api, url, any_receiver):
    spec = api.get("/openapi.json").get_json()
    prop = spec["components"]["schemas"]["Endpoint"]["properties"]["url"]
    response = api.post("/webhook-endpoints", json={"url": url})
    assert response.status_code == (201 if documented(prop, url) else 422), response.get_json()


def test_patch_without_a_body_is_refused(api, firm, hub_db, any_receiver):
    from hub.models import Client

    client = Client.query.filter_by(firm_id=firm.id).first()
    response = api.patch(f"/clients/{client.id}")
    assert response.status_code == 422 and "_body" in response.get_json()["errors"]
    assert api.patch(f"/clients/{client.id}", json={"email": "books@acme.example"}).status_code == 200
    endpoint = api.post("/webhook-endpoints", json={"url": "https://host.example/hooks/hub"}).get_json()
    response = api.patch(f"/webhook-endpoints/{endpoint['id']}")
    assert response.status_code == 422 and "_body" in response.get_json()["errors"]
    assert api.patch(f"/webhook-endpoints/{endpoint['id']}", json={"enabled": True}).status_code == 200


def test_a_blank_client_email_clears_it_as_documented(api, firm, hub_db):
    from hub.models import Client

    spec = api.get("/openapi.json").get_json()
    schema = spec["paths"]["/api/v1/clients/{client_id}"]["patch"]["requestBody"]["content"]["application/json"]
    ref = schema["schema"]["$ref"].rsplit("/", 1)[-1]
    email = spec["components"]["schemas"][ref]["properties"]["email"]
    assert "format" not in email and documented(email["anyOf"][1], "")
    client = Client.query.filter_by(firm_id=firm.id).first()
    response = api.patch(f"/clients/{client.id}", json={"email": "", "address_country": ""})
    assert response.status_code == 200 and response.get_json()["email"] is None
