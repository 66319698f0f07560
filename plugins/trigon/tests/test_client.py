"""The client: wire-level tests against the in-process sandbox (exact requests, mappings, error handling), and the
wire facts (hub_trigon.wire) — every one owned up to in the README as assumed, and the client and the sandbox
speaking exactly their shapes."""

import datetime as dt
import json
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import hub_trigon
import pytest
from hub_trigon import client as api
from hub_trigon import sandbox
from hub_trigon.wire import FACTS, fact

from hub.errors import AuthError, ConfigError, RateLimited, TransientError, VendorRejected
from hub.testing import make_context
from hub.testing.wire import check_wire_facts
from hub.types import Address, ConnectionInfo, Contact, Period, RateLimit

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")

YEAR_2026 = Period.span(Period(2026, 1), Period(2026, 12))
KEYS = ("incoming_payments", "outgoing_payments", "card_transactions", "documents")


def as_stats(volumes: dict) -> dict:
    return {key: volumes[name] for key, name in fact("volume_fields").items()}


# -- test connection ------------------------------------------------------------------------------
def test_connection_request_on_the_wire(call, state):
    info = call("hub_test_connection")
    assert isinstance(info, ConnectionInfo)
    assert info.account_name == "Demo Raamatupidamine OÜ"
    assert info.account_id == "org-1001"
    [req] = state.api_requests()
    assert (req.method, req.host, req.path, req.query, req.body) == ("GET", "api.trigon.ee", "/v1/me", "", b"")
    assert req.headers["X-Trigon-Id-Token"] == sandbox.DEMO_CREDENTIALS["id_token"]
    assert req.headers["X-Trigon-Api-Key"] == sandbox.DEMO_CREDENTIALS["api_key"]
    assert req.headers["Accept"] == "application/json"
    assert "Authorization" not in req.headers


def test_expiry_date_is_exposed(call):
    info = call("hub_test_connection")
    assert info.expires_on == dt.date(2027, 5, 31)
    assert not any("expires" in key for key in info.details), "the date is expires_on; no day count that goes stale"
    assert "warning" not in info.details


def test_expiry_warning_before_it_passes(call, caplog):
    info = call("hub_test_connection", credentials=dict(sandbox.EXPIRING_SOON_CREDENTIALS))
    assert info.expires_on == dt.date(2026, 12, 1)
    assert "token_expires_in_days" not in info.details
    assert "expires on 2026-12-01" in info.details["warning"]
    assert "expires on 2026-12-01" in caplog.text


def test_an_accepted_token_with_a_past_expiry_never_shows_a_negative_count(call, ctx, caplog):
    """Issue 29: "expires in days: -6" beside "Connection works"."""
    ctx.now = lambda: dt.datetime(2027, 6, 6, 9, 30, tzinfo=dt.UTC)  # Trigon still answers for the demo token
    info = call("hub_test_connection")
    assert info.expires_on == dt.date(2027, 5, 31)
    assert not any("-6" in str(value) for value in info.details.values())
    assert "Trigon reports that the ID token expired on 2027-05-31, yet it still accepted it" in info.details["warning"]
    assert "accepted although it expired on 2027-05-31" in caplog.text


def test_test_environment_uses_the_test_host(call, state):
    info = call("hub_test_connection", credentials=dict(sandbox.TEST_ENV_CREDENTIALS))
    assert info.account_name == "Demo Raamatupidamine OÜ (test)"
    assert info.details["environment"] == "test"
    assert [r.host for r in state.api_requests()] == ["api-test.trigon.ee"]


def test_expired_token_is_an_auth_error_saying_regenerate(call, state):
    with pytest.raises(AuthError) as caught:
        call("hub_test_connection", credentials=dict(sandbox.EXPIRED_CREDENTIALS))
    assert "expired" in caught.value.message
    assert "Generate a new ID token in Trigon" in caught.value.hint
    assert sandbox.EXPIRED_CREDENTIALS["id_token"] not in str(caught.value)
    assert len(state.api_requests()) == 1  # no environment probe for an expired token


