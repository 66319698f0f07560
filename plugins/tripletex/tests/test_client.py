"""The client: exact methods, paths, queries, headers and bodies the plugin sends to Tripletex, and its wire facts
(``hub_tripletex.wire``) held against Tripletex's OpenAPI document, so a wrong fact fails."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import urllib.parse
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from hub_tripletex import client as tt_client
from hub_tripletex.wire import FACTS, fact

from hub.errors import VendorRejected
from hub.testing.wire import check_wire_facts
from hub.types import InvoiceLine, InvoiceParty


def query(record: dict) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(record["query"], keep_blank_values=True))


def basic(record: dict) -> tuple[str, str]:
    header = record["headers"]["Authorization"]
    assert header.startswith("Basic ")
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password


def test_session_is_created_with_post_and_a_json_body(call, state):
    info = call("hub_test_connection")
    assert info.account_name == "Fjord Regnskap AS"
    assert info.account_id == "1"
    assert info.details["organization_number"] == "912345670"
    create, who = state.requests
    assert create["method"] == "POST"  # the spec's preferred form; PUT with query parameters is deprecated
    assert create["path"] == "/v2/token/session/:create"
    assert create["host"] == "tripletex.no"
    assert create["query"] == ""  # no token in the URL
    assert create["headers"]["Content-Type"] == "application/json"
    assert json.loads(create["body"]) == {"consumerToken": "sbx-consumer-production-7f3a9c52",
                                          "employeeToken": "sbx-employee-fjord-0001",
                                          "expirationDate": "2026-11-24"}  # now = 2026-11-22 Oslo, + 2 days
    assert "Authorization" not in create["headers"]
    assert create["status"] == 201
    assert who["method"] == "GET" and who["path"] == "/v2/token/session/>whoAmI"
    assert query(who) == {"fields": "companyId,company(id,name,organizationNumber),employee(id,firstName,lastName)"}
    user, token = basic(who)
    assert user == "0"
    assert token == next(iter(state.sessions))
    assert who["headers"]["Accept"] == "application/json"


def test_who_am_i_path_is_percent_encoded_on_the_wire(make_ctx, registry, app, good):
    seen = []
    inner = httpx.WSGITransport(app=app)

    def spy(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path)
        return inner.handle_request(request)

    registry.call("tripletex", "hub_test_connection", ctx=make_ctx(httpx.MockTransport(spy)), credentials=good)
    assert seen[1].startswith(b"/v2/token/session/%3EwhoAmI?")
    assert seen[0] == b"/v2/token/session/:create"


def test_session_token_is_reused_from_the_cache(call, make_ctx, state):
    ctx = make_ctx()
    call("hub_test_connection", ctx=ctx)
    call("hub_list_tax_rates", ctx=ctx)
    call("hub_list_products", ctx=ctx)
    assert len([r for r in state.requests if r["path"] == "/v2/token/session/:create"]) == 1
    tokens = {basic(r)[1] for r in state.requests if r["path"] != "/v2/token/session/:create"}
    assert len(tokens) == 1


def test_session_cache_ttl_ends_before_midnight_oslo(make_ctx, call):
    ctx = make_ctx()
    call("hub_test_connection", ctx=ctx)
    [(key, (expires, value))] = ctx.cache._data.items()
    assert key.startswith("tripletex-session:") and "sbx-employee" not in key
    assert value["lapses"] == "2026-11-24T00:00:00+01:00"


def test_lapsed_session_is_recreated_once_on_401(call, make_ctx, state):
    ctx = make_ctx()
    call("hub_test_connection", ctx=ctx)
    state.expire_sessions()
    info = call("hub_test_connection", ctx=ctx)
    assert info.account_name == "Fjord Regnskap AS"
    statuses = [(r["path"], r["status"]) for r in state.requests]
    assert statuses == [("/v2/token/session/:create", 201), ("/v2/token/session/>whoAmI", 200),
                        ("/v2/token/session/>whoAmI", 401), ("/v2/token/session/:create", 201),
                        ("/v2/token/session/>whoAmI", 200)]


def test_company_id_goes_into_the_basic_username(call, state, good):
    info = call("hub_test_connection", credentials={**good, "company_id": "2"})
    assert info.account_name == "Bergen Bygg AS"
    assert basic(state.requests[-1])[0] == "2"


def test_test_environment_uses_the_test_host_and_consumer(call, state):
    info = call("hub_test_connection", credentials={"employee_token": "test-sbx-employee-demo-0101",
                                                     "environment": "test", "company_id": "0"})
    assert info.account_name == "Testfirma Integrasjon AS"
    assert {r["host"] for r in state.requests} == {"api-test.tripletex.tech"}
    assert json.loads(state.requests[0]["body"])["consumerToken"] == "test-sbx-consumer-2b8e41d7"


def test_client_lookup_pages_to_the_end(call, state):
    clients = call("hub_list_clients", query="")
    active = [c for c in state.store["customers"][1] if not c["isInactive"]]
    assert len(clients) == len(active) == 2208
    assert [c.id for c in clients] == [str(c["id"]) for c in active]
    pages = [query(r) for r in state.requests if r["path"] == "/v2/customer"]
    assert [(p["from"], p["count"]) for p in pages] == [("0", "1000"), ("1000", "1000"), ("2000", "1000")]
    assert pages[0]["fields"] == fact("customer_fields")
    first = clients[0]
    seeded = active[0]
    assert first.name == seeded["name"] and first.reg_code == seeded["organizationNumber"]
    assert first.email == seeded["invoiceEmail"]
    assert first.addresses[0].city == seeded["postalAddress"]["city"]
    assert first.addresses[0].country == "NO"


def test_client_lookup_with_a_small_page_size_asks_for_every_page(make_ctx, state, good):
    ctx = make_ctx()
    client = tt_client.TripletexClient(ctx, dict(good), page_size=10)
    rows = list(client.iter_list("/customer", {"fields": "id"}, what="listing"))
    assert len(rows) == 2208
    pages = [query(r) for r in state.requests if r["path"] == "/v2/customer"]
    assert len(pages) == 221  # 220 full pages + one short page ends the paging
    assert pages[-1]["from"] == "2200"


def test_client_lookup_by_name_and_by_organisation_number(call, state):
    found = call("hub_list_clients", query="havbris")
    assert found and all("havbris" in c.name.lower() for c in found)
    expected = [c for c in state.store["customers"][1] if not c["isInactive"] and "havbris" in c["name"].lower()]
    assert len(found) == len(expected)
    target = expected[0]
    by_org = call("hub_list_clients", query=f"NO {target['organizationNumber']} MVA")
    assert [c.id for c in by_org] == [str(target["id"])]
    last = [r for r in state.requests if r["path"] == "/v2/customer"][-1]
    assert query(last)["organizationNumber"] == target["organizationNumber"]


def test_products_and_vat_types(call, state):
    products = call("hub_list_products")
    seeded = [p for p in state.store["products"][1] if not p["isInactive"]]
    assert len(products) == len(seeded) == 28
    first = products[0]
    assert (first.id, first.code, first.unit, first.tax_id) == (str(seeded[0]["id"]), "P001", "stk", "3")
    assert first.unit_price == Decimal(str(seeded[0]["priceExcludingVatCurrency"]))
    record = [r for r in state.requests if r["path"] == "/v2/product"][0]
    assert query(record)["isInactive"] == "false"
    rates = call("hub_list_tax_rates")
    by_id = {r.id: r for r in rates}
    assert by_id["3"].rate == Decimal("25") and by_id["3"].code == "3"
    assert by_id["31"].rate == Decimal("15") and by_id["32"].rate == Decimal("12")
    record = [r for r in state.requests if r["path"] == "/v2/ledger/vatType"][0]
    assert query(record) == {"typeOfVat": "OUTGOING", "fields": "id,number,name,percentage", "from": "0",
                             "count": "1000"}


def test_only_vat_types_for_sales_invoices_are_offered(call, state):
    """A sales invoice cannot carry a purchase (input VAT deduction) type: they are not offered for mapping."""
    rates = call("hub_list_tax_rates")
    assert {r.id for r in rates} == {"0", "3", "5", "6", "31", "32", "52"}
    assert not [r for r in rates if "inngående" in r.name], "no purchase VAT type"


def test_export_invoice_body_and_query(call, state, make_invoice):
    receipt = call("hub_export_invoice", invoice=make_invoice())
    assert not receipt.already_existed
    lookup, post = [r for r in state.requests if r["path"] == "/v2/invoice"]
    assert lookup["method"] == "GET"
    assert query(lookup) == {"invoiceDateFrom": "2026-11-20", "invoiceDateTo": "2026-11-21",
                             "fields": fact("find_fields"), "from": "0", "count": "1000"}
    assert post["method"] == "POST"
    assert query(post) == {"sendToCustomer": "false"}
    assert post["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(post["body"]) == {
        "invoiceDate": "2026-11-20", "invoiceDueDate": "2026-12-04", "customer": {"id": 10002},
        "orders": [{
            "customer": {"id": 10002}, "orderDate": "2026-11-20", "deliveryDate": "2026-11-20",
            "reference": "hub-inv-000042-tripletex", "isPrioritizeAmountsIncludingVat": False,
            "invoiceComment": "Thank you",
            "orderLines": [
                {"description": "Bookkeeping November", "count": 2, "unitPriceExcludingVatCurrency": 1000.5,
                 "vatType": {"id": 3}},
                {"description": "Payroll", "count": 1.5, "unitPriceExcludingVatCurrency": 800, "vatType": {"id": 31}},
            ],
        }],
    }
    [created] = state.created_invoices
    assert receipt.vendor_invoice_id == str(created["id"])
    assert receipt.number == str(created["invoiceNumber"])
    assert created["_sentToCustomer"] is False
    assert created["amountExcludingVat"] == 3201.0 and created["amount"] == 3881.25


def test_export_twice_creates_one_invoice(call, state, make_ctx, make_invoice):
    first = call("hub_export_invoice", invoice=make_invoice())
    second = call("hub_export_invoice", ctx=make_ctx(), invoice=make_invoice())
    assert len(state.created_invoices) == 1
    assert second.already_existed and second.vendor_invoice_id == first.vendor_invoice_id
    assert len([r for r in state.requests if r["method"] == "POST" and r["path"] == "/v2/invoice"]) == 1
    found = call("hub_find_invoice", invoice=make_invoice())
    assert found.vendor_invoice_id == first.vendor_invoice_id


def test_find_invoice_returns_none_when_absent(call, make_invoice):
    assert call("hub_find_invoice", invoice=make_invoice(reference="never-exported")) is None


def test_export_maps_product_codes_tax_ids_and_currency(call, state, make_invoice):
    lines = (InvoiceLine("Årsoppgjør", Decimal("1"), Decimal("5000"), Decimal("25"), product_code="P003", tax_id="3"),
             InvoiceLine("Reise", Decimal("1"), Decimal("100"), Decimal("0")))
    receipt = call("hub_export_invoice", invoice=make_invoice(lines=lines, currency="EUR"))
    post = [r for r in state.requests if r["method"] == "POST" and r["path"] == "/v2/invoice"][0]
    body = json.loads(post["body"])
    order = body["orders"][0]
    assert order["currency"] == {"id": 2}
    assert order["orderLines"][0]["product"] == {"id": 100003}
    assert order["orderLines"][0]["vatType"] == {"id": 3}
    assert order["orderLines"][1]["vatType"] == {"id": 5}
    assert query([r for r in state.requests if r["path"] == "/v2/currency"][0])["code"] == "EUR"
    assert receipt.vendor_invoice_id == str(state.created_invoices[0]["id"])


def test_export_finds_the_customer_by_organisation_number(call, state, make_invoice):
    target = state.store["customers"][1][4]
    party = InvoiceParty(name="whatever", reg_code=target["organizationNumber"])
    call("hub_export_invoice", invoice=make_invoice(client=party))
    lookup = [r for r in state.requests if r["path"] == "/v2/customer"][0]
    assert query(lookup)["organizationNumber"] == target["organizationNumber"]
    assert state.created_invoices[0]["customer"]["id"] == target["id"]
    assert not state.created_customers


def _customer(state, *, inactive: bool, private: bool) -> dict:
    return next(c for c in state.store["customers"][1]
                if c["isInactive"] is inactive and c["isPrivateIndividual"] is private)


def test_export_reuses_an_inactive_customer_found_by_organisation_number(call, state, make_invoice):
    target = _customer(state, inactive=True, private=False)
    party = InvoiceParty(name="Some Other Spelling AS", reg_code=f"NO {target['organizationNumber']} MVA")
    call("hub_export_invoice", invoice=make_invoice(client=party))
    assert not state.created_customers  # reused, not duplicated
    assert state.created_invoices[0]["customer"]["id"] == target["id"]
    lookups = [query(r) for r in state.requests if r["path"] == "/v2/customer"]
    assert [(q["organizationNumber"], q["isInactive"]) for q in lookups] == [
        (target["organizationNumber"], "false"), (target["organizationNumber"], "true")]


def test_export_reuses_an_inactive_customer_found_by_name(call, state, make_invoice):
    target = _customer(state, inactive=True, private=True)
    party = InvoiceParty(name="  " + target["name"].upper().replace(" ", "  ") + " ")  # spacing and case differ
    call("hub_export_invoice", invoice=make_invoice(client=party))
    assert not state.created_customers
    assert state.created_invoices[0]["customer"]["id"] == target["id"]
    lookups = [query(r) for r in state.requests if r["path"] == "/v2/customer"]
    # the name goes to the API's customerName filter: not the whole customer list read page by page
    assert [(q["customerName"], q["isInactive"]) for q in lookups] == [
        (target["name"].upper(), "false"), (target["name"].upper(), "true")]


def test_export_finds_by_name_a_customer_registered_without_an_organisation_number(call, state, make_invoice):
    target = _customer(state, inactive=False, private=True)
    call("hub_export_invoice", invoice=make_invoice(client=InvoiceParty(name=target["name"], reg_code="987654321")))
    assert not state.created_customers
    assert state.created_invoices[0]["customer"]["id"] == target["id"]


def test_export_does_not_take_a_namesake_with_another_organisation_number(call, state, make_invoice):
    namesake = _customer(state, inactive=False, private=False)
    party = InvoiceParty(name=namesake["name"], reg_code="987654321")  # same name, another company
    call("hub_export_invoice", invoice=make_invoice(client=party))
    [created] = state.created_customers
    assert created["organizationNumber"] == "987654321" and created["id"] != namesake["id"]


def test_export_creates_a_missing_customer_once(call, state, make_ctx, make_invoice):
    party = InvoiceParty(name="Ny Kunde AS", reg_code="987 654 321", email="post@nykunde.no")
    call("hub_export_invoice", invoice=make_invoice(client=party))
    [customer] = state.created_customers
    post = [r for r in state.requests if r["method"] == "POST" and r["path"] == "/v2/customer"][0]
    assert json.loads(post["body"]) == {"name": "Ny Kunde AS", "isPrivateIndividual": False,
                                        "organizationNumber": "987654321", "email": "post@nykunde.no",
                                        "invoiceEmail": "post@nykunde.no"}
    call("hub_export_invoice", ctx=make_ctx(), invoice=make_invoice(client=party, reference="hub-inv-2"))
    assert len(state.created_customers) == 1
    assert [i["customer"]["id"] for i in state.created_invoices] == [customer["id"], customer["id"]]


def test_export_without_a_mapping_for_the_vat_rate_is_rejected_before_any_post(call, state, make_invoice):
    lines = (InvoiceLine("Odd", Decimal("1"), Decimal("10"), Decimal("7")),)
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", invoice=make_invoice(lines=lines))
    assert "lines[0].tax_id" in caught.value.field_messages
    assert not [r for r in state.requests if r["method"] == "POST" and r["path"] != "/v2/token/session/:create"]


def test_export_with_an_unknown_product_code_is_rejected(call, state, make_invoice):
    lines = (InvoiceLine("X", Decimal("1"), Decimal("10"), Decimal("25"), product_code="NOPE"),)
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", invoice=make_invoice(lines=lines))
    assert "lines[0].product_code" in caught.value.field_messages


# -- the wire facts (hub_tripletex.wire) --------------------------------------------------------------
README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_fact_names_its_source_and_the_assumed_ones_are_in_the_readme():
    check_wire_facts(FACTS, README.read_text(encoding="utf-8"))


def _op(spec, method: str, path: str):
    op, _, problem = spec.operation(method, "/v2" + path)
    assert op is not None, problem
    return op


def _props(spec, schema: str) -> dict:
    return spec.schemas[schema]["properties"]


def _query(spec, method: str, path: str, name: str) -> dict:
    return _op(spec, method, path).query[name]


def _writable(spec, schema: str, name: str) -> bool:
    return name in _props(spec, schema) and not _props(spec, schema)[name].get("readOnly")


def _described(spec, text: str) -> bool:
    return text in spec.document["info"]["description"]


def _error_codes(spec, codes: dict) -> bool:
    """Each ``name: code`` is listed as ``**code** Name Exception`` in the spec's description."""
    listed = {}
    for code, words in re.findall(r"\*\*(\d+)\*\* ([A-Za-z ]+)", spec.document["info"]["description"]):
        name = "_".join(words.strip().lower().split())
        listed[name.removesuffix("_exception") or name] = int(code)
    return all(listed.get(name) == code for name, code in codes.items())


