"""The client against the sandbox, at the wire: exact requests, every error mapping, statistics counts and invoice
export; and the wire facts (:mod:`hub_directo.wire`) themselves: each names its source, the assumed ones are owned
up to in the README, and the client and the sandbox behave as they say."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from decimal import Decimal
from pathlib import Path
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
import httpx
import hub_directo
import pytest
from hub_directo import Credentials, client, sandbox
from hub_directo.wire import FACTS, fact

from hub import credentials as creds
from hub.errors import AuthError, ConfigError, RateLimited, TransientError, VendorRejected
from hub.testing import sample_invoice
from hub.testing.wire import check_wire_facts
from hub.types import Address, ConnectionInfo, Invoice, InvoiceLine, InvoiceParty, Period

DEMO = sandbox.DEMO_CREDENTIALS
#: The same database without a range of invoice numbers: the hub's own numeric numbers are sent as they are.
NO_RANGE = {"token": DEMO["token"], "database": DEMO["database"]}
URL = "https://login.directo.ee/xmlcore/cap_xml_direct/xmlcore.asp"
YEAR_2026 = Period.span(Period(2026, 1), Period(2026, 12))
README = Path(hub_directo.__file__).resolve().parent.parent / "README.md"


def form_of(rec: sandbox.Recorded) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(rec.body.decode(), keep_blank_values=True))


def xml_answer(body: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=body.encode(), headers={"Content-Type": "text/xml"})


# -- the wire facts ----------------------------------------------------------------------------------
def test_every_fact_names_its_source_and_assumed_ones_are_in_the_readme():
    check_wire_facts(FACTS, README.read_text(encoding="utf-8"))


def test_every_documented_result_code_has_a_decided_outcome():
    handled = {int(client._unauthorized_type()), *client.CREATED, *client.ALREADY_THERE, *client.REJECTED,
               *client.RETRYABLE}
    assert handled == set(fact("result_codes"))


def test_the_sandboxs_auth_bodies_are_the_documented_ones(app):
    with httpx.Client(transport=httpx.WSGITransport(app=app)) as http:
        missing = http.post(URL, data={"get": "1", "what": "customer"})
        unknown = http.post(URL, data={fact("token_field"): "dxd-unknown-000000000", "get": "1", "what": "customer"})
    for response, documented in ((unknown, fact("unauthorized_body")), (missing, fact("token_missing_body"))):
        got, want = SafeET.fromstring(response.content), SafeET.fromstring(documented)
        assert (response.status_code, got.tag, got.attrib, got.text) == (200, want.tag, want.attrib, want.text)


def test_requests_carry_only_the_documented_form_fields(call, state, mapped):
    call("hub_test_connection", credentials=DEMO)
    call("hub_export_invoice", credentials=DEMO, invoice=mapped(sample_invoice()))
    token, reads, writes = fact("token_field"), set(fact("read_fields")), set(fact("write_fields"))
    for rec in state.api_requests():
        form = form_of(rec)
        kind = writes if form.get("put") == "1" else reads
        assert set(form) - {token} - kind <= set(fact("filters")), form
        assert kind <= set(form)
        assert form["what"] in fact("components")


def test_the_client_and_the_sandbox_hold_the_same_vat_codes():
    assert {code: int(rate) for code, (_, rate) in client.VAT_CODES.items()} == fact("vat_codes")
    assert {code: int(rate) for code, rate in sandbox.VAT_CODES.items()} == fact("vat_codes")


def test_vat_codes_are_of_the_type_directo_gives_vatcode(call, state, mapped):
    """``vatcode`` is an int in Directo's input schemas (wire fact ``vatcode_type``): every code offered for the
    mapping, and every code the client puts on a row, is one."""
    kind = {"int": int, "string": str}[fact("vatcode_type")]
    assert all(str(kind(code)) == code for code in fact("vat_codes"))
    call("hub_export_invoice", credentials=DEMO, invoice=mapped(sample_invoice()))
    [put] = [form_of(r) for r in state.api_requests() if form_of(r).get("put") == "1"]
    codes = [row.get("vatcode") for row in SafeET.fromstring(put["xmldata"]).iter("row")]
    assert codes and all(str(kind(code)) == code for code in codes)


def test_one_answer_holds_every_record_as_directo_does_not_page(app, state):
    """Wire fact ``no_paging``: the sandbox answers every record of a component at once (the client's one
    request per component relies on it)."""
    with httpx.Client(transport=httpx.WSGITransport(app=app)) as http:
        answer = http.post(URL, data={"token": DEMO["token"], "get": "1", "what": "invoice"})
    records = list(SafeET.fromstring(answer.content).iter("invoice"))
    assert (len(records) == len(state.data["uku_demo"].invoices) > 100) == fact("no_paging")


@pytest.mark.parametrize("what", sorted(fact("containers")))
def test_records_come_in_their_container_and_are_read_with_or_without_it(mock_call, app, what):
    """Wire fact ``containers``: the sandbox answers customers and items inside the plural container; the client
    reads the records with it and straight under ``<transport>`` (both shapes occur in D2's fixtures)."""
    with httpx.Client(transport=httpx.WSGITransport(app=app)) as http:
        answer = SafeET.fromstring(http.post(URL, data={"token": DEMO["token"], "get": "1", "what": what}).content)
    assert [el.tag for el in answer] == [fact("containers")[what]]
    hook = {"customer": "hub_list_clients", "item": "hub_list_products"}[what]
    kwargs = {"query": ""} if what == "customer" else {}
    with_container = f'<transport><{fact("containers")[what]}><{what} code="A1" name="A"/>' \
                     f'</{fact("containers")[what]}></transport>'
    without = f'<transport><{what} code="A1" name="A"/></transport>'
    for body in (with_container, without):
        found = mock_call(lambda request, body=body: xml_answer(body), hook, credentials=DEMO, **kwargs)
        assert [x.id for x in found] == ["A1"]


# -- the request itself ------------------------------------------------------------------------------
def test_connection_request_is_a_form_post_with_the_token_in_the_body(call, state):
    info = call("hub_test_connection", credentials=DEMO)
    assert info == ConnectionInfo(account_name="Uku Demo Raamatupidamine OÜ", account_id="uku_demo",
                                  details={"database": "uku_demo"})
    rec, *probes = state.api_requests()
    assert [form_of(p)["what"] for p in probes] == ["item", "invoice", "purchase", "receipt", "transaction"]
    probe_day = client.format_date(client.PROBE_DAY)
    assert all(form_of(p)["date1"] == form_of(p)["date2"] == probe_day for p in probes), "cheap reads"
    assert (rec.method, rec.host, rec.path, rec.query) == ("POST", "login.directo.ee", fact("endpoint").split(
        "login.directo.ee")[1], "")
    assert rec.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert rec.headers["Accept"] == "application/xml, text/xml"
    assert form_of(rec) == {"token": DEMO["token"], "get": "1", "what": "customer", "code": client.PROBE_CODE}
    assert DEMO["token"] not in rec.query and DEMO["token"] not in str(rec.headers)
    assert rec.status == 200


def test_real_url_is_used():
    assert fact("endpoint") == URL


def test_every_database_answers_with_its_own_name(call):
    names = {creds_["database"]: call("hub_test_connection", credentials=creds_).account_name
             for creds_ in [DEMO, *sandbox.DEMO_CLIENT_CREDENTIALS]}
    assert names == {code: spec[0] for code, spec in sandbox.DATABASES.items()}


def test_a_firm_with_two_databases_connects_two_clients_with_separate_tokens(call, state):
    first, second = sandbox.DEMO_CLIENT_CREDENTIALS[:2]
    assert call("hub_test_connection", credentials=first).account_name == "Põhjala Puit OÜ"
    assert call("hub_test_connection", credentials=second).account_name == "Riga Amber SIA"
    periods = Period.span(Period(2026, 1), Period(2026, 3))
    one = call("hub_fetch_statistics", credentials=first, client=None, periods=periods)
    two = call("hub_fetch_statistics", credentials=second, client=None, periods=periods)
    assert one == expected_stats(state.data["pohjala_puit"], None, periods)
    assert two == expected_stats(state.data["riga_amber"], None, periods)
    assert one != two
    tokens = [form_of(r)["token"] for r in state.api_requests()]
    assert set(tokens) == {first["token"], second["token"]}


def test_token_of_another_database_says_so(call):
    wrong = {"token": sandbox.DEMO_CLIENT_CREDENTIALS[0]["token"], "database": "uku_demo"}
    with pytest.raises(ConfigError) as caught:
        call("hub_test_connection", credentials=wrong)
    assert caught.value.field == "database"
    assert "pohjala_puit" in caught.value.message and "uku_demo" in caught.value.message
    assert wrong["token"] not in str(caught.value)


def test_without_a_database_attribute_the_configured_code_is_shown(registry):
    from hub.testing import make_context

    app = sandbox.create_app(database_attr=False)
    ctx = make_context("directo", httpx.WSGITransport(app=app))
    info = registry.call("directo", "hub_test_connection", ctx=ctx, credentials=DEMO)
    assert info.account_name == "Directo database uku_demo"


# -- authentication failures (HTTP 200 bodies) -------------------------------------------------------
@pytest.mark.parametrize("credentials", [
    {"token": "dxd-unknown-000000000", "database": "uku_demo"},
    sandbox.EXPIRED_CREDENTIALS,
    sandbox.REVOKED_CREDENTIALS,
], ids=["unknown", "expired", "revoked"])
def test_unauthorized_token_is_an_auth_error_that_says_how_to_fix(call, state, credentials):
    with pytest.raises(AuthError) as caught:
        call("hub_test_connection", credentials=credentials)
    text = str(caught.value)
    assert "Unauthorized" in caught.value.message
    assert "generate a new token in Directo" in text and "expired" in text and "database" in text
    assert credentials["token"] not in text
    assert state.api_requests()[0].status == 200


def test_missing_token_is_an_auth_error(ctx):
    api = client.DirectoClient(ctx, {"token": "", "database": "uku_demo"})
    with pytest.raises(AuthError, match="did not receive an access token"):
        api.get("customer")


def test_other_token_err_is_an_auth_error(mock_call):
    with pytest.raises(AuthError, match="invalid token"):
        mock_call(lambda request: xml_answer("<err>invalid token</err>"), "hub_test_connection", credentials=DEMO)


def test_token_limited_to_other_components(call):
    assert call("hub_test_connection", credentials=sandbox.LIMITED_CREDENTIALS).account_id == "uku_demo"
    with pytest.raises(AuthError) as caught:
        call("hub_fetch_statistics", credentials=sandbox.LIMITED_CREDENTIALS, client=None, periods=YEAR_2026)
    assert "sales invoices" in caught.value.message and "'invoice'" in caught.value.hint


def test_connection_test_lists_the_components_a_limited_token_may_not_read(call):
    info = call("hub_test_connection", credentials=sandbox.LIMITED_CREDENTIALS)
    assert len(info.missing) == 5
    assert any("Sales invoices" in m and "“invoice”" in m for m in info.missing)
    assert any("Articles" in m and "“item”" in m for m in info.missing)
    assert call("hub_test_connection", credentials=DEMO).missing == (), "a full token misses nothing"


def test_put_unauthorized_result(mock_call):
    def handler(request):
        form = dict(urllib.parse.parse_qsl(request.content.decode()))
        if form.get("get") == "1":
            return xml_answer('<transport database="uku_demo"><invoices/></transport>')
        return xml_answer('<results><Result Type="5" Desc="Unauthorized"/></results>')

    with pytest.raises(AuthError):
        mock_call(handler, "hub_export_invoice", credentials=DEMO, invoice=make_invoice())


# -- transport failures ------------------------------------------------------------------------------
def test_429_is_rate_limited_with_directos_retry_advice(registry):
    from hub.testing import make_context

    ctx = make_context("directo", httpx.WSGITransport(app=sandbox.create_app(fault="429")))
    with pytest.raises(RateLimited) as caught:
        registry.call("directo", "hub_test_connection", ctx=ctx, credentials=DEMO)
    assert caught.value.retry_after == 60


def test_rate_limit_knob_answers_429_with_retry_after(registry):
    from hub.testing import make_context

    app = sandbox.create_app(rate_limit="2/60")
    ctx = make_context("directo", httpx.WSGITransport(app=app))
    for _ in range(2):
        client.test_connection(ctx, DEMO)  # one request each (the hook adds the permission probes)
    with pytest.raises(RateLimited) as caught:
        client.test_connection(ctx, DEMO)
    assert caught.value.retry_after >= 60
    last = app.extensions["sandbox"].api_requests()[-1]
    assert last.status == 429
    # another account has its own budget
    client.test_connection(ctx, sandbox.DEMO_CLIENT_CREDENTIALS[0])


@pytest.mark.parametrize("fault", ["500", "garbage"])
def test_server_errors_and_garbage_are_transient_with_retry_after_60(registry, fault):
    from hub.testing import make_context

    ctx = make_context("directo", httpx.WSGITransport(app=sandbox.create_app(fault=fault)))
    with pytest.raises(TransientError) as caught:
        registry.call("directo", "hub_test_connection", ctx=ctx, credentials=DEMO)
    assert caught.value.retry_after >= 60


def test_fault_every_nth_request(registry):
    from hub.testing import make_context

    app = sandbox.create_app(fault="500", fault_every=3)
    ctx = make_context("directo", httpx.WSGITransport(app=app))
    client.test_connection(ctx, DEMO)  # one request each (the hook adds the permission probes)
    client.test_connection(ctx, DEMO)
    with pytest.raises(TransientError):
        client.test_connection(ctx, DEMO)
    assert app.extensions["sandbox"].by_status() == {"200": 2, "500": 1}


@pytest.mark.parametrize("body,status", [
    ("<html><body>Hooldustööd</body></html>", 200),
    ("", 200),
    ("not xml at all", 200),
    ("<html>Bad gateway</html>", 400),
])
def test_unexpected_bodies_are_transient(mock_call, body, status):
    with pytest.raises(TransientError):
        mock_call(lambda request: httpx.Response(status, text=body), "hub_test_connection", credentials=DEMO)


@pytest.mark.parametrize("status", [401, 403])
def test_http_auth_statuses(mock_call, status):
    with pytest.raises(AuthError):
        mock_call(lambda request: httpx.Response(status, text=""), "hub_test_connection", credentials=DEMO)


def test_404_is_a_config_error(mock_call):
    with pytest.raises(ConfigError):
        mock_call(lambda request: httpx.Response(404, text="Not found"), "hub_test_connection", credentials=DEMO)


def test_other_err_body_is_transient(mock_call):
    with pytest.raises(TransientError, match="unknown component"):
        mock_call(lambda request: xml_answer("<err>unknown component: x</err>"), "hub_list_clients",
                  credentials=DEMO, query="")


def test_sandbox_routes_by_host(app):
    with httpx.Client(transport=httpx.WSGITransport(app=app)) as http:
        wrong = http.post("https://login.directo.lv/xmlcore/cap_xml_direct/xmlcore.asp", data={"token": "x"})
        right = http.post(URL, data={"token": DEMO["token"], "get": "1", "what": "item"})
        via_header = http.post("http://127.0.0.1/xmlcore/cap_xml_direct/xmlcore.asp",
                               headers={"Host": "login.directo.ee"}, data={"token": DEMO["token"], "get": "1",
                                                                         "what": "item"})
    assert wrong.status_code == 404
    assert right.status_code == 200 and b"<items>" in right.content
    assert via_header.status_code == 200


# -- hostile XML -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["billion_laughs", "external_entity"])
def test_hostile_answers_are_refused_safely(registry, kind):
    from hub.testing import make_context

    ctx = make_context("directo", httpx.WSGITransport(app=sandbox.create_app(hostile=kind)))
    with pytest.raises(TransientError) as caught:
        registry.call("directo", "hub_list_clients", ctx=ctx, credentials=DEMO, query="")
    assert "refuses to read" in caught.value.message


def test_external_entity_cannot_read_a_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    body = (f'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file://{secret}">]>'
            '<transport><customers><customer code="K1" name="&x;"/></customers></transport>').encode()
    with pytest.raises(TransientError) as caught:
        client.parse_xml(body, what="customer")
    assert "TOP-SECRET" not in str(caught.value)


def test_billion_laughs_is_refused_before_expansion():
    body = sandbox.HOSTILE["billion_laughs"].encode()
    with pytest.raises(TransientError):
        client.parse_xml(body, what="customer")
    # even a DTD without entities is refused: Directo never sends one
    with pytest.raises(TransientError):
        client.parse_xml(b'<!DOCTYPE transport><transport/>', what="customer")


# -- clients, products, payments ---------------------------------------------------------------------
def test_list_clients_reads_all_customers_in_one_request(call, state):
    found = call("hub_list_clients", credentials=DEMO, query="")
    seeded = state.data["uku_demo"].customers
    assert [c.id for c in found] == [c["code"] for c in seeded if c["closed"] != "1"]
    first = next(c for c in seeded if c["closed"] != "1")
    got = found[0]
    assert (got.name, got.reg_code, got.email) == (first["name"], first["regno"], first["email"] or None)
    assert got.addresses[0] == Address(street=first["address1"], city=first["address2"],
                                       postal_code=first["address3"], country="EE")
    [rec] = state.api_requests()
    assert form_of(rec) == {"token": DEMO["token"], "get": "1", "what": "customer"}


def test_list_clients_query_matches_name_code_and_regno(call, state):
    seeded = [c for c in state.data["uku_demo"].customers if c["closed"] != "1"]
    target = seeded[5]
    assert [c.id for c in call("hub_list_clients", credentials=DEMO, query=target["regno"])] == [target["code"]]
    assert target["code"] in [c.id for c in call("hub_list_clients", credentials=DEMO,
                                                 query=target["name"].split()[0].upper())]
    assert [c.id for c in call("hub_list_clients", credentials=DEMO, query=target["code"].lower())] == [target["code"]]
    assert call("hub_list_clients", credentials=DEMO, query="no such client") == []


def test_products(call, state):
    products = call("hub_list_products", credentials=DEMO)
    assert len(products) == 12
    assert products[2].code == "PALK" and products[2].unit_price == Decimal("12.5") and products[2].tax_id == "1"
    assert form_of(state.api_requests()[0])["what"] == "item"


def test_payments_sum_receipt_rows_per_invoice(call, state):
    since = dt.date(2026, 10, 1)
    payments = call("hub_fetch_payments", credentials=DEMO, since=since)
    expected: dict[str, Decimal] = {}
    settled: dict[str, bool] = {}
    for receipt in state.data["uku_demo"].receipts:  # in date order: the last row of an invoice decides
        if dt.date.fromisoformat(receipt["aeg"][:10]) >= since:
            for row in receipt["rows"]:
                expected[row["invoice"]] = expected.get(row["invoice"], Decimal(0)) + Decimal(row["received"])
                settled[row["invoice"]] = Decimal(row["received"]) >= Decimal(row["invoicesum"])
    assert {p.vendor_invoice_id: p.paid_amount for p in payments} == expected
    assert {p.vendor_invoice_id: p.fully_paid for p in payments} == settled
    assert any(not p.fully_paid for p in payments) and any(p.fully_paid for p in payments)
    form = form_of(state.api_requests()[0])
    assert (form["what"], form["date1"]) == ("receipt", "01.10.2026")


# -- receipts: the time is `aeg`, `invoicesum` is the invoice's balance (issue 13, defect 5) -------------------
def _receipts_answer(*receipts: str) -> httpx.Response:
    return xml_answer(f"<transport>{''.join(receipts)}</transport>")


def _receipt(number: str, rows: str, **header: str) -> str:
    attrs = "".join(f' {k}="{v}"' for k, v in header.items())
    return f'<receipt number="{number}" confirmed="1"{attrs}><rows>{rows}</rows></receipt>'


def _row(invoice: str, aeg: str | None, received: str, invoicesum: str) -> str:
    when = f' aeg="{aeg}"' if aeg else ""
    return f'<row invoice="{invoice}"{when} customer="K0004" received="{received}" invoicesum="{invoicesum}"/>'


@pytest.mark.parametrize("newest_first", [False, True], ids=["oldest-first", "newest-first"])
def test_fully_paid_follows_the_balance_of_the_latest_row(mock_call, newest_first):
    """100.00 invoiced, paid 60 (balance 100), then 30 (balance 40): 10 still open. The old client compared
    the sum paid (90) with the last invoicesum it saw (40) as if it were the total and called it paid."""
    receipts = [_receipt("7001", _row("100005", "2026-10-02T09:00:00", "60.00", "100.00")),
                _receipt("7002", _row("100005", "2026-10-20T09:00:00", "30.00", "40.00"))]
    if newest_first:
        receipts.reverse()
    [open_] = mock_call(lambda r: _receipts_answer(*receipts), "hub_fetch_payments", credentials=DEMO,
                        since=dt.date(2026, 10, 1))
    assert (open_.paid_amount, open_.paid_on, open_.fully_paid) == (Decimal("90.00"), dt.date(2026, 10, 20), False)
    receipts.append(_receipt("7003", _row("100005", "2026-11-03T09:00:00", "10.00", "10.00")))
    [paid] = mock_call(lambda r: _receipts_answer(*receipts), "hub_fetch_payments", credentials=DEMO,
                       since=dt.date(2026, 10, 1))
    assert (paid.paid_amount, paid.paid_on, paid.fully_paid) == (Decimal("100.00"), dt.date(2026, 11, 3), True)


def test_a_part_payment_after_since_settles_an_older_balance(mock_call):
    """Only the last instalment lies after ``since``: its row's balance says the invoice is settled."""
    answer = _receipts_answer(_receipt("7003", _row("100005", "2026-11-03T09:00:00", "10.00", "10.00")))
    [paid] = mock_call(lambda r: answer, "hub_fetch_payments", credentials=DEMO, since=dt.date(2026, 11, 1))
    assert (paid.paid_amount, paid.fully_paid) == (Decimal("10.00"), True)


def test_receipt_time_is_aeg_on_the_header_when_the_row_has_none(mock_call):
    """Directo's receipt page lists the header time as ``aeg`` (there is no header ``date``)."""
    answer = _receipts_answer(_receipt("7001", _row("100005", None, "50.00", "50.00"), aeg="2026-02-10T14:00:00"))
    [payment] = mock_call(lambda r: answer, "hub_fetch_payments", credentials=DEMO, since=dt.date(2026, 2, 1))
    assert payment.paid_on == dt.date(2026, 2, 10)
    assert mock_call(lambda r: answer, "hub_fetch_payments", credentials=DEMO, since=dt.date(2026, 2, 11)) == []
    stats = mock_call(lambda r: answer if b"what=receipt" in r.content else _receipts_answer(),
                      "hub_fetch_statistics", credentials=DEMO, client=None, periods=[Period(2026, 2)])
    assert (stats[Period(2026, 2)]["bank_transactions"], stats[Period(2026, 2)]["documents"]) == (1, 1)


def test_a_rows_own_aeg_wins_over_the_header(mock_call):
    answer = _receipts_answer(_receipt("7001", _row("100005", "2026-03-01T08:00:00", "5.00", "9.00"),
                                       aeg="2026-02-28T20:00:00"))
    stats = mock_call(lambda r: answer if b"what=receipt" in r.content else _receipts_answer(),
                      "hub_fetch_statistics", credentials=DEMO, client=None, periods=[Period(2026, 2), Period(2026, 3)])
    assert (stats[Period(2026, 2)]["bank_transactions"], stats[Period(2026, 3)]["bank_transactions"]) == (0, 1)


def test_sandbox_receipts_carry_the_balance_not_the_total():
    """Seeded instalments: the first row's invoicesum is the invoice total, a later one's what was left."""
    db = sandbox.seed()["uku_demo"]
    rows_of: dict[str, list[dict]] = {}
    for receipt in db.receipts:
        assert set(receipt) == {"number", "paymentmode", "aeg", "confirmed", "ts", "rows"}
        for row in receipt["rows"]:
            rows_of.setdefault(row["invoice"], []).append(row)
    instalments = {number: rows for number, rows in rows_of.items() if len(rows) > 1}
    assert len(instalments) >= 5
    for number, (first, second) in instalments.items():
        total = Decimal(db.invoice(number)["total"])
        assert Decimal(first["invoicesum"]) == total
        paid_before = Decimal(first["received"]) if fact("invoicesum_is_the_balance_the_row_pays") else 0
        assert Decimal(second["invoicesum"]) == total - paid_before
    assert any(Decimal(r[-1]["received"]) < Decimal(r[-1]["invoicesum"]) for r in instalments.values())
    assert any(Decimal(r[-1]["received"]) == Decimal(r[-1]["invoicesum"]) for r in instalments.values())


# -- statistics --------------------------------------------------------------------------------------
def _day(text: str) -> dt.date:
    return client.parse_date(text)


def expected_stats(db: sandbox.Database, customer: str | None, periods: list[Period]) -> dict:
    """The counts implied by the seeded data, computed independently of the plugin."""
    out = {p: dict.fromkeys(client.STAT_KEYS, 0) for p in periods}

    def slot(day):
        return out.get(Period.of(day))

    for inv in db.invoices:
        if (s := slot(_day(inv["date"]))) is not None and customer in (None, inv["customer"]):
            s["sale_entries"] += 1
            s["documents"] += 1
            s["sales_invoice_rows"] += len(inv["rows"])
            s["credit_invoices"] += Decimal(inv["total"]) < 0
            s["unconfirmed_documents"] += inv["confirmed"] != "1"
    for pur in db.purchases:
        if (s := slot(_day(pur["date"]))) is not None and customer in (None, pur["supplier"]):
            s["purchase_entries"] += 1
            s["documents"] += 1
            s["unconfirmed_documents"] += pur["confirmed"] != "1"
    for rec in db.receipts:
        mine = [r for r in rec["rows"] if customer in (None, r["customer"])]
        if (s := slot(_day(rec["aeg"]))) is not None and mine:
            s["bank_transactions"] += len(mine)
            s["documents"] += 1
    if customer is None:
        for tr in db.transactions:
            if (s := slot(_day(tr["date"]))) is not None:
                s["gl_transactions"] += 1
    return out


def test_statistics_whole_database_match_seed_with_four_requests_per_year(call, state):
    stats = call("hub_fetch_statistics", credentials=DEMO, client=None, periods=YEAR_2026)
    assert stats == expected_stats(state.data["uku_demo"], None, YEAR_2026)
    assert stats[Period(2026, 1)] == {"sale_entries": 29, "purchase_entries": 8, "bank_transactions": 24,
                                      "documents": 53, "sales_invoice_rows": 66, "credit_invoices": 3,
                                      "unconfirmed_documents": 2, "gl_transactions": 26}
    forms = [form_of(r) for r in state.api_requests()]
    assert [f["what"] for f in forms] == ["invoice", "purchase", "receipt", "transaction"]
    assert all((f["get"], f["date1"], f["date2"]) == ("1", "01.01.2026", "31.12.2026") for f in forms)


def test_statistics_two_years_still_four_requests(call, state):
    periods = Period.span(Period(2025, 1), Period(2026, 12))
    stats = call("hub_fetch_statistics", credentials=DEMO, client=None, periods=periods)
    assert stats == expected_stats(state.data["uku_demo"], None, periods)
    assert len(state.api_requests()) == 4


def test_statistics_for_one_client_of_a_firm_database_three_requests(call, state):
    periods = Period.span(Period(2025, 12), Period(2026, 11))
    stats = call("hub_fetch_statistics", credentials=DEMO, client="K0004", periods=periods)
    assert stats == expected_stats(state.data["uku_demo"], "K0004", periods)
    assert sum(v["sale_entries"] for v in stats.values()) > 0
    assert sum(v["purchase_entries"] for v in stats.values()) > 0
    assert all(v["gl_transactions"] == 0 for v in stats.values())
    assert [form_of(r)["what"] for r in state.api_requests()] == ["invoice", "purchase", "receipt"]


def test_statistics_months_without_data_are_zero(call):
    periods = [Period(2024, 11), Period(2024, 12)]
    stats = call("hub_fetch_statistics", credentials=DEMO, client=None, periods=periods)
    assert stats == {p: dict.fromkeys(client.STAT_KEYS, 0) for p in periods}


def test_statistics_ignore_records_outside_the_window_and_accept_both_date_formats(mock_call):
    answers = {
        "invoice": '<transport><invoices><invoice number="1" customer="A" date="2026-02-03" total="-5.00" '
                   'confirmed="1"><rows><row item="X"/><row item="Y"/></rows></invoice>'
                   '<invoice number="2" customer="A" date="31.12.2025" confirmed="1"/></invoices></transport>',
        "purchase": '<transport><purchase number="9" supplier="A" date="03.02.2026" confirmed="0"/></transport>',
        "receipt": '<transport><receipt number="7" aeg="2026-02-10T00:00:00"><rows><row customer="A" invoice="1"/>'
                   '<row customer="B" invoice="3"/></rows></receipt></transport>',
        "transaction": '<transport><transaction number="5" date="2026-02-28 00:00:00"/></transport>',
    }

    def handler(request):
        return xml_answer(answers[dict(urllib.parse.parse_qsl(request.content.decode()))["what"]])

    stats = mock_call(handler, "hub_fetch_statistics", credentials=DEMO, client=None, periods=[Period(2026, 2)])
    assert stats[Period(2026, 2)] == {"sale_entries": 1, "purchase_entries": 1, "bank_transactions": 2,
                                      "documents": 3, "sales_invoice_rows": 2, "credit_invoices": 1,
                                      "unconfirmed_documents": 1, "gl_transactions": 1}


# -- invoice export ----------------------------------------------------------------------------------
def make_invoice(number: str = "2026000123", reference: str = "uku-inv-42-directo", **client_kw) -> Invoice:
    party = InvoiceParty(**{"name": "Põhja Puit OÜ", "reg_code": "12345678", "email": "arved@pohja.example",
                            "vendor_client_id": "K0004",
                            "address": Address(street="Mere pst 1", city="Tallinn", postal_code="10111",
                                               country="EE"), **client_kw})
    lines = (InvoiceLine("Raamatupidamisteenus november", Decimal("1"), Decimal("250.00"), Decimal("24"),
                         product_code="RAAM", tax_id="1", unit="kuu"),
             InvoiceLine("Palgaarvestus", Decimal("3"), Decimal("12.50"), Decimal("24"), product_code="PALK",
                         tax_id="1"))
    return Invoice(reference=reference, number=number, client=party, issue_date=dt.date(2026, 11, 20),
                   due_date=dt.date(2026, 12, 4), currency="EUR", lines=lines, total_net=Decimal("287.50"),
                   total_vat=Decimal("69.00"), total=Decimal("356.50"), language="et")


def test_export_sends_the_documented_invoice_xml(call, state):
    receipt = call("hub_export_invoice", credentials=NO_RANGE, invoice=make_invoice())
    assert receipt.vendor_invoice_id == "2026000123" and receipt.number == "2026000123"
    assert not receipt.already_existed
    find, put = state.api_requests()
    assert form_of(find) == {"token": DEMO["token"], "get": "1", "what": "invoice", "date1": "20.11.2026",
                             "date2": "20.11.2026"}
    form = form_of(put)
    assert set(form) == {"token", "put", "what", "xmldata"}
    assert (form["put"], form["what"]) == ("1", "invoice")
    doc = SafeET.fromstring(form["xmldata"])
    assert doc.tag == "invoices"
    [head] = list(doc)
    assert head.attrib == {"number": "2026000123", "customercode": "K0004", "customername": "Põhja Puit OÜ",
                           "customer_regno": "12345678", "email": "arved@pohja.example", "date": "2026-11-20",
                           "duedate": "2026-12-04", "paymentterm": "14", "currency": "EUR", "language": "ET",
                           "comment": "2026000123 [uku-inv-42-directo]", "address1": "Mere pst 1",
                           "address2": "10111 Tallinn", "address3": "EE"}
    assert "confirm" not in head.attrib  # left for the bookkeeper; nothing asks Directo to send it
    rows = [r.attrib for r in head.iter("row")]
    assert rows == [{"item": "RAAM", "description": "Raamatupidamisteenus november", "quantity": "1",
                     "price": "250", "vatcode": "1", "unit": "kuu"},
                    {"item": "PALK", "description": "Palgaarvestus", "quantity": "3", "price": "12.5", "vatcode": "1"}]
    created = state.data["uku_demo"].invoice("2026000123")
    assert created["comment"] == "2026000123 [uku-inv-42-directo]" and created["total"] == "356.50"


@pytest.mark.parametrize("credentials", [DEMO, NO_RANGE], ids=["range", "hub-number"])
def test_export_twice_results_in_one_invoice(call, state, credentials):
    first = call("hub_export_invoice", credentials=credentials, invoice=make_invoice())
    second = call("hub_export_invoice", credentials=credentials, invoice=make_invoice())
    assert second.vendor_invoice_id == first.vendor_invoice_id and second.already_existed
    assert state.data["uku_demo"].created_invoices == [first.vendor_invoice_id]
    assert [form_of(r).get("put") for r in state.api_requests()].count("1") == 1


@pytest.mark.parametrize("credentials", [DEMO, NO_RANGE], ids=["range", "hub-number"])
def test_find_invoice_after_a_lost_answer(call, state, credentials):
    invoice = make_invoice()
    assert call("hub_find_invoice", credentials=credentials, invoice=invoice) is None
    sent = call("hub_export_invoice", credentials=credentials, invoice=invoice)
    found = call("hub_find_invoice", credentials=credentials, invoice=invoice)
    assert found is not None and found.vendor_invoice_id == sent.vendor_invoice_id and found.already_existed
    assert found.vendor_invoice_id == ("900001" if credentials is DEMO else "2026000123")


@pytest.mark.parametrize("number,code", [("100016", 11), ("100001", 14)])
def test_number_taken_by_another_invoice_is_rejected(call, number, code, state):
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", credentials=NO_RANGE, invoice=make_invoice(number=number))
    assert f"Type {code}" in caught.value.message
    assert "number" in caught.value.field_messages
    assert len(state.data["uku_demo"].created_invoices) == 0


def test_missing_customer_is_type_13(call):
    invoice = make_invoice(vendor_client_id=None, reg_code=None)
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", credentials=DEMO, invoice=invoice)
    assert "Type 13" in caught.value.message
    assert any("Missing customer code or regno" in m for m in caught.value.field_messages["client"])


def test_unlinked_client_with_inline_details_is_accepted(call, state):
    invoice = make_invoice(vendor_client_id=None)
    assert call("hub_export_invoice", credentials=DEMO, invoice=invoice).vendor_invoice_id == "900001"


def test_unknown_article_is_rejected_with_directos_words(call):
    invoice = make_invoice()
    invoice = Invoice(**{**invoice.__dict__, "lines": (InvoiceLine("x", Decimal(1), Decimal(1), Decimal(24),
                                                                   product_code="NOPE", tax_id="1"),)})
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", credentials=DEMO, invoice=invoice)
    assert "Type 9" in caught.value.message
    assert caught.value.field_messages[""][-1] == "Directo says: Item NOPE not found"


def test_line_without_product_code_uses_the_operator_default_item(registry, app, state):
    from hub.testing import make_context

    ctx = make_context("directo", httpx.WSGITransport(app=app), settings={"default_item": "MUU"})
    invoice = make_invoice()
    invoice = Invoice(**{**invoice.__dict__, "lines": (InvoiceLine("Free text", Decimal(2), Decimal("9.99"),
                                                                   Decimal(24), tax_id="1"),)})
    registry.call("directo", "hub_export_invoice", ctx=ctx, credentials=DEMO, invoice=invoice)
    put = [form_of(r) for r in state.api_requests() if form_of(r).get("put") == "1"][0]
    assert [r.attrib for r in SafeET.fromstring(put["xmldata"]).iter("row")] == [
        {"item": "MUU", "description": "Free text", "quantity": "2", "price": "9.99", "vatcode": "1"}]


# -- document numbers: mandatory and numeric (issue 13, defect 4) --------------------------------------------
def _puts(state) -> list[Element]:
    return [SafeET.fromstring(form_of(r)["xmldata"])[0] for r in state.api_requests() if form_of(r).get("put") == "1"]


def test_sandbox_refuses_a_put_without_a_number_as_directo_does(app):
    assert fact("document_number_required"), "what this test holds the sandbox to"
    with httpx.Client(transport=httpx.WSGITransport(app=app)) as http:
        answer = http.post(URL, data={"token": DEMO["token"], "put": "1", "what": "invoice", "xmldata":
                                      '<invoices><invoice customercode="K0004" date="2026-01-05"><rows>'
                                      '<row item="KONS" quantity="1" price="60"/></rows></invoice></invoices>'})
    result = SafeET.fromstring(answer.content)[0].attrib
    assert result["Type"] == "12" and "docid" not in result
    assert app.extensions["sandbox"].data["uku_demo"].created_invoices == []


def test_a_non_numeric_hub_number_gets_the_next_number_of_the_integrations_range(call, state):
    first = call("hub_export_invoice", credentials=DEMO, invoice=make_invoice("INV-2026-0001", "HUB-1-7"))
    second = call("hub_export_invoice", credentials=DEMO, invoice=make_invoice("INV-2026-0002", "HUB-2-7"))
    assert (first.vendor_invoice_id, first.number, second.number) == ("900001", "900001", "900002")
    heads = _puts(state)
    assert [h.get("number") for h in heads] == ["900001", "900002"]
    assert [h.get("comment") for h in heads] == ["INV-2026-0001 [HUB-1-7]", "INV-2026-0002 [HUB-2-7]"]
    db = state.data["uku_demo"]
    assert db.created_invoices == ["900001", "900002"] and db.invoice("900001")["comment"] == "INV-2026-0001 [HUB-1-7]"
    # the second export: find (1), is 900002 free (1, the hint), put (1)
    second_forms = [form_of(r) for r in state.api_requests()][-3:]
    assert [(f.get("get"), f.get("put"), f.get("number")) for f in second_forms] == [
        ("1", None, None), ("1", None, "900002"), (None, "1", None)]
    found = call("hub_find_invoice", credentials=DEMO, invoice=make_invoice("INV-2026-0001", "HUB-1-7"))
    assert found is not None and (found.vendor_invoice_id, found.already_existed) == ("900001", True)
    again = call("hub_export_invoice", credentials=DEMO, invoice=make_invoice("INV-2026-0002", "HUB-2-7"))
    assert (again.number, again.already_existed) == ("900002", True) and len(db.created_invoices) == 2


def test_a_non_numeric_hub_number_without_a_range_is_refused_before_anything_is_sent(call, state):
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", credentials=NO_RANGE, invoice=make_invoice("INV-2026-0001"))
    assert "INV-2026-0001" in caught.value.message
    assert "Invoice numbers for the hub" in " ".join(caught.value.field_messages["number"])
    assert [form_of(r).get("put") for r in state.api_requests()] == [None]  # only the find
    assert state.data["uku_demo"].created_invoices == []


def test_numbers_used_by_directo_are_skipped_and_a_lost_hint_costs_log_requests(call, state):
    db = state.data["uku_demo"]
    for n in list(range(900001, 900051)) + [900060]:  # Directo already used these (a gap at 900051…900059)
        db.invoices.append({**db.invoices[0], "number": str(n), "comment": ""})
    receipt = call("hub_export_invoice", credentials=DEMO, invoice=make_invoice("INV-2026-0001"))
    assert receipt.number == "900051"
    checks = [form_of(r)["number"] for r in state.api_requests() if form_of(r).get("number")]
    assert len(checks) <= 14, checks  # doubling then halving, not one request per used number
    assert call("hub_export_invoice", credentials=DEMO, invoice=make_invoice("INV-2026-0002", "r2")).number == "900052"


def test_a_number_taken_between_the_check_and_the_put_moves_on(mock_call):
    """Another writer takes 900001 after the hub saw it free: Directo answers Type 11; the hub checks that it
    is not its own invoice and puts again under the next free number."""
    seen = []

    def handler(request):
        form = dict(urllib.parse.parse_qsl(request.content.decode()))
        if form.get("put") == "1":
            number = SafeET.fromstring(form["xmldata"])[0].get("number")
            seen.append(("put", number))
            if number == "900001":
                return xml_answer('<results><Result Type="11" Desc="Duplicate"/></results>')
            return xml_answer(f'<results><Result Type="0" Desc="OK" docid="{number}" doctype="INVOICE"/></results>')
        seen.append(("get", form.get("number")))
        return xml_answer("<transport><invoices/></transport>")

    receipt = mock_call(handler, "hub_export_invoice", credentials=DEMO, invoice=make_invoice("INV-2026-0001"))
    assert receipt.number == "900002" and not receipt.already_existed
    assert seen == [("get", None), ("get", "900001"), ("put", "900001"), ("get", None), ("get", "900002"),
                    ("put", "900002")]


def test_a_full_range_is_refused_with_what_to_change(call, state):
    db = state.data["uku_demo"]
    for n in (900001, 900002, 900003):
        db.invoices.append({**db.invoices[0], "number": str(n), "comment": ""})
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", credentials={**DEMO, "invoice_numbers": "900001-900003"},
             invoice=make_invoice("INV-2026-0001"))
    assert "900003" in caught.value.message
    assert "Invoice numbers for the hub" in caught.value.field_messages["number"][0]
    assert db.created_invoices == []