def test_revoked_key_is_an_auth_error(call, state):
    with pytest.raises(AuthError) as caught:
        call("hub_test_connection", credentials=dict(sandbox.REVOKED_CREDENTIALS))
    assert "did not accept" in caught.value.message
    assert "regenerate" in caught.value.hint
    # rejected in production, then the test environment is asked whether it knows the pair: it does not
    assert [r.host for r in state.api_requests()] == ["api.trigon.ee", "api-test.trigon.ee"]
    assert [r.status for r in state.api_requests()] == [401, 401]


def test_wrong_environment_is_a_config_error_on_the_environment_field(call, state):
    with pytest.raises(ConfigError) as caught:
        call("hub_test_connection", credentials={**sandbox.TEST_ENV_CREDENTIALS, "environment": "production"})
    assert caught.value.field == "environment"
    assert "test environment" in caught.value.message
    assert "Select test" in caught.value.hint
    with pytest.raises(ConfigError) as caught:
        call("hub_test_connection", credentials={**sandbox.DEMO_CREDENTIALS, "environment": "test"})
    assert caught.value.field == "environment"


def test_wrong_environment_for_other_hooks_is_an_auth_error(call):
    with pytest.raises(AuthError) as caught:
        call("hub_list_clients", credentials={**sandbox.DEMO_CREDENTIALS, "environment": "test"}, query="")
    assert "test environment" in caught.value.message


# -- clients --------------------------------------------------------------------------------------
def test_list_clients_one_page(call, state):
    clients = call("hub_list_clients", query="")
    assert len(clients) == 36
    assert [c.id for c in clients] == [str(i) for i in range(1001, 1037)]
    [req] = state.api_requests()
    assert (req.method, req.path, req.query) == ("GET", "/v1/clients", "page=1&perPage=100")


def test_list_clients_pages_to_the_end(call, state):
    clients = call("hub_list_clients", credentials=dict(sandbox.BIG_CREDENTIALS), query="")
    assert len(clients) == 230
    assert len({c.id for c in clients}) == 230
    assert [r.query for r in state.api_requests()] == ["page=1&perPage=100", "page=2&perPage=100",
                                                       "page=3&perPage=100"]


def test_list_clients_query_is_sent_and_filters(call, state):
    expected = [c for c in state.clients["org-1001"] if "õuna" in c["name"].lower()]
    assert expected, "the seed has clients with non-ASCII names"
    found = call("hub_list_clients", query="  Õuna ")
    assert [c.id for c in found] == [c["id"] for c in expected]
    [req] = state.api_requests()
    assert req.query == "page=1&perPage=100&q=%C3%95una"
    by_reg = call("hub_list_clients", query=state.clients["org-1001"][4]["regCode"])
    assert [c.id for c in by_reg] == [state.clients["org-1001"][4]["id"]]


def test_clients_carry_contacts_and_addresses(call, state):
    raw = state.client("org-1001", "1001")
    [client] = [c for c in call("hub_list_clients", query="") if c.id == "1001"]
    assert client.name == raw["name"] and client.reg_code == raw["regCode"] and client.vat_no == raw["vatNumber"]
    assert client.contacts == tuple(Contact(c["name"], c["email"], c["phone"], c["role"]) for c in raw["contacts"])
    assert client.addresses == tuple(Address(a["line1"], a["city"], a["postalCode"], "EE") for a in raw["addresses"])
    assert client.email == raw["contacts"][0]["email"]
    everyone = call("hub_list_clients", query="")
    assert any(not c.contacts for c in everyone) and any(not c.addresses for c in everyone)
    assert any(len(c.addresses) == 2 for c in everyone)


# -- statistics -----------------------------------------------------------------------------------
def test_statistics_one_request_per_client_year(call, state):
    stats = call("hub_fetch_statistics", client="1001", periods=YEAR_2026)
    assert list(stats) == YEAR_2026
    for period in YEAR_2026:
        assert stats[period] == as_stats(state.cached_volumes("1001", str(period)))
    [req] = state.api_requests()
    assert (req.method, req.path, req.query) == ("GET", "/v1/clients/1001/volumes", "from=2026-01&to=2026-12")


