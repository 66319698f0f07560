"""The audit actor is whoever acted (issue 26.4): a change made on the pages names the signed-in person; a password
chosen from an invite link names the person it was for."""

import re

from tests.api.test_audit_actor import ACTIONS, audit_row
from tests.web.test_pages import configure_and_link, invoice_form, sandbox  # noqa: F401  (the sandbox fixture)


def test_changes_made_on_the_pages_name_the_person(owner, sandbox, run_jobs, in_app):  # noqa: F811
    from hub.models import AuditEvent, Invoice, InvoiceExport, User

    client_id = configure_and_link(owner, run_jobs, in_app)  # enable, credentials, summary settings, link
    owner.post("/settings/apps/example/reload", token_from="/settings/apps/example/reload")
    owner.post(f"/clients/{client_id}/invoices", invoice_form("2026-0001", ("Bookkeeping", "1", "100", "13")),
               token_from=f"/clients/{client_id}")
    with in_app():
        invoice_id = Invoice.query.one().id
    owner.post(f"/clients/{client_id}/invoices/{invoice_id}/issue")
    run_jobs()  # the export fails: VAT 13 % is not mapped
    with in_app():
        export = InvoiceExport.query.one()
        assert export.status == "failed"
        export_id = export.id
    response = owner.post(f"/clients/{client_id}/exports/{export_id}/retry", token_from=f"/clients/{client_id}")
    assert response.status_code == 302
    with in_app():
        person = User.query.filter_by(email="owner@test.example").one().id
        events = AuditEvent.query.filter(AuditEvent.action.in_(ACTIONS)).all()
        assert {e.action for e in events} == set(ACTIONS)
        assert {(e.action, e.actor, e.user_id) for e in events} == {(a, f"user:{person}", person) for a in ACTIONS}
    page = owner.text("/settings/audit")
    for sentence in ACTIONS.values():
        assert "<td>Owner</td>" in audit_row(page, sentence), sentence


def test_a_password_chosen_from_an_invite_link_is_the_invited_persons(pages, in_app):
    from hub import provisioning
    from hub.models import AuditEvent, User

    with in_app():
        member = User.query.filter_by(email="member@test.example").one()
        path = re.sub(r"^https?://[^/]+", "", provisioning.invite_link(member).url)
        member_id = member.id
    token = pages.token(path)
    response = pages.client.post(path, data={"password": "a-new-password", "confirm": "a-new-password",
                                             "csrf_token": token})
    assert response.status_code == 302
    with in_app():
        event = AuditEvent.query.filter_by(action="user.password_set").one()
        assert (event.actor, event.user_id) == (f"user:{member_id}", member_id)
