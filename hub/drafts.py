"""Credential drafts: what the admin typed but is not stored. Changing credentials never replaces working ones with
failing ones: what the admin types is a :class:`CredentialDraft` (secrets encrypted, never rendered back) until it is
stored::

    entered  --Test connection--> testing --ok--> tested --Save--> stored (draft deleted)
       ^                             \\--refused--> entered (with the vendor's error)
       |  (a field error on the form keeps the typed secrets here)
    Save (untested values) --> testing, save requested --ok--> stored (draft deleted)
                                   \\--refused--> rejected (the stored credentials stay active; the vendor's
                                                 error and a notification) --"Replace anyway"--> stored

The test itself is :func:`hub.connections.test_connection`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import marshmallow

from hub import audit, redaction
from hub import credentials as creds
from hub.health import Owner, record_outcome, record_test
from hub.models import (
    ClientConnection,
    CredentialDraft,
    Integration,
    SyncRun,
    User,
    db,
)
from hub.notify import notify
from hub.services import services
from hub.vendor_accounts import store_credentials, stored_credentials, vendor_of

DRAFT_TTL = dt.timedelta(hours=1)  # a draft nobody saved (typed, or tested and left)
REJECTED_DRAFT_TTL = dt.timedelta(days=7)  # a Save the vendor refused: kept for "Replace anyway"


def owner_of_draft(draft: CredentialDraft) -> Owner:
    integration = db.session.get(Integration, draft.integration_id)
    if draft.client_connection_id:
        return db.session.get(ClientConnection, draft.client_connection_id)
    return integration


def find_draft(integration: Integration, connection: ClientConnection | None,
               draft_id: int | None) -> CredentialDraft | None:
    """The draft ``draft_id`` if it belongs to exactly this integration (and client connection)."""
    draft = db.session.get(CredentialDraft, draft_id) if draft_id else None
    if draft is None or draft.integration_id != integration.id or \
            draft.client_connection_id != (connection.id if connection else None):
        return None
    return draft


def rejected_draft(integration: Integration, connection: ClientConnection | None) -> CredentialDraft | None:
    """The newest Save the vendor refused for this owner (shown until replaced anyway, discarded or expired)."""
    return CredentialDraft.query.filter_by(
        integration_id=integration.id, client_connection_id=connection.id if connection else None,
        state="rejected").order_by(CredentialDraft.id.desc()).first()


def draft_credentials(draft: CredentialDraft | None) -> dict[str, Any]:
    return stored_credentials(draft) if draft is not None else {}


def with_draft_secrets(schema: type[marshmallow.Schema], submitted: dict[str, Any],
                       draft: CredentialDraft | None) -> dict[str, Any]:
    """``submitted`` with blank secret fields taken from ``draft`` (the secret typed earlier, kept encrypted
    server-side: the page never holds it)."""
    if draft is None:
        return submitted
    typed = draft_credentials(draft)
    out = dict(submitted)
    for name in creds.secret_fields(schema):
        if not str(out.get(name) or "").strip() and typed.get(name):
            out[name] = typed[name]
    return out


def keep_typed(integration: Integration, submitted: dict[str, Any], *, connection: ClientConnection | None = None,
               draft: CredentialDraft | None = None, user: User | None = None) -> CredentialDraft | None:
    """The form had an error: keep the secrets that were typed (encrypted) so they are not lost — the next
    Test connection or Save uses them. Returns the draft, or ``None`` when no secret was typed."""
    schema = vendor_of(integration).schema
    secret_names = creds.secret_fields(schema)
    cleaned = creds.strip_whitespace(submitted)
    typed = {k: v for k, v in cleaned.items() if k in secret_names and v}
    if not typed and draft is None:
        return None
    secrets = {k: v for k, v in draft_credentials(draft).items() if k in secret_names}
    secrets.update(typed)
    if draft is None:
        draft = CredentialDraft(integration_id=integration.id,
                                client_connection_id=connection.id if connection else None)
        db.session.add(draft)
    redaction.register_secrets(list(secrets.values()))
    draft.public_credentials = {k: v for k, v in cleaned.items() if k not in secret_names}
    draft.secret_credentials = services().vault.encrypt(secrets) if secrets else None
    draft.state, draft.save_requested, draft.error = "entered", False, None
    draft.user_id = user.id if user else draft.user_id
    db.session.commit()
    return draft


def discard_draft(draft: CredentialDraft, *, user: User | None = None) -> None:
    integration = db.session.get(Integration, draft.integration_id)
    db.session.delete(draft)
    db.session.commit()
    audit.record(integration.firm_id, "credentials.draft_discarded", owner_of_draft(draft) or integration, user=user)


def replace_anyway(draft: CredentialDraft, *, user: User | None = None) -> Owner:
    """The admin chose to store credentials the vendor refused: they replace the stored ones and the
    owner needs attention with the vendor's error (nothing is tested again silently)."""
    integration, owner, changes = _store_draft(draft)
    record_outcome(owner, draft.error or {"kind": "auth", "message": "The new credentials were not tested."})
    db.session.delete(draft)
    db.session.commit()
    audit.record(integration.firm_id, "credentials.replaced_anyway", owner, user=user, details=changes)
    return owner


def _store_draft(draft: CredentialDraft) -> tuple[Integration, Owner, dict[str, list[str]]]:
    """Store the draft's values as its owner's credentials (not committed); returns the integration, the owner
    and which fields changed (for the audit trail: names only, never values)."""
    integration = db.session.get(Integration, draft.integration_id)
    owner = owner_of_draft(draft)
    schema = vendor_of(integration).schema
    data = stored_credentials(draft)
    before = stored_credentials(owner) if owner.has_credentials else {}
    store_credentials(owner, schema, data)
    changed = sorted(k for k in data if before.get(k) != data.get(k))
    return integration, owner, {"changed_fields": changed,
                                "secret_fields_changed": sorted(set(changed) & creds.secret_fields(schema))}


def apply_draft(draft: CredentialDraft, run: SyncRun, result: dict[str, Any]) -> None:
    """A Save whose test passed: the draft becomes the owner's credentials."""
    integration, owner, changes = _store_draft(draft)
    record_test(owner, result)
    user = db.session.get(User, draft.user_id) if draft.user_id else None
    db.session.delete(draft)
    db.session.commit()
    audit.record(integration.firm_id, "credentials.saved", owner, user=user,
                 details={**changes, "tested_run_id": run.id})


def draft_test_finished(run: SyncRun) -> None:
    """A refused test of a draft: the draft keeps the vendor's error; a refused Save also notifies."""
    if run.kind != "test_connection" or run.status != "failed":
        return
    draft = db.session.get(CredentialDraft, (run.params or {}).get("draft_id") or 0)
    if draft is None or draft.run_id != run.id:
        return
    draft.error = run.error
    draft.state = "rejected" if draft.save_requested else "entered"
    if draft.save_requested:
        integration = db.session.get(Integration, draft.integration_id)
        name = vendor_of(integration).info.name
        owner = owner_of_draft(draft)
        kept = "The saved credentials are still in use." if owner is not None and owner.has_credentials \
            else "Nothing was saved."
        link = (f"/clients/{owner.client_id}/integration?vendor={integration.vendor}"
                if isinstance(owner, ClientConnection) else f"/settings/apps/{integration.vendor}/connect")
        notify(run.firm_id, f"New {name} credentials were not saved", level="error", link=link,
               user_id=run.requested_by_id,
               body=f"{name} refused them: {(run.error or {}).get('message', 'the test failed')} {kept}")
    db.session.commit()

