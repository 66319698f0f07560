"""Wire-level tests against the in-process sandbox: exact requests, paging, exports and every error mapping; and the
wire facts' sources (check_wire_facts)."""

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from hub_scoro import client as api
from hub_scoro import sandbox
from hub_scoro.wire import FACTS

from hub.errors import AuthError, ConfigError, RateLimited, TransientError, VendorRejected
from hub.testing import make_context, vendor_registry
from hub.testing.wire import check_wire_facts
from hub.types import ConnectionInfo, ExportReceipt, TaxRate

ACME = "acme.scoro.com"
API_KEY = sandbox.DEMO_CREDENTIALS["api_key"]


README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_fact_is_sourced_or_owned_up_to_in_the_readme():
    check_wire_facts(FACTS, README)


def bodies(h) -> list[dict]:
    return [r.json() for r in h.requests]


def paths(h) -> list[str]:
    return [r.path for r in h.requests]


# -- test connection -----------------------------------------------------------------------------------
def test_connection_sends_exactly_one_documented_call(harness):
    h = harness()
    info = h.call("hub_test_connection")
    assert info == ConnectionInfo(account_name="Acme Consulting OÜ", account_id="acme",
                                  details={"host": ACME, "language": "English",
                                           "business_entities": "Acme Consulting OÜ, Acme Digital OÜ"})
    (req,) = h.requests
    assert (req.method, req.host, req.path, req.query) == ("POST", ACME, "/api/v2/companyAccount/list", "")
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["Host"] == ACME
    assert json.loads(req.body) == {"apiKey": API_KEY, "company_account_id": "acme", "request": {},
                                    "page": 1, "per_page": 100}
    assert req.status == 200


def test_connection_to_an_older_estonian_scoro_ee_account(account_credentials, harness):
    h = harness()
    info = h.call("hub_test_connection", credentials=account_credentials("vanatalu.scoro.ee"))
    assert info.account_name == "Vana Talu Ehitus OÜ"
    assert h.requests[0].host == "vanatalu.scoro.ee"


@pytest.mark.parametrize("changes", [
    {"api_key": "scoro-acme-wrong-000000000000000"},
    {"api_key": "scoro-acme-0d9e8c7b6a5f4e3100aa"},  # revoked (rotated) key
    {"company_account_id": "nordlight"},  # another account's id on acme's host
])
def test_wrong_revoked_or_mismatched_credentials_are_auth_errors(changes, credentials, harness):
    h = harness()
    with pytest.raises(AuthError) as caught:
        h.call("hub_test_connection", credentials=credentials(**changes))
    assert "acme.scoro.com" in caught.value.message and "Authentication failed" in caught.value.message
    assert "Settings → API" in caught.value.hint
    assert changes.get("api_key", "\0") not in str(caught.value)
    assert h.requests[0].status == 401


def test_an_inactive_account_is_an_auth_error_that_says_so(account_credentials, harness):
    h = harness()
    with pytest.raises(AuthError) as caught:
        h.call("hub_test_connection", credentials=account_credentials("lapsed.scoro.com"))
    assert "not active" in caught.value.message
    assert h.requests[0].status == 403 and len(h.requests) == 2  # companyAccount, then the users/list fallback


def test_an_unknown_subdomain_is_a_config_error_on_the_subdomain(credentials, harness):
    h = harness()
    with pytest.raises(ConfigError) as caught:
        h.call("hub_test_connection", credentials=credentials(subdomain="acne"))
    assert caught.value.field == "subdomain"
    assert "no Scoro account at acne.scoro.com" in caught.value.message
    assert "scoro.ee" in caught.value.hint
    assert h.requests[0].status in FACTS["unknown_account_answer"].value  # the sandbox answers as Scoro is assumed to


def test_the_wrong_domain_is_a_config_error_too(account_credentials, harness):
    h = harness()
    with pytest.raises(ConfigError) as caught:
        h.call("hub_test_connection", credentials=account_credentials("vanatalu.scoro.ee", domain="scoro.com"))
    assert caught.value.field == "subdomain"


