"""API tokens: created once, stored hashed, scoped to a firm, roles, revocation, 401 vs 403, the CLI."""

import hashlib

from hub.api import auth
from hub.models import ApiToken, AuditEvent


def test_no_token_is_401_with_problem_and_challenge(api):
    response = api.get("/vendors", token=None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 401 and body["title"] == "Unauthorized" and body["instance"] == "/api/v1/vendors"


def test_wrong_scheme_unknown_and_revoked_tokens_are_401(api, admin_token, hub_db):
    assert api.get("/vendors", token=None, headers={"Authorization": f"Basic {admin_token.secret}"}).status_code == 401
    assert api.get("/vendors", token="hub_not-a-real-token").status_code == 401
    assert api.get("/vendors", token="something-else").status_code == 401
    assert api.get("/vendors").status_code == 200
    auth.revoke_token(admin_token.token)
    assert api.get("/vendors").status_code == 401


def test_token_is_stored_as_sha256_and_records_last_use(api, admin_token, hub_db):
    row = hub_db.session.get(ApiToken, admin_token.token.id)
    assert row.token_hash == hashlib.sha256(admin_token.secret.encode()).hexdigest()
    assert admin_token.secret not in (row.prefix, row.name, row.token_hash)
    assert row.prefix == admin_token.secret[:12]
    assert row.last_used_at is None
    api.get("/vendors")
    hub_db.session.refresh(row)
    assert row.last_used_at is not None


def test_member_token_reads_but_cannot_change(member_api):
    assert member_api.get("/integrations").status_code == 200
    response = member_api.patch("/integrations/example", json={"enabled": True})
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert member_api.post("/custom-fields", json={"name": "X"}).status_code == 403
    assert member_api.get("/tokens").status_code == 403


def test_role_check_comes_before_body_validation(member_api):
    assert member_api.post("/tokens", json={"role": "nope"}).status_code == 403


def test_admin_creates_lists_and_revokes_tokens(api, hub_db, firm):
    response = api.post("/tokens", json={"name": "billing", "role": "member"})
    assert response.status_code == 201
    created = response.get_json()
    assert created["token"].startswith("hub_") and created["role"] == "member" and created["prefix"]
    new_client_headers = {"Authorization": f"Bearer {created['token']}"}
    assert api.client.get("/api/v1/integrations", headers=new_client_headers).status_code == 200

    listed = api.get("/tokens").get_json()
    assert {t["name"] for t in listed} == {"admin script", "billing"}
    assert all("token" not in t for t in listed), "the token is shown once, at creation"
    assert created["token"] not in api.get("/tokens").get_data(as_text=True)

    assert api.delete(f"/tokens/{created['id']}").status_code == 204
    assert api.delete(f"/tokens/{created['id']}").status_code == 204, "revoking twice is harmless"
    assert api.client.get("/api/v1/integrations", headers=new_client_headers).status_code == 401
    revoked = [t for t in api.get("/tokens").get_json() if t["id"] == created["id"]][0]
    assert revoked["revoked_at"] is not None
    actions = {e.action for e in AuditEvent.query.filter_by(firm_id=firm.id)}
    assert {"api_token.created", "api_token.revoked"} <= actions


def test_token_validation_errors_are_field_level(api):
    response = api.post("/tokens", json={"role": "owner"})
    assert response.status_code == 422
    body = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert body["type"] == "urn:hub:problem:validation"
    assert set(body["errors"]) == {"name", "role"}


def test_another_firms_token_is_404(api, other_firm, hub_db):
    theirs = auth.create_token(other_firm.id, name="theirs", role="admin")
    assert api.delete(f"/tokens/{theirs.token.id}").status_code == 404
    assert api.delete("/tokens/999999").status_code == 404
    hub_db.session.refresh(theirs.token)
    assert theirs.token.revoked_at is None


def test_cli_creates_and_revokes_a_token(hub_app, firm, hub_db):
    runner = hub_app.test_cli_runner()
    result = runner.invoke(args=["hub", "api-token", "create", "--firm", str(firm.id), "--role", "admin",
                                 "--name", "ops"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    token = auth.find_token(secret)
    assert token is not None and token.role == "admin" and token.firm_id == firm.id and token.name == "ops"
    result = runner.invoke(args=["hub", "api-token", "revoke", str(token.id)])
    assert result.exit_code == 0, result.output
    assert auth.find_token(secret) is None


def test_cli_rejects_an_unknown_firm(hub_app, hub_db):
    result = hub_app.test_cli_runner().invoke(args=["hub", "api-token", "create", "--firm", "999", "--name", "x"])
    assert result.exit_code != 0 and "no firm 999" in result.output
