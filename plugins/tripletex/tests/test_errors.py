"""Every failure Tripletex can answer, mapped onto hub.errors with a message an admin can act on."""

from __future__ import annotations

import json

import httpx
import pytest

from hub.errors import AuthError, ConfigError, RateLimited, TransientError, VendorRejected

SECRETS = ("sbx-employee", "sbx-consumer")


def no_secret(exc: Exception) -> None:
    text = str(exc)
    assert not any(s in text for s in SECRETS), text


@pytest.mark.parametrize("token", ["sbx-employee-expired-0003", "sbx-employee-revoked-0004", "sbx-employee-nope"])
def test_dead_employee_token_is_an_auth_error_that_says_regenerate(call, state, token, good):
    with pytest.raises(AuthError) as caught:
        call("hub_test_connection", credentials={**good, "employee_token": token})
    assert "Company → API access" in caught.value.hint and "paste" in caught.value.hint
    assert "request id" in caught.value.hint
    no_secret(caught.value)
    assert [r["status"] for r in state.requests] == [401]


def test_expired_test_environment_token(call):
    with pytest.raises(AuthError):
        call("hub_test_connection", credentials={"employee_token": "test-sbx-employee-expired-0102",
                                                 "environment": "test", "company_id": "0"})


def test_test_token_against_production_is_a_config_hint(call, good):
    with pytest.raises(ConfigError) as caught:
        call("hub_test_connection", credentials={**good, "employee_token": "test-sbx-employee-demo-0101"})
    assert caught.value.field == "environment" and "Test" in caught.value.hint
    no_secret(caught.value)


def test_production_token_against_test_is_a_config_hint(call, state, good):
    with pytest.raises(ConfigError) as caught:
        call("hub_test_connection", credentials={**good, "environment": "test"})
    assert caught.value.field == "environment" and "Production" in caught.value.hint
    assert state.requests[0]["host"] == "api-test.tripletex.tech"


def test_missing_consumer_token_is_an_operator_config_error(call, make_ctx, state):
    with pytest.raises(ConfigError) as caught:
        call("hub_test_connection", ctx=make_ctx(settings={"consumer_token_test": "x"}))
    assert "HUB_TRIPLETEX_CONSUMER_TOKEN_PRODUCTION" in caught.value.hint
    assert state.requests == []


def test_wrong_consumer_token_is_an_auth_error(call, make_ctx):
    with pytest.raises(AuthError):
        call("hub_test_connection", ctx=make_ctx(settings={"consumer_token_production": "not-the-partner-token"}))


def test_session_that_stays_rejected_is_an_auth_error(make_ctx, registry, state, good):
    ctx = make_ctx()
    registry.call("tripletex", "hub_test_connection", ctx=ctx, credentials=good)
    state.revoke("sbx-employee-fjord-0001")  # revoked in Tripletex while the session was cached
    with pytest.raises(AuthError):
        registry.call("tripletex", "hub_list_tax_rates", ctx=ctx, credentials=good)
    assert [r["status"] for r in state.requests][-2:] == [401, 401]  # the call, then the session re-create


def test_company_without_login_access_is_a_config_error_on_company_id(call, good):
    with pytest.raises(ConfigError) as caught:
        call("hub_test_connection", credentials={**good, "company_id": "4"})
    assert caught.value.field == "company_id"


def test_403_on_own_company_is_an_auth_error_about_permissions(call, make_ctx):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(":create"):
            return httpx.Response(201, json={"value": {"token": "sess", "expirationDate": "2026-11-24"}})
        return httpx.Response(403, json={"status": 403, "code": 9000, "message": "Access denied",
                                         "requestId": "req-403"})

    with pytest.raises(AuthError) as caught:
        call("hub_list_products", ctx=make_ctx(httpx.MockTransport(handler)))
    assert "not allowed" in caught.value.message and "req-403" in caught.value.hint


def test_422_validation_messages_become_field_messages(call, state, make_invoice):
    party_missing = make_invoice(client=make_invoice().client.__class__(name="x", vendor_client_id="99999999"))
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", invoice=party_missing)
    assert caught.value.field_messages == {"orders[0].customer": ["Kunden finnes ikke."]}
    assert "Validering feilet." in caught.value.message and ".." not in caught.value.message
    assert not state.created_invoices


def test_company_without_bank_account_is_rejected_with_tripletex_message(call, state, good, make_invoice):
    customer = state.store["customers"][3][0]
    invoice = make_invoice(client=make_invoice().client.__class__(name="x", vendor_client_id=str(customer["id"])))
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", credentials={**good, "company_id": "3"}, invoice=invoice)
    assert caught.value.field_messages == {
        "": ["Faktura kan ikke opprettes før selskapet har registrert et bankkontonummer."]}