@pytest.mark.parametrize("status", FACTS["unknown_account_answer"].value)
def test_a_404_page_or_a_redirect_to_the_login_page_means_no_such_account(status, credentials):
    def handler(request: httpx.Request) -> httpx.Response:
        if 300 <= status < 400:
            return httpx.Response(status, headers={"Location": "https://www.scoro.com/login"})
        return httpx.Response(status, html=sandbox.NOT_FOUND_PAGE)

    ctx = make_context("scoro", httpx.MockTransport(handler))
    with pytest.raises(ConfigError) as caught:
        api.ScoroClient(ctx, credentials()).connection_info()
    assert caught.value.field == "subdomain"


def test_without_company_account_access_the_test_falls_back_to_users_list(credentials):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, json.loads(request.content)))
        if request.url.path.endswith("companyAccount/list"):
            return httpx.Response(403, json={"status": "ERROR", "statusCode": 403,
                                             "messages": {"error": ["No permission"]}, "data": None})
        return httpx.Response(200, json={"status": "OK", "statusCode": 200, "messages": None,
                                         "data": [{"id": 1, "username": "admin"}]})

    ctx = make_context("scoro", httpx.MockTransport(handler))
    info = vendor_registry("scoro", __import__("hub_scoro")).call("scoro", "hub_test_connection", ctx=ctx,
                                                                 credentials=credentials())
    assert info.account_name == ACME
    assert [p for p, _ in seen] == ["/api/v2/companyAccount/list", "/api/v2/users/list"]
    assert seen[1][1]["per_page"] == 1


# -- tax rates -----------------------------------------------------------------------------------------
def test_tax_rates_are_the_active_sales_vat_codes(harness):
    h = harness()
    rates = h.call("hub_list_tax_rates")
    assert rates[0] == TaxRate(id="1", code="24", name="Käibemaks 24%", rate=Decimal("24.00"))
    assert [r.code for r in rates] == ["24", "22", "13", "9", "0", "KMV", "PM"]  # no purchase-only, no inactive
    assert paths(h) == ["/api/v2/vatCodes/list"]
    assert bodies(h)[0] == {"apiKey": API_KEY, "company_account_id": "acme", "request": {}, "page": 1,
                            "per_page": 100}


def test_tax_rates_page_to_the_end(account_credentials, harness):
    h = harness()
    rates = h.call("hub_list_tax_rates", credentials=account_credentials("eurotrade.scoro.com"))
    codes = h.state.accounts["eurotrade.scoro.com"].vat_codes
    assert len(codes) == 167
    expected = [c for c in codes if c["is_sales"] and c["is_active"]]
    assert [r.id for r in rates] == [str(c["vat_code_id"]) for c in expected] and len(rates) == 86
    assert [b["page"] for b in bodies(h)] == [1, 2]
    assert {r.rate for r in rates} >= {Decimal("25.50"), Decimal("2.10"), Decimal("13.50")}


def test_a_full_last_page_is_followed_by_one_more_call(credentials):
    pages = []

    def handler(request: httpx.Request) -> httpx.Response:
        page = json.loads(request.content)["page"]
        pages.append(page)
        data = [{"vat_code_id": (page - 1) * 100 + i, "vat_code": "X", "percent": 10, "is_sales": "1",
                 "is_active": True} for i in range(100 if page <= 2 else 0)]
        return httpx.Response(200, json={"status": "OK", "statusCode": 200, "messages": None, "data": data})

    ctx = make_context("scoro", httpx.MockTransport(handler))
    assert len(api.ScoroClient(ctx, credentials()).tax_rates()) == 200
    assert pages == [1, 2, 3]


def test_sandbox_pages_at_most_100_and_defaults_to_50(harness):
    h = harness()
    client = httpx.Client(transport=httpx.WSGITransport(app=h.app), base_url="https://eurotrade.scoro.com")
    auth = {"apiKey": sandbox.ACCOUNTS[3]["api_key"], "company_account_id": "eurotrade"}
    assert len(client.post("/api/v2/vatCodes/list", json={**auth, "per_page": 500}).json()["data"]) == 100
    assert len(client.post("/api/v2/vatCodes/list", json=auth).json()["data"]) == 50
    answer = client.get("/api/v2/vatCodes/list")
    assert answer.status_code == 405 and answer.json()["status"] == "ERROR"


