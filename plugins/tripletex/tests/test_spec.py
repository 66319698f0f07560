"""The spec check itself (:mod:`.spec`): what it refuses, and that a wrong field name in the client is caught.

Every other test in this folder runs through the same check (see conftest.py); these show that it can fail.
"""

from __future__ import annotations

import json
import re

import pytest
from hub_tripletex import client as tt_client
from hub_tripletex import sandbox
from hub_tripletex.wire import FACTS, fact

from hub.errors import VendorRejected
from hub.wire import WireFact

INVOICE_BODY = {
    "invoiceDate": "2026-11-20", "invoiceDueDate": "2026-12-04", "customer": {"id": 10002},
    "orders": [{"customer": {"id": 10002}, "orderDate": "2026-11-20", "deliveryDate": "2026-11-20",
                "reference": "r-1", "isPrioritizeAmountsIncludingVat": False,
                "orderLines": [{"description": "x", "count": 2, "unitPriceExcludingVatCurrency": 100.5,
                                "vatType": {"id": 3}}]}],
}


def post_invoice(spec, body, query="sendToCustomer=false"):
    return spec.check_request("POST", "/v2/invoice", query, "application/json; charset=utf-8",
                              json.dumps(body).encode())


def test_the_plugins_invoice_body_passes(tripletex_spec):
    assert post_invoice(tripletex_spec, INVOICE_BODY) == []


def test_an_unknown_field_deep_in_a_body_fails(tripletex_spec):
    line = INVOICE_BODY["orders"][0]["orderLines"][0]
    body = {**INVOICE_BODY, "orders": [{**INVOICE_BODY["orders"][0], "orderLines": [{**line, "descriptoin": "x"}]}]}
    [problem] = post_invoice(tripletex_spec, body)
    assert "$.orders[0].orderLines[0]" in problem and "'descriptoin' was unexpected" in problem


def test_a_wrong_type_fails(tripletex_spec):
    body = {**INVOICE_BODY, "customer": {"id": "10002"}}
    [problem] = post_invoice(tripletex_spec, body)
    assert "$.customer.id" in problem and "is not of type 'integer'" in problem


def test_a_read_only_field_in_a_request_fails(tripletex_spec):
    # Invoice.invoiceComment is readOnly: the comment has to go on the order (Order.invoiceComment)
    [problem] = post_invoice(tripletex_spec, {**INVOICE_BODY, "invoiceComment": "Thank you"})
    assert "'invoiceComment' is readOnly" in problem


def test_paths_methods_and_deprecated_operations(tripletex_spec):
    spec = tripletex_spec
    assert spec.check_request("GET", "/v2/customers", "", None, b"") == [
        "GET /v2/customers: the spec has no such path"]
    assert "allows only" in spec.check_request("PATCH", "/v2/customer/5", "", None, b"")[0]
    assert "not under /v2" in spec.check_request("GET", "/customer", "", None, b"")[0]
    assert "path parameter id is 'abc'" in spec.check_request("GET", "/v2/customer/abc", "", None, b"")[0]
    assert spec.check_request("GET", "/v2/customer/5", "fields=id", None, b"") == []
    [deprecated] = spec.check_request("PUT", "/v2/token/session/:create",
                                      "consumerToken=a&employeeToken=b&expirationDate=2026-01-02", None, b"")
    assert "deprecated" in deprecated and "POST :create" in deprecated
    assert spec.check_request("POST", "/v2/token/session/:create", "", "application/json",
                              b'{"consumerToken": "a", "employeeToken": "b", "expirationDate": "2026-01-02"}') == []


def test_query_parameters_must_be_declared_and_typed(tripletex_spec):
    spec = tripletex_spec
    assert spec.check_request("GET", "/v2/customer", "customerName=Acme&isInactive=true&from=0&count=1000",
                              None, b"") == []
    [undeclared] = spec.check_request("GET", "/v2/customer", "name=Acme", None, b"")
    assert "'name' is not declared for GET /customer" in undeclared and "customerName" in undeclared
    [typed] = spec.check_request("GET", "/v2/customer", "isInactive=no", None, b"")
    assert "'no', not a boolean" in typed
    assert "not a integer" in spec.check_request("GET", "/v2/customer", "count=lots", None, b"")[0]
    missing = spec.check_request("GET", "/v2/invoice", "invoiceDateFrom=2026-01-01", None, b"")
    assert missing == ["GET /v2/invoice: required query parameter 'invoiceDateTo' is missing"]


def test_fields_selectors_name_real_fields_of_the_response_model(tripletex_spec):
    spec = tripletex_spec
    assert spec.check_request("GET", "/v2/customer", "fields=" + fact("customer_fields"), None, b"") == []
    assert spec.check_request("GET", "/v2/invoice", "invoiceDateFrom=a&invoiceDateTo=b&fields=*,orders(*)",
                              None, b"") == []
    [nested] = spec.check_request("GET", "/v2/customer", "fields=id,postalAddress(zip)", None, b"")
    assert "names 'postalAddress.zip', which is not a field of Address" in nested
    [scalar] = spec.check_request("GET", "/v2/customer", "fields=name(first)", None, b"")
    assert "selects inside name" in scalar
    [sorting] = spec.check_request("GET", "/v2/ledger/vatType", "sorting=-rate", None, b"")
    assert "sorting names 'rate'" in sorting
    assert spec.check_request("GET", "/v2/ledger/vatType", "typeOfVat=OUTGOING&fields=id,number,name,percentage",
                              None, b"") == []  # the sales VAT types the plugin offers for mapping
    assert spec.check_request("GET", "/v2/ledger/vatType", "typeOfVat=SALES", None, b"") != []


