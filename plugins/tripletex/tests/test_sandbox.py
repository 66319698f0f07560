"""The emulator itself: auth, envelopes, paging, fields, validation, headers, knobs and control endpoints."""

from __future__ import annotations

import base64

import httpx
import pytest
from hub_tripletex import sandbox

PROD = "https://tripletex.no/v2"
TEST = "https://api-test.tripletex.tech/v2"


@pytest.fixture
def check_requests() -> bool:
    return False  # these tests send bad requests on purpose; the sandbox's answers are still checked


@pytest.fixture
def http(app):
    with httpx.Client(transport=httpx.WSGITransport(app=app)) as client:
        yield client


def session(http, base=PROD, employee="sbx-employee-fjord-0001", consumer=None, expiration="2026-11-24"):
    env = "test" if base == TEST else "production"
    return http.put(f"{base}/token/session/:create", params={
        "consumerToken": consumer or sandbox.DEMO_SETTINGS[f"consumer_token_{env}"],
        "employeeToken": employee, "expirationDate": expiration})


def auth(token: str, company: str = "0") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{company}:{token}".encode()).decode()}


@pytest.fixture
def token(http):
    response = session(http)
    assert response.status_code == 200
    return response.json()["value"]["token"]


def test_session_create_envelope_and_headers(http):
    response = session(http)
    value = response.json()["value"]
    assert set(value) == {"id", "version", "url", "consumerToken", "employeeToken", "expirationDate", "token",
                          "encryptionKey"}
    assert value["expirationDate"] == "2026-11-24"
    assert value["employeeToken"] == {"id": 501, "url": "https://tripletex.no/v2/token/employee/501"}
    assert response.headers["x-tlx-request-id"]
    assert all(h in response.headers for h in ("X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset"))


def test_session_create_post_json_variant_answers_201(http):
    response = http.post(f"{PROD}/token/session/:create", json={
        "consumerToken": sandbox.DEMO_SETTINGS["consumer_token_production"],
        "employeeToken": "sbx-employee-fjord-0001", "expirationDate": "2026-11-30"})
    assert response.status_code == 201 and response.json()["value"]["token"]


def test_session_create_validation(http):
    response = http.put(f"{PROD}/token/session/:create")
    body = response.json()
    assert response.status_code == 422 and body["code"] == 15000
    assert {m["field"] for m in body["validationMessages"]} == {"consumerToken", "employeeToken", "expirationDate"}
    assert set(body) == {"status", "code", "message", "link", "developerMessage", "validationMessages", "requestId"}
    assert body["requestId"] == response.headers["x-tlx-request-id"]
    assert session(http, expiration="2026-11-22").status_code == 422  # must be after today
    assert session(http, expiration="22.11.2026").status_code == 422


def test_tokens_do_not_cross_environments(http):
    assert session(http, base=TEST, employee="sbx-employee-fjord-0001").status_code == 401
    assert session(http, employee="test-sbx-employee-demo-0101",
                   consumer=sandbox.DEMO_SETTINGS["consumer_token_production"]).status_code == 401
    test_session = session(http, base=TEST, employee="test-sbx-employee-demo-0101")
    assert test_session.status_code == 200 and test_session.json()["value"]["token"].startswith("test-")
    token = test_session.json()["value"]["token"]
    assert http.get(f"{PROD}/token/session/>whoAmI", headers=auth(token)).status_code == 401
    assert http.get(f"{TEST}/token/session/>whoAmI", headers=auth(token)).status_code == 200


def test_error_body_for_401(http):
    response = http.get(f"{PROD}/customer", headers=auth("nope"))
    body = response.json()
    assert response.status_code == 401 and body["code"] == 3000 and body["link"] == "https://tripletex.no/v2-docs/"


def test_who_am_i_nested_objects_are_references_unless_expanded(http, token):
    plain = http.get(f"{PROD}/token/session/>whoAmI", headers=auth(token)).json()["value"]
    assert plain["company"] == {"id": 1, "url": "https://tripletex.no/v2/company/1"}
    expanded = http.get(f"{PROD}/token/session/%3EwhoAmI", params={"fields": "companyId,company(name)"},
                        headers=auth(token)).json()["value"]
    assert expanded == {"companyId": 1, "company": {"name": "Fjord Regnskap AS"}}


def test_illegal_field_is_400(http, token):
    response = http.get(f"{PROD}/customer", params={"fields": "id,nmae"}, headers=auth(token))
    assert response.status_code == 400 and response.json()["code"] == 11000