# -- invoice export ------------------------------------------------------------------------------------
def test_export_creates_the_client_contact_then_the_invoice_in_the_chosen_language(credentials, harness, make_invoice):
    h = harness()
    receipt = h.call("hub_export_invoice", credentials=credentials(language="est"),
                     invoice=make_invoice(notes="Thank you!"))
    assert paths(h) == ["/api/v2/contacts/list", "/api/v2/contacts/modify", "/api/v2/invoices/modify"]
    lookup, contact, invoice = bodies(h)
    assert lookup["filter"] == {"id_code": "14567890"} and lookup["per_page"] == 100
    assert contact["request"] == {
        "contact_type": "company", "name": "Saaremaa Seafood OÜ", "is_client": 1, "id_code": "14567890",
        "vatno": "EE101234567", "means_of_contact": {"email": ["arved@saaremaa.example"]},
        "addresses": [{"street": "Sadama 1", "city": "Kuressaare", "zipcode": "93815", "country": "EST"}]}
    contact_id = h.state.created_contacts(ACME)[0]["contact_id"]
    assert invoice["lang"] == "est"
    assert invoice["request"] == {
        "no": 20260042, "date": "2026-11-20", "deadline": "2026-12-04", "currency": "EUR",
        "company_id": contact_id, "status": "unpaid", "sum": 437.5, "vat_sum": 105,
        "description": "Thank you!\n\nHub reference: hub-inv-42-scoro",
        "lines": [
            {"comment": "Monthly bookkeeping, November 2026", "amount": 1, "price": 350, "sum": 350, "vat": 24,
             "vat_code_id": 1, "unit": "month"},
            {"comment": "Payroll, per employee", "amount": 7, "price": 12.5, "sum": 87.5, "vat": 24,
             "vat_code_id": 1, "product_id": 17},
        ]}
    assert '"price":12.5' in h.requests[-1].body.decode()  # a JSON number with a dot, not a string
    (created,) = h.state.created_invoices(ACME)
    assert receipt == ExportReceipt(vendor_invoice_id=str(created["id"]), number="20260042")
    assert (created["lang"], created["sum"], created["vat_sum"], created["is_sent"]) == ("est", "437.50", "105.00", 0)


def test_export_of_a_linked_client_is_one_call(harness, make_invoice):
    h = harness()
    h.call("hub_export_invoice", invoice=make_invoice(vendor_client_id="3"))
    assert paths(h) == ["/api/v2/invoices/modify"]
    assert bodies(h)[0]["request"]["company_id"] == 3 and bodies(h)[0]["lang"] == "eng"


def test_an_existing_scoro_company_is_reused(harness, make_invoice):
    h = harness()
    existing = h.state.accounts[ACME].contacts[0]
    h.call("hub_export_invoice", invoice=make_invoice(reg_code=existing["id_code"]))
    assert paths(h) == ["/api/v2/contacts/list", "/api/v2/invoices/modify"]
    assert bodies(h)[1]["request"]["company_id"] == existing["contact_id"]
    assert h.state.created_contacts(ACME) == []


def test_the_contact_is_remembered_between_exports(harness, make_invoice):
    h = harness()
    h.call("hub_export_invoice", invoice=make_invoice("101", reference="r1"))
    h.call("hub_export_invoice", invoice=make_invoice("102", reference="r2"))
    assert paths(h)[3:] == ["/api/v2/invoices/modify"]
    assert len(h.state.created_contacts(ACME)) == 1


def test_unmapped_lines_get_the_sales_vat_code_of_their_rate_once(harness, make_invoice):
    h = harness()
    h.call("hub_export_invoice", invoice=make_invoice("101", reference="r1", tax_id=None, vendor_client_id="3",
                                                      vat_rate=Decimal("13")))
    h.call("hub_export_invoice", invoice=make_invoice("102", reference="r2", tax_id=None, vendor_client_id="3",
                                                      vat_rate=Decimal("13")))
    assert paths(h) == ["/api/v2/vatCodes/list", "/api/v2/invoices/modify", "/api/v2/invoices/modify"]
    assert {line["vat_code_id"] for line in bodies(h)[1]["request"]["lines"]} == {3}


