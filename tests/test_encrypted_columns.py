"""One registry of encrypted columns (issue 26.5): every column holding vault output is declared ``Encrypted`` in
hub.models; ``flask hub rotate-keys`` walks exactly those; vault output anywhere else fails a test."""

import re

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from hub import connections, oauth, webhooks
from hub.api import auth, service_auth
from hub.models import (
    Client,
    ClientConnection,
    CredentialDraft,
    Integration,
    User,
    WebhookEndpoint,
    db,
    encrypted_columns,
)
from hub.vault import TOKEN_PREFIX, Vault, VaultError
from hub.vendor_accounts import vendor_of
from tests.api.conftest import ApiClient
from tests.api.test_service_api import Receiver, independent_verify
from tests.test_oauth import authorise
from tests.web.conftest import Pages

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}
TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{40,}={0,2}")


def registered() -> set[str]:
    return {f"{c.table.name}.{c.name}" for c in encrypted_columns()}


@pytest.fixture
def everything(hub_app, firm, example_integration, hub_db, run_jobs, serve, monkeypatch):
    """One of everything that may hold a secret, made through the real flows: firm credentials, a client's own
    credentials, a draft (a test of unsaved values), a webhook endpoint and a delivery to it, API and service
    tokens, a signed-in browser session, an OAuth grant."""
    from hub_oauthexample import sandbox as oauth_sandbox
    monkeypatch.setitem(hub_app.config, "HUB_API_WAIT", 0)
    monkeypatch.setitem(hub_app.config, "HUB_WEBHOOKS_ALLOW_PRIVATE", True)
    api = ApiClient(hub_app, auth.create_token(firm.id, name="setup", role="admin").secret)
    client = Client.query.filter_by(firm_id=firm.id).order_by(Client.id).first()
    assert api.put("/integrations/example/credentials", json={"credentials": GOOD}).status_code == 200
    assert api.put(f"/integrations/example/connections/{client.id}/credentials",
                   json={"credentials": {"api_key": "client-key-0001", "company": "client-co"}}).status_code == 200
    assert api.post("/integrations/example/test-connection",
                    json={"credentials": {"api_key": "ex-draft-key-0003", "company": "acme"}}).status_code == 202
    receiver = Receiver()
    created = api.post("/webhook-endpoints", json={"url": serve(receiver) + "/hook"})
    assert created.status_code == 201
    assert api.post("/tokens", json={"name": "script", "role": "member"}).status_code == 201
    _, service_secret = service_auth.create_service_token("host")
    service = ApiClient(hub_app, service_secret)
    assert service.post(f"/firms/{firm.id}/tokens", json={"name": "minted", "role": "admin"}).status_code == 201
    Pages(hub_app.test_client()).sign_in("owner@test.example", "owner-pass")
    run_jobs()
    webhooks.emit(firm.id, "reload.finished", {"run_id": 1})
    run_jobs()
    assert receiver.requests, "a delivery was signed with the stored secret"
    assert CredentialDraft.query.count() == 1
    for name, value in oauth_sandbox.DEMO_SETTINGS.items():
        monkeypatch.setenv(f"HUB_OAUTHEXAMPLE_{name.upper()}", value)
    origin = serve(oauth_sandbox.create_app())
    connected = connections.get_or_create_integration(firm.id, "oauthexample")
    connected.settings = {"origin": origin}
    hub_db.session.commit()
    connections.set_enabled(connected, True)
    owner = User.query.filter_by(firm_id=firm.id, role="owner").one()
    oauth.complete(vendor_of(connected).info, owner, authorise(connected, owner), origin)
    return {"endpoint": WebhookEndpoint.query.one(), "secret": created.get_json()["secret"], "receiver": receiver}


def tokens_in(value) -> list[str]:
    if isinstance(value, str):
        return TOKEN.findall(value)
    if isinstance(value, dict):
        return [t for v in [*value.keys(), *value.values()] for t in tokens_in(v)]
    if isinstance(value, list | tuple):
        return [t for v in value for t in tokens_in(v)]
    return []


