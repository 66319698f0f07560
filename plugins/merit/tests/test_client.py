"""The client at wire level: hosts, signing, envelopes and every error mapping (public-apis.md §3), and the wire
facts it relies on (every one sourced, or named as assumed in the README)."""

import base64
import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path
from urllib.parse import parse_qsl, unquote

import httpx
import pytest
from hub_merit import client as merit_client
from hub_merit import sandbox
from hub_merit.client import MeritAuth, MeritClient, sign, timestamp, windows
from hub_merit.wire import FACTS, fact

from hub.errors import AuthError, ConfigError, RateLimited, TransientError, VendorRejected
from hub.testing import make_context
from hub.testing.wire import check_wire_facts

README = Path(__file__).resolve().parents[1] / "README.md"
DEMO = sandbox.DEMO_CREDENTIALS


def test_every_fact_is_sourced_or_named_as_assumed_in_the_readme():
    check_wire_facts(FACTS, README.read_text(encoding="utf-8"))


def _query(recorded) -> dict:
    return dict(parse_qsl(recorded.query_string, keep_blank_values=True))


def test_signature_is_base64_hmac_sha256_of_id_timestamp_body_keyed_with_key_string():
    api_id, key, ts, body = "11111111-2222-4333-8444-555555555555", "c2VjcmV0LWtleQ==", "20261122101500", b'{"a":1}'
    expected = base64.b64encode(hmac.new(key.encode(), (api_id + ts).encode() + body, hashlib.sha256).digest())
    assert sign(api_id, key, ts, body) == expected.decode()
    # the key is used as a string, never base64-decoded
    decoded = base64.b64encode(hmac.new(base64.b64decode(key), (api_id + ts).encode() + body,
                                        hashlib.sha256).digest()).decode()
    assert sign(api_id, key, ts, body) != decoded
    assert sign(api_id, key, ts, b"") == base64.b64encode(
        hmac.new(key.encode(), (api_id + ts).encode(), hashlib.sha256).digest()).decode()