def _path(method: str, *more: str):
    return lambda spec, v: all(not _op(spec, m, v).deprecated for m in (method, *more))


def _fields(path: str):
    return lambda spec, v: spec.fields_problems(path, v) == []


def _param(method: str, path: str):
    return lambda spec, v: v in _op(spec, method, path).query


def _in(schema: str):
    return lambda spec, v: v in _props(spec, schema)


def _default(method: str, path: str, name: str):
    return lambda spec, v: _query(spec, method, path, name)["schema"]["default"] == v


LISTS = ("/customer", "/product", "/ledger/vatType", "/currency", "/invoice")
SECURITY = "tokenAuthScheme"

#: How each "vendor schema" fact is held against Tripletex's OpenAPI document: True when it holds.
SPEC_CHECKS = {
    "base_url_production": lambda spec, v: v == spec.document["servers"][0]["url"],
    "session_create_path": lambda spec, v: not _op(spec, "POST", v).deprecated
    and "201" in _op(spec, "POST", v).responses,
    "session_create_body": lambda spec, v: sorted(v) == sorted(_props(spec, "PostSessionTokenBody")),
    "session_token_key": _in("SessionToken"),
    "session_expiry_key": _in("SessionToken"),
    "auth_scheme": lambda spec, v: v.lower() == spec.document["components"]["securitySchemes"][SECURITY]["scheme"],
    "own_company_id": lambda spec, v: f"or {v} for default" in
    spec.document["components"]["securitySchemes"][SECURITY]["description"],
    "who_am_i_path": _path("GET"),
    "who_am_i_fields": _fields("/token/session/>whoAmI"),
    "single_value_key": lambda spec, v: all(list(_props(spec, s)) == [v] for s in (
        "ResponseWrapperSessionToken", "ResponseWrapperLoggedInUserInfo", "ResponseWrapperCustomer",
        "ResponseWrapperInvoice")),
    "list_envelope": lambda spec, v: all(tuple(_props(spec, s)) == v for s in (
        "ListResponseCustomer", "ListResponseProduct", "ListResponseVatType", "ListResponseCurrency",
        "ListResponseInvoice")),
    "list_values_key": lambda spec, v: _props(spec, "ListResponseCustomer")[v]["type"] == "array",
    "paging_params": lambda spec, v: all(name in _op(spec, "GET", path).query for path in LISTS for name in v),
    "page_size": lambda spec, v: all(int(_query(spec, "GET", path, "count")["schema"]["default"]) == v
                                     for path in LISTS),
    "created_status": lambda spec, v: all(str(v) in _op(spec, "POST", path).responses
                                          for path in ("/token/session/:create", "/customer", "/invoice")),
    "date_format": lambda spec, v: _described(spec, "format `YYYY-MM-DD`")
    and dt.date(2026, 1, 2).strftime(v) == "2026-01-02",
    "error_body": lambda spec, v: tuple(_props(spec, "ApiError")) == v,
    "error_message_key": _in("ApiError"),
    "error_validation_key": lambda spec, v: _props(spec, "ApiError")[v]["items"]["$ref"].endswith(
        "/ApiValidationMessage"),
    "error_request_id_key": _in("ApiError"),
    "validation_message_keys": lambda spec, v: tuple(_props(spec, "ApiValidationMessage")) == v,
    "error_codes": _error_codes,
    "request_id_header": lambda spec, v: _described(spec, f"header with the name `{v}`"),
    "rate_limit_headers": lambda spec, v: len(v) == 3 and all(_described(spec, f"`{h}` - The number of") for h in v)
    and _described(spec, f"`{v[2]}` - The number of seconds left in the current period"),
    "customer_path": _path("GET", "POST"),
    "customer_fields": _fields("/customer"),
    "customer_lookup_fields": _fields("/customer"),
    "customer_name_param": _param("GET", "/customer"),
    "org_number_param": lambda spec, v: _query(spec, "GET", "/customer", v)["description"] == "Equals",
    "inactive_param": lambda spec, v: all(_query(spec, "GET", path, v)["schema"]["type"] == "boolean"
                                          for path in ("/customer", "/product")),
    "inactive_default": _default("GET", "/customer", "isInactive"),
    "product_path": _path("GET"),
    "product_fields": _fields("/product"),
    "product_number_fields": _fields("/product"),
    "vat_type_path": _path("GET"),
    "vat_type_fields": _fields("/ledger/vatType"),
    "sales_vat_filter": lambda spec, v: len(v) == 2
    and v[1] in _query(spec, "GET", "/ledger/vatType", v[0])["schema"]["enum"],
    "currency_path": _path("GET"),
    "currency_code_param": _param("GET", "/currency"),
    "currency_fields": _fields("/currency"),
    "invoice_path": _path("GET", "POST"),
    "invoice_date_range": lambda spec, v: [(_query(spec, "GET", "/invoice", name).get("required"),
                                            _query(spec, "GET", "/invoice", name)["description"]) for name in v]
    == [(True, "From and including"), (True, "To and excluding")],
    "find_fields": _fields("/invoice"),
    "send_to_customer_param": _param("POST", "/invoice"),
    "send_to_customer_default": _default("POST", "/invoice", "sendToCustomer"),
    "order_reference_key": lambda spec, v: _writable(spec, "Order", v),
    "order_comment_key": lambda spec, v: _writable(spec, "Order", v)
    and _props(spec, "Invoice")[v].get("readOnly") is True,
    "prices_include_vat_key": lambda spec, v: _writable(spec, "Order", v),
    "line_price_key": lambda spec, v: _writable(spec, "OrderLine", v),
    "line_price_including_vat_key": lambda spec, v: _writable(spec, "OrderLine", v),
    "invoice_net_key": _in("Invoice"),
    "invoice_gross_key": _in("Invoice"),
    "line_net_key": _in("OrderLine"),
    "line_gross_key": _in("OrderLine"),
}
SCHEMA_FACTS = sorted(name for name, item in FACTS.items() if item.source == "vendor schema")