def columns_holding_vault_output(vault: Vault) -> set[str]:
    """Every column of every table in which some row holds a token the vault decrypts (in any string or JSON)."""
    found = set()
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            for (value,) in db.session.execute(select(column).where(column.isnot(None))):
                for token in tokens_in(value):
                    try:
                        vault.decrypt(token)
                    except VaultError:
                        continue
                    found.add(f"{table.name}.{column.name}")
    return found


def test_vault_output_is_stored_only_in_registered_columns(hub_app, everything):
    found = columns_holding_vault_output(hub_app.extensions["hub"].vault)
    assert found - registered() == set(), "vault output stored in a column not declared Encrypted (hub.models)"
    assert registered() - found == set(), "a registered column the set-up did not fill: extend `everything`"
    assert registered() == {"integration.secret_credentials", "client_connection.secret_credentials",
                            "credential_draft.secret_credentials", "webhook_endpoint.secret", "oauth_grant.tokens"}


def test_rotate_keys_covers_every_registered_column(hub_app, hub_db, everything, run_jobs):
    services = hub_app.extensions["hub"]
    old_vault, new_key = services.vault, Vault.generate_key()
    services.vault = Vault([new_key, *old_vault._keys])
    try:
        result = hub_app.test_cli_runner().invoke(args=["hub", "rotate-keys", "--batch-size", "1"])
        assert result.exit_code == 0, result.output
        *per_column, total = result.output.splitlines()
        assert sorted(per_column) == ["client_connection.secret_credentials: 1 re-encrypted",
                                      "credential_draft.secret_credentials: 1 re-encrypted",
                                      "integration.secret_credentials: 1 re-encrypted",
                                      "oauth_grant.tokens: 1 re-encrypted",
                                      "webhook_endpoint.secret: 1 re-encrypted"]
        assert total == "re-encrypted 5 stored secrets in 5 columns"
        services.vault = Vault([new_key])  # the old key dropped, as the README says
        hub_db.session.expire_all()
        for column in encrypted_columns():
            values = db.session.execute(select(column).where(column.isnot(None))).scalars().all()
            assert values, column
            for value in values:
                services.vault.decrypt(value)  # raises VaultError if any was left on the old key
        endpoint = everything["endpoint"]
        assert webhooks.endpoint_secret(endpoint) == everything["secret"]
        receiver = everything["receiver"]
        before = len(receiver.requests)
        webhooks.emit(endpoint.firm_id, "reload.finished", {"run_id": 2})
        run_jobs()
        assert len(receiver.requests) == before + 1
        last = receiver.requests[-1]
        assert independent_verify(everything["secret"], last["headers"], last["body"])
        assert Integration.query.filter_by(vendor="example").one().secret_credentials
        assert ClientConnection.query.one().secret_credentials
    finally:
        services.vault = old_vault


def test_rotate_keys_says_what_it_could_not_decrypt_and_fails(hub_app, hub_db, firm, example_integration):
    from hub import connections

    connections.save_credentials(example_integration, GOOD)
    endpoint, _ = webhooks.create_endpoint(firm.id, "https://93.184.216.34/hook")
    endpoint.secret = Vault([Vault.generate_key()]).encrypt({"secret": "lost"})  # a key nobody has any more
    hub_db.session.commit()
    result = hub_app.test_cli_runner().invoke(args=["hub", "rotate-keys"])
    assert result.exit_code == 1
    assert "integration.secret_credentials: 1 re-encrypted" in result.output
    assert (f"webhook_endpoint.secret: 0 re-encrypted; 1 NOT re-encrypted, cannot be decrypted with the "
            f"configured keys (id {endpoint.id})") in result.output
    assert "re-encrypted 1 stored secrets in 5 columns" in result.output
    assert "1 stored secret(s) NOT re-encrypted: keep the old keys" in result.output


def test_an_encrypted_column_refuses_anything_but_vault_output(hub_db, example_integration):
    example_integration.secret_credentials = '{"api_key": "in clear"}'
    with pytest.raises(StatementError, match="stores vault output only"):
        hub_db.session.commit()
    hub_db.session.rollback()