@pytest.mark.parametrize("typed,stored", [("900001-999999", "900001-999999"), (" 900 001 – 999 999 ", "900001-999999"),
                                          ("900001", "900001-2147483647"), ("", None), (None, None)])
def test_schema_invoice_numbers(typed, stored):
    loaded = creds.validate(Credentials, {**NO_RANGE, "invoice_numbers": typed})
    assert loaded["invoice_numbers"] == stored
    assert client.number_range(loaded) == (tuple(int(x) for x in stored.split("-")) if stored else None)


@pytest.mark.parametrize("typed", ["INV-1", "999999-900001", "0-100", "1-3000000000", "9000019999999"])
def test_schema_invoice_numbers_messages(typed):
    import marshmallow

    with pytest.raises(marshmallow.ValidationError) as caught:
        creds.validate(Credentials, {**NO_RANGE, "invoice_numbers": typed})
    assert "invoice_numbers" in caught.value.messages


def _put_handler(result: str, found: str = ""):
    def handler(request):
        form = dict(urllib.parse.parse_qsl(request.content.decode()))
        if form.get("get") == "1":
            return xml_answer(f"<transport><invoices>{found}</invoices></transport>")
        return xml_answer(f"<results>{result}</results>")

    return handler


@pytest.mark.parametrize("code", [0, 30, 29, 39])
def test_put_success_codes(mock_call, code):
    handler = _put_handler(f'<Result Type="{code}" Desc="OK" docid="555" doctype="INVOICE"/>')
    receipt = mock_call(handler, "hub_export_invoice", credentials=NO_RANGE, invoice=make_invoice())
    assert (receipt.vendor_invoice_id, receipt.already_existed) == ("555", False)


