"""Webhook delivery: a receiver that answers 500, times out or is down; the delivery log; backoff; automatic
disabling; manual redelivery; an event never breaks the flow that raised it; keyed events are recorded once."""

import socket

import httpx
import pytest
import redis

from hub import jobs, webhooks
from hub.models import Notification, SyncRun, WebhookDelivery, WebhookEndpoint
from tests.api.test_service_api import Receiver, independent_verify


@pytest.fixture(autouse=True)
def loopback_allowed(hub_app, monkeypatch):
    """The receivers here are on loopback: allow private addresses (the SSRF tests below turn it off)."""
    monkeypatch.setitem(hub_app.config, "HUB_WEBHOOKS_ALLOW_PRIVATE", True)


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
    endpoint, secret = webhooks.create_endpoint(firm.id, url)
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
    run = SyncRun.query.filter_by(kind="webhooks").one()  # one delivery run for the endpoint, not one per event
    assert jobs.execute(run.id) == "retrying"  # one attempt, then the endpoint is paused
    hub_db.session.refresh(run)
    assert len(receiver.requests) == 1 and webhooks.paused_until(endpoint) == run.next_attempt_at is not None
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


def test_a_secret_that_no_longer_decrypts_disables_the_endpoint_and_tells_the_firm(firm, hub_db, serve, run_jobs,
                                                                                   fast):
    """The key that encrypted the signing secret was dropped (rotate-keys missed it, or an operator removed it): the
    delivery run says so and stops, the endpoint is disabled with the reason, and the firm is told — the events
    wait, nothing is sent unsigned."""
    from hub.vault import Vault

    receiver = Receiver()
    endpoint, _ = endpoint_for(firm, serve(receiver) + "/h")
    endpoint.secret = Vault([Vault.generate_key()]).encrypt({"secret": "whsec_gone"})  # a key the hub no longer has
    hub_db.session.commit()
    webhooks.emit(firm.id, "reload.finished", {})
    run_jobs()
    hub_db.session.refresh(endpoint)
    run = SyncRun.query.filter_by(kind="webhooks").one()
    assert run.status == "failed" and "cannot be decrypted" in run.error["message"]
    assert endpoint.enabled is False and "cannot be decrypted" in endpoint.disabled_reason
    assert Notification.query.filter(Notification.title.like("Webhook endpoint%disabled")).count() == 1
    assert receiver.requests == [] and WebhookDelivery.query.one().status == "pending"


def test_an_event_never_breaks_the_flow(firm, hub_db, monkeypatch):
    endpoint_for(firm, "http://127.0.0.1:9/h")

    def gone(*args, **kwargs):
        raise redis.ConnectionError("the queue is gone")

    monkeypatch.setattr(jobs, "get_queue", gone)
    ids = webhooks.emit(firm.id, "reload.finished", {"x": 1})  # the row is kept; the reconciler sends it later
    assert len(ids) == 1 and SyncRun.query.filter_by(kind="webhooks", status="queued").count() == 1

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

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
        webhooks.create_endpoint(firm.id, "ftp://x")
    with pytest.raises(ValueError):
        webhooks.create_endpoint(firm.id, "http://x", events=["nope"])
    assert WebhookEndpoint.query.count() == 3


def test_signature_helpers_match_the_independent_implementation():
    secret = webhooks.new_secret()
    body = webhooks.encode_body({"id": "evt_1", "type": "reload.finished", "data": {"ä": 1}})
    headers = {k.title(): v for k, v in webhooks.signed_headers(secret, "evt_1", body).items()}
    assert independent_verify(secret, headers, body)
    assert webhooks.verify(secret, headers, body)
    assert not webhooks.verify(secret, headers, body, now=int(headers["Webhook-Timestamp"]) + 301)


