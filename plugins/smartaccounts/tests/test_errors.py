"""Every vendor failure mapped onto hub.errors with a message a firm admin can act on, throttling (503 or 429 with
``Retry-After``) included."""

import datetime as dt

import httpx
import pytest
from hub_smartaccounts import client as sa_client
from hub_smartaccounts import sandbox
from hub_smartaccounts.client import SmartAccountsApi

from hub.errors import AuthError, NotSupported, RateLimited, TransientError, VendorRejected
from hub.testing import make_context

DEMO = sandbox.DEMO_CREDENTIALS


def test_wrong_secret_says_regenerate_the_pair(call):
    with pytest.raises(AuthError) as caught:
        call("hub_test_connection", credentials={**DEMO, "api_secret": "0" * 32})
    assert "did not accept the API key and secret" in caught.value.message
    assert "shows the secret only once" in caught.value.hint
    assert "paste both the new key and the new secret" in caught.value.hint


def test_unknown_key(call):
    with pytest.raises(AuthError, match="Invalid API key"):
        call("hub_test_connection", credentials={"api_key": "ffffffffffffffff", "api_secret": "0" * 32})


def test_revoked_pair(call):
    with pytest.raises(AuthError) as caught:
        call("hub_test_connection", credentials=sandbox.REVOKED_CREDENTIALS)
    assert "new API key pair" in caught.value.hint


def test_expired_company(call):
    with pytest.raises(AuthError) as caught:
        call("hub_test_connection", credentials=sandbox.EXPIRED_CREDENTIALS)
    assert "subscription" in caught.value.message
    assert "subscription" in caught.value.hint


def test_validation_errors_become_field_messages(make_ctx):
    api = SmartAccountsApi(make_ctx(), DEMO)
    with pytest.raises(VendorRejected) as caught:
        api.write("purchasesales/clientinvoices:add", {"clientId": 1, "date": "2026-01-01", "currency": "eur",
                                                        "rows": [{"vatPc": "99", "quantity": "x", "price": 1}]})
    fm = caught.value.field_messages
    assert fm["clientId"] == ["clientId: client 1 not found"]
    assert fm["date"] == ["date: date must be in format dd.MM.yyyy"]
    assert fm["currency"] and fm["rows[0].vatPc"] and fm["rows[0].quantity"]
    assert "HTTP 400" in caught.value.message


def test_429_with_retry_after(make_ctx, state):
    state.knobs.update(fault="429", retry_after=120)
    with pytest.raises(RateLimited) as caught:
        SmartAccountsApi(make_ctx(), DEMO).read("settings/vatpcs:get")
    assert caught.value.retry_after == 120
    assert len(state.requests) == 1  # a long Retry-After is not waited out in place


def test_short_retry_after_is_waited_out_and_retried(make_ctx, state):
    state.knobs.update(fault="429", fault_every=2, retry_after=1)
    api = SmartAccountsApi(make_ctx(), DEMO)
    api.read("settings/vatpcs:get")  # request 1: ok
    api.read("settings/vatpcs:get")  # request 2: 429 Retry-After 1 -> retried (request 3) -> ok
    assert [r.status for r in state.requests] == [200, 429, 200]


def test_sandbox_rate_limit_answers_503_with_retry_after_and_the_client_reports_it(make_ctx, state):
    state.knobs.update(rate_limit="3/60")
    api = SmartAccountsApi(make_ctx(), DEMO)
    for _ in range(3):
        api.read("settings/vatpcs:get")
    with pytest.raises(RateLimited) as caught:
        api.read("settings/vatpcs:get")
    assert 50 <= caught.value.retry_after <= 60
    last = state.requests[-1]
    assert last.status == 503  # how SmartAccounts throttles (wire fact `throttle_status`)


def test_daily_limit(make_ctx, state):
    state.knobs.update(rate_limit=None, daily_limit=2)
    api = SmartAccountsApi(make_ctx(), DEMO)
    api.read("settings/vatpcs:get")
    api.read("settings/vatpcs:get")
    with pytest.raises(RateLimited) as caught:
        api.read("settings/vatpcs:get")
    assert caught.value.retry_after > 80000


