"""A connection's health: connected, needs attention (with the vendor's error) or expiring.

An integration (the firm's account) or a client connection with its own credentials (the client's account) is
``ok`` after a passing test; an ``AuthError``/``ConfigError`` of a run moves the credentials' owner to
``needs_attention`` (nothing already imported is touched); a known expiry date warns before it passes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub import redaction, webhooks
from hub.errors import HubError
from hub.models import DISABLED, NEEDS_ATTENTION, OK, ClientConnection, Integration, Notification, SyncRun, db, utcnow
from hub.services import services
from hub.vendor_accounts import Owner, run_account

EXPIRY_WARNING = dt.timedelta(days=30)  # warn this long before a known credential expiry


def record_success(owner: Owner, result: dict[str, Any]) -> None:
    """A passing test: the owner is ``ok`` with what the vendor said (account name, expiry)."""
    previous = owner.status
    owner.status = OK
    owner.last_checked_at = owner.last_success_at = utcnow()
    owner.last_error = None
    owner.account_name = result.get("account_name") or owner.account_name
    expires = result.get("expires_on")
    owner.expires_on = dt.date.fromisoformat(expires) if expires else None
    webhooks.connection_changed(owner, previous)


def record_failure(run: SyncRun, exc: HubError) -> None:
    """An ``AuthError``/``ConfigError`` in ``run``: its credentials' owner needs attention."""
    if (run.params or {}).get("draft_id"):
        return  # a test of unsaved values says nothing about the stored ones
    owner = run_owner(run)
    if owner is None:
        return
    previous = owner.status
    owner.status = NEEDS_ATTENTION
    owner.last_checked_at = utcnow()
    owner.last_error = redaction.mask_structure(exc.as_dict())
    webhooks.connection_changed(owner, previous)


def run_owner(run: SyncRun) -> Owner | None:
    """Whose state a run's outcome changes: the owner of the run's vendor account."""
    if not run.integration_id or db.session.get(Integration, run.integration_id) is None:
        return None
    try:
        return run_account(run).owner
    except HubError:  # a pinned account that is gone: nobody's state to change
        return None


def expiry_state(owner: Owner | None, today: dt.date | None = None) -> str | None:
    """``"expired"``, ``"expiring"`` (within ``EXPIRY_WARNING``) or ``None`` for a known credential expiry."""
    if owner is None or owner.expires_on is None or owner.status == DISABLED:
        return None
    today = today or utcnow().date()
    if owner.expires_on < today:
        return "expired"
    return "expiring" if owner.expires_on <= today + EXPIRY_WARNING else None


def notify_expiring(today: dt.date | None = None) -> int:
    """One notification per credential that expires within ``EXPIRY_WARNING`` (sent once, before it passes:
    the title names the date, so a new token with a new date is announced again). Returns how many."""
    today = today or utcnow().date()
    sent = 0
    for model in (Integration, ClientConnection):
        due = model.query.filter(model.expires_on.isnot(None), model.expires_on >= today,
                                 model.expires_on <= today + EXPIRY_WARNING, model.status != DISABLED)
        for owner in due:
            integration = owner if isinstance(owner, Integration) else owner.integration
            vendor = services().registry.vendors.get(integration.vendor)
            if vendor is None or not integration.enabled:
                continue
            name = vendor.info.name
            if isinstance(owner, ClientConnection):
                title = f"{name} credentials of {owner.client.name} expire on {owner.expires_on.isoformat()}"
                link = f"/clients/{owner.client_id}/integration?vendor={integration.vendor}"
            else:
                title = f"{name} credentials expire on {owner.expires_on.isoformat()}"
                link = f"/settings/apps/{integration.vendor}/connect"
            if Notification.query.filter_by(firm_id=integration.firm_id, title=title, link=link).first():
                continue
            db.session.add(Notification(
                firm_id=integration.firm_id, level="warning", title=title, link=link,
                body=f"Generate new credentials in {name} and paste them on the Connect tab before then; "
                     "after that date imports and exports stop."))
            sent += 1
    db.session.commit()
    return sent
