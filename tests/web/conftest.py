"""Helpers for the page tests (Flask's test client) and the browser tests."""

import re

import pytest


class Pages:
    """A signed-in test client with CSRF-aware helpers."""

    def __init__(self, client):
        self.client = client

    def token(self, path="/login") -> str:
        page = self.client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def sign_in(self, email, password):
        return self.client.post("/login", data={"email": email, "password": password, "csrf_token": self.token()})

    def get(self, path, **kw):
        return self.client.get(path, **kw)

    def text(self, path) -> str:
        response = self.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response.get_data(as_text=True)

    def post(self, path, data=None, *, token_from=None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.token(token_from or "/settings/apps"))
        return self.client.post(path, data=data, **kw)


@pytest.fixture
def pages(hub_app, web_firm):
    return Pages(hub_app.test_client())


@pytest.fixture
def owner(pages):
    pages.sign_in("owner@test.example", "owner-pass")
    return pages


@pytest.fixture
def member(hub_app, web_firm):
    p = Pages(hub_app.test_client())
    p.sign_in("member@test.example", "member-pass")
    return p


@pytest.fixture
def in_app(hub_app):
    """``with in_app() as db:`` — a short app context for arranging and checking state."""
    from contextlib import contextmanager

    from hub.models import db

    @contextmanager
    def ctx():
        with hub_app.app_context():
            yield db
            db.session.remove()

    return ctx


@pytest.fixture
def run_jobs(run_jobs, hub_app):
    """The hub's ``run_jobs`` inside a short app context (page tests hold none of their own)."""
    from hub.models import db

    def run(timeout: float = 10.0) -> int:
        with hub_app.app_context():
            try:
                return run_jobs(timeout)
            finally:
                db.session.remove()

    return run
