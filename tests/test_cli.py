"""`flask hub ...` commands."""

import json

from hub.models import Firm, User


def test_plugins_json_lists_installed_vendors(hub_app):
    result = hub_app.test_cli_runner().invoke(args=["hub", "plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["slug"]: row for row in json.loads(result.output)}
    assert rows["example"]["distribution"] == "hub-example"
    assert rows["example"]["capabilities"][:3] == ["test_connection", "client_lookup", "statistics"]
    assert rows["example"]["error"] is None


def test_plugins_text_shows_load_errors(hub_app, hub_registry):
    hub_registry.failures["ghost"] = __import__("hub.plugins", fromlist=["LoadFailure"]).LoadFailure(
        "ghost", "import failed: ImportError: no module", "hub-ghost", "9.9")
    try:
        result = hub_app.test_cli_runner().invoke(args=["hub", "plugins"])
    finally:
        del hub_registry.failures["ghost"]
    assert "ghost" in result.output and "NOT LOADED: import failed" in result.output
    assert "example" in result.output


def test_seed_demo_is_idempotent_and_prints_login(hub_app, hub_db, example_sandbox):
    runner = hub_app.test_cli_runner()
    origins = json.dumps({"example": example_sandbox[1]})
    first = runner.invoke(args=["hub", "seed-demo", "--origins", origins])
    second = runner.invoke(args=["hub", "seed-demo", "--origins", origins])
    assert first.exit_code == 0 and "demo admin: admin@demo.example" in first.output
    assert first.output == second.output
    assert Firm.query.count() == 2 and User.query.count() == 3, "the demo firm, and a Basic-plan firm"
    assert "member@demo.example (a Member)" in first.output
    members = {u.email: (u.role, u.firm.plan) for u in User.query}
    assert members == {"admin@demo.example": ("owner", "team"), "member@demo.example": ("member", "team"),
                       "basic@demo.example": ("owner", "basic")}
    basic = Firm.query.filter_by(plan="basic").one()
    assert not basic.integrations_allowed
    from hub.models import Integration

    integration = Integration.query.filter_by(vendor="example").one()
    assert integration.enabled and integration.has_credentials
    assert integration.settings["origin"] == example_sandbox[1]


def test_rotate_keys_reencrypts_with_the_newest_key(hub_app, hub_db, example_integration):
    from hub import connections
    from hub.vault import Vault

    connections.save_credentials(example_integration, {"api_key": "ex-good-key-0001", "company": "acme"})
    services = hub_app.extensions["hub"]
    old_vault = services.vault
    new_key = Vault.generate_key()
    services.vault = Vault([new_key, *old_vault._keys])
    try:
        result = hub_app.test_cli_runner().invoke(args=["hub", "rotate-keys"])
        assert "re-encrypted 1 stored secrets" in result.output
        hub_db.session.refresh(example_integration)
        assert Vault([new_key]).decrypt(example_integration.secret_credentials)["api_key"] == "ex-good-key-0001"
    finally:
        services.vault = old_vault


def test_sign_out_ends_every_session_of_a_user(hub_app, hub_db, firm):
    from hub import sessions

    owner = User.query.filter_by(email="owner@test.example").one()
    laptop, phone = sessions.start(owner), sessions.start(owner)
    result = hub_app.test_cli_runner().invoke(args=["hub", "sign-out", "Owner@test.example"])
    assert result.exit_code == 0 and "2 session(s) ended" in result.output, result.output
    assert sessions.resolve(laptop) is None and sessions.resolve(phone) is None
    result = hub_app.test_cli_runner().invoke(args=["hub", "sign-out", "nobody@test.example"])
    assert result.exit_code != 0 and "No user has the e-mail" in result.output


def test_user_deactivate_keeps_the_last_owner(hub_app, hub_db, firm):
    """``flask hub user deactivate`` refuses the firm's only active Owner (with the reason) and leaves them be."""
    runner = hub_app.test_cli_runner()
    refused = runner.invoke(args=["hub", "user", "deactivate", "owner@test.example"])
    assert refused.exit_code != 0 and "only active Company Owner" in refused.output
    hub_db.session.expire_all()
    assert User.query.filter_by(email="owner@test.example").one().active is True
    done = runner.invoke(args=["hub", "user", "deactivate", "member@test.example"])
    assert done.exit_code == 0, done.output
    hub_db.session.expire_all()
    assert User.query.filter_by(email="member@test.example").one().active is False


def test_commands_are_audited_as_the_command_line_and_only_while_they_run(hub_app, hub_db, firm):
    """An operator's command is "cli" on the audit trail; the hub's own work afterwards is "system" again."""
    from hub import audit
    from hub.models import AuditEvent

    result = hub_app.test_cli_runner().invoke(args=["hub", "user", "deactivate", "member@test.example"])
    assert result.exit_code == 0, result.output
    result = hub_app.test_cli_runner().invoke(args=["hub", "api-token", "create", "--firm", str(firm.id),
                                                    "--name", "nightly"])
    assert result.exit_code == 0, result.output
    events = AuditEvent.query.filter(AuditEvent.action.in_(("user.deactivated", "api_token.created"))).all()
    assert {(e.action, e.actor, e.user_id) for e in events} == {("user.deactivated", "cli", None),
                                                                ("api_token.created", "cli", None)}
    assert audit.current_actor() == audit.SYSTEM
