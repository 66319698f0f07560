"""ctx.http: error mapping, Retry-After, origin routing, budget, no secrets in logs."""

import httpx
import pytest

from hub.errors import RateLimited, TransientError
from hub.http import VendorHttp, parse_retry_after
from hub.ratelimit import RateBudget
from hub.types import RateLimit


def http_with(handler, **kwargs) -> VendorHttp:
    return VendorHttp("acme", httpx.Client(transport=httpx.MockTransport(handler)), sleep=lambda s: None, **kwargs)


def test_short_retry_after_is_waited_in_place():
    answers = iter([httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json={"ok": 1})])
    http = http_with(lambda request: next(answers))
    assert http.get("https://api.acme.test/x").json() == {"ok": 1}
    assert http.requests_sent == 2


def test_long_retry_after_reschedules():
    http = http_with(lambda request: httpx.Response(429, headers={"Retry-After": "120"}))
    with pytest.raises(RateLimited) as caught:
        http.get("https://api.acme.test/x")
    assert caught.value.retry_after == 120


def test_a_vendor_may_name_another_throttling_status():
    answers = iter([httpx.Response(503, headers={"Retry-After": "2"}), httpx.Response(200)])
    http = http_with(lambda request: next(answers))
    assert http.get("https://api.acme.test/x", throttle_statuses=(503,)).status_code == 200
    assert http.requests_sent == 2
    later = http_with(lambda request: httpx.Response(503, headers={"Retry-After": "300"}))
    with pytest.raises(RateLimited, match="503") as caught:
        later.get("https://api.acme.test/x", throttle_statuses=(503,))
    assert caught.value.retry_after == 300
    with pytest.raises(TransientError):  # not named: a 503 stays a server error, Retry-After or not
        later.get("https://api.acme.test/x")
    with pytest.raises(TransientError):  # named, but without Retry-After: an outage, not throttling
        http_with(lambda request: httpx.Response(503)).get("https://api.acme.test/x", throttle_statuses=(503,))


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(status):
    with pytest.raises(TransientError, match=str(status)):
        http_with(lambda request: httpx.Response(status)).get("https://api.acme.test/x")


def test_timeouts_and_transport_errors_are_transient():
    def timeout(request):
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(TransientError, match="did not answer in time"):
        http_with(timeout).get("https://api.acme.test/x")


def test_client_errors_are_returned_to_the_plugin():
    assert http_with(lambda request: httpx.Response(401)).get("https://api.acme.test/x").status_code == 401


def test_origin_override_keeps_real_host_in_host_header():
    seen = {}

    def handler(request):
        seen["url"], seen["host"] = str(request.url), request.headers["host"]
        return httpx.Response(200)

    http_with(handler, origin="http://127.0.0.1:8123").get("https://acme.scoro.com/api/v2/x?a=1")
    assert seen == {"url": "http://127.0.0.1:8123/api/v2/x?a=1", "host": "acme.scoro.com"}


def test_query_strings_are_not_logged(caplog):
    caplog.set_level("DEBUG")
    http_with(lambda request: httpx.Response(200)).get("https://api.acme.test/x", params={"apikey": "qs-secret-1"})
    assert "qs-secret-1" not in caplog.text and "api.acme.test/x" in caplog.text


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert 0 <= parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") <= 0


def test_budget_spaces_requests_and_refuses_far_slots(hub_app):
    budget = RateBudget(hub_app.extensions["hub"].redis, "spacing-test", [RateLimit(60, 60)], max_wait=0)
    assert budget.acquire() == 0
    with pytest.raises(RateLimited) as caught:
        budget.acquire()
    assert 0.9 < caught.value.retry_after <= 1.1  # one slot per 60/(60*0.95) s


def test_budget_counts_daily_limits(hub_app):
    budget = RateBudget(hub_app.extensions["hub"].redis, "daily-test", [RateLimit(3, 86400)])
    budget.acquire()
    budget.acquire()
    with pytest.raises(RateLimited, match="daily"):
        budget.acquire()  # 95 % of 3 = 2 allowed


def test_rate_limit_reset_header_is_used_without_retry_after():
    http = http_with(lambda request: httpx.Response(429, headers={"X-Rate-Limit-Reset": "42"}))
    with pytest.raises(RateLimited) as caught:
        http.get("https://api.acme.test/x")
    assert caught.value.retry_after == 42


@pytest.mark.parametrize(("error", "words"), [
    (httpx.ConnectError("[Errno 111] Connection refused"), "Could not reach Acme Books: the connection was refused."),
    (httpx.ConnectError("[Errno -2] Name or service not known"),
     "Could not reach Acme Books: the name did not resolve"),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."),
     "Could not reach Acme Books: the connection dropped before a complete answer."),
    (httpx.ReadError("[Errno 104] Connection reset by peer"), "Could not reach Acme Books: the connection dropped."),
    (httpx.ConnectTimeout("timed out"), "Acme Books did not answer in time: no connection could be opened in time."),
    (httpx.ReadTimeout("timed out"), "Acme Books did not answer in time: no answer arrived in time."),
])
def test_transport_failures_are_said_in_words_with_the_display_name(error, words, caplog):
    """Issue 29: "Could not reach directo (ConnectError)" — the display name and words, the class only in the log."""
    def fail(request):
        error.request = request
        raise error

    with pytest.raises(TransientError) as caught:
        http_with(fail, name="Acme Books").get("https://api.acme.test/x")
    assert caught.value.message.startswith(words)
    assert type(error).__name__ not in caught.value.message and "acme " not in caught.value.message
    assert type(error).__name__ in caplog.text, "the class stays in the log"


def test_answers_name_the_vendor_by_its_display_name():
    with pytest.raises(TransientError, match="^Acme Books answered HTTP 502"):
        http_with(lambda request: httpx.Response(502), name="Acme Books").get("https://api.acme.test/x")


def test_a_refused_bearer_token_is_refreshed_once_and_the_request_sent_again():
    sent, asked = [], []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Authorization"])
        return httpx.Response(200 if request.headers["Authorization"] == "Bearer new" else 401)

    def bearer(rejected: str | None = None) -> str:
        asked.append(rejected)
        return "new" if rejected == "old" else "old"

    assert http_with(handler, bearer=bearer).get("https://api.acme.test/x").status_code == 200
    assert sent == ["Bearer old", "Bearer new"] and asked == [None, "old"]


def test_a_second_401_goes_to_the_plugin_and_its_own_authorization_is_never_replaced():
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Authorization"])
        return httpx.Response(401)

    tokens = iter(["one", "two", "three"])
    http = http_with(handler, bearer=lambda rejected=None: next(tokens))
    assert http.get("https://api.acme.test/x").status_code == 401
    assert sent == ["Bearer one", "Bearer two"]
    assert http.get("https://api.acme.test/x", headers={"Authorization": "Basic mine"}).status_code == 401
    assert sent[2:] == ["Basic mine"]
