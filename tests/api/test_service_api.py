"""The service API end to end: a firm onboarded through it only (firm, two users, 300 clients in one bulk call, an
integration, links, a reload), the signed webhooks received on a loopback receiver and verified with the test's
own HMAC code; replays make no duplicates; firm tokens cannot reach the service endpoints or another firm."""

import base64
import hashlib
import hmac
import json
import threading
import time

import pytest
from werkzeug.wrappers import Request, Response

from hub.api import auth
from hub.models import Client, Firm, User, WebhookDelivery
from tests.api.conftest import ApiClient

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}


class Receiver:
    """A loopback webhook receiver: records every request; ``status`` / ``delay`` set how it answers."""

    def __init__(self):
        self.requests = []
        self.status = 200
        self.delay = 0.0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        request = Request(environ)
        body = request.get_data()
        with self.lock:
            self.requests.append({"headers": dict(request.headers), "body": body, "at": time.time()})
        if self.delay:
            time.sleep(self.delay)
        return Response("ok" if self.status < 300 else "receiver broke", status=self.status)(environ, start_response)

    def events(self):
        return [json.loads(r["body"]) for r in self.requests]


def independent_verify(secret: str, headers: dict, body: bytes, tolerance: int = 300) -> bool:
    """The receiver's side of the Standard Webhooks scheme, written from the spec (not hub.webhooks)."""
    msg_id, timestamp = headers["Webhook-Id"], headers["Webhook-Timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.{body.decode()}".encode(),
                                         hashlib.sha256).digest()).decode()
    return any(sig.split(",", 1)[1] == expected for sig in headers["Webhook-Signature"].split(" "))


@pytest.fixture(autouse=True)
def _loopback_receivers(hub_app, monkeypatch):
    """The receivers here are on loopback: allow private webhook addresses (refused by default)."""
    monkeypatch.setitem(hub_app.config, "HUB_WEBHOOKS_ALLOW_PRIVATE", True)


@pytest.fixture
def service_secret(hub_app, hub_db):
    """A service token created with the CLI, as an operator would."""
    result = hub_app.test_cli_runner().invoke(args=["hub", "service-token", "create", "--name", "host product"])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


@pytest.fixture
def svc(hub_app, service_secret):
    return ApiClient(hub_app, service_secret)


@pytest.fixture
def fast_webhooks(hub_app, monkeypatch):
    for key, value in {"HUB_WEBHOOK_RETRY_BASE": 0.05, "HUB_WEBHOOK_RETRY_CAP": 0.2, "HUB_WEBHOOK_TIMEOUT": 0.5,
                       "HUB_WEBHOOK_MAX_ATTEMPTS": 4}.items():
        monkeypatch.setitem(hub_app.config, key, value)


FIRM = {"name": "Acme Books OÜ", "country": "EE", "timezone": "Europe/Tallinn", "plan": "team"}
USERS = {"u-1": {"email": "Owner@Acme.example", "name": "Olga Owner", "role": "owner"},
         "u-2": {"email": "admin@acme.example", "name": "Adam Admin", "role": "admin"}}


def clients_rows(n=300):
    return [{"external_id": f"cust-{i:04d}", "name": f"Client {i:04d} OÜ", "reg_code": f"1{i:07d}",
             "vat_no": f"EE1{i:08d}", "email": f"books{i}@client.example", "address_city": "Tartu",
             "address_country": "ee"} for i in range(1, n + 1)]


def provision(svc):
    """Every provisioning call of the onboarding; returns what they answered."""
    firm = svc.put("/firms/by-external-id/host-firm-1", json=FIRM)
    users = {ext: svc.put(f"/firms/{firm.get_json()['id']}/users/by-external-id/{ext}", json=body)
             for ext, body in USERS.items()}
    bulk = svc.post(f"/firms/{firm.get_json()['id']}/clients/bulk", json={"clients": clients_rows()})
    return firm, users, bulk


