"""Property-based tests (hypothesis) on the hub's input paths: whatever arrives — a CSV file, an API body or
query, a form, a vendor's answer — the outcome is a 4xx with a message in words (or, from a vendor, an
unreadable-answer error), never a 500 and never wrong data written.

They use the database, so CI's PostgreSQL pass runs them too (its limits are the production ones). Bounded and
reproducible: ``HUB_HYPOTHESIS_EXAMPLES`` examples per property (default 25), derandomized, no deadline."""

import csv
import io
import itertools
import json
import os

import marshmallow
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import clients, provisioning
from hub.api import auth, service_auth
from hub.errors import HubError, TransientError, UnexpectedError
from hub.models import Client, Firm
from tests.api.conftest import ApiClient

EXAMPLES = int(os.environ.get("HUB_HYPOTHESIS_EXAMPLES", "25"))
BOUNDED = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                          HealthCheck.data_too_large])
_firms = itertools.count(1)

# text a spreadsheet may hold: quotes, both separators, line breaks, accents, emoji; PostgreSQL cannot store NUL
# or lone surrogates (see the NUL properties below)
CELL = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
NAME = CELL.map(str.strip).filter(lambda s: 0 < len(s) <= 200)
SPICY = st.sampled_from(['Kask ""ja"" Kuusk', "Kask, Kuusk", "a;b", "line\nbreak", "cr\r\nlf", '"', "OÜ ÕÄÖ", "😀"])


def new_firm(db) -> Firm:
    firm = Firm(name=f"Property firm {next(_firms)}", country="EE", timezone="Europe/Tallinn", plan="team")
    db.session.add(firm)
    db.session.commit()
    return firm


def to_csv(header: list[str], rows: list[list[str]], delimiter: str, bom: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" if bom else "") + out.getvalue()


# -- CSV import --------------------------------------------------------------------------------------------
@BOUNDED
@given(names=st.lists(st.one_of(NAME, SPICY), min_size=1, max_size=6, unique_by=str.casefold),
       delimiter=st.sampled_from([",", ";", "\t"]), bom=st.booleans())
def test_any_rfc_4180_file_is_stored_exactly_as_written(hub_db, names, delimiter, bom):
    firm = new_firm(hub_db)
    text = to_csv(["external_id", "name", "reg_code"],
                  [[f"x-{i}", name, f"4{i:07d}"] for i, name in enumerate(names)], delimiter, bom)
    report = provisioning.import_clients(firm, provisioning.parse_csv(text))
    expected = {f"x-{i}": name.strip() for i, name in enumerate(names)}
    stored = {c.external_id: c.name for c in Client.query.filter_by(firm_id=firm.id)}
    if report.applied:
        assert stored == expected
    else:  # refused rows say why, in words; nothing is written
        assert stored == {} and all(m for e in report.refused for ms in e["errors"].values() for m in ms)


@BOUNDED
@given(text=st.text(max_size=300))
def test_any_text_as_a_csv_file_is_refused_in_words_or_imported(hub_db, text):
    firm = new_firm(hub_db)
    try:
        rows = provisioning.parse_csv(text)
    except marshmallow.ValidationError as exc:
        assert exc.messages["file"][0]
        return
    report = provisioning.import_clients(firm, rows)
    codes = [clients.normalise_code(c.reg_code) for c in Client.query.filter_by(firm_id=firm.id) if c.reg_code]
    assert len(codes) == len(set(codes))
    assert report.applied or not Client.query.filter_by(firm_id=firm.id).count()


@BOUNDED
@given(codes=st.lists(st.sampled_from(["10000001", "1000-0001", "EE 10000001", "20000002", "2000 0002", ""]),
                      min_size=1, max_size=6), partial=st.booleans())
def test_no_import_ever_gives_two_clients_one_registration_code(hub_db, codes, partial):
    firm = new_firm(hub_db)
    hub_db.session.add(Client(firm_id=firm.id, name="Existing", reg_code="10000001"))
    hub_db.session.commit()
    rows = [{"external_id": f"x-{i}", "name": f"Row {i}", "reg_code": code} for i, code in enumerate(codes)]
    provisioning.import_clients(firm, rows, partial=partial)
    stored = [clients.normalise_code(c.reg_code) for c in Client.query.filter_by(firm_id=firm.id) if c.reg_code]
    assert len(stored) == len(set(stored))


# -- API bodies and queries ------------------------------------------------------------------------------
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(max_size=30), lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=20)
HOSTILE = st.sampled_from([
    b"[" * 100_000 + b"]" * 100_000,  # 200 KB of nesting
    b'{"a":' * 30_000 + b"1" + b"}" * 30_000,
    b'{"name": ' + b"9" * 5000 + b"}",  # a number past Python's 4300-digit limit
    b'{"quantity": 1e999999}', b'{"name": "\\ud800"}', b'{"name": "a\\u0000b"}',
    "{\"name\": \"Müller\"}".encode("latin-1"), "{\"name\": \"x\"}".encode("utf-16"), b"\xef\xbb\xbf{}",
    b"\xff\xfe\xfd", b"", b"null", b"[]", b'"text"',
])
FIELDS = {"name", "number", "client_id", "lines", "quantity", "unit_price", "vat_rate", "url", "events", "reg_code",
          "customer_type", "vat_no", "email", "issue_date", "due_date", "credentials", "enabled", "country"}
