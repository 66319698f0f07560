"""Sign-in, roles, CSRF and the pages of the core."""

import re

import pytest


def csrf_token(client, path="/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def sign_in(client, email, password):
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)})


@pytest.fixture
def client(hub_app, web_firm):
    return hub_app.test_client()


def test_sign_in_and_see_settings_and_apps(client):
    response = sign_in(client, "owner@test.example", "owner-pass")
    assert response.status_code == 302
    page = client.get("/settings/apps").get_data(as_text=True)
    assert "Settings &amp; Apps" in page and "Example Books" in page


def test_wrong_password_is_refused(client):
    page = sign_in(client, "owner@test.example", "nope").get_data(as_text=True)
    assert "Wrong e-mail or password" in page
    assert client.get("/settings/apps").status_code == 302


def test_post_without_csrf_token_is_refused(client):
    assert client.post("/login", data={"email": "owner@test.example", "password": "owner-pass"}).status_code == 400


def test_plugins_page_is_for_admins_only(client, hub_app):
    sign_in(client, "member@test.example", "member-pass")
    assert client.get("/settings/plugins").status_code == 403
    other = hub_app.test_client()
    sign_in(other, "owner@test.example", "owner-pass")
    page = other.get("/settings/plugins").get_data(as_text=True)
    assert "hub-example" in page and "Loaded" in page


def test_open_redirect_is_refused(client):
    response = client.post("/login?next=//evil.example/", data={
        "email": "owner@test.example", "password": "owner-pass", "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/settings/apps"