def test_timestamp_is_utc_yyyymmddhhmmss():
    tallinn = dt.datetime(2026, 11, 22, 12, 5, 9, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert timestamp(tallinn) == "20261122100509"


def test_test_connection_request_is_pinned(call, state, now):
    info = call("hub_test_connection", credentials=DEMO)
    assert "Estonia" in info.account_name and info.account_id == DEMO["api_id"]
    [req] = state.requests
    assert (req.method, req.host, req.path) == ("POST", "aktiva.merit.ee", "/api/v1/gettaxes")
    assert req.body == b"{}"
    assert req.headers["Content-Type"].startswith("application/json")
    ts = now.strftime("%Y%m%d%H%M%S")
    signature = sign(DEMO["api_id"], DEMO["api_key"], ts, b"{}")
    # exact order and encoding: ApiId, timestamp, signature (URL-encoded: + / = escaped)
    assert req.query_string == (f"ApiId={DEMO['api_id']}&timestamp={ts}&signature="
                                + signature.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D"))
    assert req.status == 200


@pytest.mark.parametrize("creds, host", [
    (sandbox.DEMO_CLIENT_CREDENTIALS[0], "aktiva.merit.ee"),
    (sandbox.DEMO_CLIENT_CREDENTIALS[1], "app.passelimerit.fi"),
    ({**sandbox.DEMO_CLIENT_CREDENTIALS[1], "country": "FI-LEGACY"}, "aktiva.meritaktiva.fi"),
    (sandbox.DEMO_CLIENT_CREDENTIALS[2], "program.360ksiegowosc.pl"),
])
def test_each_country_has_its_own_host(call, state, creds, host):
    call("hub_test_connection", credentials=creds)
    assert state.requests[-1].host == host and state.requests[-1].status == 200


def test_signature_with_plus_and_slash_is_url_encoded_and_accepted(state, app, now):
    # find a second at which the signature of "{}" holds a '+' or '/' (both break unless escaped)
    for offset in range(200):
        moment = now - dt.timedelta(seconds=offset)
        sig = sign(DEMO["api_id"], DEMO["api_key"], timestamp(moment), b"{}")
        if "+" in sig or "/" in sig:
            break
    else:  # pragma: no cover
        pytest.fail("no signature with + or /")
    ctx = make_context("merit", httpx.WSGITransport(app=app), now=lambda: moment)
    MeritClient(ctx, DEMO).taxes()
    raw = state.requests[-1].query_string
    assert "+" not in raw and "/" not in raw.split("signature=")[1]
    assert unquote(raw.split("signature=")[1]) == sig
    assert state.requests[-1].status == 200


def test_unescaped_plus_in_signature_is_refused(app, state, now):
    for offset in range(200):
        ts = timestamp(now - dt.timedelta(seconds=offset))
        sig = sign(DEMO["api_id"], DEMO["api_key"], ts, b"{}")
        if "+" in sig:
            break
    with httpx.Client(transport=httpx.WSGITransport(app=app)) as http:
        response = http.post(f"https://aktiva.merit.ee/api/v1/gettaxes?ApiId={DEMO['api_id']}&timestamp={ts}"
                             f"&signature={sig}", content=b"{}")
    assert response.status_code == 401 and response.text == ""


def test_lowercase_apiid_parameter_is_accepted_by_the_sandbox(app, now):
    ts = timestamp(now)
    sig = merit_client.quote(sign(DEMO["api_id"], DEMO["api_key"], ts, b"{}"), safe="")
    with httpx.Client(transport=httpx.WSGITransport(app=app)) as http:
        response = http.post(f"https://aktiva.merit.ee/api/v1/gettaxes?apiId={DEMO['api_id']}&timestamp={ts}"
                             f"&signature={sig}", content=b"{}")
    assert response.status_code == 200 and isinstance(response.json(), list)


def test_every_retry_gets_a_fresh_timestamp_and_signature(app, state, now):
    state.update_knobs({"fault": "429"})
    ticks = iter(range(100))
    ctx = make_context("merit", httpx.WSGITransport(app=app), now=lambda: now + dt.timedelta(seconds=next(ticks)))
    with pytest.raises(RateLimited) as caught:
        MeritClient(ctx, DEMO).taxes()
    assert caught.value.retry_after == 1
    queries = [_query(r) for r in state.requests]
    assert len(queries) == 3  # ctx.http waits out a short Retry-After in place, twice
    assert len({q["timestamp"] for q in queries}) == 3
    for q in queries:
        assert q["signature"] == sign(DEMO["api_id"], DEMO["api_key"], q["timestamp"], b"{}")


def test_tampered_body_is_refused_as_auth_failure(app, now):
    ts = timestamp(now)
    sig = merit_client.quote(sign(DEMO["api_id"], DEMO["api_key"], ts, b'{"PeriodStart":"20260101"}'), safe="")
    with httpx.Client(transport=httpx.WSGITransport(app=app)) as http:
        response = http.post(f"https://aktiva.merit.ee/api/v1/gettaxes?ApiId={DEMO['api_id']}&timestamp={ts}"
                             f"&signature={sig}", content=b'{"PeriodStart":"20250101"}')
    assert response.status_code == 401 and response.text == ""
    ctx = make_context("merit", httpx.WSGITransport(app=app))
    with pytest.raises(AuthError):
        MeritClient(ctx, DEMO).parse(response, "gettaxes")


@pytest.mark.parametrize("skew", [dt.timedelta(hours=-1), dt.timedelta(hours=2)])
def test_stale_or_future_timestamp_is_refused(call, state, now, skew):
    with pytest.raises(AuthError):
        call("hub_test_connection", credentials=DEMO, clock=lambda: now + skew)
    assert state.requests[-1].status == 401


def test_the_sandbox_takes_a_timestamp_within_the_skew_and_refuses_one_beyond_it(call, state, now):
    skew = dt.timedelta(seconds=fact("timestamp_skew_s"))  # the sandbox checks against its real clock: wide margins
    call("hub_test_connection", credentials=DEMO, clock=lambda: now - skew / 2)
    assert state.requests[-1].status == 200
    with pytest.raises(AuthError):
        call("hub_test_connection", credentials=DEMO, clock=lambda: now - skew * 2)
    assert state.requests[-1].status == 401


def test_wrong_country_says_check_country_and_credentials(call, state):
    with pytest.raises(AuthError) as caught:
        call("hub_test_connection", credentials={**DEMO, "country": "PL"})
    assert state.requests[-1].host == "program.360ksiegowosc.pl" and state.requests[-1].status == 401
    text = str(caught.value).lower()
    assert "check that the country is right" in text and "check the credentials" in text
    assert DEMO["api_key"] not in str(caught.value)


def test_wrong_key_is_auth_error(call):
    with pytest.raises(AuthError) as caught:
        call("hub_test_connection", credentials={**DEMO, "api_key": DEMO["api_key"][::-1]})
    assert "Settings → API settings" in str(caught.value)


def test_revoked_key_in_seed_data_is_auth_error(call, state):
    with pytest.raises(AuthError):
        call("hub_test_connection", credentials=sandbox.REVOKED_CREDENTIALS)
    assert state.requests[-1].status == 401


def test_revoked_knob_turns_a_working_key_off(call, state):
    state.update_knobs({"revoked_api_ids": [DEMO["api_id"]]})
    with pytest.raises(AuthError):
        call("hub_test_connection", credentials=DEMO)


def test_lapsed_licence_is_config_error_about_pro_premium(call, state):
    with pytest.raises(ConfigError) as caught:
        call("hub_test_connection", credentials=sandbox.LAPSED_LICENCE_CREDENTIALS)
    assert "PRO or PREMIUM" in str(caught.value)
    req = state.requests[-1]
    assert req.status == 401


def test_malformed_api_id_400_is_auth_error(call, state):
    with pytest.raises(AuthError) as caught:
        call("hub_test_connection", credentials={**DEMO, "api_id": DEMO["api_id"] + " x"})
    assert state.requests[-1].status == 400
    assert "API ID" in str(caught.value)


def test_unknown_endpoint_404_is_config_error(app, now):
    ctx = make_context("merit", httpx.WSGITransport(app=app), now=lambda: now)
    with pytest.raises(ConfigError) as caught:
        MeritClient(ctx, DEMO).call("getnothing", {})
    assert caught.value.field == "country"


def test_missing_signature_parameter_is_404(app):
    with httpx.Client(transport=httpx.WSGITransport(app=app)) as http:
        response = http.post(f"https://aktiva.merit.ee/api/v1/gettaxes?ApiId={DEMO['api_id']}", content=b"{}")
    assert response.status_code == 404


def test_server_error_is_transient(call, state):
    state.update_knobs({"fault": "500"})
    with pytest.raises(TransientError):
        call("hub_test_connection", credentials=DEMO)
    assert state.requests[-1].status == fact("server_fault_answer")


def test_stack_trace_with_200_is_an_error_not_data(call, state):
    state.update_knobs({"fault": "garbage"})
    with pytest.raises(TransientError) as caught:
        call("hub_list_tax_rates", credentials=DEMO)
    assert "not JSON" in str(caught.value)
    assert state.requests[-1].status == 200


def test_fault_every_nth_request(call, state):
    state.update_knobs({"fault": "500", "fault_every": 2})
    call("hub_test_connection", credentials=DEMO)
    with pytest.raises(TransientError):
        call("hub_test_connection", credentials=DEMO)
    call("hub_test_connection", credentials=DEMO)
    assert state.by_status() == {"200": 2, "500": 1}


def test_rate_limit_answers_429_with_documented_headers(app, state, now):
    state.update_knobs({"rate_limit": "2/60"})
    ctx = make_context("merit", httpx.WSGITransport(app=app), now=lambda: now)
    merit = MeritClient(ctx, DEMO)
    merit.taxes()
    merit.taxes()
    with pytest.raises(RateLimited) as caught:
        merit.taxes()
    assert 55 <= caught.value.retry_after <= 60
    with httpx.Client(transport=httpx.WSGITransport(app=app)) as http:
        ts = timestamp(now)
        sig = merit_client.quote(sign(DEMO["api_id"], DEMO["api_key"], ts, b"{}"), safe="")
        response = http.post(f"https://aktiva.merit.ee/api/v1/gettaxes?ApiId={DEMO['api_id']}&timestamp={ts}"
                             f"&signature={sig}", content=b"{}")
    assert response.status_code == 429
    assert response.headers["X-RateLimit-Limit"] == "2"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) > now.timestamp()
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_rate_limit_is_per_api_key(app, state, now):
    state.update_knobs({"rate_limit": "1/60"})
    ctx = make_context("merit", httpx.WSGITransport(app=app), now=lambda: now)
    MeritClient(ctx, DEMO).taxes()
    MeritClient(ctx, sandbox.DEMO_CLIENT_CREDENTIALS[0]).taxes()
    assert state.by_status() == {"200": 2}


def test_legacy_json_encoded_string_reply_is_parsed():
    rows = [{"Id": "a", "Code": "22%", "Name": "KM 22%", "TaxPct": 22}]

    def handler(request):
        return httpx.Response(200, json=json.dumps(rows))

    ctx = make_context("merit", httpx.MockTransport(handler))
    assert MeritClient(ctx, DEMO).taxes() == rows


def test_unexpected_shape_is_transient():
    ctx = make_context("merit", httpx.MockTransport(lambda r: httpx.Response(200, json=[1, 2])))
    with pytest.raises(TransientError):
        MeritClient(ctx, DEMO).taxes()


def test_payload_error_400_text_is_vendor_rejected():
    ctx = make_context("merit", httpx.MockTransport(
        lambda r: httpx.Response(400, text="Tasutud arvet ei saa kustutada. Enne kustutage makse.")))
    with pytest.raises(VendorRejected) as caught:
        MeritClient(ctx, DEMO).call("deleteinvoice", {"Id": "x"})
    assert caught.value.field_messages == {"": ["Tasutud arvet ei saa kustutada. Enne kustutage makse."]}


def test_signing_auth_adds_query_to_request_url():
    auth = MeritAuth(DEMO["api_id"], DEMO["api_key"], lambda: dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC))
    request = httpx.Request("POST", "https://aktiva.merit.ee/api/v1/gettaxes", content=b"{}")
    signed = next(auth.auth_flow(request))
    params = dict(parse_qsl(signed.url.query.decode()))
    assert params == {"ApiId": DEMO["api_id"], "timestamp": "20261122100000",
                      "signature": sign(DEMO["api_id"], DEMO["api_key"], "20261122100000", b"{}")}


