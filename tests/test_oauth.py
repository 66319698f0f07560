"""OAuth 2.0 vendors (contract 1.2, issue 30): connect with state and PKCE, tokens kept encrypted, refresh under the
grant's row lock, a revoked or reused grant → needs attention, Reconnect. Against the example OAuth vendor's sandbox
(the kit's authorisation server, hub.testing.oauth_server), served on loopback."""

import datetime as dt
import multiprocessing
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hub_oauthexample import sandbox

from hub import connections, oauth
from hub.errors import AuthError, ConfigError, TransientError
from hub.models import OAuthGrant, User, db
from hub.services import services
from hub.vendor_accounts import account_run, call_vendor, firm_account, vendor_of

REDIRECT = "https://hub.test/settings/apps/oauthexample/oauth/callback"


@pytest.fixture
def oauth_sandbox(serve, monkeypatch):
    for name, value in sandbox.DEMO_SETTINGS.items():
        monkeypatch.setenv(f"HUB_OAUTHEXAMPLE_{name.upper()}", value)
    app = sandbox.create_app()
    return app, serve(app)


@pytest.fixture
def provider(oauth_sandbox):
    return oauth_sandbox[0].extensions["oauth"]


@pytest.fixture
def knobs(oauth_sandbox):
    return oauth_sandbox[0].extensions["sandbox"].update_knobs


@pytest.fixture
def integration(routed_integration, oauth_sandbox):
    return routed_integration("oauthexample", oauth_sandbox[1])


@pytest.fixture
def admin(firm):
    return User.query.filter_by(firm_id=firm.id, role="owner").one()


def authorise(integration, user) -> dict[str, str]:
    """Start the flow and follow the browser to the sandbox's authorisation page: the callback's query."""
    info = vendor_of(integration).info
    url = oauth.begin(integration, info, user, REDIRECT, integration.settings["origin"])
    answer = httpx.get(url)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def connect(integration, user, run_jobs, hub_db):
    oauth.complete(vendor_of(integration).info, user, authorise(integration, user), integration.settings["origin"])
    run = connections.test_connection(integration, user=user)
    run_jobs()
    hub_db.session.refresh(run)
    hub_db.session.refresh(integration)
    return run


def lookup(integration, run_jobs, hub_db):
    run = connections.lookup_clients(integration, "Client")
    run_jobs()
    hub_db.session.refresh(run)
    hub_db.session.refresh(integration)
    return run


def test_connect_sends_state_and_pkce_and_stores_the_tokens_encrypted(integration, admin, provider, run_jobs, hub_db):
    info = vendor_of(integration).info
    url = oauth.begin(integration, info, admin, REDIRECT, integration.settings["origin"])
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["redirect_uri"] == [REDIRECT] and query["scope"] == ["books.read invoices.write"]

    run = connect(integration, admin, run_jobs, hub_db)
    assert run.status == "succeeded", run.error
    assert integration.status == "ok" and integration.account_name == "Demo Books OÜ"
    grant = OAuthGrant.query.filter_by(integration_id=integration.id).one()
    access = services().vault.decrypt(grant.tokens)["access_token"]
    assert access not in grant.tokens and grant.connected_by == admin.id
    assert provider.bearer is not None and len(provider.live_grants()) == 1
    # the plugin never saw a token: ctx.http sent it
    api = [r for r in provider.sandbox.requests if r.path == "/v1/me"]
    assert api[-1].headers["authorization"] == f"Bearer {access}"


def test_a_callback_is_refused_unless_its_state_is_the_admins_own_and_unused(integration, admin, firm, hub_db):
    info = vendor_of(integration).info
    other = User(firm_id=firm.id, email="admin2@test.example", role="admin", name="Admin 2")
    other.set_password("x")
    hub_db.session.add(other)
    hub_db.session.commit()
    args = authorise(integration, admin)
    with pytest.raises(ConfigError, match="another user"):
        oauth.complete(info, other, args, integration.settings["origin"])
    with pytest.raises(ConfigError, match="unknown, expired or was already used"):
        oauth.complete(info, admin, args, integration.settings["origin"])  # the state is spent
    with pytest.raises(ConfigError, match="unknown"):
        oauth.complete(info, admin, {"state": "made-up", "code": "x"}, integration.settings["origin"])
    denied = authorise(integration, admin)
    with pytest.raises(ConfigError, match="did not authorise"):
        oauth.complete(info, admin, {"state": denied["state"], "error": "access_denied"},
                       integration.settings["origin"])
    assert OAuthGrant.query.count() == 0


def test_an_expiring_token_is_refreshed_and_the_rotated_refresh_token_kept(integration, admin, provider, knobs,
                                                                            run_jobs, hub_db):
    knobs({"oauth_access_ttl": 30})  # within the hub's leeway: every use refreshes first
    connect(integration, admin, run_jobs, hub_db)
    first = services().vault.decrypt(OAuthGrant.query.one().tokens)
    assert lookup(integration, run_jobs, hub_db).status == "succeeded"
    hub_db.session.expire_all()
    second = services().vault.decrypt(OAuthGrant.query.one().tokens)
    assert provider.refreshes >= 2 and second["refresh_token"] != first["refresh_token"]
    assert len(provider.live_grants()) == 1 and integration.status == "ok"