BODY = st.one_of(HOSTILE, JSON.map(lambda v: json.dumps(v).encode()),
                 st.dictionaries(st.sampled_from(sorted(FIELDS)), JSON, max_size=6).map(
                     lambda v: json.dumps(v).encode()))
OPERATIONS = [("POST", "/custom-fields"), ("PATCH", "/clients/{client}"), ("POST", "/invoices"),
              ("POST", "/webhook-endpoints"), ("PUT", "/integrations/example/credentials"), ("POST", "/tokens"),
              ("PATCH", "/integrations/example"), ("PUT", "/integrations/example/summary-settings")]


def assert_in_words(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        problem = response.get_json()
        assert response.mimetype == "application/problem+json" and (problem.get("detail") or problem.get("errors"))


@BOUNDED
@given(body=BODY, operation=st.sampled_from(OPERATIONS))
def test_any_admin_api_body_is_answered_in_words(hub_db, hub_app, body, operation):
    firm = new_firm(hub_db)
    client = Client(firm_id=firm.id, name="Body client")
    hub_db.session.add(client)
    hub_db.session.commit()
    api = ApiClient(hub_app, auth.create_token(firm.id, name="props", role="admin").secret)
    method, path = operation
    assert_in_words(api.request(method, path.format(client=client.id), data=body, content_type="application/json"))


@BOUNDED
@given(body=BODY, external_id=st.text(max_size=20))
def test_any_service_api_body_is_answered_in_words(hub_db, hub_app, body, external_id):
    _token, secret = service_auth.create_service_token("props")
    svc = ApiClient(hub_app, secret)
    firm = new_firm(hub_db)
    for path in (f"/firms/by-external-id/{external_id or 'x'}", f"/firms/{firm.id}/clients/bulk",
                 f"/firms/{firm.id}/clients/by-external-id/{external_id or 'x'}"):
        assert_in_words(svc.put(path, data=body, content_type="application/json")
                        if "bulk" not in path else svc.post(path, data=body, content_type="application/json"))


QUERY = st.dictionaries(st.sampled_from(["page", "per_page", "status", "client_id", "vendor", "paid", "q", "kind",
                                         "invoice_id", "from", "to", "unlinked"]),
                        st.one_of(st.text(max_size=12), st.integers().map(str), st.just("9" * 400)), max_size=4)


@BOUNDED
@given(query=QUERY, path=st.sampled_from(["/runs", "/invoices", "/exports", "/summary-tasks", "/clients",
                                          "/integrations/example/unlinked-clients", "/custom-fields"]))
def test_any_api_query_is_answered_in_words(hub_db, hub_app, query, path):
    firm = new_firm(hub_db)
    api = ApiClient(hub_app, auth.create_token(firm.id, name="props", role="member").secret)
    assert_in_words(api.get(path, query_string=query))


# -- webhook URLs -----------------------------------------------------------------------------------------
HOST = st.one_of(st.from_regex(r"\A[0-9]{1,4}(\.[0-9]{1,4}){0,4}\Z"),
                 st.from_regex(r"\A0x[0-9a-f]{1,4}(\.[0-9]{1,3}){0,3}\Z"), st.text(max_size=20),
                 st.sampled_from(["host.example", "0177.0.0.1", "127.000.000.001", "[::1]", "[fe80::1%25eth0]",
                                  "xn--", "a..b", "-a"]))
URL = st.builds(lambda scheme, host, port, rest: f"{scheme}://{host}{port}{rest}",
                st.sampled_from(["http", "https", "ftp", "HTTP"]), HOST,
                st.sampled_from(["", ":0", ":80", ":99999", ":x"]), st.sampled_from(["", "/", "/hooks?x=1", "#f"]))


@BOUNDED
@given(url=st.one_of(URL, st.text(max_size=40)))
def test_any_webhook_url_is_registered_or_refused_in_words(hub_db, hub_app, url, monkeypatch):
    monkeypatch.setitem(hub_app.config, "HUB_WEBHOOKS_ALLOW_PRIVATE", True)  # judge the form, not the address
    firm = new_firm(hub_db)
    api = ApiClient(hub_app, auth.create_token(firm.id, name="props", role="admin").secret)
    response = api.post("/webhook-endpoints", json={"url": url})
    assert_in_words(response)
    if response.status_code == 201:
        assert response.get_json()["url"] == url


# -- vendor answers -------------------------------------------------------------------------------------------
ANSWER = st.one_of(HOSTILE, JSON.map(lambda v: json.dumps({"company_name": "Acme", "extra": v}).encode()),
                   st.binary(max_size=200),
                   st.text(max_size=40).map(lambda t: json.dumps({"company_name": t}).encode()),
                   st.sampled_from(["utf-8", "latin-1", "utf-16", "utf-32"]).map(
                       lambda enc: json.dumps({"company_name": "Õun OÜ"}, ensure_ascii=False).encode(enc)))


@pytest.fixture(scope="module")
def vendor_answers():
    """A loopback vendor whose answer each example sets (started once for the module, stopped by ``serve``)."""
    return {"body": b"{}"}


@BOUNDED
@given(body=ANSWER)
def test_any_vendor_answer_is_read_or_reported_as_the_vendors_format(hub_app, serve, vendor_answers, body):
    import hub_example

    from hub.plugins import VendorRegistry
    from hub.testing import make_context

    vendor_answers["body"] = body
    if "origin" not in vendor_answers:
        vendor_answers["origin"] = serve(lambda environ, start: (
            start("200 OK", [("Content-Type", "application/json")]), [vendor_answers["body"]])[1])
    registry = VendorRegistry()
    registry.register("example", hub_example)
    ctx = make_context("example", origin=vendor_answers["origin"])
    try:
        info = registry.call("example", "hub_test_connection", ctx=ctx, credentials={"api_key": "k" * 16,
                                                                                      "company": "acme"})
    except TransientError as exc:
        assert exc.message
    except UnexpectedError as exc:  # only an answer of the wrong shape (a plugin's own reading), never the parser
        assert not isinstance(exc.__cause__, RecursionError | UnicodeError | ValueError), exc.__cause__
    except HubError as exc:
        assert exc.message
    else:
        assert isinstance(info.account_name, str)