def test_a_rate_without_a_vat_code_is_sent_as_a_percentage_only(harness, make_invoice):
    h = harness()
    h.call("hub_export_invoice", invoice=make_invoice(tax_id=None, vendor_client_id="3", vat_rate=Decimal("5")))
    line = bodies(h)[-1]["request"]["lines"][0]
    assert "vat_code_id" not in line and line["vat"] == 5


def test_export_twice_leaves_one_invoice(harness, make_invoice):
    h = harness()
    first = h.call("hub_export_invoice", invoice=make_invoice())
    second = h.call("hub_export_invoice", invoice=make_invoice())
    assert len(h.state.created_invoices(ACME)) == 1
    assert (second.vendor_invoice_id, second.number, second.already_existed) == (first.vendor_invoice_id,
                                                                                  first.number, True)
    assert paths(h)[-3:] == ["/api/v2/invoices/modify", "/api/v2/invoices/list",
                             f"/api/v2/invoices/view/{first.vendor_invoice_id}"]  # + the read-back (contract 1.2)
    assert h.requests[-3].status == 400


def test_find_invoice_by_number_and_reference(harness, make_invoice):
    h = harness()
    invoice = make_invoice()
    assert h.call("hub_find_invoice", invoice=invoice) is None
    receipt = h.call("hub_export_invoice", invoice=invoice)
    found = h.call("hub_find_invoice", invoice=invoice)
    assert (found.vendor_invoice_id, found.number, found.already_existed) == (receipt.vendor_invoice_id,
                                                                              "20260042", True)
    assert found.booked.total == invoice.total
    assert bodies(h)[-2] == {"apiKey": API_KEY, "company_account_id": "acme", "request": {},
                             "filter": {"no": 20260042}, "page": 1, "per_page": 100}


def test_a_detailed_list_has_the_descriptions_a_slim_list_leaves_out(credentials, harness):
    h = harness(slim_lists=True)
    scoro = api.ScoroClient(h.ctx, credentials())
    slim = next(scoro.iter_list("invoices"))
    detailed = next(scoro.iter_list("invoices", detailed=True))
    assert "description" not in slim and "description" in detailed
    assert [b.get(FACTS["detailed_response_field"].value) for b in bodies(h)] == [None, True]


def test_find_invoice_reads_the_invoice_when_the_list_is_slim(harness, make_invoice):
    h = harness(slim_lists=True)
    invoice = make_invoice(vendor_client_id="3")
    receipt = h.call("hub_export_invoice", invoice=invoice)
    assert h.call("hub_find_invoice", invoice=invoice).vendor_invoice_id == receipt.vendor_invoice_id
    assert paths(h)[-2:] == ["/api/v2/invoices/list", f"/api/v2/invoices/view/{receipt.vendor_invoice_id}"]


def test_an_invoice_typed_by_hand_with_the_same_number_is_not_ours(harness, make_invoice):
    h = harness()
    taken = h.state.accounts[ACME].invoices[5]["no"]
    invoice = make_invoice(str(taken), vendor_client_id="3")
    assert h.call("hub_find_invoice", invoice=invoice) is None
    with pytest.raises(VendorRejected) as caught:
        h.call("hub_export_invoice", invoice=invoice)
    assert f"already has an invoice numbered {taken}" in caught.value.message
    assert caught.value.field_messages == {"no": [f"Invoice with number {taken} already exists."]}


def test_field_errors_become_vendor_rejected_with_field_messages(harness, make_invoice):
    h = harness()
    with pytest.raises(VendorRejected) as caught:
        h.call("hub_export_invoice", invoice=make_invoice(tax_id="8", vendor_client_id="9999"))
    assert caught.value.field_messages == {
        "company_id": ["Contact 9999 not found."],
        "lines.0": ["VAT code S24 cannot be used on sales invoices."],
        "lines.1": ["VAT code S24 cannot be used on sales invoices."]}
    assert "Validation failed" in caught.value.message
    assert h.state.created_invoices(ACME) == []


# -- limits and faults ---------------------------------------------------------------------------------
def test_a_429_is_retried_then_rate_limited_with_retry_after(harness):
    h = harness(fault="429")
    with pytest.raises(RateLimited) as caught:
        h.call("hub_list_tax_rates")
    assert caught.value.retry_after == 1.0
    assert len(h.requests) == 3 and {r.status for r in h.requests} == {429}


