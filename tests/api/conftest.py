"""Fixtures for the /api/v1 tests: a firm (from tests/conftest.py), a second firm, API tokens and a client
that sends them."""

import pytest

from hub.api import auth
from hub.models import Client, Firm

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}


class ApiClient:
    """``api.get("/vendors")`` → the test client's response, with the bearer token and /api/v1 prefix."""

    def __init__(self, app, token: str | None):
        self.client = app.test_client()
        self.token = token

    def request(self, method: str, path: str, *, token: str | None = "default", headers=None, **kwargs):
        headers = dict(headers or {})
        token = self.token if token == "default" else token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


@pytest.fixture(autouse=True)
def _no_waiting(hub_app, monkeypatch):
    """Nothing works the queue while a request waits: answer 202 at once unless a test says otherwise."""
    monkeypatch.setitem(hub_app.config, "HUB_API_WAIT", 0)


@pytest.fixture
def admin_token(firm):
    return auth.create_token(firm.id, name="admin script", role="admin")


@pytest.fixture
def api(hub_app, admin_token):
    """An API client with an admin token of ``firm``."""
    return ApiClient(hub_app, admin_token.secret)


@pytest.fixture
def member_api(hub_app, firm):
    return ApiClient(hub_app, auth.create_token(firm.id, name="reader", role="member").secret)


@pytest.fixture
def other_firm(hub_db):
    """Firm B, with one client and its own admin token."""
    firm_b = Firm(name="Other Firm AS", country="NO", timezone="Europe/Oslo", plan="team")
    hub_db.session.add(firm_b)
    hub_db.session.flush()
    client = Client(firm_id=firm_b.id, name="B Client")
    hub_db.session.add(client)
    hub_db.session.commit()
    return firm_b


@pytest.fixture
def other_api(hub_app, other_firm):
    return ApiClient(hub_app, auth.create_token(other_firm.id, name="firm B", role="admin").secret)


@pytest.fixture
def wait_runs_inline(hub_app, monkeypatch, run_jobs):
    """Requests that wait for a worker get their answer: the jobs run in-process while they wait."""
    from hub import catalog, connections, linking
    from hub.models import db

    def wait_for(run, timeout):
        run_jobs()
        db.session.refresh(run)
        return run

    monkeypatch.setitem(hub_app.config, "HUB_API_WAIT", 5)
    monkeypatch.setattr(connections, "wait_for", wait_for)
    monkeypatch.setattr(linking, "wait_for", wait_for)
    monkeypatch.setattr(catalog, "wait_for", wait_for)