def test_onboard_a_firm_through_the_service_api_only(hub_app, hub_db, svc, serve, run_jobs, monkeypatch,
                                                     example_sandbox, fast_webhooks):
    receiver = Receiver()
    hook_url = serve(receiver) + "/hooks/hub"
    monkeypatch.setenv("HUB_EXAMPLE_ORIGIN", example_sandbox[1])  # the operator routes the vendor to its sandbox

    endpoint = svc.post("/webhook-endpoints", json={"url": hook_url, "description": "host product"})
    assert endpoint.status_code == 201, endpoint.get_json()
    secret = endpoint.get_json()["secret"]
    assert secret.startswith("whsec_")
    assert "secret" not in svc.get(f"/webhook-endpoints/{endpoint.get_json()['id']}").get_json()

    firm, users, bulk = provision(svc)
    assert firm.status_code == 201 and firm.get_json()["external_id"] == "host-firm-1"
    firm_id = firm.get_json()["id"]
    assert [r.status_code for r in users.values()] == [201, 201]
    assert users["u-1"].get_json()["email"] == "owner@acme.example"
    assert all(not r.get_json()["has_password"] and "password" not in r.get_json() for r in users.values())
    assert bulk.status_code == 200, bulk.get_json()
    assert bulk.get_json()["applied"] is True
    assert bulk.get_json()["counts"] == {"created": 300, "updated": 0, "unchanged": 0, "refused": 0}

    invite = svc.post(f"/firms/{firm_id}/users/{users['u-2'].get_json()['id']}/invite")
    assert invite.status_code == 200 and "/set-password/" in invite.get_json()["set_password_url"]

    token = svc.post(f"/firms/{firm_id}/tokens", json={"name": "host product", "role": "admin"})
    assert token.status_code == 201
    api = ApiClient(hub_app, token.get_json()["token"])
    assert api.patch("/integrations/example", json={"enabled": True}).status_code == 200
    assert api.put("/integrations/example/credentials", json={"credentials": GOOD}).status_code == 200
    run_jobs()
    field = api.post("/custom-fields", json={"name": "Documents"}).get_json()
    assert api.put("/integrations/example/summary-settings",
                   json={"mapping": {"documents": field["id"]}}).status_code == 200
    listed = api.get("/clients").get_json()
    assert len(listed) == 300
    linked = sorted(listed, key=lambda c: c["id"])[:3]
    for i, client in enumerate(linked, start=1):
        response = api.put(f"/integrations/example/connections/{client['id']}",
                           json={"vendor_client_id": str(i), "vendor_client_name": client["name"]})
        assert response.status_code == 200, response.get_json()
    reload = api.post("/integrations/example/reload", json={})
    assert reload.status_code == 202
    run_jobs(timeout=60)

    events = receiver.events()
    kinds = [e["type"] for e in events]
    assert kinds.count("statistics.imported") == 36  # 3 clients x 12 months
    assert kinds.count("reload.finished") == 1
    for request in receiver.requests:
        assert independent_verify(secret, request["headers"], request["body"])
        assert not independent_verify(secret, request["headers"], request["body"] + b" ")  # tampered
        stale = {**request["headers"], "Webhook-Timestamp": str(int(time.time()) - 301)}
        assert not independent_verify(secret, stale, request["body"])  # outside the replay window
    finished = next(e for e in events if e["type"] == "reload.finished")
    assert finished["firm"] == {"id": firm_id, "external_id": "host-firm-1"}
    assert finished["data"]["failed"] == 0 and finished["data"]["clients"] == 3
    imported = next(e for e in events if e["type"] == "statistics.imported")
    assert imported["data"]["client"]["external_id"].startswith("cust-")
    assert imported["data"]["values"][0]["field"] == "Documents"
    assert len({e["id"] for e in events}) == len(events)  # one delivery per event
    log = svc.get(f"/webhook-endpoints/{endpoint.get_json()['id']}/deliveries?limit=500").get_json()
    assert len(log) == 37 and {d["status"] for d in log} == {"delivered"}
    assert all(d["attempts"] == 1 and d["last_status_code"] == 200 for d in log)

    # replaying every provisioning call: no duplicates, nothing changed
    counts = (Firm.query.count(), User.query.count(), Client.query.count())
    firm2, users2, bulk2 = provision(svc)
    assert firm2.status_code == 200 and firm2.get_json()["id"] == firm_id
    assert [r.status_code for r in users2.values()] == [200, 200]
    assert bulk2.get_json()["counts"] == {"created": 0, "updated": 0, "unchanged": 300, "refused": 0}
    hub_db.session.expire_all()
    assert (Firm.query.count(), User.query.count(), Client.query.count()) == counts == (1, 2, 300)


def test_bulk_refuses_row_by_row_and_writes_nothing_unless_partial(svc, hub_db):
    firm_id = svc.put("/firms/by-external-id/f", json=FIRM).get_json()["id"]
    rows = clients_rows(5)
    rows[1]["email"] = "not-an-email"
    rows[3] = {"external_id": "cust-0001", "name": "Same again"}  # the same client twice
    rows.append({"external_id": "x", "nmae": "typo"})
    report = svc.post(f"/firms/{firm_id}/clients/bulk", json={"clients": rows}).get_json()
    assert report["applied"] is False
    assert [r["row"] for r in report["refused"]] == [2, 4, 6]
    assert report["refused"][0]["errors"] == {"email": ["Not a valid email address."]}
    assert "nmae" in report["refused"][2]["errors"]
    assert Client.query.filter_by(firm_id=firm_id).count() == 0
    partial = svc.post(f"/firms/{firm_id}/clients/bulk", json={"clients": rows, "partial": True}).get_json()
    assert partial["applied"] is True and partial["counts"]["created"] == 3
    assert Client.query.filter_by(firm_id=firm_id).count() == 3
    changed = svc.post(f"/firms/{firm_id}/clients/bulk", json={"clients": [
        {"external_id": "cust-0001", "name": "Renamed OÜ"}]}).get_json()
    assert changed["updated"][0]["changed_fields"] == ["name"]