def test_every_nth_429_is_waited_out(account_credentials, harness):
    h = harness(fault="429", fault_every=2)
    assert len(h.call("hub_list_tax_rates", credentials=account_credentials("eurotrade.scoro.com"))) == 86
    assert [r.status for r in h.requests] == [200, 429, 200]


def test_the_daily_quota_answers_429_until_midnight(account_credentials, harness):
    now = dt.datetime(2026, 11, 22, 22, 0, tzinfo=dt.UTC)
    h = harness(daily_limit=2, now=lambda: now)
    h.call("hub_test_connection")
    h.call("hub_list_tax_rates")
    with pytest.raises(RateLimited) as caught:
        h.call("hub_list_tax_rates")
    assert caught.value.retry_after == 7200
    assert h.requests[-1].status == 429
    assert h.app.test_client().post("/api/v2/users/list", headers={"Host": ACME}, json={
        "apiKey": API_KEY, "company_account_id": "acme"}).json["messages"] == {
        "error": ["Daily API request limit exceeded."]}
    other = h.call("hub_test_connection", credentials=account_credentials("nordlight.scoro.com"))
    assert other.account_name == "Nordlight Studio Ltd"  # the quota is per account


def test_a_rate_limit_window_per_key(harness):
    h = harness(rate_limit="2/60")
    h.call("hub_test_connection")
    h.call("hub_test_connection")
    with pytest.raises(RateLimited) as caught:
        h.call("hub_test_connection")
    assert 55 <= caught.value.retry_after <= 60


@pytest.mark.parametrize("fault", ["500", "garbage"])
def test_server_errors_and_garbage_are_transient(fault, harness):
    h = harness(fault=fault)
    with pytest.raises(TransientError):
        h.call("hub_test_connection")


def test_a_json_body_that_is_not_the_envelope_is_transient(credentials):
    ctx = make_context("scoro", httpx.MockTransport(lambda r: httpx.Response(200, json=[1, 2, 3])))
    with pytest.raises(TransientError):
        api.ScoroClient(ctx, credentials()).tax_rates()


def test_errors_inside_an_http_200_envelope_are_mapped_the_same(credentials, harness, make_invoice):
    h = harness(error_http_status="200")
    with pytest.raises(AuthError):
        h.call("hub_test_connection", credentials=credentials(api_key="scoro-acme-wrong-000000000000000"))
    with pytest.raises(VendorRejected) as caught:
        h.call("hub_export_invoice", invoice=make_invoice(vendor_client_id="9999"))
    assert caught.value.field_messages == {"company_id": ["Contact 9999 not found."]}
    with pytest.raises(ConfigError):
        h.call("hub_test_connection", credentials=credentials(subdomain="nobody"))
    h.knobs(daily_limit=0)
    with pytest.raises(RateLimited) as limited:
        h.call("hub_test_connection")
    assert limited.value.retry_after and limited.value.retry_after > 0
    assert {r.status for r in h.requests} == {200, 404}


def test_an_errors_member_under_status_ok_is_a_rejection(credentials, make_invoice):
    body = {"status": "OK", "statusCode": 200, "messages": None, "errors": {"date": ["Bad date"]}, "data": None}
    ctx = make_context("scoro", httpx.MockTransport(lambda r: httpx.Response(200, json=body)))
    with pytest.raises(VendorRejected) as caught:
        api.ScoroClient(ctx, credentials()).export_invoice(make_invoice(vendor_client_id="3"))
    assert caught.value.field_messages == {"date": ["Bad date"]}


# -- sandbox control endpoints -------------------------------------------------------------------------
def test_control_endpoints_count_reset_and_set_knobs(credentials, harness, make_invoice):
    h = harness()
    h.call("hub_test_connection")
    with pytest.raises(AuthError):
        h.call("hub_test_connection", credentials=credentials(api_key="scoro-acme-wrong-000000000000000"))
    h.call("hub_export_invoice", invoice=make_invoice(vendor_client_id="3"))
    control = httpx.Client(transport=httpx.WSGITransport(app=h.app), base_url="http://127.0.0.1")
    assert control.get("/_sandbox/requests").json() == {"total": 3, "by_status": {"200": 2, "401": 1}}
    assert control.post("/_sandbox/knobs", json={"latency_ms": 0, "fault": "500"}).json()["fault"] == "500"
    assert control.post("/_sandbox/knobs", json={"nope": 1}).status_code == 400
    assert control.post("/_sandbox/reset").status_code == 200
    assert control.get("/_sandbox/requests").json() == {"total": 0, "by_status": {}}
    assert h.state.created_invoices(ACME) == []