@pytest.mark.parametrize("code,field", [(8, ""), (9, ""), (12, "number"), (13, "client"), (18, ""), (19, ""),
                                        (31, ""), (99, ""), (42, "")])
def test_put_rejection_codes(mock_call, code, field):
    handler = _put_handler(f'<Result Type="{code}" Desc="Something specific"/>')
    with pytest.raises(VendorRejected) as caught:
        mock_call(handler, "hub_export_invoice", credentials=NO_RANGE, invoice=make_invoice())
    assert caught.value.field_messages[field][-1] == "Directo says: Something specific"


def test_put_insert_failed_is_retried_after_60s(mock_call):
    with pytest.raises(TransientError) as caught:
        mock_call(_put_handler('<Result Type="17" Desc="Insert failed"/>'), "hub_export_invoice",
                  credentials=NO_RANGE, invoice=make_invoice())
    assert caught.value.retry_after == 60


def test_put_duplicate_of_our_own_invoice_is_already_there(mock_call):
    calls = []

    def handler(request):
        form = dict(urllib.parse.parse_qsl(request.content.decode()))
        calls.append(form.get("put") or "get")
        if form.get("get") == "1":  # first lookup misses (stale), the second finds it
            found = '<invoice number="2026000123" comment="uku-inv-42-directo" date="2026-11-20"/>' \
                if len(calls) > 2 else ""
            return xml_answer(f"<transport><invoices>{found}</invoices></transport>")
        return xml_answer('<results><Result Type="11" Desc="Duplicate"/></results>')

    receipt = mock_call(handler, "hub_export_invoice", credentials=NO_RANGE, invoice=make_invoice())
    assert receipt.already_existed and receipt.vendor_invoice_id == "2026000123"
    assert calls == ["get", "1", "get"]


