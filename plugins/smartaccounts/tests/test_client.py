"""The client's wire: exact method, host, path, query order, timestamp, signature and body; list answers under
their own key with ``deleted`` beside them; the sandbox's own checks; and the wire facts (hub_smartaccounts.wire),
every one sourced, every assumed one owned up to in the README, the client and the sandbox reading their shapes
from the same table, and every field the client sends a known one."""

import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest
from hub_smartaccounts import client as sa_client
from hub_smartaccounts import sandbox
from hub_smartaccounts.client import SmartAccountsApi
from hub_smartaccounts.wire import FACTS, list_key

from hub.errors import AuthError, TransientError
from hub.testing import make_context
from hub.testing.wire import check_wire_facts

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
DEMO = sandbox.DEMO_CREDENTIALS
FROZEN = dt.datetime(2026, 11, 22, 10, 5, 9, tzinfo=dt.UTC)  # 12:05:09 in Tallinn (EET, UTC+2)


def _signature(secret: str, query_without_signature: str, body: bytes = b"") -> str:
    return hmac.new(secret.encode(), query_without_signature.encode() + body, hashlib.sha256).hexdigest()


def _capture(status=200, body=None):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body if body is not None else {"vatPcs": []})

    return seen, handler


def test_get_read_is_signed_over_the_exact_query_string():
    seen, handler = _capture()
    ctx = make_context("smartaccounts", httpx.MockTransport(handler), now=lambda: FROZEN)
    SmartAccountsApi(ctx, DEMO).read("purchasesales/clientinvoices:get", dateFrom="01.01.2026", pageNumber=2)
    (request,) = seen
    assert request.method == "GET"
    assert request.url.host == "sa.smartaccounts.eu" and request.url.scheme == "https"
    assert request.url.path == "/api/purchasesales/clientinvoices:get"
    raw = request.url.query.decode()
    unsigned, _, signature = raw.rpartition("&signature=")
    assert unsigned == f"apikey={DEMO['api_key']}&timestamp=22112026120509&dateFrom=01.01.2026&pageNumber=2"
    assert signature == _signature(DEMO["api_secret"], unsigned)
    assert signature == signature.lower() and len(signature) == 64
    assert request.content == b""
    assert "content-type" not in request.headers
    assert request.headers["accept"] == "application/json"


def test_summer_time_timestamp_is_tallinn_local_time():
    seen, handler = _capture()
    summer = dt.datetime(2026, 7, 1, 21, 30, 0, tzinfo=dt.UTC)  # 00:30 next day in Tallinn (EEST, UTC+3)
    ctx = make_context("smartaccounts", httpx.MockTransport(handler), now=lambda: summer)
    SmartAccountsApi(ctx, DEMO).read("settings/vatpcs:get")
    assert dict(parse_qsl(seen[0].url.query.decode()))["timestamp"] == "02072026003000"


def test_post_write_signs_query_plus_raw_body():
    seen, handler = _capture(body={"clientId": 7, "referenceNumber": "1"})
    ctx = make_context("smartaccounts", httpx.MockTransport(handler), now=lambda: FROZEN)
    SmartAccountsApi(ctx, DEMO).write("purchasesales/clients:add", {"name": "Õun OÜ", "x": Decimal("12.50")})
    (request,) = seen
    assert request.method == "POST"
    assert request.url.path == "/api/purchasesales/clients:add"
    unsigned, _, signature = request.url.query.decode().rpartition("&signature=")
    assert unsigned == f"apikey={DEMO['api_key']}&timestamp=22112026120509"
    assert request.content == b'{"name":"\\u00d5un O\\u00dc","x":12.5}'
    assert json.loads(request.content) == {"name": "Õun OÜ", "x": 12.5}
    assert signature == _signature(DEMO["api_secret"], unsigned, request.content)
    assert request.headers["content-type"] == "application/json"


def test_every_request_to_the_sandbox_verifies(call, state):
    from hub.types import Period

    call("hub_fetch_statistics", credentials=DEMO, client=None, periods=[Period(2026, 1)])
    assert state.requests and all(r.status == 200 for r in state.requests)
    for r in state.requests:
        assert r.host == "sa.smartaccounts.eu"
        unsigned, _, signature = r.query_string.rpartition("&signature=")
        assert signature == _signature(DEMO["api_secret"], unsigned, r.body)


