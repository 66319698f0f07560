"""Web security: no open redirect after sign-in, sign-in throttling and equal-cost rejection, revocable
sessions, security headers, the cookie's Secure flag, the request-body limit."""

import re
import statistics
import time

import pytest

from tests.web.conftest import Pages

OWNER, OWNER_PW = "owner@test.example", "owner-pass"


def sign_in(client, email, password, *, query=""):
    return Pages(client).client.post("/login" + query, data={"email": email, "password": password,
                                                              "csrf_token": Pages(client).token()})


@pytest.mark.parametrize("target", [
    "%2F%09%2Fevil.example",          # "/\t/evil.example": browsers drop the tab → //evil.example
    "%2F%0A%2Fevil.example", "%2F%0D%2Fevil.example",
    "%2F%5Cevil.example",             # "/\\evil.example": browsers read the backslash as a slash
    "%5C%5Cevil.example", "%2F%2Fevil.example", "https%3A%2F%2Fevil.example", "%2F%20%2Fevil.example",
])
def test_next_never_leads_off_site(hub_app, web_firm, target):
    response = sign_in(hub_app.test_client(), OWNER, OWNER_PW, query=f"?next={target}")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/settings/apps", location


def test_next_on_site_is_kept(hub_app, web_firm):
    response = sign_in(hub_app.test_client(), OWNER, OWNER_PW, query="?next=%2Fclients%3Fpage%3D2")
    assert response.headers["Location"] == "/clients?page=2"


