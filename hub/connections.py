"""Integrations and client connections: credentials, enable/disable, test connection and client lookup.

State machine (DESIGN §4)::

    not_configured --save--> untested --a call succeeds (Test connection or any other)--> ok
                                  \\--AuthError/ConfigError--> needs_attention --a call succeeds--> ok
    ok --AuthError/ConfigError--> needs_attention     any --save--> untested (unless the test of these values passed)
    any --disable--> disabled --enable--> untested (or not_configured without credentials)

``ok``/``needs_attention`` are the outcome of the latest call through the account (:mod:`hub.health`). What the
admin types before it is stored: :mod:`hub.drafts`. Which account a call goes to, and the call:
:mod:`hub.vendor_accounts`. Linking clients: :mod:`hub.linking`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from typing import Any

from flask import current_app

from hub import audit
from hub import credentials as creds
from hub.drafts import DRAFT_TTL, apply_draft, draft_test_finished, with_draft_secrets
from hub.errors import ConfigError
from hub.health import Owner, record_failure, record_test
from hub.jobs import Kind, register, start_run, wait_for
from hub.models import (
    DISABLED,
    NOT_CONFIGURED,
    UNTESTED,
    ClientConnection,
    CredentialDraft,
    Integration,
    SyncRun,
    User,
    db,
    utcnow,
)
from hub.services import services
from hub.vendor_accounts import call_vendor, run_account, store_credentials, stored_credentials, vendor_of


# -- credentials -------------------------------------------------------------------------------
def candidate(integration: Integration, submitted: dict[str, Any], connection: ClientConnection | None = None) -> dict:
    """Validated candidate credentials: ``submitted`` merged with what is stored (blank secret keeps
    the stored one). Raises ``marshmallow.ValidationError`` with field messages."""
    schema = vendor_of(integration).schema
    owner = connection if connection is not None else integration
    stored = stored_credentials(owner) if owner.has_credentials else {}
    return creds.validate(schema, creds.merge_for_edit(schema, submitted, stored))


def save_credentials(integration: Integration, submitted: dict[str, Any], *, connection: ClientConnection | None = None,
                     user: User | None = None, tested_run: SyncRun | None = None) -> Owner:
    """Validate and store credentials (encrypted). If ``tested_run`` is a successful test of exactly
    these values, the connection becomes ``ok``; otherwise ``untested`` and a test is enqueued."""
    schema = vendor_of(integration).schema
    owner: Owner = connection if connection is not None else integration
    before = stored_credentials(owner) if owner.has_credentials else {}
    data = candidate(integration, submitted, connection)
    before_public = dict(owner.public_credentials or {})
    store_credentials(owner, schema, data)
    if connection is not None and (owner.public_credentials or {}) != before_public:
        connection.linked_at = utcnow()  # another account: what the old one imported may be overwritten
    changed = sorted(k for k in data if before.get(k) != data.get(k))
    owner.last_error = None
    tested_ok = (tested_run is not None and tested_run.status == "succeeded"
                 and tested_run.kind == "test_connection" and _draft_matches(tested_run, data))
    if tested_ok:
        record_test(owner, tested_run.result or {})  # the latest outcome of exactly these credentials
        tested_draft = db.session.get(CredentialDraft, (tested_run.params or {}).get("draft_id") or 0)
        if tested_draft is not None:
            db.session.delete(tested_draft)  # stored now: nothing left to keep
    else:  # every save is followed by a test (also re-saving the same values after a failure)
        owner.status = UNTESTED if integration.enabled or connection is not None else DISABLED
    db.session.commit()
    audit.record(integration.firm_id, "credentials.saved", owner, user=user,
                 details={"changed_fields": changed, "secret_fields_changed":
                          sorted(set(changed) & creds.secret_fields(schema))})
    if not tested_ok and owner.status == UNTESTED:
        start_run("test_connection", firm_id=integration.firm_id, integration_id=integration.id,
                  client_connection_id=connection.id if connection else None, trigger="save",
                  user_id=user.id if user else None)
    return owner


def passed_test_of(run: SyncRun | None, integration: Integration, submitted: dict[str, Any],
                   connection: ClientConnection | None = None) -> bool:
    """Whether ``run`` is a passing Test connection of exactly the values ``submitted`` amounts to (then Save
    needs no second test)."""
    if run is None or run.status != "succeeded" or run.kind != "test_connection":
        return False
    return _draft_matches(run, candidate(integration, submitted, connection))


def _draft_matches(run: SyncRun, data: dict[str, Any]) -> bool:
    fingerprint = (run.result or {}).get("fingerprint")
    return fingerprint is not None and fingerprint == _fingerprint(data)


def _fingerprint(data: dict[str, Any]) -> str:
    """Identifies tested credentials without revealing them (keyed with the app's secret key)."""
    message = json.dumps(sorted(data.items()), default=str).encode()
    return hmac.new(current_app.secret_key.encode(), message, hashlib.sha256).hexdigest()


# -- enable, disable ---------------------------------------------------------------------------
def set_enabled(integration: Integration, enabled: bool, *, user: User | None = None) -> None:
    if enabled and not integration.firm.integrations_allowed:
        raise ConfigError("Integrations are available on the Team plan and above.",
                          hint="Upgrade the firm's plan to enable integrations.")
    integration.enabled = enabled
    if not enabled:
        integration.status = DISABLED
    else:
        integration.status = UNTESTED if integration.has_credentials else NOT_CONFIGURED
    db.session.commit()
    audit.record(integration.firm_id, "integration.enabled" if enabled else "integration.disabled",
                 integration, user=user)


def get_or_create_integration(firm_id: int, vendor: str) -> Integration:
    services().registry.get(vendor)  # raises ConfigError for an unknown vendor
    integration = Integration.query.filter_by(firm_id=firm_id, vendor=vendor).one_or_none()
    if integration is None:
        integration = Integration(firm_id=firm_id, vendor=vendor, enabled=False, status=NOT_CONFIGURED, settings={})
        db.session.add(integration)
        db.session.commit()
    return integration


# -- test connection ---------------------------------------------------------------------------
def test_connection(integration: Integration, submitted: dict[str, Any] | None = None, *,
                    connection: ClientConnection | None = None, user: User | None = None,
                    wait: float | None = None, trigger: str = "user", draft: CredentialDraft | None = None,
                    save: bool = False) -> SyncRun:
    """Test stored credentials, or ``submitted`` ones merged with them (before save; blank secrets come from
    ``draft`` first, then from what is stored). With ``save``, the values are stored once the vendor
    accepts them (a refusal leaves the stored credentials as they are: a rejected draft). Runs on a
    worker; waits up to ``wait`` seconds for the answer (the run may still be queued after that)."""
    params: dict[str, Any] = {}
    if submitted is not None or save:
        schema = vendor_of(integration).schema
        data = candidate(integration, with_draft_secrets(schema, submitted or {}, draft), connection)
        CredentialDraft.query.filter(CredentialDraft.state != "rejected",
                                     CredentialDraft.created_at < utcnow() - DRAFT_TTL).delete()
        if draft is None:
            draft = CredentialDraft(integration_id=integration.id,
                                    client_connection_id=connection.id if connection else None)
            db.session.add(draft)
        store_credentials(draft, schema, data)
        draft.state, draft.save_requested, draft.error = "testing", save, None
        draft.created_at = utcnow()
        draft.user_id = user.id if user else draft.user_id
        db.session.commit()
        params["draft_id"] = draft.id
        if save:
            params["save"] = True
    run = start_run("test_connection", firm_id=integration.firm_id, integration_id=integration.id,
                    client_connection_id=connection.id if connection else None, params=params,
                    trigger=trigger, user_id=user.id if user else None, at_front=True)
    if draft is not None:
        draft.run_id = run.id
        db.session.commit()
    if wait:
        run = wait_for(run, wait)
    return run


def _test_connection_action(run: SyncRun) -> dict:
    draft_id = (run.params or {}).get("draft_id")
    draft = None
    account = run_account(run)
    if draft_id:
        draft = db.session.get(CredentialDraft, draft_id)
        if draft is None:
            raise ConfigError("These credentials were not saved and are too old to test.",
                              hint="Paste them again and click Test connection.")
        credentials = stored_credentials(draft)
    else:
        credentials = account.credentials()
    stored = account.uses_stored(credentials)  # a test of typed values that equal the stored ones tests those
    info = call_vendor(run, "hub_test_connection", account=account, credentials=credentials)
    missing = [str(m) for m in getattr(info, "missing", ()) or ()]
    result = {
        "account_name": info.account_name, "account_id": info.account_id,
        "expires_on": info.expires_on.isoformat() if info.expires_on else None,
        "details": dict(info.details), "missing": missing, "fingerprint": _fingerprint(credentials),
    }
    if draft is not None and draft.run_id == run.id and draft.save_requested:
        apply_draft(draft, run, result)
        result["saved"] = True
        return result
    if draft is not None and draft.run_id == run.id:
        draft.state, draft.error = "tested", None
    if stored:
        record_test(account.owner, result)
    return result


# -- client lookup -----------------------------------------------------------------------------
def lookup_clients(integration: Integration, query: str = "", *, user: User | None = None,
                   wait: float | None = None) -> SyncRun:
    run = start_run("list_clients", firm_id=integration.firm_id, integration_id=integration.id,
                    params={"query": (query or "").strip()}, user_id=user.id if user else None, at_front=True)
    if wait:
        run = wait_for(run, wait)
    return run


def _list_clients_action(run: SyncRun) -> dict:
    clients = call_vendor(run, "hub_list_clients", query=(run.params or {}).get("query", ""))
    return {"clients": [dataclasses.asdict(c) for c in clients]}


register(Kind("test_connection", _test_connection_action, on_finish=draft_test_finished, on_attention=record_failure))
register(Kind("list_clients", _list_clients_action, on_attention=record_failure))