def _signed_request(app, *, method="GET", body=b"", secret=DEMO["api_secret"], when=None, tamper=None,
                    host="sa.smartaccounts.eu", endpoint="settings/vatpcs:get"):
    when = when or dt.datetime.now(dt.UTC)
    ts = when.astimezone(sa_client.TALLINN).strftime("%d%m%Y%H%M%S")
    query = f"apikey={DEMO['api_key']}&timestamp={ts}"
    signature = _signature(secret, query, body)
    with httpx.Client(transport=httpx.WSGITransport(app=app)) as http:
        return http.request(method, f"https://{host}/api/{endpoint}?{query}&signature={signature}",
                            content=tamper if tamper is not None else body)


def test_sandbox_accepts_get_and_post_reads(app):
    assert _signed_request(app).status_code == 200
    assert _signed_request(app, method="POST", body=b"{}").status_code == 200


def test_sandbox_refuses_a_tampered_body(app):
    response = _signed_request(app, method="POST", endpoint="purchasesales/clients:add",
                               body=b'{"name":"A"}', tamper=b'{"name":"B"}')
    assert response.status_code == 401
    assert response.json() == {"errors": [{"code": "AUTHENTICATION_FAILED", "message": "Invalid signature"}]}


def test_sandbox_refuses_a_stale_timestamp(app):
    response = _signed_request(app, when=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30))
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "INVALID_TIMESTAMP"


def test_sandbox_refuses_a_wrong_secret_and_a_wrong_host(app):
    assert _signed_request(app, secret="f" * 32).status_code == 401
    assert _signed_request(app, host="api.smartaccounts.eu").status_code == 404


