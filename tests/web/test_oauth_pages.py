"""The Connect tab of an OAuth 2.0 vendor (issue 30): "Connect with …" → the vendor's authorisation page (the kit's
authorisation server) → back connected; a revoked grant shows "needs attention" and Reconnect restores it."""

import os
from urllib.parse import urlsplit

import httpx
import pytest

CONNECT = "/settings/apps/oauthexample/connect"


@pytest.fixture
def oauth_vendor(serve, monkeypatch, hub_app):
    from hub_oauthexample import sandbox

    for name, value in sandbox.DEMO_SETTINGS.items():
        monkeypatch.setenv(f"HUB_OAUTHEXAMPLE_{name.upper()}", value)
    app = sandbox.create_app()
    monkeypatch.setenv("HUB_OAUTHEXAMPLE_ORIGIN", serve(app))
    monkeypatch.setitem(hub_app.config, "HUB_TEST_CONNECTION_WAIT", 0)
    return app


def connect_with_vendor(owner, run_jobs) -> str:
    """Click Connect with OAuth Example, let the vendor's page answer, follow it back; the Connect tab's text."""
    started = owner.post("/settings/apps/oauthexample/oauth/start", token_from=CONNECT)
    assert started.status_code == 302
    authorised = httpx.get(started.headers["Location"])  # the browser at the vendor: approved, sent back
    assert authorised.status_code == 302
    back = urlsplit(authorised.headers["Location"])
    assert back.path == "/settings/apps/oauthexample/oauth/callback"
    done = owner.get(f"{back.path}?{back.query}")
    assert done.status_code == 302
    run_jobs()  # the connection test
    return owner.text(CONNECT)


def test_connect_with_the_vendor_and_back_connected_then_reconnect_after_a_revocation(owner, oauth_vendor,
                                                                                      run_jobs):
    owner.post("/settings/apps/oauthexample/enable")
    page = owner.text(CONNECT)
    assert "Connect with OAuth Example" in page and "Paste each credential" not in page
    policy = owner.get(CONNECT).headers["Content-Security-Policy"]
    assert f"form-action 'self' {os.environ['HUB_OAUTHEXAMPLE_ORIGIN']}" in policy, "the form may go to the vendor"
    page = connect_with_vendor(owner, run_jobs)
    assert "Connected with OAuth Example to Demo Books OÜ" in page
    oauth_vendor.extensions["oauth"].revoke_all()
    owner.post("/settings/apps/oauthexample/connect", {"action": "test"})  # any call through the account
    run_jobs()
    page = owner.text(CONNECT)
    assert "OAuth Example needs attention: it no longer accepts the hub's authorisation" in page
    assert ">Reconnect<" in page
    page = connect_with_vendor(owner, run_jobs)
    assert "Connected with OAuth Example to Demo Books OÜ" in page


def test_a_callback_of_another_admins_sign_in_is_refused(owner, oauth_vendor, hub_app, web_firm, in_app):
    from hub.models import User

    with in_app() as db:
        admin = User(firm_id=web_firm, email="admin2@test.example", role="admin", name="Admin 2")
        admin.set_password("admin2-pass")
        db.session.add(admin)
        db.session.commit()
    owner.post("/settings/apps/oauthexample/enable")
    started = owner.post("/settings/apps/oauthexample/oauth/start", token_from=CONNECT)
    back = urlsplit(httpx.get(started.headers["Location"]).headers["Location"])
    from tests.web.conftest import Pages

    other = Pages(hub_app.test_client())
    other.sign_in("admin2@test.example", "admin2-pass")
    refused = other.get(f"{back.path}?{back.query}", follow_redirects=True)
    assert "started by another user" in refused.get_data(as_text=True)
    assert "Connected with" not in owner.text(CONNECT)


def test_without_the_operators_app_the_tab_says_what_to_set(owner, oauth_vendor, monkeypatch):
    monkeypatch.delenv("HUB_OAUTHEXAMPLE_OAUTH_CLIENT_ID")
    owner.post("/settings/apps/oauthexample/enable")
    page = owner.text(CONNECT)
    assert "HUB_OAUTHEXAMPLE_OAUTH_CLIENT_ID" in page and "Connect with OAuth Example</button>" not in page