def test_a_reused_refresh_token_revokes_the_grant_needs_attention_and_reconnect_restores(
        integration, admin, provider, knobs, run_jobs, hub_db):
    connect(integration, admin, run_jobs, hub_db)
    spent = services().vault.decrypt(OAuthGrant.query.one().tokens)["refresh_token"]
    knobs({"oauth_access_ttl": 30})
    grant = OAuthGrant.query.one()
    grant.expires_at = dt.datetime(2000, 1, 1)
    hub_db.session.commit()
    assert lookup(integration, run_jobs, hub_db).status == "succeeded"  # refreshed: ``spent`` is rotated away
    # someone presents the spent refresh token again: the provider revokes the whole grant (reuse detection)
    answer = httpx.post(integration.settings["origin"] + "/oauth/token", headers={"Host": "login.oauth-example.test"},
                        data={"grant_type": "refresh_token", "refresh_token": spent},
                        auth=("demo-client", "demo-secret"))
    assert answer.json()["error"] == "invalid_grant" and not provider.live_grants()
    run = lookup(integration, run_jobs, hub_db)
    assert run.status == "failed" and run.error["kind"] == "auth"
    assert integration.status == "needs_attention" and "Reconnect" in integration.last_error["hint"]
    hub_db.session.expire_all()
    assert OAuthGrant.query.one().revoked_at is not None
    assert not oauth.connected(integration)
    knobs({"oauth_access_ttl": 3600})
    assert connect(integration, admin, run_jobs, hub_db).status == "succeeded"
    assert integration.status == "ok" and oauth.connected(integration)


def test_a_revoked_grant_needs_attention(integration, admin, knobs, run_jobs, hub_db):
    connect(integration, admin, run_jobs, hub_db)
    knobs({"oauth_revoked": True})
    run = lookup(integration, run_jobs, hub_db)
    assert run.status == "failed" and integration.status == "needs_attention"
    # the 401 made the hub try a refresh, which the provider refused: the grant is recorded as revoked at once
    assert "Reconnect" in integration.last_error["hint"] and not oauth.connected(integration)
    knobs({"oauth_revoked": False})
    assert connect(integration, admin, run_jobs, hub_db).status == "succeeded" and integration.status == "ok"


def test_a_token_the_vendor_refuses_before_its_expiry_is_refreshed_once_and_the_work_goes_on(
        integration, admin, provider, run_jobs, hub_db):
    connect(integration, admin, run_jobs, hub_db)
    before, stored = provider.refreshes, services().vault.decrypt(OAuthGrant.query.one().tokens)
    for token in provider.tokens:  # revoked on the vendor's side (or its clock runs ahead): the hub still trusts it
        token.expires_in = 0
    assert lookup(integration, run_jobs, hub_db).status == "succeeded"
    assert provider.refreshes == before + 1 and integration.status == "ok"
    hub_db.session.expire_all()
    assert services().vault.decrypt(OAuthGrant.query.one().tokens)["access_token"] != stored["access_token"]


def test_a_token_endpoint_out_of_reach_is_said_in_words(integration, admin, run_jobs, hub_db):
    connect(integration, admin, run_jobs, hub_db)
    tokens = services().vault.decrypt(OAuthGrant.query.one().tokens)
    with pytest.raises(TransientError) as caught:
        oauth._refresh(vendor_of(integration).info, "http://127.0.0.1:9", tokens)
    assert caught.value.message.startswith("Could not reach OAuth Example's token endpoint: ")
    assert "Error" not in caught.value.message  # words, not an exception's class name


def test_an_auth_error_from_the_refresh_is_recorded_by_call_vendor(integration, admin, knobs, run_jobs, hub_db):
    connect(integration, admin, run_jobs, hub_db)
    grant = OAuthGrant.query.one()
    grant.expires_at = dt.datetime(2000, 1, 1)
    hub_db.session.commit()
    knobs({"oauth_revoked": True})
    run = account_run("list_clients", firm_account(integration), params={"query": ""}, enqueue=False)
    with pytest.raises(AuthError) as caught:
        call_vendor(run, "hub_list_clients", query="")
    assert caught.value.failed_account[1] == integration.id  # named for hub.health.record_failure


def test_without_the_operators_client_id_connect_says_what_to_set(integration, admin, monkeypatch):
    monkeypatch.delenv("HUB_OAUTHEXAMPLE_OAUTH_CLIENT_ID")
    with pytest.raises(ConfigError) as caught:
        oauth.begin(integration, vendor_of(integration).info, admin, REDIRECT, None)
    assert "HUB_OAUTHEXAMPLE_OAUTH_CLIENT_ID" in caught.value.hint


# -- two worker processes refreshing at once -------------------------------------------------------------------
def _refresh_in_child(app, integration_id, origin, barrier, results):  # noqa: ANN001
    with app.app_context():
        db.engine.dispose(close=False)  # the parent's connections are not this process's
        info = services().registry.get("oauthexample").info
        barrier.wait()
        try:
            results.put(oauth.access_token(integration_id, info, origin)[0])
        except Exception as exc:  # reported to the parent
            results.put(f"error: {exc!r}")


@pytest.mark.slow
def test_two_worker_processes_refreshing_at_once_keep_one_valid_grant(hub_app, integration, admin, provider, knobs,
                                                                      run_jobs, hub_db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks (SELECT … FOR UPDATE) are PostgreSQL's; set HUB_TEST_DATABASE_URL")
    connect(integration, admin, run_jobs, hub_db)
    grant = OAuthGrant.query.one()
    grant.expires_at = dt.datetime(2000, 1, 1)
    hub_db.session.commit()
    before = provider.refreshes
    knobs({"oauth_token_latency_ms": 300})  # the first refresh is still out when the second worker asks
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_refresh_in_child,
                               args=(hub_app, integration.id, integration.settings["origin"], barrier, results))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    tokens = [results.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join(10)
        assert worker.exitcode == 0
    assert not any(t.startswith("error") for t in tokens), tokens
    assert tokens[0] == tokens[1], "the second worker waited for the lock and used the first one's token"
    assert provider.refreshes == before + 1 and len(provider.live_grants()) == 1
    assert lookup(integration, run_jobs, hub_db).status == "succeeded"