def test_a_firm_token_cannot_reach_the_service_api_or_another_firm(hub_app, svc, hub_db, serve):
    a = svc.put("/firms/by-external-id/a", json=FIRM).get_json()["id"]
    b = svc.put("/firms/by-external-id/b", json={**FIRM, "name": "B Books"}).get_json()["id"]
    svc.post(f"/firms/{b}/clients/bulk", json={"clients": clients_rows(2)})
    firm_token = auth.create_token(a, name="a", role="admin").secret
    firm_api = ApiClient(hub_app, firm_token)
    for method, path in [("GET", "/firms"), ("PUT", "/firms/by-external-id/a"), ("GET", f"/firms/{b}/clients"),
                         ("POST", f"/firms/{b}/clients/bulk"), ("POST", f"/firms/{a}/tokens")]:
        response = firm_api.request(method, path, json={})
        assert response.status_code == 403, (method, path, response.get_json())
    assert firm_api.get("/clients").get_json() == []  # firm A has none; B's two are not visible
    svc.post("/webhook-endpoints", json={"url": serve(Receiver()) + "/h"})
    assert firm_api.get("/webhook-endpoints").get_json() == []  # the host product's endpoint is not the firm's
    # a service token is bearer only, never from a browser
    assert svc.get("/firms", headers={"Origin": "https://evil.example"}).status_code == 403
    assert svc.get("/firms", token=None).status_code == 401
    assert svc.get("/firms", token="hubsvc_nope").status_code == 401


def test_deactivated_firm_and_user(svc, hub_app, hub_db):
    firm = svc.put("/firms/by-external-id/a", json=FIRM).get_json()
    user = svc.put(f"/firms/{firm['id']}/users/by-external-id/u", json=USERS["u-1"]).get_json()
    token = auth.create_token(firm["id"], name="a", role="admin").secret
    assert ApiClient(hub_app, token).get("/clients").status_code == 200
    assert svc.put("/firms/by-external-id/a", json={**FIRM, "active": False}).get_json()["active"] is False
    assert ApiClient(hub_app, token).get("/clients").status_code == 403
    svc.put("/firms/by-external-id/a", json={**FIRM, "active": True})
    # the firm's only active Owner is neither deactivated nor demoted: 409, and nothing changes
    for change in ({"active": False}, {"role": "admin"}):
        refused = svc.put(f"/firms/{firm['id']}/users/by-external-id/u", json={**USERS["u-1"], **change})
        assert refused.status_code == 409 and "only active Company Owner" in refused.get_json()["detail"]
    hub_db.session.expire_all()
    assert (hub_db.session.get(User, user["id"]).role, hub_db.session.get(User, user["id"]).active) == ("owner", True)
    svc.put(f"/firms/{firm['id']}/users/by-external-id/u2", json={**USERS["u-2"], "role": "owner"})
    assert svc.put(f"/firms/{firm['id']}/users/by-external-id/u",
                   json={**USERS["u-1"], "active": False}).get_json()["active"] is False
    invite = svc.post(f"/firms/{firm['id']}/users/{user['id']}/invite")
    assert invite.status_code == 422


def test_user_email_must_be_unique_and_fields_are_validated(svc, hub_db):
    firm_id = svc.put("/firms/by-external-id/a", json=FIRM).get_json()["id"]
    svc.put(f"/firms/{firm_id}/users/by-external-id/u1", json=USERS["u-1"])
    clash = svc.put(f"/firms/{firm_id}/users/by-external-id/u2", json=USERS["u-1"])
    assert clash.status_code == 409 and "email" in clash.get_json()["errors"]  # a conflict with stored data
    bad = svc.put("/firms/by-external-id/b", json={"name": "X", "country": "Estonia", "timezone": "Mars/Base"})
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"country", "timezone"}
    assert WebhookDelivery.query.count() == 0


def test_invite_link_sets_a_password_once(svc, hub_app, hub_db):
    import re

    firm_id = svc.put("/firms/by-external-id/a", json=FIRM).get_json()["id"]
    user = svc.put(f"/firms/{firm_id}/users/by-external-id/u", json=USERS["u-1"]).get_json()
    url = svc.post(f"/firms/{firm_id}/users/{user['id']}/invite").get_json()["set_password_url"]
    path = url[url.index("/set-password/"):]
    browser = hub_app.test_client()
    page = browser.get(path).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    short = browser.post(path, data={"password": "short", "confirm": "short", "csrf_token": csrf})
    assert "at least 10 characters" in short.get_data(as_text=True)
    done = browser.post(path, data={"password": "a-good-password", "confirm": "a-good-password", "csrf_token": csrf})
    assert done.status_code == 302
    assert svc.get(f"/firms/{firm_id}/users").get_json()[0]["has_password"] is True
    assert browser.get(path).status_code == 404  # used once
    assert hub_app.test_client().get(path[:-3] + "xyz").status_code == 404  # tampered
