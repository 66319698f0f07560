"""A connection's health — connected, needs attention (with the vendor's error), expiring — derived from what happened.

Health belongs to a **vendor account**: the firm's (its :class:`~hub.models.Integration`) or a client's own (a
:class:`~hub.models.ClientConnection` with credentials). It is the outcome of the latest call through that account
with its stored credentials, recorded by :func:`hub.vendor_accounts.call_vendor` — Test connection included:

* the call succeeded → ``ok`` (:func:`record_outcome`): one row changes, and every page and the API read that row,
  so the card, the dialog header, the Overview, the client list, the client page and the API all clear at once. A
  success of an account that is already ``ok`` changes nothing and costs no SQL statement (compared in Python with
  the loaded row);
* ``AuthError``/``ConfigError`` → ``needs_attention`` with the vendor's error: ``call_vendor`` names the account on
  the error (:func:`attribute_failure`), and :func:`record_failure` (the kinds' ``on_attention``) records it once the
  job layer has rolled the run's work back, unless the credentials were replaced meanwhile (the answer was about the
  old ones).

A client that uses the firm's account has no health of its own: it shows the firm's
(:func:`hub.vendor_accounts.credentials_owner`; :func:`attention_connection_ids` is the same rule in SQL). Each move
into or out of ``needs_attention`` is one conditional update, so ``connection.needs_attention`` /
``connection.recovered`` fire once per move even when runs finish at the same time. The other states are not
outcomes: ``not_configured`` (nothing saved), ``untested`` (new credentials, no answer yet) and ``disabled`` are set
by :mod:`hub.connections`. Expiring is derived from the expiry date the vendor reported (:func:`expiry_state`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from hub import redaction, webhooks
from hub.errors import HubError
from hub.models import DISABLED, NEEDS_ATTENTION, OK, ClientConnection, Integration, Notification, SyncRun, db, utcnow
from hub.notify import notify
from hub.services import services

EXPIRY_WARNING = dt.timedelta(days=30)  # warn this long before a known credential expiry
Owner = Integration | ClientConnection


# -- recording outcomes ------------------------------------------------------------------------------------
def record_outcome(owner: Owner, error: dict[str, Any] | None = None) -> None:
    """The latest call through ``owner``'s account succeeded (``error`` None) or needs attention (``error``: the
    vendor's, masked). Joins the caller's transaction; nothing changes for a disabled integration."""
    status = OK if error is None else NEEDS_ATTENTION
    if owner.status == DISABLED or (owner.status == status and owner.last_error == error):
        return  # nothing changes: no statement
    previous, now = owner.status, utcnow()
    values: dict[str, Any] = {"status": status, "last_checked_at": now, "last_error": error}
    if error is None:
        values["last_success_at"] = now
    model = type(owner)
    moved = db.session.execute(sa.update(model).where(model.id == owner.id, model.status == previous).values(**values),
                               execution_options={"synchronize_session": False}).rowcount
    if not moved:  # another run recorded an outcome first (and announced it)
        db.session.expire(owner, list(values))
        return
    for key, value in values.items():
        set_committed_value(owner, key, value)
    webhooks.connection_changed(owner, previous)


def record_test(owner: Owner, result: dict[str, Any]) -> None:
    """A passing Test connection of ``owner``'s stored credentials: ``ok``, and what the vendor said (account name,
    expiry)."""
    record_outcome(owner)
    owner.last_checked_at = owner.last_success_at = utcnow()
    owner.account_name = result.get("account_name") or owner.account_name
    expires = result.get("expires_on")
    owner.expires_on = dt.date.fromisoformat(expires) if expires else None


def attribute_failure(exc: HubError, owner: Owner) -> None:
    """Name on ``exc`` the account whose stored credentials the vendor refused (for :func:`record_failure`)."""
    exc.failed_account = (type(owner), owner.id, dict(owner.public_credentials or {}), owner.secret_credentials)


def record_failure(run: SyncRun, exc: HubError) -> None:
    """The ``on_attention`` of every kind that calls vendors, run after the job layer rolled the run back: the
    account :func:`attribute_failure` named needs attention. An error no vendor gave through an account (no
    credentials saved, a pinned account gone, a test of unsaved values) changes nobody's health."""
    named = getattr(exc, "failed_account", None)
    if named is None:
        return
    model, owner_id, public, secret = named
    owner = db.session.get(model, owner_id)
    if owner is None or (dict(owner.public_credentials or {}), owner.secret_credentials) != (public, secret):
        return  # the credentials were replaced since the call: its answer was about the old ones
    record_outcome(owner, redaction.mask_structure(exc.as_dict()))


# -- reading it ----------------------------------------------------------------------------------------------
def attention_connection_ids(firm_id: int) -> Any:
    """A select of the firm's client connections whose vendor account needs attention: the client's own (a
    connection with credentials), else the firm's integration."""
    own = sa.or_(ClientConnection.public_credentials.isnot(None), ClientConnection.secret_credentials.isnot(None))
    health = sa.case((own, ClientConnection.status), else_=Integration.status)
    return (sa.select(ClientConnection.id).join(Integration, Integration.id == ClientConnection.integration_id)
            .where(Integration.firm_id == firm_id, health == NEEDS_ATTENTION))


def attention_by_integration(firm_id: int) -> dict[int, list[int]]:
    """integration id → ids of its clients that need attention (one query)."""
    rows = db.session.execute(
        sa.select(ClientConnection.integration_id, ClientConnection.client_id)
        .where(ClientConnection.id.in_(attention_connection_ids(firm_id))))
    out: dict[int, list[int]] = {}
    for integration_id, client_id in rows:
        out.setdefault(integration_id, []).append(client_id)
    return out


def expiry_state(owner: Owner | None, today: dt.date | None = None) -> str | None:
    """``"expired"``, ``"expiring"`` (within ``EXPIRY_WARNING``) or ``None`` for a known credential expiry — or
    ``"reported_past"``: the vendor reported an expiry date in the past yet accepted the credentials after that
    date (derived from what happened: an ``ok`` status whose last success is later than the date). The page then
    says the vendor reports an expiry date in the past, never "expired" beside "Connected" (nor a day count)."""
    if owner is None or owner.expires_on is None or owner.status == DISABLED:
        return None
    today = today or utcnow().date()
    if owner.expires_on < today:
        accepted_after = owner.status == OK and owner.last_success_at is not None and \
            owner.last_success_at.date() > owner.expires_on
        return "reported_past" if accepted_after else "expired"
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
            notify(integration.firm_id, title, level="warning", link=link,
                   body=f"Generate new credentials in {name} and paste them on the Connect tab before then; "
                        "after that date imports and exports stop.")
            sent += 1
    db.session.commit()
    return sent