def test_stale_clock_is_reported_as_transient(call, make_ctx):
    ctx = make_ctx(now=lambda: dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    with pytest.raises(TransientError, match="clock"):
        call("hub_test_connection", ctx=ctx, credentials=DEMO)


def test_tampered_body_is_reported_as_auth_error(make_ctx, state):
    class Tamper(httpx.BaseTransport):
        def __init__(self, inner):
            self.inner = inner

        def handle_request(self, request):
            request = httpx.Request(request.method, request.url, headers=request.headers,
                                    content=request.content.replace(b"Kask", b"Mets"))
            return self.inner.handle_request(request)

    app = sandbox.create_app()
    ctx = make_context("smartaccounts", Tamper(httpx.WSGITransport(app=app)))
    with pytest.raises(AuthError) as caught:
        SmartAccountsApi(ctx, DEMO).write("purchasesales/clients:add", {"name": "Kask OÜ"})
    assert "shows the secret only once" in caught.value.hint


@pytest.mark.parametrize("only", ["GET", "POST"])
def test_read_method_variants(only, call, make_ctx, state):
    """A2/A4 read with GET, A1 with POST + ``{}``: the client falls back on 405 and remembers the choice."""
    state.knobs["read_method"] = only
    ctx = make_ctx()
    call("hub_list_tax_rates", ctx=ctx, credentials=DEMO)
    call("hub_list_tax_rates", ctx=ctx, credentials=DEMO)
    methods = [(r.method, r.status) for r in state.requests]
    if only == "GET":
        assert methods == [("GET", 200), ("GET", 200)]
    else:
        assert methods == [("GET", 405), ("POST", 200), ("POST", 200)]
        assert state.requests[-1].body == b"{}"


def test_vat_percent_field_variants(call, state):
    for variant in ("pc", "percent"):
        state.knobs["vat_percent_field"] = variant
        rates = call("hub_list_tax_rates", credentials=DEMO)
        assert {(r.code, r.rate) for r in rates} >= {("24", Decimal("24")), ("9", Decimal("9")),
                                                     ("EU0", Decimal("0"))}
        assert len(rates) == 7 and rates[0].name == "VAT 24%"


def test_sandbox_control_endpoints(app):
    _signed_request(app)
    _signed_request(app, secret="f" * 32)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as http:
        assert http.get("/_sandbox/requests").json() == {"total": 2, "by_status": {"200": 1, "401": 1}}
        assert http.post("/_sandbox/knobs", json={"latency_ms": 0, "fault": None}).status_code == 200
        assert http.post("/_sandbox/knobs", json={"nope": 1}).status_code == 400
        assert http.post("/_sandbox/reset").json() == {"ok": True}
        assert http.get("/_sandbox/requests").json() == {"total": 0, "by_status": {}}


def test_sandbox_seed_is_deterministic():
    a, b = sandbox.seed(), sandbox.seed()
    assert [c.name for c in a.values()] == [c.name for c in b.values()]
    demo = a[DEMO["api_key"]]
    assert demo.client_invoices == b[DEMO["api_key"]].client_invoices
    assert len(a) == 6 and len(demo.clients) >= 24
    dates = [sa_client.parse_date(i["date"]) for i in demo.client_invoices]
    assert min(dates) <= dt.date(2025, 1, 31) and max(dates) >= dt.date(2026, 12, 1)


# -- list answers: rows under the endpoint's own key, next to `deleted` ----------------------------------------
@pytest.mark.parametrize("endpoint, key", [("purchasesales/clientinvoices:get", "clientInvoices"),
                                           ("purchasesales/vendorinvoices:get", "vendorInvoices"),
                                           ("purchasesales/payments:get", "payments")])
def test_the_sandbox_answers_document_lists_under_their_own_key_next_to_deleted(make_ctx, endpoint, key):
    body = SmartAccountsApi(make_ctx(), DEMO).read(endpoint, dateFrom="01.01.2026", dateTo="31.01.2026")
    assert set(body) == {key, "deleted", "hasMoreEntries"}
    assert body[key] and all(isinstance(i, int) for i in body["deleted"]) and body["deleted"]


def test_an_answer_without_the_lists_key_is_not_guessed_at():
    body = {"invoices": [{"id": 1, "date": "01.02.2026"}], "hasMoreEntries": False}
    ctx = make_context("smartaccounts", httpx.MockTransport(lambda r: httpx.Response(200, json=body)))
    with pytest.raises(TransientError, match="expected list of clientInvoices .*hasMoreEntries, invoices"):
        list(SmartAccountsApi(ctx, DEMO).pages("purchasesales/clientinvoices:get"))


# -- the wire facts ---------------------------------------------------------------------------------------------
def test_every_fact_is_sourced_or_owned_up_to_in_the_readme():
    check_wire_facts(FACTS, README)


def test_the_faithfulness_table_names_every_assumed_fact():
    assumed = {name for name, fact in FACTS.items() if fact.source == "assumed"}
    section = README.split("## How faithful is this", 1)[1].split("\n## ", 1)[0]
    assert assumed and all(f"`{name}`" in section for name in assumed)


def test_client_and_sandbox_read_their_shapes_from_the_facts():
    assert sa_client.BASE_URL == FACTS["base_url"].value
    assert sa_client.DATE_FORMAT == sandbox.DATE_FORMAT == FACTS["date_format"].value
    assert sa_client.TIMESTAMP_FORMAT == sandbox.TIMESTAMP_FORMAT == FACTS["timestamp_format"].value
    assert str(sa_client.TALLINN) == str(sandbox.TALLINN) == FACTS["timestamp_zone"].value
    assert sandbox.PAGE_SIZE == FACTS["page_size"].value
    assert sa_client.MORE_KEY == sandbox.MORE_KEY == FACTS["more_key"].value
    assert sandbox.DELETED_KEY == FACTS["deleted_key"].value
    assert sandbox.THROTTLE_STATUS == FACTS["throttle_status"].value == 503
    assert list_key("purchasesales/clientinvoices:get") == "clientInvoices"
    assert list_key("purchasesales/payments:get") == FACTS["payments_list_key"].value
    assert set(sa_client.STATISTIC_LISTS) <= set(FACTS["list_keys"].value) | {"purchasesales/payments:get"}


def test_every_field_the_client_sends_is_a_known_field(call, state, make_invoice):
    call("hub_export_invoice", credentials=DEMO, invoice=make_invoice())
    sent = {r.path.rsplit("/", 1)[-1]: json.loads(r.body) for r in state.requests if r.method == "POST"}
    assert set(sent["clients:add"]) <= set(FACTS["client_add_fields"].value)
    assert set(sent["clients:add"]["address"]) <= set(FACTS["client_address_fields"].value)
    assert set(sent["articles:add"]) == set(FACTS["article_add_fields"].value)
    assert sent["articles:add"]["type"] in FACTS["article_types"].value
    invoice = sent["clientinvoices:add"]
    assert set(invoice) <= set(FACTS["invoice_add_fields"].value)
    for row in invoice["rows"]:
        assert set(row) <= set(FACTS["invoice_row_fields"].value) and row["code"]  # the code is never missing
    reads = {r.path.rsplit("/", 1)[-1]: r.query_string for r in state.requests if r.method == "GET"}
    assert reads["clients:get"].startswith("apikey=") and "&timestamp=" in reads["clients:get"]
    assert f"&{FACTS['client_search_param'].value}=" in reads["clients:get"]
    assert f"&{FACTS['article_search_param'].value}=UKU&" in reads["articles:get"]