def test_list_envelope_paging_and_sorting(http, token, state):
    response = http.get(f"{PROD}/customer", params={"from": 2200, "count": 1000, "fields": "id"},
                        headers=auth(token))
    body = response.json()
    assert body["fullResultSize"] == 2208 and body["from"] == 2200 and body["count"] == 8
    assert body["versionDigest"] is None and len(body["values"]) == 8
    sorted_desc = http.get(f"{PROD}/ledger/vatType", params={"sorting": "-id", "fields": "id"},
                           headers=auth(token)).json()["values"]
    assert [v["id"] for v in sorted_desc][:2] == [52, 32]
    inactive = http.get(f"{PROD}/customer", params={"isInactive": "true", "fields": "id"},
                        headers=auth(token)).json()
    assert inactive["fullResultSize"] == 2345 // 17


def test_customer_filters_from_the_spec(http, token, state):
    customers = state.store["customers"][1]

    def ids(**params):
        answer = http.get(f"{PROD}/customer", params={**params, "fields": "id"}, headers=auth(token))
        assert answer.status_code == 200
        return [v["id"] for v in answer.json()["values"]]

    havbris = [c["id"] for c in customers if "havbris" in c["name"].casefold() and not c["isInactive"]]
    assert havbris and ids(customerName="HAVBRIS") == havbris  # a part of the name, any case [INF]
    dormant = next(c for c in customers if c["isInactive"])
    assert ids(customerName=dormant["name"]) == []  # isInactive defaults to false
    assert ids(customerName=dormant["name"], isInactive="true") == [dormant["id"]]
    assert ids(organizationNumber=dormant["organizationNumber"], isInactive="true") == [dormant["id"]]
    assert ids(customerAccountNumber=f"{customers[0]['customerNumber']},{customers[2]['customerNumber']}") == [
        customers[0]["id"], customers[2]["id"]]


def test_single_objects_and_whole_lists(http, token, state):
    """Each answer here is also held against the spec by the conftest (closed DTOs, types, status codes)."""
    invoice = state.store["invoices"][1][0]
    answers = {path: http.get(f"{PROD}{path}", headers=auth(token))
               for path in ("/customer/10001", f"/invoice/{invoice['id']}", "/ledger/vatType/3", "/company/1",
                            "/company/2", "/customer/1")}
    assert [a.status_code for a in answers.values()] == [200, 200, 200, 200, 404, 404]
    assert answers["/customer/10001"].json()["value"]["postalAddress"]["id"] == 100010
    assert answers[f"/invoice/{invoice['id']}"].json()["value"]["invoiceNumber"] == invoice["invoiceNumber"]
    assert answers["/ledger/vatType/3"].json()["value"]["percentage"] == 25.0
    assert answers["/company/1"].json()["value"]["name"] == "Fjord Regnskap AS"
    for path, params in (("/customer", {}), ("/customer", {"isInactive": "true"}), ("/product", {}),
                         ("/ledger/vatType", {}), ("/currency", {}), ("/company/>withLoginAccess", {}),
                         ("/invoice", {"invoiceDateFrom": "2026-01-01", "invoiceDateTo": "2026-02-01"})):
        listed = http.get(f"{PROD}{path}", params={**params, "count": 50}, headers=auth(token))  # whole DTOs
        assert listed.status_code == 200 and listed.json()["values"], path
    assert http.delete(f"{PROD}/token/session/{token}", headers=auth(token)).status_code == 204
    assert http.get(f"{PROD}/ledger/vatType/3", headers=auth(token)).status_code == 401


def test_accountant_can_act_for_client_companies_only(http, token):
    client = http.get(f"{PROD}/token/session/>whoAmI", params={"fields": "companyId"}, headers=auth(token, "2"))
    assert client.json()["value"]["companyId"] == 2
    assert http.get(f"{PROD}/token/session/>whoAmI", headers=auth(token, "4")).status_code == 403
    access = http.get(f"{PROD}/company/>withLoginAccess", params={"fields": "id,name"}, headers=auth(token)).json()
    assert [c["id"] for c in access["values"]] == [1, 2, 3]


def test_invoice_list_requires_dates(http, token):
    response = http.get(f"{PROD}/invoice", headers=auth(token))
    body = response.json()
    assert response.status_code == 422 and body["code"] == 15000
    assert [m["field"] for m in body["validationMessages"]] == ["invoiceDateFrom", "invoiceDateTo"]
    year = http.get(f"{PROD}/invoice", params={"invoiceDateFrom": "2025-01-01", "invoiceDateTo": "2026-01-01",
                                               "fields": "id,invoiceDate"}, headers=auth(token)).json()
    assert year["fullResultSize"] == len([i for i in sandbox.seed()["invoices"][1]
                                          if i["invoiceDate"].startswith("2025")])
    assert all(v["invoiceDate"].startswith("2025") for v in year["values"])