def test_seed_is_deterministic_and_covers_two_years():
    one, two = sandbox.seed(), sandbox.seed()
    assert {h: len(a.invoices) for h, a in one.items()} == {h: len(a.invoices) for h, a in two.items()}
    assert one[ACME].invoices[0] == two[ACME].invoices[0]
    dates = sorted(i["date"] for i in one[ACME].invoices)
    assert dates[0] < "2025-01-08" and dates[-1] >= "2026-12-01"
    assert sum(len(a.contacts) for a in one.values()) >= 100
    with pytest.raises(TypeError):
        sandbox.create_app(no_such_knob=1)


def test_a_module_scoro_does_not_offer_is_a_config_error(credentials):
    body = {"status": "ERROR", "statusCode": 404, "messages": {"error": ["Module 'vatCodes' not found."]},
            "data": None}
    ctx = make_context("scoro", httpx.MockTransport(lambda r: httpx.Response(404, json=body)))
    with pytest.raises(ConfigError) as caught:
        vendor_registry("scoro", __import__("hub_scoro")).call("scoro", "hub_list_tax_rates", ctx=ctx,
                                                              credentials=credentials())
    assert "vatCodes" in caught.value.message


def test_knobs_given_as_numbers_on_the_command_line_work(credentials, harness):
    h = harness(fault=500, error_http_status=200)  # `--option fault=500` arrives as an int
    with pytest.raises(TransientError):
        h.call("hub_test_connection")
    h.knobs(fault=None)
    with pytest.raises(AuthError):
        h.call("hub_test_connection", credentials=credentials(api_key="scoro-acme-wrong-000000000000000"))
    assert h.requests[-1].status == 200


# -- issue 13: address country is alpha-3; Scoro's invoice `no` is a number -----------------------------
@pytest.mark.parametrize("hub_country, scoro_country", [("EE", "EST"), ("LV", "LVA"), ("FI", "FIN"), ("ee", "EST"),
                                                        ("GB", "GBR"), ("LTU", "LTU")])
def test_the_address_country_is_sent_as_iso_alpha_3(hub_country, scoro_country, harness, make_invoice):
    h = harness()
    invoice = make_invoice()
    party = dataclasses.replace(invoice.client, address=dataclasses.replace(invoice.client.address,
                                                                            country=hub_country))
    h.call("hub_export_invoice", invoice=dataclasses.replace(invoice, client=party))
    (contact,) = [b for p, b in zip(paths(h), bodies(h), strict=True) if p == "/api/v2/contacts/modify"]
    assert contact["request"]["addresses"][0]["country"] == scoro_country
    assert h.state.created_contacts(ACME)[0]["addresses"][0]["country"] == scoro_country


@pytest.mark.parametrize("bad", ["XX", "Estonia", "E", "EL"])
def test_an_unknown_country_is_refused_before_anything_is_sent(bad, harness, make_invoice):
    h = harness()
    invoice = make_invoice()
    party = dataclasses.replace(invoice.client, address=dataclasses.replace(invoice.client.address, country=bad))
    with pytest.raises(VendorRejected) as caught:
        h.call("hub_export_invoice", invoice=dataclasses.replace(invoice, client=party))
    assert repr(bad) in caught.value.message and "ISO 3166-1" in caught.value.message
    assert list(caught.value.field_messages) == ["client.address.country"]
    assert "client's address" in caught.value.hint
    assert h.requests == []


def test_the_sandbox_refuses_an_alpha_2_country_and_unknown_address_fields(harness):
    h = harness()
    client = httpx.Client(transport=httpx.WSGITransport(app=h.app), base_url=f"https://{ACME}")
    auth = {"apiKey": API_KEY, "company_account_id": "acme"}
    answer = client.post("/api/v2/contacts/modify", json={**auth, "request": {
        "name": "X OÜ", "contact_type": "company", "addresses": [{"country": "EE", "postal_code": "1"}]}}).json()
    assert answer["statusCode"] == 400
    assert answer["errors"] == {
        "addresses.0": ["Unknown address field(s): postal_code."],
        "addresses.0.country": ["country must be a 3-letter ISO 3166-1 alpha-3 code (e.g. EST), not 'EE'."]}
    ok = client.post("/api/v2/contacts/modify", json={**auth, "request": {
        "name": "X OÜ", "contact_type": "company", "addresses": [{"country": "EST", "zipcode": "1"}]}}).json()
    assert ok["statusCode"] == 200