def test_put_answer_without_results_is_transient(mock_call):
    with pytest.raises(TransientError):
        mock_call(_put_handler(""), "hub_export_invoice", credentials=NO_RANGE, invoice=make_invoice())


def test_sandbox_put_validation(app, state):
    with httpx.Client(transport=httpx.WSGITransport(app=app)) as http:
        def put(xmldata, what="invoice"):
            answer = http.post(URL, data={"token": DEMO["token"], "put": "1", "what": what, "xmldata": xmldata})
            return SafeET.fromstring(answer.content)[0].attrib

        assert put("<invoices><invoice")["Type"] == "8"
        assert put("<invoices/>")["Type"] == "99"
        assert put("<orders/>", what="order")["Type"] == "99"
        assert put('<invoices><invoice number="900001" customercode="K0004" date="2026-01-01"/></invoices>')[
            "Type"] == "9"
        bad_number = ('<invoices><invoice number="900001" customercode="K0004" date="2026-01-01"><rows>'
                      '<row item="KONS" quantity="1,5" price="1"/></rows></invoice></invoices>')
        assert put(bad_number)["Type"] == "9"
        no_email = ('<invoices><invoice number="900001" customercode="K0025" date="2026-01-01"><rows>'
                    '<row item="KONS" quantity="1" price="1"/></rows></invoice></invoices>')
        assert put(no_email)["Desc"] == "Missing customer e-mail"
        ok = put('<invoices><invoice number="900001" customercode="K0004" date="01.02.2026"><rows>'
                 '<row item="KONS" quantity="1" price="60"/></rows></invoice></invoices>')
        assert ok["Type"] == "0" and ok["doctype"] == "INVOICE" and ok["docid"] == "900001"