def test_statistics_known_seeded_numbers(call):
    stats = call("hub_fetch_statistics", client="1001", periods=[Period(2026, 1), Period(2026, 8)])
    assert stats[Period(2026, 1)] == {"incoming_payments": 36, "outgoing_payments": 2, "card_transactions": 56,
                                      "documents": 15}
    # 2026-08 is served from a stale cache until refreshed
    assert stats[Period(2026, 8)] == {"incoming_payments": 19, "outgoing_payments": 1, "card_transactions": 51,
                                      "documents": 17}


def test_statistics_widest_window_is_24_months(call, state):
    periods = Period.span(Period(2024, 7), Period(2026, 12))  # 30 months
    stats = call("hub_fetch_statistics", client="1001", periods=periods)
    assert set(stats) == set(periods)
    assert stats[Period(2024, 7)] == dict.fromkeys(KEYS, 0)  # before the seeded range
    assert [r.query for r in state.api_requests()] == ["from=2024-07&to=2026-06", "from=2026-07&to=2026-12"]


def test_statistics_dormant_client_is_all_zeros(call):
    stats = call("hub_fetch_statistics", client="1007", periods=YEAR_2026)
    assert all(v == dict.fromkeys(KEYS, 0) for v in stats.values())


def test_statistics_need_a_linked_client(call, state):
    with pytest.raises(ConfigError):
        call("hub_fetch_statistics", client=None, periods=YEAR_2026)
    assert state.api_requests() == []


def test_statistics_for_a_client_of_another_organisation(call):
    with pytest.raises(ConfigError) as caught:
        call("hub_fetch_statistics", client="2001", periods=YEAR_2026)
    assert "linked" in caught.value.hint


# -- refresh (Reload data) ------------------------------------------------------------------------
def test_reload_refreshes_stale_volumes_and_imports_fresh_numbers(call, state):
    stale_period = Period(2026, 9)
    truth = as_stats(state.true_volumes("1001", "2026-09"))
    before = call("hub_fetch_statistics", client="1001", periods=YEAR_2026)
    assert before[stale_period] != truth, "the seeded cache for 2026-09 is stale"

    assert call("hub_refresh_statistics", client="1001", periods=YEAR_2026) is None
    after = call("hub_fetch_statistics", client="1001", periods=YEAR_2026)
    for period in YEAR_2026:
        assert after[period] == as_stats(state.true_volumes("1001", str(period)))
    assert after[stale_period] == truth

    calls = [(r.method, r.path, r.query, r.status) for r in state.api_requests()]
    assert calls == [
        ("GET", "/v1/clients/1001/volumes", "from=2026-01&to=2026-12", 200),
        ("POST", "/v1/clients/1001/volumes:refresh", "", 202),
        ("GET", "/v1/refreshes/rf-000001", "", 200),  # pending
        ("GET", "/v1/refreshes/rf-000001", "", 200),  # done
        ("GET", "/v1/clients/1001/volumes", "from=2026-01&to=2026-12", 200),
    ]
    post = state.api_requests()[1]
    assert json.loads(post.body) == {"from": "2026-01", "to": "2026-12"}
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["X-Trigon-Api-Key"] == sandbox.DEMO_CREDENTIALS["api_key"]


def test_refresh_waits_with_backoff(app, ctx, registry, state):
    state.knobs["refresh_polls"] = 4
    slept = []
    ctx.http.sleep = slept.append
    registry.call("trigon", "hub_refresh_statistics", ctx=ctx, credentials=dict(sandbox.DEMO_CREDENTIALS),
                  client="1001", periods=YEAR_2026)
    assert slept == [0.5, 1.0, 1.0, 2.0, 2.0]
    assert sum(r.path.startswith("/v1/refreshes/") for r in state.api_requests()) == 5


