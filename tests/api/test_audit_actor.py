"""The audit actor is whoever acted (issue 26.4): a change made with a firm API token names the token, one made with
the host product's service token names that — on the events and on the Audit trail page."""

import re

from sqlalchemy import func

from hub import audit
from hub.api import service_auth
from hub.models import AuditEvent, Client, db
from tests.api.conftest import ApiClient
from tests.web.conftest import Pages

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}
#: What a firm's script does through the API, and the sentence the Audit trail page says for it.
ACTIONS = {
    "integration.enabled": "Example Books enabled",
    "credentials.saved": "Credentials saved for Example Books",
    "client.linked": "Client 1 linked to Example Books",
    "summary_settings.saved": "Summary task settings saved for Example Books",
    "reload.started": "Reload started for Example Books",
    "invoice.issued": "Invoice 2026-0001 issued",
    "export.retried": "Export of invoice 2026-0001 retried",
}


def audit_row(page: str, text: str) -> str:
    rows = [r for r in re.findall(r"<tr data-event=.*?</tr>", page, re.S) if text in r]
    assert rows, f"no audit row with {text!r}"
    return rows[0]


def audit_page(hub_app) -> str:
    owner = Pages(hub_app.test_client())
    owner.sign_in("owner@test.example", "owner-pass")
    return owner.text("/settings/audit")


def test_changes_made_with_an_api_token_name_the_token(hub_app, api, admin_token, example_integration, firm, hub_db,
                                                       run_jobs):
    client = Client.query.filter_by(firm_id=firm.id).order_by(Client.id).first()
    before = db.session.query(func.max(AuditEvent.id)).scalar()  # the set-up's own (the hub's) events
    assert api.patch("/integrations/example", json={"enabled": True}).status_code == 200
    assert api.put("/integrations/example/credentials", json={"credentials": GOOD}).status_code == 200
    assert api.put(f"/integrations/example/connections/{client.id}", json={"vendor_client_id": "1"}).status_code == 200
    field = api.post("/custom-fields", json={"name": "Documents"}).get_json()
    assert api.put("/integrations/example/summary-settings",
                   json={"mapping": {"documents": field["id"]}}).status_code == 200
    assert api.post("/integrations/example/reload", json={}).status_code == 202
    invoice = api.post("/invoices", json={
        "client_id": client.id, "number": "2026-0001", "issue_date": "2026-11-20", "due_date": "2026-12-04",
        "lines": [{"description": "Bookkeeping", "quantity": "1", "unit_price": "100.00", "vat_rate": "13"}]})
    export = api.post(f"/invoices/{invoice.get_json()['id']}/issue").get_json()["exports"][0]
    run_jobs()  # the export fails: VAT 13 % is not mapped
    assert api.get(f"/exports/{export['id']}").get_json()["status"] == "failed"
    assert api.post(f"/exports/{export['id']}/retry").status_code == 202

    events = AuditEvent.query.filter(AuditEvent.action.in_(ACTIONS), AuditEvent.id > before).all()
    assert {e.action for e in events} == set(ACTIONS)
    assert {(e.action, e.actor, e.user_id) for e in events} == {
        (action, f"api-token:{admin_token.token.id}", None) for action in ACTIONS}
    page = audit_page(hub_app)
    for sentence in ACTIONS.values():
        assert "<td>API token “admin script”</td>" in audit_row(page, sentence), sentence
    assert audit.current_actor() == audit.SYSTEM, "nothing after the requests acts as the token"


def test_changes_made_with_the_service_token_name_it(hub_app, firm, hub_db):
    token, secret = service_auth.create_service_token("practice app")
    host = ApiClient(hub_app, secret)
    response = host.put(f"/firms/{firm.id}/users/by-external-id/u-7", json={"email": "new@test.example", "name": "Uus"})
    assert response.status_code == 201, response.get_json()
    assert host.put(f"/firms/{firm.id}/clients/by-external-id/c-9", json={"name": "Host Client OÜ"}).status_code == 201
    events = AuditEvent.query.filter(AuditEvent.action.in_(("user.created", "client.created"))).all()
    assert {(e.action, e.actor, e.user_id) for e in events} == {
        ("user.created", f"service-token:{token.id}", None), ("client.created", f"service-token:{token.id}", None)}
    page = audit_page(hub_app)
    for sentence in ("User Uus added", "Client Host Client OÜ added"):
        assert "<td>The host system (service token “practice app”)</td>" in audit_row(page, sentence)


def test_a_token_that_is_also_signed_in_is_audited_as_the_token(hub_app, api, admin_token, example_integration,
                                                                 hub_db):
    """A browser session cookie sent with a bearer token does not make the change the person's."""
    api.client = Pages(hub_app.test_client()).client
    Pages(api.client).sign_in("owner@test.example", "owner-pass")
    assert api.patch("/integrations/example", json={"enabled": False}).status_code == 200
    event = AuditEvent.query.filter_by(action="integration.disabled").one()
    assert (event.actor, event.user_id) == (f"api-token:{admin_token.token.id}", None)