def test_windows_are_at_most_three_months_and_fewest():
    assert windows(dt.date(2026, 1, 1), dt.date(2026, 12, 31)) == [
        (dt.date(2026, 1, 1), dt.date(2026, 3, 31)), (dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
        (dt.date(2026, 7, 1), dt.date(2026, 9, 30)), (dt.date(2026, 10, 1), dt.date(2026, 12, 31))]
    assert windows(dt.date(2025, 12, 1), dt.date(2026, 11, 30))[0] == (dt.date(2025, 12, 1), dt.date(2026, 2, 28))
    assert len(windows(dt.date(2026, 1, 15), dt.date(2026, 2, 3))) == 1


def test_sandbox_refuses_windows_longer_than_three_months(app, now):
    ctx = make_context("merit", httpx.WSGITransport(app=app), now=lambda: now)
    merit = MeritClient(ctx, DEMO)
    assert merit.call("getinvoices", {"PeriodStart": "20260101", "PeriodEnd": "20260331"})
    with pytest.raises(VendorRejected) as caught:
        merit.call("getinvoices", {"PeriodStart": "20260101", "PeriodEnd": "20260401"})
    assert "3 months" in str(caught.value)


def test_numbers_are_plain_json_numbers_with_decimal_point():
    from decimal import Decimal

    assert merit_client.dumps({"a": Decimal("12.50"), "b": [Decimal("-0.1")], "c": "x"}) == \
        b'{"a":12.50,"b":[-0.1],"c":"x"}'


# -- issue 13: Merit's refusals of the caller's data ---------------------------------------------------------------

def test_400_with_a_json_message_is_vendor_rejected_with_that_message():
    """ASP.NET Web API answers {"Message": …} (KonektOU's WooCommerce client reads $response->Message)."""
    body = {"Message": "Kliendi riik on puudu. / Customer CountryCode is missing."}
    ctx = make_context("merit", httpx.MockTransport(lambda r: httpx.Response(400, json=body)))
    with pytest.raises(VendorRejected) as caught:
        MeritClient(ctx, DEMO).call("sendinvoice", {"InvoiceNo": "1"})
    assert caught.value.field_messages == {"": [body["Message"]]}
    assert str(caught.value).startswith("Merit Aktiva refused the request: Kliendi riik on puudu.")


def test_a_stack_trace_answer_to_sendinvoice_is_rejected_with_its_message_masked():
    """HTTP 200 + an ASP.NET stack trace to sendinvoice: VendorRejected (not retried), Merit's exception message
    kept, and nothing secret in it even where Merit echoes the request."""
    seen = {}

    def handler(request):
        seen["query"] = request.url.query.decode()
        page = (f"<html><head><title>Value '{DEMO['api_key']}' is too long for column Description "
                f"(/api/v1/sendinvoice?{seen['query']}).</title></head>"
                f"<body>Server Error in '/' Application. System.Data.SqlClient.SqlException: truncated</body></html>")
        return httpx.Response(200, text=page, headers={"Content-Type": "text/html"})

    ctx = make_context("merit", httpx.MockTransport(handler))
    with pytest.raises(VendorRejected) as caught:
        MeritClient(ctx, DEMO).call("sendinvoice", {"InvoiceNo": "1"})
    text = str(caught.value) + repr(caught.value.as_dict())
    assert "is too long for column Description" in text
    assert DEMO["api_key"] not in text and "[redacted]" in text
    signature = dict(parse_qsl(seen["query"]))["signature"]
    assert signature not in text and merit_client.quote(signature, safe="") not in text


def test_stack_trace_message_reads_title_or_exception_line():
    from hub_merit.client import looks_like_stack_trace, stack_trace_message

    assert stack_trace_message(sandbox.STACK_TRACE) == "Object reference not set to an instance of an object."
    assert stack_trace_message("Unhandled. System.ArgumentException: Bad &amp; worse\n   at X.Y()") == \
        "Bad & worse"
    assert looks_like_stack_trace(sandbox.STACK_TRACE) and not looks_like_stack_trace("<html>Bad gateway</html>")