# -- throttling -------------------------------------------------------------------------------------
def test_wrong_passwords_slow_their_address_and_never_lock_the_owner_out(hub_app, web_firm):
    """Five wrong guesses from one address stop that address for the account (the right password too, from
    there); the owner signing in from elsewhere is not kept out."""
    client = hub_app.test_client()
    for _ in range(5):
        assert sign_in(client, OWNER, "guess").status_code == 200
    response = sign_in(client, OWNER, OWNER_PW)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in response.get_data(as_text=True)
    owner = hub_app.test_client()  # the owner, at another address
    response = owner.post("/login", data={"email": OWNER, "password": OWNER_PW, "csrf_token": Pages(owner).token()},
                          environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert response.status_code == 302


def test_one_address_is_throttled_across_accounts(hub_app, web_firm):
    client = hub_app.test_client()
    for i in range(20):
        assert sign_in(client, f"nobody{i}@test.example", "guess").status_code == 200
    assert sign_in(client, OWNER, OWNER_PW).status_code == 429


def test_successful_sign_ins_are_not_counted(hub_app, web_firm):
    client = hub_app.test_client()
    for _ in range(8):
        assert sign_in(client, OWNER, OWNER_PW).status_code == 302


def test_unknown_e_mail_costs_a_password_check_too(production_password_hashes, hub_app, web_firm, monkeypatch):
    """No user enumeration by timing: an unknown e-mail is rejected after the same hash work."""
    from hub.web import home

    checked = []
    real = home.check_password_hash
    monkeypatch.setattr(home, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    client = hub_app.test_client()
    assert sign_in(client, "nobody@test.example", "guess").status_code == 200
    assert len(checked) == 1 and checked[0].split("$")[0] == home._unknown_user_hash().split("$")[0]

    def timed(email):
        started = time.perf_counter()
        assert sign_in(client, email, "guess").status_code == 200
        return time.perf_counter() - started

    known = statistics.median(timed(OWNER) for _ in range(3))
    unknown = statistics.median(timed(f"nobody{i}@test.example") for i in range(3))
    assert unknown > known * 0.5, (known, unknown)


# -- sessions ---------------------------------------------------------------------------------------
def session_cookie(client) -> str:
    return client.get_cookie("session").value


def with_cookie(hub_app, value):
    client = hub_app.test_client()
    client.set_cookie("session", value)
    return client


def test_a_cookie_copied_before_sign_out_is_dead_after_it(hub_app, web_firm):
    client = hub_app.test_client()
    assert sign_in(client, OWNER, OWNER_PW).status_code == 302
    stolen = session_cookie(client)
    assert with_cookie(hub_app, stolen).get("/settings/apps").status_code == 200
    Pages(client).post("/logout")
    response = with_cookie(hub_app, stolen).get("/settings/apps")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_password_change_ends_every_session(hub_app, web_firm):
    laptop, phone = hub_app.test_client(), hub_app.test_client()
    sign_in(laptop, OWNER, OWNER_PW)
    sign_in(phone, OWNER, OWNER_PW)
    stolen = session_cookie(phone)
    pages = Pages(laptop)
    response = pages.post("/settings/password", {"current": OWNER_PW, "new": "a-new-password-1",
                                                 "confirm": "a-new-password-1"}, token_from="/settings/password")
    assert response.status_code == 302
    assert laptop.get("/settings/apps").status_code == 200, "who changed it stays signed in (a new session)"
    assert phone.get("/settings/apps").status_code == 302
    assert with_cookie(hub_app, stolen).get("/settings/apps").status_code == 302
    assert sign_in(hub_app.test_client(), OWNER, "a-new-password-1").status_code == 302


def test_password_change_checks_the_current_one(hub_app, web_firm):
    client = hub_app.test_client()
    sign_in(client, OWNER, OWNER_PW)
    page = Pages(client).post("/settings/password", {"current": "wrong", "new": "short", "confirm": "short"},
                              token_from="/settings/password").get_data(as_text=True)
    assert "not your current password" in page and "at least 10 characters" in page
    assert client.get("/settings/apps").status_code == 200


def test_an_admin_signs_a_user_out_everywhere(hub_app, web_firm, in_app):
    from hub.models import AuditEvent, User

    member = hub_app.test_client()
    sign_in(member, "member@test.example", "member-pass")
    assert member.get("/settings/apps").status_code == 200
    assert member.get("/settings/users").status_code == 403, "members may not"
    owner = hub_app.test_client()
    sign_in(owner, OWNER, OWNER_PW)
    page = Pages(owner).text("/settings/users")
    assert "member@test.example" in page and "1 session" in page
    with in_app():
        member_id = User.query.filter_by(email="member@test.example").one().id
    response = Pages(owner).post(f"/settings/users/{member_id}/sign-out", token_from="/settings/users")
    assert response.status_code == 302
    assert member.get("/settings/apps").status_code == 302
    assert owner.get("/settings/apps").status_code == 200
    with in_app():
        assert AuditEvent.query.filter_by(action="user.signed_out_everywhere", target_id=member_id).count() == 1


def test_another_firms_user_cannot_be_signed_out(hub_app, web_firm, in_app):
    from hub.models import Firm, User

    with in_app() as db:
        firm_b = Firm(name="B", country="NO", plan="team")
        db.session.add(firm_b)
        db.session.flush()
        user_b = User(firm_id=firm_b.id, email="b@test.example", role="owner")
        user_b.set_password("b-password-1")
        db.session.add(user_b)
        db.session.commit()
        user_b_id = user_b.id
    owner = hub_app.test_client()
    sign_in(owner, OWNER, OWNER_PW)
    assert Pages(owner).post(f"/settings/users/{user_b_id}/sign-out", token_from="/settings/users").status_code == 404


# -- headers, cookie, body limit ---------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/login", "/api/v1/vendors", "/api/v1/openapi.json", "/api/v1/docs"])
def test_security_headers(hub_app, path):
    response = hub_app.test_client().get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and re.search(r"default-src '(self|none)'", csp)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers, "no HSTS over plain HTTP"


def test_hsts_and_secure_cookie_over_tls(hub_app, web_firm):
    client = hub_app.test_client()
    page = client.get("/login", base_url="https://hub.example")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post("/login", base_url="https://hub.example", headers={"Referer": "https://hub.example/login"},
                           data={"email": OWNER, "password": OWNER_PW, "csrf_token": token})
    assert response.status_code == 302
    assert "; Secure" in response.headers["Set-Cookie"]


def test_no_secure_flag_over_plain_http_on_loopback(hub_app, web_firm):
    response = sign_in(hub_app.test_client(), OWNER, OWNER_PW)
    assert response.status_code == 302 and "Secure" not in response.headers["Set-Cookie"]


def test_the_docs_page_keeps_its_style_under_the_policy(hub_app):
    """The API's docs page has one inline style: its policy allows exactly that one (by hash)."""
    import base64
    import hashlib

    response = hub_app.test_client().get("/api/v1/docs")
    style = re.search(r"<style>(.*?)</style>", response.get_data(as_text=True), re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/login", "/api/v1/custom-fields"])
def test_big_bodies_are_refused_before_they_are_read(hub_app, path):
    response = hub_app.test_client().post(path, data=b"x" * (2 * 1024 * 1024),
                                          content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413


# -- proxy trust: one setting, HUB_PROXY_HOPS ---------------------------------------------------------------------
@pytest.fixture
def proxied_app(hub_app, hub_registry, web_firm):
    """The hub behind one trusted proxy (HUB_PROXY_HOPS=1), on the test's database and Redis."""
    from hub.app import create_app

    return create_app({"TESTING": True, "DATABASE_URL": hub_app.config["SQLALCHEMY_DATABASE_URI"],
                       "REDIS_URL": hub_app.extensions["hub"].redis_url, "SECRET_KEY": "test",
                       "HUB_SECRET_KEYS": hub_app.config["HUB_SECRET_KEYS"], "SESSION_COOKIE_SECURE": False,
                       "HUB_PROXY_HOPS": 1}, registry=hub_registry)


def test_behind_a_proxy_metrics_needs_its_token_whatever_the_address(proxied_app, monkeypatch):
    monkeypatch.delenv("HUB_METRICS_TOKEN", raising=False)
    client = proxied_app.test_client()
    forged = {"REMOTE_ADDR": "127.0.0.1"}
    response = client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}, environ_base=forged)
    assert response.status_code == 403 and b"HUB_METRICS_TOKEN" in response.data
    monkeypatch.setenv("HUB_METRICS_TOKEN", "scrape-token-123")
    assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}, environ_base=forged).status_code == 401
    ok = client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1", "Authorization": "Bearer scrape-token-123"})
    assert ok.status_code == 200