def _holds(spec, name: str, value) -> bool:
    try:
        return bool(SPEC_CHECKS[name](spec, value))
    except (KeyError, TypeError, ValueError, AttributeError, AssertionError):
        return False


def _wrong(value):
    """A value one step off ``value``: what a typo or a guess would give."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 7
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, tuple):
        return (*value, "noSuchKey")
    return {**value, "no_such_thing": 99999}


def test_every_vendor_schema_fact_has_a_check_against_the_spec():
    assert sorted(SPEC_CHECKS) == SCHEMA_FACTS


@pytest.mark.parametrize("name", SCHEMA_FACTS)
def test_the_vendor_schema_fact_is_in_the_spec(tripletex_spec, name):
    assert _holds(tripletex_spec, name, fact(name)), f"{name} = {fact(name)!r} disagrees with {FACTS[name].ref}"


@pytest.mark.parametrize("name", SCHEMA_FACTS)
def test_a_wrong_vendor_schema_fact_would_fail_its_check(tripletex_spec, name):
    assert not _holds(tripletex_spec, name, _wrong(fact(name)))


def test_the_sandbox_serves_the_standard_vat_types_the_client_falls_back_to(call):
    """``vat_type_ids`` (a public client's reading) and ``vat_type_zero`` (assumed) against the sandbox's table:
    each is an outgoing VAT type with that rate, so a line without a tax id gets a type sales invoices may carry."""
    rates = {rate.id: rate.rate for rate in call("hub_list_tax_rates")}
    for percent, vat_type in [*fact("vat_type_ids").items(), ("0", fact("vat_type_zero"))]:
        assert rates[str(vat_type)] == Decimal(percent)
        assert tt_client.default_vat_types()[Decimal(percent)] == vat_type


def test_the_sandbox_serves_the_test_host_and_prefixes_test_sessions(call, state):
    call("hub_test_connection", credentials={"employee_token": "test-sbx-employee-demo-0101",
                                             "environment": "test", "company_id": "0"})
    assert {r["host"] for r in state.requests} == {urllib.parse.urlsplit(fact("base_url_test")).hostname}
    assert next(iter(state.sessions)).startswith(fact("test_token_prefix"))