def _mock_export(status: int, body: dict, found_after: bool):
    posted = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(":create"):
            return httpx.Response(201, json={"value": {"token": "sess", "expirationDate": "2026-11-24"}})
        if request.method == "POST":
            posted.append(json.loads(request.content))
            return httpx.Response(status, json=body)
        values = []
        if posted and found_after:
            values = [{"id": 777, "invoiceNumber": 12, "orders": [{"id": 1, "reference": "hub-inv-000042-tripletex"}]}]
        return httpx.Response(200, json={"fullResultSize": len(values), "from": 0, "count": len(values),
                                         "versionDigest": None, "values": values})

    return handler, posted


def test_409_duplicate_answer_returns_the_existing_invoice(call, make_ctx, make_invoice):
    handler, posted = _mock_export(409, {"status": 409, "code": 14000, "message": "Duplicate entry"}, True)
    receipt = call("hub_export_invoice", ctx=make_ctx(httpx.MockTransport(handler)), invoice=make_invoice())
    assert receipt.already_existed and receipt.vendor_invoice_id == "777" and receipt.number == "12"
    assert len(posted) == 1


def test_409_without_an_existing_invoice_is_rejected(call, make_ctx, make_invoice):
    handler, _ = _mock_export(409, {"status": 409, "code": 8000, "message": "Revision exception",
                                    "validationMessages": None, "requestId": "abc"}, False)
    with pytest.raises(VendorRejected) as caught:
        call("hub_export_invoice", ctx=make_ctx(httpx.MockTransport(handler)), invoice=make_invoice())
    assert "conflict" in caught.value.message and caught.value.field_messages == {"": ["Revision exception"]}


def test_rate_limit_knob_gives_429_and_retry_after_from_x_rate_limit_reset(call, state):
    state.knobs["rate_limit"] = "2/60"
    with pytest.raises(RateLimited) as caught:
        call("hub_list_clients", query="")
    assert 50 <= caught.value.retry_after <= 60
    limited = state.requests[-1]
    assert limited["status"] == 429
    assert state.by_status["429"] == 1


def test_429_with_retry_after_is_waited_out_by_the_core(call, make_ctx):
    answers = iter([httpx.Response(429, headers={"Retry-After": "1"}, json={"status": 429}),
                    httpx.Response(201, json={"value": {"token": "sess", "expirationDate": "2026-11-24"}}),
                    httpx.Response(200, json={"value": {"companyId": 1, "company": {"id": 1, "name": "Acme AS"}}})])
    info = call("hub_test_connection", ctx=make_ctx(httpx.MockTransport(lambda request: next(answers))))
    assert info.account_name == "Acme AS"


def test_fault_429_is_rate_limited(call, state):
    state.knobs.update(fault="429", fault_path="whoAmI")
    with pytest.raises(RateLimited) as caught:
        call("hub_test_connection")
    # the core reads the 429's own X-Rate-Limit-Reset (seconds left in the period) as Retry-After
    assert caught.value.retry_after is not None and caught.value.retry_after >= 0
    assert "Tripletex limits requests" in caught.value.hint
    assert state.requests[-1]["status"] == 429


def test_5xx_is_transient(call, state):
    state.knobs.update(fault="500", fault_path="whoAmI")
    with pytest.raises(TransientError):
        call("hub_test_connection")
    assert state.requests[-1]["status"] == 500


def test_garbage_body_is_transient(call, state):
    state.knobs.update(fault="garbage", fault_path="/v2/customer")
    with pytest.raises(TransientError) as caught:
        call("hub_list_clients", query="")
    assert "not the expected JSON" in caught.value.message


def test_session_answer_without_token_is_transient(call, make_ctx):
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"value": {"id": 1}}))
    with pytest.raises(TransientError):
        call("hub_test_connection", ctx=make_ctx(transport))


def test_list_answer_without_values_is_transient(call, make_ctx):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(":create"):
            return httpx.Response(201, json={"value": {"token": "sess", "expirationDate": "2026-11-24"}})
        return httpx.Response(200, json={"value": {}})

    with pytest.raises(TransientError):
        call("hub_list_tax_rates", ctx=make_ctx(httpx.MockTransport(handler)))


def test_unknown_host_404_is_a_config_error(call, make_ctx):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(":create"):
            return httpx.Response(201, json={"value": {"token": "sess", "expirationDate": "2026-11-24"}})
        return httpx.Response(404, text="<html>Not found</html>")

    with pytest.raises(ConfigError) as caught:
        call("hub_list_products", ctx=make_ctx(httpx.MockTransport(handler)))
    assert caught.value.field == "environment"


def test_network_failure_is_transient(call, make_ctx):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TransientError):
        call("hub_test_connection", ctx=make_ctx(httpx.MockTransport(refuse)))


def test_timeout_is_transient(call, make_ctx):
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(TransientError):
        call("hub_test_connection", ctx=make_ctx(httpx.MockTransport(slow)))