def test_answers_are_closed_and_typed_but_may_carry_null(tripletex_spec):
    spec = tripletex_spec

    def answer(body, status=200):
        return spec.check_response("GET", "/v2/customer", status, "application/json", json.dumps(body).encode())

    assert answer({"fullResultSize": 1, "from": 0, "count": 1, "versionDigest": None,
                   "values": [{"id": 1, "name": "A", "postalAddress": None}]}) == []
    [unknown] = answer({"values": [{"id": 1, "postalAddress": {"zip": "0150"}}]})
    assert "$.values[0].postalAddress" in unknown and "'zip' was unexpected" in unknown
    [typed] = answer({"values": [{"customerNumber": "10001"}]})
    assert "is not of type 'integer', 'null'" in typed
    assert "declares only 200" in answer({"values": []}, status=201)[0]
    assert answer({"status": 404, "code": 6000, "message": "x", "validationMessages": None}, status=404) == []
    assert "'error' was unexpected" in answer({"status": 404, "error": "x"}, status=404)[0]
    html = spec.check_response("GET", "/v2/customer", 401, "text/html", b"<html></html>")
    assert "must be the spec's ApiError JSON" in html[0]


def test_every_route_the_sandbox_serves_is_in_the_spec(tripletex_spec):
    def shape(path: str) -> str:
        return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)

    spec_ops = {(method.upper(), shape(path)) for path, item in tripletex_spec.document["paths"].items()
                for method in item if method in ("get", "put", "post", "delete")}
    routes = {(method, shape(rule.rule.removeprefix("/v2")))
              for rule in sandbox.create_app().url_map.iter_rules()
              if rule.rule.startswith("/v2/") for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes and routes <= spec_ops, sorted(routes - spec_ops)


def test_the_checks_see_the_plugins_traffic(call, spec_check, tripletex_spec, make_invoice):
    call("hub_export_invoice", invoice=make_invoice())
    # session, invoice lookup, invoice create: each request and answer went through the check
    assert spec_check.exchanges == 3 and spec_check.problems == []


def test_a_renamed_field_in_the_clients_invoice_body_is_caught(make_invoice, call, state, spec_check, tripletex_spec,
                                                               monkeypatch):
    real = tt_client._invoice_body

    def renamed(*args, **kwargs):
        body = real(*args, **kwargs)
        for line in body["orders"][0]["orderLines"]:
            line["unitPriceExcludingVat"] = line.pop("unitPriceExcludingVatCurrency")
        return body

    monkeypatch.setattr(tt_client, "_invoice_body", renamed)
    with pytest.raises(VendorRejected):  # the sandbox misses the price; the point is the spec problem below
        call("hub_export_invoice", invoice=make_invoice())
    assert any("'unitPriceExcludingVat' was unexpected" in p for p in spec_check.problems), spec_check.problems
    spec_check.problems.clear()  # seen; do not fail this test at teardown


def test_a_renamed_field_in_the_clients_fields_selector_is_caught(call, spec_check, tripletex_spec, monkeypatch):
    renamed = fact("customer_fields").replace("invoiceEmail", "invoiceMail")
    monkeypatch.setitem(FACTS, "customer_fields", WireFact(renamed, "assumed"))
    call("hub_list_clients", query="NO 912345670 MVA")  # no such customer: an empty list, nothing refused
    assert any("names 'invoiceMail', which is not a field of Customer" in p for p in spec_check.problems)
    spec_check.problems.clear()


def test_the_facts_the_readme_calls_verified_are_in_the_spec(tripletex_spec):
    def param(method, path, name):
        op, _, problem = tripletex_spec.operation(method, "/v2" + path)
        assert op is not None, problem
        return op.query[name]

    assert param("GET", "/customer", "isInactive")["schema"] == {"type": "boolean", "default": False}
    assert param("GET", "/customer", "customerName")["schema"]["type"] == "string"
    assert param("GET", "/customer", "organizationNumber")["description"] == "Equals"
    assert param("GET", "/invoice", "invoiceDateFrom")["description"] == "From and including"
    assert param("GET", "/invoice", "invoiceDateTo")["description"] == "To and excluding"
    assert param("POST", "/invoice", "sendToCustomer")["schema"] == {"type": "boolean", "default": True}
    session_put, _, _ = tripletex_spec.operation("PUT", "/v2/token/session/:create")
    session_post, _, _ = tripletex_spec.operation("POST", "/v2/token/session/:create")
    assert session_put.deprecated and not session_post.deprecated and "201" in session_post.responses
    assert tripletex_spec.schemas["Invoice"]["properties"]["invoiceComment"].get("readOnly") is True
    assert tripletex_spec.schemas["Order"]["properties"]["invoiceComment"].get("readOnly") is None
