"""Bad input named in issue 29, each a 4xx in words, never a 500 or wrong data (run on PostgreSQL in CI: the
invoice amounts overflow ``numeric(14,2)`` there only)."""

import pytest

from hub import webhooks
from hub.api import service_auth
from hub.models import Client, Invoice
from tests.api.conftest import ApiClient


def deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


@pytest.fixture
def svc(hub_app, hub_db):
    _token, secret = service_auth.create_service_token("host product")
    return ApiClient(hub_app, secret)


# -- invoice amounts beyond numeric(14,2) ------------------------------------------------------------------
def invoice(client_id, quantity, unit_price, lines=1, vat_rate="24"):
    return {"client_id": client_id, "number": "BIG-1", "issue_date": "2026-11-20", "due_date": "2026-12-04",
            "lines": [{"description": "Big", "quantity": quantity, "unit_price": unit_price, "vat_rate": vat_rate}]
            * lines}


@pytest.mark.parametrize(("quantity", "unit_price", "lines"), [
    ("1000000", "1000000", 1),  # the case: one line of 10^12
    ("1000000000", "-1000000000", 1),  # negative too
    ("1000000000", "1000", 1),
    ("1000", "1000000000", 1),
    ("1000000", "2000", 500),  # each line fits, the invoice does not
    ("806452", "1000000", 1),  # the net fits, net + 24 % VAT does not
])
def test_an_invoice_beyond_what_the_hub_stores_is_a_422_in_words(api, firm, quantity, unit_price, lines):
    client = Client.query.filter_by(firm_id=firm.id).first()
    response = api.post("/invoices", json=invoice(client.id, quantity, unit_price, lines))
    assert response.status_code == 422, response.get_data(as_text=True)
    message = response.get_json()["errors"]["lines"][0]
    assert "beyond the 999,999,999,999.99 a line or an invoice can hold" in message
    assert Invoice.query.count() == 0


def test_the_largest_storable_invoice_is_stored(api, firm):
    client = Client.query.filter_by(firm_id=firm.id).first()
    response = api.post("/invoices", json=invoice(client.id, "806451", "1000000"))  # 999,999,240,000.00 with VAT
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["total"] == "999999240000.00"


def test_the_document_states_the_amount_rule(api):
    spec = api.get("/openapi.json").get_json()
    assert "999,999,999,999.99" in spec["components"]["schemas"]["Invoice"]["properties"]["lines"]["description"]


