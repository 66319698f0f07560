"""Secrets masked as whole tokens (and only values long enough to be secrets); everything a vendor sends back
is masked before it is stored or shown; Redis key names do not carry a plain hash of the credentials; the demo
admin's password file is private."""

import datetime as dt
import hashlib
import json
import stat

import pytest

from hub import connections, exports, linking, redaction
from hub.context import account_key
from hub.models import Client, Notification, SyncRun

SECRET = "ex-echo-key-9876"


def test_a_secret_is_masked_only_as_a_whole_token():
    redaction.register_secret("abc123def456")
    assert redaction.mask("key abc123def456 refused") == "key [redacted] refused"
    assert redaction.mask("key=abc123def456&x=1") == "key=[redacted]&x=1"
    assert redaction.mask('"abc123def456"') == '"[redacted]"'
    assert redaction.mask("xabc123def456") == "xabc123def456", "part of a longer token is not this secret"
    assert redaction.mask("abc123def4567") == "abc123def4567"


def test_short_values_are_not_secrets_to_mask():
    """A test password ``wrong`` must not turn "the password is wrong" into "the password is [redacted]"."""
    redaction.register_secrets(["wrong", "demo", "1234567"])
    assert redaction.mask("The password is wrong for demo user 1234567.") == \
        "The password is wrong for demo user 1234567."
    assert len("12345678") == redaction.MIN_LENGTH
    redaction.register_secret("12345678")
    assert redaction.mask("pin 12345678") == "pin [redacted]"


def test_mask_structure_masks_every_string_keys_included():
    redaction.register_secret("struct-secret-42")
    value = {"message": "bad struct-secret-42", "field_messages": {"struct-secret-42": ["is struct-secret-42"]},
             "n": 3, "none": None, "list": [("struct-secret-42", 1)]}
    assert redaction.mask_structure(value) == {
        "message": "bad [redacted]", "field_messages": {"[redacted]": ["is [redacted]"]}, "n": 3, "none": None,
        "list": [["[redacted]", 1]]}


def test_account_key_is_keyed_with_the_instance_secret():
    credentials = {"api_key": "short1", "company": "acme"}
    plain = hashlib.sha256(json.dumps(["x", sorted(credentials.items())]).encode()).hexdigest()[:20]
    one, two = account_key("x", credentials, "secret-one"), account_key("x", credentials, "secret-two")
    assert one != two and plain not in one and one.startswith("x-")
    assert one == account_key("x", dict(reversed(list(credentials.items()))), "secret-one"), "stable"


def test_demo_admin_password_file_is_private(hub_app, hub_db, tmp_path, monkeypatch):
    from hub import demo

    monkeypatch.setattr(hub_app, "instance_path", str(tmp_path))
    password = demo._demo_password()
    path = tmp_path / "demo-admin.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text().strip() == password
    path.chmod(0o644)  # written by an older hub
    assert demo._demo_password() == password
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# -- what a vendor echoes back ----------------------------------------------------------------------
@pytest.fixture
def echoing_vendor(example_integration, firm, hub_db, run_jobs, serve, monkeypatch):
    """The example vendor, whose invoice endpoint refuses with field messages that echo the API key."""
    from flask import jsonify, request
    from hub_example import sandbox

    from hub import catalog

    app = sandbox.create_app()
    monkeypatch.setitem(sandbox.KEYS, SECRET, "acme")  # the sandbox knows this key too

    @app.before_request
    def echo():  # noqa: ANN202
        if request.method == "POST" and request.path.endswith("/invoices"):
            key = request.headers.get("X-Api-Key")
            return jsonify(errors={"number": [f"Key {key} may not export."], key: [f"{key} is unknown"]}), 422
        return None

    example_integration.settings = {"origin": serve(app)}
    hub_db.session.commit()
    connections.save_credentials(example_integration, {"api_key": SECRET, "company": "acme"})
    client = Client.query.filter_by(firm_id=firm.id).order_by(Client.id).first()
    linking.link_client(None, client_id=client.id, integration=example_integration, vendor_client_id="1")
    catalog.refresh(example_integration, "tax_rate")
    run_jobs()
    return {"integration": example_integration, "client": client, "firm": firm}


def test_field_messages_echoing_a_secret_are_masked_everywhere(echoing_vendor, run_jobs, hub_db, hub_app):
    from hub.api import auth

    invoice = exports.create_invoice(
        echoing_vendor["firm"].id, echoing_vendor["client"].id, number="E-1", issue_date=dt.date(2026, 11, 20),
        due_date=dt.date(2026, 12, 4), lines=[{"description": "Bookkeeping", "quantity": "1",
                                               "unit_price": "100", "vat_rate": "24"}])
    [export] = exports.issue_invoice(invoice)
    run_jobs()
    hub_db.session.refresh(export)
    run = SyncRun.query.filter_by(kind="export").one()
    note = Notification.query.one()
    assert export.status == "failed" and run.status == "failed"
    stored = json.dumps([export.last_error, run.error, note.title, note.body])
    assert SECRET not in stored and "[redacted]" in stored
    assert run.error["field_messages"]["number"] == ["Key [redacted] may not export."]

    member = auth.create_token(echoing_vendor["firm"].id, name="reader", role="member").secret
    client = hub_app.test_client()
    for path in ("/api/v1/runs", f"/api/v1/runs/{run.id}", "/api/v1/exports", f"/api/v1/exports/{export.id}"):
        response = client.get(path, headers={"Authorization": f"Bearer {member}"})
        assert response.status_code == 200, path
        assert SECRET not in response.get_data(as_text=True), path