def test_behind_a_proxy_the_throttle_counts_the_address_the_proxy_saw(proxied_app):
    client = proxied_app.test_client()
    guesser = {"X-Forwarded-For": "203.0.113.7"}
    for _ in range(5):
        assert client.post("/login", headers=guesser, data={"email": OWNER, "password": "guess",
                                                            "csrf_token": Pages(client).token()}).status_code == 200
    assert client.post("/login", headers=guesser, data={"email": OWNER, "password": OWNER_PW,
                                                        "csrf_token": Pages(client).token()}).status_code == 429
    owner = proxied_app.test_client()
    response = owner.post("/login", headers={"X-Forwarded-For": "198.51.100.1"},
                          data={"email": OWNER, "password": OWNER_PW, "csrf_token": Pages(owner).token()})
    assert response.status_code == 302


def test_without_a_proxy_forwarded_headers_are_ignored(hub_app, web_firm):
    client = hub_app.test_client()
    for _ in range(5):
        sign_in(client, OWNER, "guess")
    response = client.post("/login", headers={"X-Forwarded-For": "198.51.100.1"},
                           data={"email": OWNER, "password": OWNER_PW, "csrf_token": Pages(client).token()})
    assert response.status_code == 429, "a forged X-Forwarded-For does not give a fresh address"
    page = hub_app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in page.headers


def test_gunicorn_trusts_no_forwarded_header_itself(monkeypatch):
    import runpy
    from pathlib import Path

    from gunicorn.config import Config

    conf = str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py")
    for hops in ("0", "2"):
        monkeypatch.setenv("HUB_PROXY_HOPS", hops)
        settings = runpy.run_path(conf)
        config = Config()
        for name in ("forwarded_allow_ips", "secure_scheme_headers"):
            config.set(name, settings[name])
        assert config.forwarded_allow_ips == [] and config.secure_scheme_headers == {}
    monkeypatch.setenv("HUB_PROXY_HOPS", "one")
    with pytest.raises(RuntimeError, match="HUB_PROXY_HOPS must be a whole number"):
        runpy.run_path(conf)


def test_the_icon_is_served(hub_app):
    client = hub_app.test_client()
    assert client.get("/favicon.ico", follow_redirects=True).status_code == 200
    assert 'rel="icon"' in client.get("/login").get_data(as_text=True)