# -- deeply nested JSON -------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [deep(200_000), b'{"name": ' + deep(100) + b"}"])
def test_deeply_nested_json_is_a_400_for_the_admin_api(api, body):
    response = api.post("/custom-fields", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "nests arrays and objects deeper than 64 levels" in response.get_json()["detail"]


def test_deeply_nested_json_is_a_400_for_the_service_api(svc):
    response = svc.put("/firms/by-external-id/f-1", data=deep(200_000), content_type="application/json")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


def test_brackets_inside_strings_do_not_count(api):
    response = api.post("/custom-fields", json={"name": "[" * 500})
    assert response.status_code != 400


# -- webhook URLs with numbers in other forms ----------------------------------------------------------------
@pytest.mark.parametrize("url", ["http://0177.0.0.1/", "http://127.000.000.001/", "http://0x7f.0.0.1/",
                                 "http://2130706433/", "http://127.1/", "http://10.0.0.1./"])
def test_a_webhook_url_with_a_numeric_host_in_another_form_is_a_422(api, url, hub_app, monkeypatch):
    monkeypatch.setitem(hub_app.config, "HUB_WEBHOOKS_ALLOW_PRIVATE", True)  # refused by its form, not address
    response = api.post("/webhook-endpoints", json={"url": url})
    assert response.status_code == 422
    assert "four decimal numbers without leading zeros" in response.get_json()["errors"]["url"][0]
    with pytest.raises(ValueError, match="four decimal numbers without leading zeros"):
        webhooks.create_endpoint(None, url)


# -- no-store on secrets ------------------------------------------------------------------------------------
def test_secrets_and_one_time_links_are_never_cached(api, svc, hub_app, monkeypatch):
    monkeypatch.setitem(hub_app.config, "HUB_WEBHOOKS_ALLOW_PRIVATE", True)
    token = api.post("/tokens", json={"name": "script", "role": "member"})
    assert token.status_code == 201 and token.headers["Cache-Control"] == "no-store"
    endpoint = api.post("/webhook-endpoints", json={"url": "https://host.example/hooks"})
    assert endpoint.status_code == 201 and endpoint.headers["Cache-Control"] == "no-store"
    firm = svc.put("/firms/by-external-id/f-1", json={"name": "F OÜ", "country": "EE"})
    assert firm.status_code in (200, 201)
    user = svc.put(f"/firms/{firm.get_json()['id']}/users/by-external-id/u-1", json={"email": "u@f.example"})
    assert user.headers["Cache-Control"] == "no-store"


# -- plan gating, one rule for every door --------------------------------------------------------------------
@pytest.fixture
def basic_api(hub_app, firm, hub_db):
    from hub.api import auth

    firm.plan = "basic"
    hub_db.session.commit()
    return ApiClient(hub_app, auth.create_token(firm.id, name="basic admin", role="admin").secret)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("PUT", "/integrations/{vendor}/credentials", {"credentials": {"api_key": "k" * 20, "company": "acme"}}),
    ("POST", "/integrations/{vendor}/test-connection", {}),
    ("PATCH", "/integrations/{vendor}", {"enabled": True}),
    ("POST", "/integrations/{vendor}/reload", {}),
    ("POST", "/invoices", {"client_id": 1, "number": "B-1", "issue_date": "2026-11-20", "due_date": "2026-11-20",
                           "lines": [{"description": "x", "quantity": "1", "unit_price": "1", "vat_rate": "0"}]}),
])
@pytest.mark.parametrize("vendor", ["example", "directo", "smartaccounts"])
def test_a_basic_plan_firm_cannot_configure_or_run_integrations_by_api(basic_api, method, path, body, vendor,
                                                                       hub_registry):
    from hub.models import Integration, SyncRun

    if vendor not in hub_registry.vendors:
        pytest.skip(f"{vendor} is not installed")
    response = basic_api.request(method, path.format(vendor=vendor), json=body)
    assert response.status_code == 409, response.get_data(as_text=True)
    problem = response.get_json()
    assert problem["detail"] == "Integrations are available on the Team plan and above." and problem["hint"]
    assert problem["kind"] == "config"
    spec = basic_api.get("/openapi.json").get_json()
    documented = {p: ops for p, ops in spec["paths"].items() if p.startswith("/api/v1" + path.split("{")[0])}
    assert any("409" in op["responses"] for ops in documented.values() for op in ops.values() if isinstance(op, dict))
    assert not any(i.has_credentials for i in Integration.query)
    assert SyncRun.query.count() == 0 and Invoice.query.count() == 0


def test_a_basic_plan_firm_still_reads_and_disables(basic_api):
    assert basic_api.get("/integrations").status_code == 200
    assert basic_api.patch("/integrations/example", json={"enabled": False}).status_code == 200


def test_a_number_longer_than_python_reads_is_a_400(api, svc):
    body = b'{"name": ' + b"9" * 5000 + b"}"
    for caller, path in ((api, "/custom-fields"), (svc, "/firms/by-external-id/f-1")):
        response = caller.request("POST" if caller is api else "PUT", path, data=body, content_type="application/json")
        assert response.status_code == 400 and "more digits than any field takes" in response.get_json()["detail"]


# -- a request target too long ------------------------------------------------------------------------------
def test_a_long_address_is_a_414_problem_and_documented(api):
    response = api.get("/runs", query_string={"status": "x" * 5000})
    assert response.status_code == 414 and response.mimetype == "application/problem+json"
    assert "longer than 4094 bytes" in response.get_json()["detail"]
    spec = api.get("/openapi.json").get_json()
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method != "parameters":
                assert "414" in operation["responses"]
                assert "400" in operation["responses"] or "requestBody" not in operation


# -- one company, one client: a registration code another client has is a 409 -------------------------------
def test_a_registration_code_another_client_has_is_a_409_on_every_api_door(api, svc, firm):
    second = Client.query.filter_by(firm_id=firm.id, name="Client 2").one()
    patched = api.patch(f"/clients/{second.id}", json={"reg_code": "1000 0001"})
    assert patched.status_code == 409
    assert patched.get_json()["errors"] == {"reg_code": ["Client 1 has this registration code already; edit that "
                                                         "client instead."]}
    put = svc.put(f"/firms/{firm.id}/clients/by-external-id/c-9", json={"name": "Copy OÜ", "reg_code": "10000001"})
    assert put.status_code == 409 and "Client 1 has this registration code" in put.get_json()["detail"]
    bulk = svc.post(f"/firms/{firm.id}/clients/bulk", json={"clients": [{"external_id": "c-9", "name": "Copy OÜ",
                                                                           "reg_code": "10000001"}]})
    assert bulk.get_json()["counts"]["refused"] == 1
    assert Client.query.filter_by(firm_id=firm.id).count() == 3