def test_refresh_that_never_finishes_is_bounded(ctx, registry, state):
    state.knobs["refresh_status"] = "pending"
    slept = []
    ctx.http.sleep = slept.append
    with pytest.raises(TransientError) as caught:
        registry.call("trigon", "hub_refresh_statistics", ctx=ctx, credentials=dict(sandbox.DEMO_CREDENTIALS),
                      client="1001", periods=YEAR_2026)
    assert "did not finish" in caught.value.message
    polls = sum(r.path.startswith("/v1/refreshes/") for r in state.api_requests())
    assert 1 <= polls <= api.MAX_POLLS
    assert sum(slept) <= api.REFRESH_TIMEOUT_S


def test_refresh_deadline_uses_the_clock(ctx, state):
    state.knobs["refresh_status"] = "pending"
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    trigon = api.TrigonClient(ctx, dict(sandbox.DEMO_CREDENTIALS))
    with pytest.raises(TransientError):
        trigon.refresh_and_wait("1001", Period(2026, 1), Period(2026, 12), sleep=sleep, clock=lambda: now[0])
    assert now[0] <= api.REFRESH_TIMEOUT_S
    assert now[0] > api.REFRESH_TIMEOUT_S - max(api.POLL_DELAYS)


def test_refresh_failed_is_transient(call, state):
    state.knobs["refresh_status"] = "failed"
    with pytest.raises(TransientError) as caught:
        call("hub_refresh_statistics", client="1001", periods=YEAR_2026)
    assert "could not refresh" in caught.value.message
    # the cache stays stale
    assert state.cached_volumes("1001", "2026-09") != state.true_volumes("1001", "2026-09")


def test_refresh_more_than_24_months_is_two_refreshes(call, state):
    periods = Period.span(Period(2025, 1), Period(2026, 12)) + [Period(2027, 1)]
    call("hub_refresh_statistics", client="1001", periods=periods)
    posts = [json.loads(r.body) for r in state.api_requests() if r.method == "POST"]
    assert posts == [{"from": "2025-01", "to": "2026-12"}, {"from": "2027-01", "to": "2027-01"}]


def test_fresh_cache_knob(registry):
    app = sandbox.create_app(stale_cache=False)
    state = app.extensions["sandbox"]
    ctx = make_context("trigon", httpx.WSGITransport(app=app))
    stats = registry.call("trigon", "hub_fetch_statistics", ctx=ctx, credentials=dict(sandbox.DEMO_CREDENTIALS),
                          client="1001", periods=YEAR_2026)
    assert stats[Period(2026, 9)] == as_stats(state.true_volumes("1001", "2026-09"))


# -- faults and limits ----------------------------------------------------------------------------
@pytest.mark.parametrize("fault, error", [("500", TransientError), ("garbage", TransientError),
                                          ("429", RateLimited)])
def test_faults_map_to_hub_errors(call, state, fault, error):
    state.knobs["fault"] = fault
    with pytest.raises(error):
        call("hub_test_connection")


def test_429_carries_retry_after(call, state):
    state.knobs["fault"] = "429"
    with pytest.raises(RateLimited) as caught:
        call("hub_fetch_statistics", client="1001", periods=YEAR_2026)
    assert caught.value.retry_after == 1.0
    # ctx.http waited out the short Retry-After in place twice before giving up
    assert [r.status for r in state.api_requests()] == [429, 429, 429]


def test_fault_every_nth_request(call, state):
    state.knobs.update(fault="500", fault_every=2)
    call("hub_test_connection")
    with pytest.raises(TransientError):
        call("hub_test_connection")
    assert [r.status for r in state.api_requests()] == [200, 500]