def test_the_sandbox_refuses_a_non_numeric_invoice_number(harness):
    h = harness()
    client = httpx.Client(transport=httpx.WSGITransport(app=h.app), base_url=f"https://{ACME}")
    answer = client.post("/api/v2/invoices/modify", json={
        "apiKey": API_KEY, "company_account_id": "acme", "request": {
            "no": "INV-2026-0001", "date": "2026-11-20", "company_id": 3,
            "lines": [{"price": 1, "amount": 1, "vat": 24, "vat_code_id": 1}]}}).json()
    assert answer["statusCode"] == 400
    assert answer["errors"] == {"no": ["no must be a positive number, not 'INV-2026-0001'."]}
    assert all(isinstance(i["no"], int) for i in h.state.accounts[ACME].invoices)


def test_a_non_numeric_hub_number_is_numbered_by_scoro_and_kept_in_the_description(harness, make_invoice):
    h = harness()
    invoice = make_invoice("INV-2026-0001", reference="hub-inv-1-scoro", vendor_client_id="3", notes="Thanks")
    receipt = h.call("hub_export_invoice", invoice=invoice)
    assert paths(h) == ["/api/v2/invoices/list", "/api/v2/invoices/modify"]  # looked up, then created
    assert bodies(h)[0]["filter"] == {"date": "2026-11-20"}
    request = bodies(h)[1]["request"]
    assert "no" not in request
    assert request["description"] == "Thanks\n\nHub invoice number: INV-2026-0001\nHub reference: hub-inv-1-scoro"
    (created,) = h.state.created_invoices(ACME)
    assert created["no"] == max(i["no"] for i in h.state.accounts[ACME].invoices)  # Scoro's next number
    assert receipt == ExportReceipt(vendor_invoice_id=str(created["id"]), number=str(created["no"]))


def test_an_invoice_scoro_numbered_is_found_by_date_and_reference_and_never_doubled(harness, make_invoice):
    h = harness()
    invoice = make_invoice("INV-2026-0001", reference="hub-inv-1-scoro", vendor_client_id="3")
    other = make_invoice("INV-2026-0002", reference="hub-inv-2-scoro", vendor_client_id="3")
    assert h.call("hub_find_invoice", invoice=invoice) is None
    first = h.call("hub_export_invoice", invoice=invoice)
    h.call("hub_export_invoice", invoice=other)  # the same day, another invoice: not taken for the first
    found = h.call("hub_find_invoice", invoice=invoice)
    again = h.call("hub_export_invoice", invoice=invoice)
    assert found == again
    assert (found.vendor_invoice_id, found.number, found.already_existed) == (first.vendor_invoice_id,
                                                                              first.number, True)
    assert len(h.state.created_invoices(ACME)) == 2
    assert paths(h)[-2:] == ["/api/v2/invoices/list", f"/api/v2/invoices/view/{first.vendor_invoice_id}"]


def test_a_scoro_numbered_invoice_is_found_in_slim_lists_too(harness, make_invoice):
    h = harness(slim_lists=True)
    invoice = make_invoice("INV-2026-0001", vendor_client_id="3")
    receipt = h.call("hub_export_invoice", invoice=invoice)
    assert h.call("hub_find_invoice", invoice=invoice).vendor_invoice_id == receipt.vendor_invoice_id
    assert paths(h)[-1] == f"/api/v2/invoices/view/{receipt.vendor_invoice_id}"


@pytest.mark.parametrize("number, sent", [("0042", 42), ("7", 7), ("1" * 18, int("1" * 18)), ("1" * 19, None),
                                          ("２０", None), ("12-3", None), (" 15 ", 15)])
def test_which_hub_numbers_are_scoro_numbers(number, sent):
    assert api.scoro_number(number) == sent