# -- SSRF: endpoints at private addresses are refused unless the operator allows them ----------------------------
@pytest.fixture
def public_only(hub_app, monkeypatch):
    """The default: HUB_WEBHOOKS_ALLOW_PRIVATE unset (config and environment)."""
    monkeypatch.delitem(hub_app.config, "HUB_WEBHOOKS_ALLOW_PRIVATE", raising=False)
    monkeypatch.delenv("HUB_WEBHOOKS_ALLOW_PRIVATE", raising=False)


def names(monkeypatch, table):
    """Let ``hub.webhooks`` resolve the names in ``table`` (name -> addresses; a callable is asked each time)."""
    def resolve(host, port):
        found = table.get(host)
        if found is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return found() if callable(found) else list(found)

    monkeypatch.setattr(webhooks, "_resolve", resolve)


@pytest.mark.parametrize(("url", "reason"), [
    ("http://127.0.0.1:9/h", "127.0.0.1 is a loopback address"),
    ("http://localhost:9/h", "localhost resolves to 127.0.0.1, a loopback address"),
    ("http://10.0.0.5/h", "10.0.0.5 is a private-network address"),
    ("http://192.168.1.20/h", "192.168.1.20 is a private-network address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://100.100.100.200/h", "100.100.100.200 is an address that is not public"),
    ("http://[::1]:9/h", "::1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]/h", "::ffff:127.0.0.1 is a loopback address"),
    ("https://[fd00:ec2::254]/h", "fd00:ec2::254 is a private-network address"),
    ("http://0.0.0.0/h", "0.0.0.0 is the unspecified address"),
])
def test_private_addresses_are_refused_by_default(firm, hub_db, public_only, url, reason):
    with pytest.raises(webhooks.UnsafeDestination) as refused:
        webhooks.create_endpoint(firm.id, url)
    assert reason in str(refused.value)
    assert "HUB_WEBHOOKS_ALLOW_PRIVATE=1" in str(refused.value)
    assert WebhookEndpoint.query.count() == 0


def test_every_resolved_address_is_checked(firm, hub_db, public_only, monkeypatch):
    names(monkeypatch, {"mixed.example": ["93.184.216.34", "10.1.2.3"], "public.example": ["93.184.216.34",
                                                                                          "2606:2800:220:1::1"]})
    with pytest.raises(webhooks.UnsafeDestination, match="mixed.example resolves to 10.1.2.3, a private-network"):
        webhooks.create_endpoint(firm.id, "https://mixed.example/h")
    with pytest.raises(webhooks.UnsafeDestination, match="nowhere.example could not be resolved"):
        webhooks.create_endpoint(firm.id, "https://nowhere.example/h")
    endpoint, _ = webhooks.create_endpoint(firm.id, "https://public.example/h")
    with pytest.raises(webhooks.UnsafeDestination, match="a loopback address"):  # a change of URL is checked too
        webhooks.update_endpoint(endpoint, url="http://127.0.0.1:8080/h")
    hub_db.session.refresh(endpoint)
    assert endpoint.url == "https://public.example/h"


def test_the_setting_allows_private_receivers_from_config_or_environment(firm, hub_db, hub_app, public_only,
                                                                          monkeypatch, serve, run_jobs):
    assert webhooks.allow_private() is False
    monkeypatch.setenv("HUB_WEBHOOKS_ALLOW_PRIVATE", "1")
    assert webhooks.allow_private() is True
    monkeypatch.setitem(hub_app.config, "HUB_WEBHOOKS_ALLOW_PRIVATE", "0")  # the app's config wins
    assert webhooks.allow_private() is False
    monkeypatch.setitem(hub_app.config, "HUB_WEBHOOKS_ALLOW_PRIVATE", True)
    receiver = Receiver()
    endpoint, secret = endpoint_for(firm, serve(receiver) + "/h")
    webhooks.emit(firm.id, "reload.finished", {"run_id": 7})
    run_jobs()
    assert WebhookDelivery.query.one().status == "delivered"
    assert [e["data"] for e in receiver.events()] == [{"run_id": 7}]
    assert independent_verify(secret, receiver.requests[0]["headers"], receiver.requests[0]["body"])