def test_sandbox_read_filters(app):
    with httpx.Client(transport=httpx.WSGITransport(app=app)) as http:
        def get(**filters):
            answer = http.post(URL, data={"token": DEMO["token"], "get": "1", **filters})
            return SafeET.fromstring(answer.content)

        assert [c.get("code") for c in get(what="customer", code="K0002").iter("customer")] == ["K0002"]
        assert [i.get("number") for i in get(what="invoice", number="100005").iter("invoice")] == ["100005"]
        assert list(get(what="customer", ts="01.01.2026").iter("customer")) == []
        assert len(list(get(what="customer", ts="2024-12-31").iter("customer"))) == 36
        window = [i.get("date") for i in get(what="invoice", date1="01.03.2026", date2="2026-03-31").iter("invoice")]
        assert window and all(d.startswith("2026-03") for d in window)
        assert get(what="invoice", date1="March").text == "invalid date1: use dd.mm.yyyy"
        assert get(what="order").tag == "err"
        assert http.post(URL, data={"token": DEMO["token"], "what": "item"}).text.endswith(
            "<err>get=1 or put=1 required</err>")


# -- the credentials form ----------------------------------------------------------------------------
def test_schema_normalises_pasted_values():
    loaded = creds.validate(Credentials, {"token": "  token=dxd-demo-7f3a9c2e51b84d06\n",
                                          "database": " https://login.directo.ee/xmlcore/UKU_DEMO/xmlcore.asp "})
    assert loaded == {**DEMO, "invoice_numbers": None}