def test_invoice_create_defaults_to_sending_and_validates(http, token, state):
    order = {"customer": {"id": 10001}, "orderDate": "2026-11-22", "deliveryDate": "2026-11-22",
             "orderLines": [{"description": "x", "count": 1, "unitPriceExcludingVatCurrency": 100,
                             "vatType": {"id": 3}}]}
    body = {"invoiceDate": "2026-11-22", "invoiceDueDate": "2026-12-06", "orders": [order]}
    created = http.post(f"{PROD}/invoice", json=body, headers=auth(token))
    assert created.status_code == 201
    assert state.created_invoices[-1]["_sentToCustomer"] is True  # Tripletex's documented default
    bad = http.post(f"{PROD}/invoice", json={"orders": [{**order, "deliveryDate": None}]}, headers=auth(token))
    fields = {m["field"] for m in bad.json()["validationMessages"]}
    assert bad.status_code == 422 and fields == {"invoiceDate", "invoiceDueDate", "orders[0].deliveryDate"}
    garbage = http.post(f"{PROD}/invoice", content=b"{not json", headers=auth(token))
    assert garbage.status_code == 422 and garbage.json()["code"] == 22000


def test_rate_limit_window(app, http):
    app.extensions["sandbox"].knobs["rate_limit"] = "3/60"
    token = session(http).json()["value"]["token"]
    answers = [http.get(f"{PROD}/ledger/vatType", headers=auth(token)) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[1].headers["X-Rate-Limit-Remaining"] == "0"
    assert answers[2].headers["X-Rate-Limit-Limit"] == "3"
    assert 0 < int(answers[2].headers["X-Rate-Limit-Reset"]) <= 60
    assert answers[2].json()["status"] == 429


def test_unknown_host_and_loopback_host(app, http):
    assert http.get("https://api.tripletex.io/v2/customer").status_code == 404  # the dead legacy test host
    assert session(http, base="http://127.0.0.1:8100/v2").status_code == 200  # loopback counts as production


def test_control_endpoints(http, token, state):
    http.get(f"{PROD}/customer", headers=auth("nope"))
    counts = http.get("http://127.0.0.1/_sandbox/requests").json()
    assert counts == {"total": 2, "by_status": {"200": 1, "401": 1}}
    knobs = http.post("http://127.0.0.1/_sandbox/knobs", json={"latency_ms": 1, "fault": "500"}).json()
    assert knobs["fault"] == "500" and knobs["latency_ms"] == 1
    assert http.get(f"{PROD}/customer", headers=auth(token)).status_code == 500
    http.post("http://127.0.0.1/_sandbox/knobs", json={"fault": None})
    state.created_invoices.append({"id": 1})
    state.revoke("sbx-employee-fjord-0001")
    assert session(http).status_code == 401
    assert http.post("http://127.0.0.1/_sandbox/reset").status_code == 200
    assert http.get("http://127.0.0.1/_sandbox/requests").json() == {"total": 0, "by_status": {}}
    assert state.created_invoices == [] and state.requests == []
    assert session(http).status_code == 200  # the revoked token is live again after a reset


def test_fault_every_nth_request(app, http):
    state = app.extensions["sandbox"]
    state.knobs.update(fault="garbage", fault_every=3)
    statuses = [session(http).headers["content-type"].split(";")[0] for _ in range(6)]
    assert statuses == ["application/json", "application/json", "text/html"] * 2


@pytest.mark.parametrize("fault", ["429", "500"])
def test_an_injected_fault_carries_its_request_id(app, http, fault):
    app.extensions["sandbox"].update_knobs({"fault": fault})
    response = session(http)
    assert response.status_code == int(fault)
    assert response.json()["requestId"] == response.headers["x-tlx-request-id"] != ""


def test_revoked_and_expired_knobs_refuse_an_employee_token(app, http):
    state = app.extensions["sandbox"]
    state.update_knobs({"revoked": ["sbx-employee-fjord-0001"]})
    refused = session(http)
    assert refused.status_code == 401 and "revoked" in refused.json()["developerMessage"]
    state.update_knobs({"revoked": [], "expired": ["sbx-employee-fjord-0001"]})
    refused = session(http)
    assert refused.status_code == 401 and "expired" in refused.json()["developerMessage"]
    state.update_knobs({"expired": []})
    assert session(http).status_code == 200


def test_seed_is_deterministic():
    one, two = sandbox.seed(), sandbox.seed()
    assert one["customers"][2] == two["customers"][2]
    assert [i["invoiceDate"] for i in one["invoices"][1]] == [i["invoiceDate"] for i in two["invoices"][1]]
    dates = sorted(i["invoiceDate"] for c in one["invoices"].values() for i in c)
    assert dates[0] < "2025-01-15" and dates[-1] > "2026-12-15"
