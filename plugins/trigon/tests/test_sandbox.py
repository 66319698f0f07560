"""The sandbox itself: auth, validation, control endpoints, knobs, seed."""

import httpx
import pytest
from hub_trigon import sandbox

PROD = "https://api.trigon.ee"
TEST = "https://api-test.trigon.ee"


def headers(creds=sandbox.DEMO_CREDENTIALS):
    return {"X-Trigon-Id-Token": creds["id_token"], "X-Trigon-Api-Key": creds["api_key"]}


@pytest.fixture
def http(app):
    with httpx.Client(transport=httpx.WSGITransport(app=app)) as client:
        yield client


def test_missing_auth_headers(http):
    response = http.get(f"{PROD}/v1/me")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_credentials"


def test_credentials_only_work_in_their_environment(http):
    assert http.get(f"{PROD}/v1/me", headers=headers()).status_code == 200
    assert http.get(f"{TEST}/v1/me", headers=headers()).json()["error"] == "invalid_credentials"
    assert http.get(f"{TEST}/v1/me", headers=headers(sandbox.TEST_ENV_CREDENTIALS)).status_code == 200


def test_expired_and_revoked(http):
    expired = http.get(f"{PROD}/v1/me", headers=headers(sandbox.EXPIRED_CREDENTIALS))
    assert (expired.status_code, expired.json()["error"]) == (401, "token_expired")
    revoked = http.get(f"{PROD}/v1/me", headers=headers(sandbox.REVOKED_CREDENTIALS))
    assert (revoked.status_code, revoked.json()["error"]) == (401, "invalid_credentials")


def test_revoked_and_expired_knobs_name_api_keys(http, state):
    state.update_knobs({"revoked": [sandbox.DEMO_CREDENTIALS["api_key"]]})
    revoked = http.get(f"{PROD}/v1/me", headers=headers())
    assert (revoked.status_code, revoked.json()["error"]) == (401, "invalid_credentials")
    state.update_knobs({"revoked": [], "expired": [sandbox.DEMO_CREDENTIALS["api_key"]]})
    expired = http.get(f"{PROD}/v1/me", headers=headers())
    assert (expired.status_code, expired.json()) == (401, {"error": "token_expired",
                                                           "message": "The ID token has expired."})
    assert http.get(f"{PROD}/v1/me", headers=headers(sandbox.BIG_CREDENTIALS)).status_code == 200


def test_today_knob_moves_expiry():
    app = sandbox.create_app(today="2026-12-02")
    with httpx.Client(transport=httpx.WSGITransport(app=app)) as http:
        answer = http.get(f"{PROD}/v1/me", headers=headers(sandbox.EXPIRING_SOON_CREDENTIALS))
    assert answer.json()["error"] == "token_expired"


def test_me_shape(http):
    assert http.get(f"{PROD}/v1/me", headers=headers()).json() == {
        "organisation": {"id": "org-1001", "name": "Demo Raamatupidamine OÜ", "regCode": "14567890"},
        "tokenExpiresAt": "2027-05-31"}


@pytest.mark.parametrize("query", ["perPage=101", "perPage=0", "page=0", "page=x"])
def test_client_paging_validation(http, query):
    response = http.get(f"{PROD}/v1/clients?{query}", headers=headers())
    assert response.status_code == 422
    assert response.json()["error"] == "validation_failed"


def test_client_paging_envelope(http):
    body = http.get(f"{PROD}/v1/clients?page=2&perPage=20", headers=headers()).json()
    assert body["page"] == 2 and body["hasMore"] is False and len(body["items"]) == 16
    assert set(body["items"][0]) == {"id", "name", "regCode", "vatNumber", "addresses", "contacts"}


@pytest.mark.parametrize("query", ["", "from=2026-01", "from=2026-13&to=2026-12", "from=2026-05&to=2026-01",
                                   "from=2024-01&to=2026-01", "from=2026-1&to=2026-02"])
