"""Error bodies and odd answers, pinned with httpx.MockTransport (what the sandbox never sends)."""

import httpx
import pytest
from hub_trigon import sandbox
from hub_trigon.wire import fact

from hub.errors import AuthError, ConfigError, RateLimited, TransientError, VendorRejected
from hub.types import Period

CREDS = dict(sandbox.DEMO_CREDENTIALS)
PERIODS = [Period(2026, 1), Period(2026, 2), Period(2026, 3)]


@pytest.fixture
def run(registry, mock_context):
    """``run(handler, hook, **kwargs)``: the hook called with the demo credentials, its requests answered by
    ``handler``."""

    def call_hook(handler, hook, **kwargs):
        return registry.call("trigon", hook, ctx=mock_context(handler), credentials=CREDS, **kwargs)

    return call_hook


@pytest.fixture
def always(json_response):
    """``always(status, body=None, headers=None, content=None)``: a handler giving the same answer every time."""

    def answer(status, body=None, headers=None, content=None):
        def handler(request):
            if content is not None:
                return httpx.Response(status, content=content, headers=headers)
            return json_response(status, body, headers)
        return handler

    return answer


@pytest.mark.parametrize("status, body, error, words", [
    (401, {"error": "token_expired", "message": "expired"}, AuthError, "expired"),
    (401, {"error": "invalid_credentials", "message": "nope"}, AuthError, "did not accept"),
    (401, None, AuthError, "did not accept"),
    (403, {"error": "forbidden"}, AuthError, "403"),
    (404, {"error": "not_found", "message": "Client 1 not found"}, ConfigError, "Client 1 not found"),
    (422, {"error": "validation_failed", "message": "bad month"}, VendorRejected, "bad month"),
    (400, {"error": "validation_failed", "message": "bad month"}, VendorRejected, "bad month"),
    (418, {"error": "teapot"}, TransientError, "HTTP 418"),
    (409, {"error": "rate_limited", "message": "slow down"}, RateLimited, "120 requests"),
    (503, {"error": "maintenance"}, TransientError, "HTTP 503"),
])
def test_error_bodies(status, body, error, words, run, always):
    with pytest.raises(error) as caught:
        run(always(status, body), "hub_fetch_statistics", client="1", periods=PERIODS)
    assert words in str(caught.value)
    assert CREDS["id_token"] not in str(caught.value) and CREDS["api_key"] not in str(caught.value)


def test_validation_field_messages_when_the_vendor_sends_them(run, always):
    body = {"error": "validation_failed", "message": "invalid", "fields": {"from": "bad month", "to": ["x", "y"]}}
    with pytest.raises(VendorRejected) as caught:
        run(always(422, body), "hub_fetch_statistics", client="1", periods=PERIODS)
    assert caught.value.field_messages == {"from": ["bad month"], "to": ["x", "y"]}


def test_429_with_long_retry_after_is_rate_limited(run, always):
    with pytest.raises(RateLimited) as caught:
        run(always(429, {"error": "rate_limited"}, {"Retry-After": "45"}), "hub_list_clients", query="")
    assert caught.value.retry_after == 45.0


@pytest.mark.parametrize("response", [
    httpx.Response(200, content=b"<html>maintenance</html>", headers={"Content-Type": "text/html"}),
    httpx.Response(200, json=["not", "an", "object"]),
    httpx.Response(200, json={"organisation": None}),
    httpx.Response(200, json={"organisation": {"id": 1, "name": " "}}),
])
def test_unexpected_me_answers_are_transient(response, run):
    with pytest.raises(TransientError):
        run(lambda request: response, "hub_test_connection")


def test_me_without_expiry_is_fine(run, always):
    info = run(always(200, {"organisation": {"id": 7, "name": "Acme OÜ"}}), "hub_test_connection")
    assert info.account_name == "Acme OÜ" and info.account_id == "7" and info.expires_on is None


def test_timeout_is_transient(run):
    def handler(request):
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(TransientError):
        run(handler, "hub_fetch_statistics", client="1", periods=PERIODS)


def test_volumes_missing_months_are_zero_and_counts_are_parsed(run, always):
    body = {"periods": [{"period": "2026-02", "incomingPayments": "7", "outgoingPayments": 3.0,
                         "cardTransactions": None, "documents": 2, "cachedAt": "2026-03-02T03:00:00Z"},
                        {"period": "2025-12", "incomingPayments": 99}]}  # outside the request: ignored
    stats = run(always(200, body), "hub_fetch_statistics", client="1", periods=PERIODS)
    zero = dict.fromkeys(fact("volume_fields"), 0)
    assert stats == {Period(2026, 1): zero, Period(2026, 3): zero,
                     Period(2026, 2): {"incoming_payments": 7, "outgoing_payments": 3, "card_transactions": 0,
                                       "documents": 2}}


@pytest.mark.parametrize("bad", [-1, "many", 1.5, True, [1]])
def test_volumes_with_a_value_that_is_not_a_count(bad, run, always):
    body = {"periods": [{"period": "2026-01", "incomingPayments": bad}]}
    with pytest.raises(TransientError):
        run(always(200, body), "hub_fetch_statistics", client="1", periods=PERIODS)


def test_volumes_without_periods_is_transient(run, always):
    with pytest.raises(TransientError):
        run(always(200, {"items": []}), "hub_fetch_statistics", client="1", periods=PERIODS)


def test_client_ids_are_escaped_in_the_path(run, json_response):
    seen = []

    def handler(request):
        seen.append(request.url.raw_path)
        return json_response(200, {"periods": []})

    run(handler, "hub_fetch_statistics", client="a/b c", periods=PERIODS)
    assert seen == [b"/v1/clients/a%2Fb%20c/volumes?from=2026-01&to=2026-03"]


def test_paging_stops_on_an_empty_page_even_if_has_more(run, json_response):
    pages = []

    def handler(request):
        page = int(request.url.params["page"])
        pages.append(page)
        items = [{"id": page, "name": f"C{page}"}] if page < 3 else []
        return json_response(200, {"items": items, "page": page, "hasMore": True})

    clients = run(handler, "hub_list_clients", query="")
    assert [c.id for c in clients] == ["1", "2"]
    assert pages == [1, 2, 3]


def test_client_list_without_items_is_transient(run, always):
    with pytest.raises(TransientError):
        run(always(200, {"page": 1}), "hub_list_clients", query="")


def test_refresh_answers(run, always, json_response):
    with pytest.raises(TransientError) as caught:  # accepted without an id
        run(always(202, {}), "hub_refresh_statistics", client="1", periods=PERIODS)
    assert "refreshId" in caught.value.message

    def odd_status(request):
        if request.method == "POST":
            return json_response(202, {"refreshId": "r1"})
        return json_response(200, {"status": "exploded"})

    with pytest.raises(TransientError) as caught:
        run(odd_status, "hub_refresh_statistics", client="1", periods=PERIODS)
    assert "unknown refresh status" in caught.value.message


def test_refresh_with_no_periods_sends_nothing(run):
    def handler(request):  # pragma: no cover - must not be called
        raise AssertionError("no request expected")

    assert run(handler, "hub_refresh_statistics", client="1", periods=[]) is None