def test_5xx_is_transient(call, state):
    state.knobs.update(fault="500")
    with pytest.raises(TransientError, match="HTTP 500"):
        call("hub_test_connection", credentials=DEMO)


def test_garbage_200_is_transient(call, state):
    state.knobs.update(fault="garbage")
    with pytest.raises(TransientError, match="not JSON"):
        call("hub_test_connection", credentials=DEMO)


def test_unexpected_json_shape_is_transient(make_ctx):
    ctx = make_context("smartaccounts", httpx.MockTransport(lambda r: httpx.Response(200, json={"a": 1, "b": 2})))
    with pytest.raises(TransientError, match="expected list"):
        sa_client.tax_rates(SmartAccountsApi(ctx, DEMO))
    ctx = make_context("smartaccounts", httpx.MockTransport(lambda r: httpx.Response(200, json=[1, 2])))
    with pytest.raises(TransientError, match="unexpected JSON"):
        SmartAccountsApi(ctx, DEMO).read("settings/vatpcs:get")


def test_timeout_is_transient():
    def slow(request):
        raise httpx.ReadTimeout("timed out", request=request)

    ctx = make_context("smartaccounts", httpx.MockTransport(slow))
    with pytest.raises(TransientError, match="did not answer in time"):
        SmartAccountsApi(ctx, DEMO).read("settings/vatpcs:get")


def test_unknown_endpoint_is_not_supported(make_ctx):
    with pytest.raises(NotSupported):
        SmartAccountsApi(make_ctx(), DEMO).read("purchasesales/nothing:get")


def test_other_error_body_shapes_are_read():
    for body, expected in [({"message": "Bad thing"}, {"": ["Bad thing"]}),
                           ({"errors": {"name": ["is required"]}}, {"name": ["is required"]}),
                           ({"errors": ["plain text"]}, {"": ["plain text"]})]:
        ctx = make_context("smartaccounts", httpx.MockTransport(lambda r, b=body: httpx.Response(422, json=b)))
        with pytest.raises(VendorRejected) as caught:
            SmartAccountsApi(ctx, DEMO).write("purchasesales/clients:add", {})
        assert caught.value.field_messages == expected


def test_secrets_never_in_messages(call, caplog):
    caplog.set_level("DEBUG")
    for creds in ({**DEMO, "api_secret": "0" * 32}, sandbox.REVOKED_CREDENTIALS, sandbox.EXPIRED_CREDENTIALS):
        with pytest.raises(AuthError) as caught:
            call("hub_test_connection", credentials=creds)
        for value in creds.values():
            assert value not in str(caught.value)
            assert value not in caplog.text


# -- 503 with Retry-After is throttling (wire fact throttle_status) -------------------------------------------
def test_a_503_with_a_long_retry_after_is_rate_limited(make_ctx, state):
    state.knobs.update(fault="503", retry_after=120)
    with pytest.raises(RateLimited) as caught:
        SmartAccountsApi(make_ctx(), DEMO).read("settings/vatpcs:get")
    assert caught.value.retry_after == 120
    assert [r.status for r in state.requests] == [503]


def test_a_503_with_a_short_retry_after_is_waited_out(make_ctx, state):
    state.knobs.update(fault="503", fault_every=2, retry_after=1)
    api = SmartAccountsApi(make_ctx(), DEMO)
    api.read("settings/vatpcs:get")
    api.read("settings/vatpcs:get")
    assert [r.status for r in state.requests] == [200, 503, 200]


def test_the_sandbox_throttles_with_503_and_the_wait(make_ctx, state):
    state.knobs.update(rate_limit=None, daily_limit=1)
    api = SmartAccountsApi(make_ctx(now=lambda: dt.datetime.now(dt.UTC)), DEMO)
    api.read("settings/vatpcs:get")
    with pytest.raises(RateLimited) as caught:
        api.read("settings/vatpcs:get")
    assert state.requests[-1].status == 503 and caught.value.retry_after > 80000