@pytest.mark.parametrize("data,field,message", [
    ({"token": "abc def ghij", "database": "uku_demo"}, "token", "spaces"),
    ({"token": "short", "database": "uku_demo"}, "token", "too short"),
    ({"token": "dxd-demo-7f3a9c2e51b84d06", "database": "Uku Demo OÜ"}, "database", "database code"),
    ({"database": "uku_demo"}, "token", "required"),
])
def test_schema_messages(data, field, message):
    import marshmallow

    with pytest.raises(marshmallow.ValidationError) as caught:
        creds.validate(Credentials, data)
    assert message in " ".join(caught.value.messages[field]).lower() or message in str(caught.value.messages)


def test_token_is_secret_and_database_is_not():
    assert creds.secret_fields(Credentials) == {"token"}


# -- sandbox control endpoints -----------------------------------------------------------------------
def test_control_endpoints(app, state, call):
    call("hub_export_invoice", credentials=DEMO, invoice=make_invoice())
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as http:
        assert http.get("/_sandbox/requests").json() == {"total": 3, "by_status": {"200": 3}}  # find, check, put
        assert http.post("/_sandbox/knobs", json={"latency_ms": 0, "fault": "500"}).json()["knobs"]["fault"] == "500"
        assert http.post("/_sandbox/knobs", json={"nope": 1}).status_code == 400
        assert http.post("/_sandbox/reset").json() == {"ok": True}
        assert http.get("/_sandbox/requests").json() == {"total": 0, "by_status": {}}
    assert app.extensions["sandbox"].data["uku_demo"].created_invoices == []


def test_seed_is_deterministic_and_covers_two_years():
    one, two = sandbox.seed(), sandbox.seed()
    assert [len(db.invoices) for db in one.values()] == [len(db.invoices) for db in two.values()]
    assert one["uku_demo"].invoices[:5] == two["uku_demo"].invoices[:5]
    days = [client.parse_date(i["date"]) for i in one["uku_demo"].invoices]
    assert min(days) < dt.date(2025, 1, 15) and max(days) > dt.date(2026, 12, 15)
    assert len(one) >= 4 and sum(len(db.customers) for db in one.values()) >= 60