def test_delivery_rechecks_the_address_and_sends_nothing_to_a_private_one(firm, hub_db, public_only, monkeypatch,
                                                                         serve, run_jobs, fast):
    """The name resolved to a public address when it was registered and to loopback when the event is sent (DNS
    changed, or a rebinding attack): the loopback receiver must get nothing."""
    receiver = Receiver()
    port = serve(receiver).rsplit(":", 1)[1]
    answers = {"now": ["93.184.216.34"]}
    names(monkeypatch, {"hooks.example.test": lambda: answers["now"]})
    endpoint, _ = endpoint_for(firm, f"http://hooks.example.test:{port}/h")
    answers["now"] = ["127.0.0.1"]
    webhooks.emit(firm.id, "reload.finished", {"run_id": 1})
    run_jobs()
    row = WebhookDelivery.query.one()
    assert receiver.requests == []
    assert row.status == "failed" and row.attempts == 3 and row.last_status_code is None
    assert row.last_error.startswith("not delivered: hooks.example.test resolves to 127.0.0.1, a loopback address")


def test_an_endpoint_stored_before_the_check_is_not_delivered_to(firm, hub_db, hub_app, monkeypatch, serve,
                                                                 run_jobs, fast):
    receiver = Receiver()
    endpoint, _ = endpoint_for(firm, serve(receiver) + "/h")  # allowed when registered
    monkeypatch.setitem(hub_app.config, "HUB_WEBHOOKS_ALLOW_PRIVATE", False)  # then the operator turned it off
    webhooks.emit(firm.id, "reload.finished", {})
    run_jobs()
    assert receiver.requests == []
    assert "127.0.0.1 is a loopback address" in WebhookDelivery.query.one().last_error


def test_a_delivery_connects_to_the_checked_address_with_the_name_in_host_and_sni(firm, hub_db, public_only,
                                                                                monkeypatch):
    """No second lookup between the check and the connection (where a rebinding DNS answer could slip in): the
    request goes to the address that was checked, the certificate is checked for the name (an httpx mock
    transport stands for the network: nothing leaves the machine)."""
    calls = []

    def lookup():
        calls.append(1)
        return ["93.184.216.34", "2606:2800:220:1::1"]

    names(monkeypatch, {"hooks.example.test": lookup})
    endpoint, secret = endpoint_for(firm, "https://hooks.example.test:8443/in?x=1")
    webhooks.emit(firm.id, "export.confirmed", {"export_id": 3})
    row = WebhookDelivery.query.one()
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(204)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        assert webhooks.attempt(client, endpoint, row, secret) is True
    (request,) = seen
    assert str(request.url) == "https://93.184.216.34:8443/in?x=1"
    assert request.headers["host"] == "hooks.example.test:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.test"
    headers = {k.title(): v for k, v in request.headers.items()}
    assert independent_verify(secret, headers, request.content)
    assert len(calls) == 2  # once when registered, once for this attempt


def test_the_api_and_the_cli_refuse_a_private_url_in_words(firm, hub_db, hub_app, public_only):
    from hub.api import auth
    from tests.api.conftest import ApiClient

    api = ApiClient(hub_app, auth.create_token(firm.id, name="admin", role="admin").secret)
    response = api.post("/webhook-endpoints", json={"url": "http://169.254.169.254/latest/meta-data/"})
    assert response.status_code == 422
    assert "169.254.169.254 is a link-local address" in response.get_json()["errors"]["url"][0]
    result = hub_app.test_cli_runner().invoke(args=["hub", "webhook", "add", "http://10.0.0.8/h"])
    assert result.exit_code != 0 and "10.0.0.8 is a private-network address" in result.output
    assert WebhookEndpoint.query.count() == 0