def test_rate_limit_knob_answers_429_with_retry_after(registry, frozen_now):
    app = sandbox.create_app(rate_limit="2/60")
    state = app.extensions["sandbox"]
    client = httpx.Client(transport=httpx.WSGITransport(app=app))
    headers = {"X-Trigon-Id-Token": sandbox.DEMO_CREDENTIALS["id_token"],
               "X-Trigon-Api-Key": sandbox.DEMO_CREDENTIALS["api_key"]}
    statuses = [client.get("https://api.trigon.ee/v1/me", headers=headers) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[2].json() == {"error": "rate_limited", "message": "Rate limit of 2 requests per 60 s exceeded."}
    assert 1 <= int(statuses[2].headers["Retry-After"]) <= 60
    # another API key has its own budget
    big = sandbox.BIG_CREDENTIALS
    other = client.get("https://api.trigon.ee/v1/me",
                       headers={"X-Trigon-Id-Token": big["id_token"], "X-Trigon-Api-Key": big["api_key"]})
    assert other.status_code == 200
    ctx = make_context("trigon", httpx.WSGITransport(app=app), now=lambda: frozen_now)
    with pytest.raises(RateLimited) as caught:
        registry.call("trigon", "hub_test_connection", ctx=ctx, credentials=dict(sandbox.DEMO_CREDENTIALS))
    assert caught.value.retry_after and caught.value.retry_after > 10  # too long to wait in place
    assert state.api_requests()[-1].status == 429


def test_validation_failed_is_vendor_rejected(ctx):
    trigon = api.TrigonClient(ctx, dict(sandbox.DEMO_CREDENTIALS))
    with pytest.raises(VendorRejected) as caught:
        trigon.volumes("1001", Period(2024, 1), Period(2026, 12))  # 36 months: more than the API allows
    assert caught.value.field_messages == {"": ["The period range may span at most 24 months."]}


# -- wire facts -----------------------------------------------------------------------------------
def test_every_fact_is_sourced_or_named_as_assumed_in_the_readme():
    check_wire_facts(FACTS, README)


def test_the_readme_lists_every_fact_as_assumed():
    """Trigon publishes no API: no fact has an outside source, and the README's list says so for each."""
    section = README.split("### Assumed wire facts", 1)[1].split("\n## ", 1)[0]
    assert {f.source for f in FACTS.values()} == {"assumed"}
    assert [name for name in FACTS if f"`{name}`" not in section] == []


def _headers(creds=sandbox.DEMO_CREDENTIALS):
    return {fact("id_token_header"): creds["id_token"], fact("api_key_header"): creds["api_key"]}


def _month(period):
    return Period.parse(period).first_day.strftime(fact("month_format"))


def test_the_sandbox_answers_in_the_shapes_of_the_facts(app):
    base = fact("hosts")["production"]
    start, end = fact("window_params")
    error_keys = set(fact("error_keys"))
    invalid = fact("validation_statuses")[0]
    with httpx.Client(transport=httpx.WSGITransport(app=app), headers=_headers()) as http:
        me = http.get(base + fact("path_me")).json()
        assert set(me) == {fact("me_organisation"), fact("me_token_expires")}
        assert set(me[fact("me_organisation")]) == set(fact("organisation_fields").values())
        dt.datetime.strptime(me[fact("me_token_expires")], fact("date_format"))

        page = http.get(base + fact("path_clients"), params={fact("page_key"): fact("first_page"),
                                                              fact("per_page_param"): fact("per_page_max")}).json()
        assert set(page) == {fact("clients_items"), fact("page_key"), fact("clients_has_more")}
        items = page[fact("clients_items")]
        assert all(set(item) == set(fact("client_fields").values()) for item in items)
        addresses = [a for item in items for a in item[fact("client_fields")["addresses"]]]
        contacts = [c for item in items for c in item[fact("client_fields")["contacts"]]]
        assert addresses and all(set(a) == set(fact("address_fields").values()) for a in addresses)
        assert contacts and all(set(c) == set(fact("contact_fields").values()) for c in contacts)
        too_big = http.get(base + fact("path_clients"), params={fact("per_page_param"): fact("per_page_max") + 1})
        assert too_big.status_code == invalid
        assert too_big.json()[fact("error_keys")[0]] == fact("code_validation_failed")
        assert set(too_big.json()) == error_keys

        volumes = base + fact("path_volumes").format(id=sandbox.DEMO_CLIENT_ID)
        periods = http.get(volumes, params={start: _month("2026-01"), end: _month("2026-12")}).json()
        assert set(periods) == {fact("volumes_periods")}
        entries = periods[fact("volumes_periods")]
        assert len(entries) == 12
        for entry in entries:
            assert set(entry) == {fact("volume_period"), fact("volume_cached_at"), *fact("volume_fields").values()}
            dt.datetime.strptime(entry[fact("volume_period")], fact("month_format"))
            dt.datetime.strptime(entry[fact("volume_cached_at")], fact("timestamp_format"))
        widest = Period.span(Period(2025, 1), Period(2025, 1))
        while len(widest) <= fact("max_window_months"):
            widest.append(widest[-1].next())
        too_wide = http.get(volumes, params={start: _month(str(widest[0])), end: _month(str(widest[-1]))})
        assert too_wide.status_code == invalid
        fits = http.get(volumes, params={start: _month(str(widest[1])), end: _month(str(widest[-1]))})
        assert fits.status_code == 200

        unknown = http.get(base + fact("path_volumes").format(id="2001"),
                           params={start: _month("2026-01"), end: _month("2026-01")})
        assert unknown.status_code == fact("not_found_status")
        assert unknown.json()[fact("error_keys")[0]] == fact("code_not_found")

        started = http.post(base + fact("path_refresh").format(id=sandbox.DEMO_CLIENT_ID),
                            json={start: _month("2026-01"), end: _month("2026-02")})
        assert started.status_code == fact("refresh_started_status")
        refresh_id = started.json()[fact("refresh_id_key")]
        status = http.get(base + fact("path_refresh_status").format(id=refresh_id)).json()
        assert status[fact("refresh_status_key")] in fact("refresh_statuses")

        anonymous = http.get(base + fact("path_me"), headers={fact("api_key_header"): ""})
        assert anonymous.status_code == fact("auth_status")
        assert anonymous.json()[fact("error_keys")[0]] == fact("code_invalid_credentials")
        expired = http.get(base + fact("path_me"), headers=_headers(sandbox.EXPIRED_CREDENTIALS))
        assert (expired.status_code, expired.json()[fact("error_keys")[0]]) == (fact("auth_status"),
                                                                               fact("code_token_expired"))


def test_the_sandbox_rate_limit_is_the_facts(app):
    requests, seconds = fact("rate_limit")
    assert sandbox.SandboxState.vendor_knobs["rate_limit"] == f"{requests}/{seconds}"
    limited = sandbox.create_app(rate_limit="1/60")
    with httpx.Client(transport=httpx.WSGITransport(app=limited), headers=_headers()) as http:
        http.get(fact("hosts")["production"] + fact("path_me"))
        refused = http.get(fact("hosts")["production"] + fact("path_me"))
    assert refused.status_code == fact("rate_limit_status")
    assert refused.json()[fact("error_keys")[0]] == fact("code_rate_limited")
    assert int(refused.headers[fact("retry_after_header")]) >= 1
    assert hub_trigon.hub_vendor().rate_limits == (RateLimit(requests, seconds),)


def test_the_client_requests_use_the_facts(call, state):
    call("hub_list_clients", query="Õuna")
    call("hub_fetch_statistics", client="1001", periods=[Period(2026, 1), Period(2026, 2)])
    clients, volumes = state.api_requests()
    host = urlsplit(fact("hosts")["production"])
    assert {clients.host, volumes.host} == {host.hostname}
    assert clients.path == host.path + fact("path_clients")
    assert clients.query == urlencode({fact("page_key"): fact("first_page"),
                                       fact("per_page_param"): fact("per_page_max"), fact("query_param"): "Õuna"})
    assert volumes.path == host.path + fact("path_volumes").format(id="1001")
    start, end = fact("window_params")
    assert volumes.query == urlencode({start: _month("2026-01"), end: _month("2026-02")})
    for request in (clients, volumes):
        assert request.headers[fact("id_token_header")] == sandbox.DEMO_CREDENTIALS["id_token"]
        assert request.headers[fact("api_key_header")] == sandbox.DEMO_CREDENTIALS["api_key"]


def test_the_credentials_environments_are_the_hosts():
    choices = hub_trigon.Credentials().fields["environment"].validate.choices
    assert tuple(choices) == tuple(fact("hosts"))