def test_volumes_validation(http, query):
    response = http.get(f"{PROD}/v1/clients/1001/volumes?{query}", headers=headers())
    assert response.status_code == 422
    assert set(response.json()) == {"error", "message"}


def test_volumes_shape(http):
    body = http.get(f"{PROD}/v1/clients/1001/volumes?from=2026-10&to=2026-11", headers=headers()).json()
    assert [p["period"] for p in body["periods"]] == ["2026-10", "2026-11"]
    assert set(body["periods"][0]) == {"period", "incomingPayments", "outgoingPayments", "cardTransactions",
                                       "documents", "cachedAt"}
    assert body["periods"][0]["cachedAt"] == "2026-10-15T03:00:00Z"  # stale: built mid-month


def test_refresh_validation_and_ownership(http):
    url = f"{PROD}/v1/clients/1001/volumes:refresh"
    assert http.post(url, headers=headers(), content=b"nope").status_code == 422
    assert http.post(url, headers=headers(), json={"from": "2026-01"}).status_code == 422
    assert http.post(f"{PROD}/v1/clients/2001/volumes:refresh", headers=headers(),
                     json={"from": "2026-01", "to": "2026-02"}).status_code == 404
    started = http.post(url, headers=headers(), json={"from": "2026-01", "to": "2026-02"})
    assert started.status_code == 202
    refresh_id = started.json()["refreshId"]
    other_org = http.get(f"{PROD}/v1/refreshes/{refresh_id}", headers=headers(sandbox.BIG_CREDENTIALS))
    assert other_org.status_code == 404
    assert http.get(f"{PROD}/v1/refreshes/{refresh_id}", headers=headers()).json()["status"] == "pending"
    assert http.get(f"{PROD}/v1/refreshes/{refresh_id}", headers=headers()).json()["status"] == "done"


def test_unknown_endpoint_is_json(http):
    response = http.get(f"{PROD}/v1/invoices", headers=headers())
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_control_endpoints(http, state):
    http.get(f"{PROD}/v1/me", headers=headers())
    http.get(f"{PROD}/v1/me")
    assert http.get("http://127.0.0.1/_sandbox/requests").json() == {"total": 2, "by_status": {"200": 1, "401": 1}}
    assert http.post("http://127.0.0.1/_sandbox/knobs", json={"fault": "500"}).status_code == 200
    assert http.get(f"{PROD}/v1/me", headers=headers()).status_code == 500
    assert http.post("http://127.0.0.1/_sandbox/knobs", json={"nope": 1}).status_code == 422
    http.post("http://127.0.0.1/_sandbox/knobs", json={"fault": None})
    state.cache[("1001", "2026-09")]["values"] = state.true_volumes("1001", "2026-09")
    assert http.post("http://127.0.0.1/_sandbox/reset").json() == {"ok": True}
    assert http.get("http://127.0.0.1/_sandbox/requests").json() == {"total": 0, "by_status": {}}
    assert state.cached_volumes("1001", "2026-09") != state.true_volumes("1001", "2026-09")  # stale again


def test_unknown_knob_is_refused():
    with pytest.raises(TypeError):
        sandbox.create_app(nope=True)


def test_seed_is_deterministic_and_covers_two_years():
    one, two = sandbox.create_app().extensions["sandbox"], sandbox.create_app().extensions["sandbox"]
    assert one.clients == two.clients and one.truth == two.truth and one.cache == two.cache
    assert len(one.organisations) == 4
    assert sum(len(c) for c in one.clients.values()) == 286
    periods = {p for (_, p) in one.truth}
    assert min(periods) == "2025-01" and max(periods) == "2026-12"
    yearly = sum(one.true_volumes("1001", p)["incomingPayments"] for p in sandbox.periods_between("2025-01", "2025-12"))
    assert yearly == YEARLY_INCOMING_1001_2025


YEARLY_INCOMING_1001_2025 = 237  # pinned from the fixed seed
