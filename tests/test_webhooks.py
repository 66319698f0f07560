"""Webhook delivery: a receiver that answers 500, times out or is down; the delivery log; backoff; automatic
disabling; manual redelivery; an event never breaks the flow that raised it; keyed events are recorded once."""

import socket

import pytest

from hub import webhooks
from hub.models import Notification, WebhookDelivery, WebhookEndpoint
from tests.api.test_service_api import Receiver, independent_verify


@pytest.fixture
def fast(hub_app, monkeypatch):
    for key, value in {"HUB_WEBHOOK_RETRY_BASE": 0.05, "HUB_WEBHOOK_RETRY_CAP": 0.1, "HUB_WEBHOOK_TIMEOUT": 0.3,
                       "HUB_WEBHOOK_MAX_ATTEMPTS": 3}.items():
        monkeypatch.setitem(hub_app.config, key, value)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def endpoint_for(firm, url):
    endpoint, secret = webhooks.create_endpoint(firm.id, url, actor="test")
    return endpoint, secret


def test_500_then_recovery_is_retried_and_logged(firm, hub_db, serve, run_jobs, fast):
    receiver = Receiver()
    receiver.status = 500
    endpoint, secret = endpoint_for(firm, serve(receiver) + "/h")
    webhooks.emit(firm.id, "reload.finished", {"run_id": 1})
    run_jobs()
    row = WebhookDelivery.query.one()
    assert row.status == "failed" and row.attempts == 3  # HUB_WEBHOOK_MAX_ATTEMPTS
    assert row.last_status_code == 500 and row.last_response == "receiver broke"
    assert row.last_error == "the endpoint answered 500"
    assert len(receiver.requests) == 3
    assert len({r["headers"]["Webhook-Id"] for r in receiver.requests}) == 1  # the same event each time
    receiver.status = 200
    webhooks.redeliver(row)  # manual redelivery
    run_jobs()
    hub_db.session.refresh(row)
    assert row.status == "delivered" and row.attempts == 4 and row.last_status_code == 200
    assert all(independent_verify(secret, r["headers"], r["body"]) for r in receiver.requests)


def test_a_timeout_and_a_receiver_that_is_down(firm, hub_db, serve, run_jobs, fast):
    slow = Receiver()
    slow.delay = 1.0
    slow_endpoint, _ = endpoint_for(firm, serve(slow) + "/slow")
    down_endpoint, _ = endpoint_for(firm, f"http://127.0.0.1:{free_port()}/down")
    webhooks.emit(firm.id, "export.failed", {"export_id": 1})
    run_jobs(timeout=30)
    slow_row = WebhookDelivery.query.filter_by(endpoint_id=slow_endpoint.id).one()
    down_row = WebhookDelivery.query.filter_by(endpoint_id=down_endpoint.id).one()
    assert slow_row.status == "failed" and slow_row.last_error == "no answer within 0.3 s"
    assert down_row.status == "failed" and down_row.attempts == 3
    assert down_row.last_error.startswith("could not deliver: ConnectError")
    assert down_row.last_status_code is None


def test_a_failing_endpoint_pauses_the_rest_and_delivers_in_order_once_back(firm, hub_db, serve, run_jobs, fast,
                                                                             hub_app, monkeypatch):
    monkeypatch.setitem(hub_app.config, "HUB_WEBHOOK_MAX_ATTEMPTS", 10)
    receiver = Receiver()
    receiver.status = 503
    endpoint, _ = endpoint_for(firm, serve(receiver) + "/h")
    for i in range(5):
        webhooks.emit(firm.id, "statistics.imported", {"n": i})
    webhooks.deliver_endpoint(endpoint.id)  # one attempt, then the endpoint is paused
    hub_db.session.refresh(endpoint)
    assert len(receiver.requests) == 1 and endpoint.paused_until is not None
    assert {r.next_attempt_at for r in WebhookDelivery.query.filter_by(status="pending")} == {endpoint.paused_until}
    receiver.status = 200
    run_jobs()
    sent = [e["data"]["n"] for e in receiver.events()[1:]]
    assert sent == [0, 1, 2, 3, 4]
    assert WebhookDelivery.query.filter_by(status="delivered").count() == 5


def test_repeated_failure_disables_the_endpoint_and_tells_the_firm(firm, hub_db, serve, run_jobs, fast, hub_app,
                                                                    monkeypatch):
    monkeypatch.setitem(hub_app.config, "HUB_WEBHOOK_DISABLE_FAILURES", 2)
    monkeypatch.setitem(hub_app.config, "HUB_WEBHOOK_DISABLE_SECONDS", 0)
    receiver = Receiver()
    receiver.status = 500
    endpoint, _ = endpoint_for(firm, serve(receiver) + "/h")
    webhooks.emit(firm.id, "reload.finished", {})
    run_jobs()
    hub_db.session.refresh(endpoint)
    assert endpoint.enabled is False and "2 failed deliveries in a row" in endpoint.disabled_reason
    assert Notification.query.filter(Notification.title.like("Webhook endpoint%disabled")).count() == 1
    assert webhooks.emit(firm.id, "reload.finished", {}) == []  # a disabled endpoint gets no new events
    receiver.status = 200
    webhooks.update_endpoint(endpoint, enabled=True)  # what waited is sent
    run_jobs()
    assert WebhookDelivery.query.filter_by(status="delivered").count() == 1


def test_an_event_never_breaks_the_flow(firm, hub_db, monkeypatch):
    endpoint_for(firm, "http://127.0.0.1:9/h")

    def broken(*args, **kwargs):
        raise RuntimeError("the queue is gone")

    monkeypatch.setattr(webhooks, "get_queue", broken)
    ids = webhooks.emit(firm.id, "reload.finished", {"x": 1})  # the row is kept; the dispatcher sends it later
    assert len(ids) == 1
    assert webhooks.emit(firm.id, "no.such.event", {}) is None  # a bug here is logged, not raised
    monkeypatch.setattr(webhooks, "encode_body", broken)
    assert webhooks.months_imported(None, None, []) is None


def test_keyed_events_are_recorded_once_and_filters_apply(firm, hub_db):
    all_events, _ = endpoint_for(firm, "http://127.0.0.1:9/all")
    only, _ = webhooks.create_endpoint(firm.id, "http://127.0.0.1:9/only", events=["export.confirmed"])
    service, _ = webhooks.create_endpoint(None, "http://127.0.0.1:9/service")
    assert len(webhooks.emit(firm.id, "export.confirmed", {}, key="export.confirmed:1")) == 3
    assert webhooks.emit(firm.id, "export.confirmed", {}, key="export.confirmed:1") == []
    assert len(webhooks.emit(firm.id, "reload.finished", {})) == 2
    assert WebhookDelivery.query.filter_by(endpoint_id=only.id).count() == 1
    assert WebhookDelivery.query.filter_by(endpoint_id=service.id).count() == 2
    with pytest.raises(ValueError):
        webhooks.create_endpoint(firm.id, "ftp://x", actor="t")
    with pytest.raises(ValueError):
        webhooks.create_endpoint(firm.id, "http://x", events=["nope"], actor="t")
    assert WebhookEndpoint.query.count() == 3


def test_signature_helpers_match_the_independent_implementation():
    secret = webhooks.new_secret()
    body = webhooks.encode_body({"id": "evt_1", "type": "reload.finished", "data": {"ä": 1}})
    headers = {k.title(): v for k, v in webhooks.signed_headers(secret, "evt_1", body).items()}
    assert independent_verify(secret, headers, body)
    assert webhooks.verify(secret, headers, body)
    assert not webhooks.verify(secret, headers, body, now=int(headers["Webhook-Timestamp"]) + 301)
