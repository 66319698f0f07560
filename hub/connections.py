"""Integrations and client connections: credentials, the connection state machine, test connection
and client lookup.

State machine (DESIGN §4)::

    not_configured --save--> untested --test ok--> ok
                                  \\--auth/config error--> needs_attention --fresh creds + test ok--> ok
    any --disable--> disabled --enable--> untested (or not_configured without credentials)

A failure of an import or export with ``AuthError``/``ConfigError`` moves the credentials' owner
to ``needs_attention`` too; nothing already imported is touched.

Changing credentials never replaces working ones with failing ones. What the admin types is a
:class:`CredentialDraft` (secrets encrypted, never rendered back) until it is stored::

    entered  --Test connection--> testing --ok--> tested --Save--> stored (draft deleted)
       ^                             \\--refused--> entered (with the vendor's error)
       |  (a field error on the form keeps the typed secrets here)
    Save (untested values) --> testing, save requested --ok--> stored (draft deleted)
                                   \\--refused--> rejected (the stored credentials stay active; the vendor's
                                                 error and a notification) --"Replace anyway"--> stored
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
from typing import Any

import httpx
import marshmallow
import sqlalchemy as sa
from flask import current_app

from hub import audit, clients, redaction, webhooks
from hub import credentials as creds
from hub.context import RedisCache, VendorContext, account_key
from hub.errors import ConfigError, HubError, UnexpectedError
from hub.http import DEFAULT_TIMEOUT, VendorHttp, new_client
from hub.jobs import Kind, register, start_run, wait_for
from hub.models import (
    DISABLED,
    NEEDS_ATTENTION,
    NOT_CONFIGURED,
    OK,
    UNTESTED,
    CatalogItem,
    CatalogMapping,
    Client,
    ClientConnection,
    CredentialDraft,
    Integration,
    InvoiceExport,
    MonthlyImport,
    Notification,
    SyncRun,
    User,
    db,
    utcnow,
)
from hub.plugins import Vendor
from hub.ratelimit import RateBudget
from hub.services import services
from hub.types import RateLimit

DRAFT_TTL = dt.timedelta(hours=1)  # a draft nobody saved (typed, or tested and left)
REJECTED_DRAFT_TTL = dt.timedelta(days=7)  # a Save the vendor refused: kept for "Replace anyway"
EXPIRY_WARNING = dt.timedelta(days=30)  # warn this long before a known credential expiry
Owner = Integration | ClientConnection


# -- credentials -------------------------------------------------------------------------------
def vendor_of(integration: Integration) -> Vendor:
    return services().registry.get(integration.vendor)


def stored_credentials(owner: Owner | CredentialDraft) -> dict[str, Any]:
    """Public values and decrypted secrets of ``owner`` (empty if none saved)."""
    data = dict(owner.public_credentials or {})
    data.update(services().vault.decrypt(owner.secret_credentials))
    return data


def credentials_owner(integration: Integration, connection: ClientConnection | None) -> Owner:
    """Per-client credentials override the firm's (the owner of :func:`account_for`)."""
    if connection is not None and connection.has_credentials:
        return connection
    return integration


def candidate(integration: Integration, submitted: dict[str, Any], connection: ClientConnection | None = None) -> dict:
    """Validated candidate credentials: ``submitted`` merged with what is stored (blank secret keeps
    the stored one). Raises ``marshmallow.ValidationError`` with field messages."""
    schema = vendor_of(integration).schema
    owner = connection if connection is not None else integration
    stored = stored_credentials(owner) if owner.has_credentials else {}
    return creds.validate(schema, creds.merge_for_edit(schema, submitted, stored))


def _store(owner: Owner | CredentialDraft, schema: type[marshmallow.Schema], data: dict[str, Any]) -> None:
    public, secret = creds.split(schema, data)
    redaction.register_secrets(list(secret.values()))
    owner.public_credentials = public
    owner.secret_credentials = services().vault.encrypt(secret) if secret else None


def save_credentials(integration: Integration, submitted: dict[str, Any], *, connection: ClientConnection | None = None,
                     user: User | None = None, tested_run: SyncRun | None = None) -> Owner:
    """Validate and store credentials (encrypted). If ``tested_run`` is a successful test of exactly
    these values, the connection becomes ``ok``; otherwise ``untested`` and a test is enqueued."""
    schema = vendor_of(integration).schema
    owner: Owner = connection if connection is not None else integration
    before = stored_credentials(owner) if owner.has_credentials else {}
    data = candidate(integration, submitted, connection)
    before_public = dict(owner.public_credentials or {})
    _store(owner, schema, data)
    if connection is not None and (owner.public_credentials or {}) != before_public:
        connection.linked_at = utcnow()  # another account: what the old one imported may be overwritten
    changed = sorted(k for k in data if before.get(k) != data.get(k))
    owner.last_error = None
    tested_ok = (tested_run is not None and tested_run.status == "succeeded"
                 and tested_run.kind == "test_connection" and _draft_matches(tested_run, data))
    if tested_ok:
        record_success(owner, tested_run.result or {})
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


# -- state transitions -------------------------------------------------------------------------
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


# -- the vendor context ------------------------------------------------------------------------
def operator_settings(slug: str) -> dict[str, str]:
    """``HUB_<SLUG>_<NAME>`` environment variables → ``{name: value}`` (secret-looking ones masked)."""
    prefix = f"HUB_{slug.upper()}_"
    found = {k[len(prefix):].lower(): v for k, v in os.environ.items() if k.startswith(prefix)}
    redaction.register_secrets([v for k, v in found.items() if creds.SECRET_LOOKING.search(k)])
    return found


def rate_limits(published: tuple[RateLimit, ...], override: str | None) -> tuple[RateLimit, ...]:
    """The vendor's published limits, or the operator's ``HUB_<SLUG>_RATE_LIMITS`` ("N/S[,N/S]" when the
    vendor granted this account more, "off" to disable — e.g. a load test against a sandbox)."""
    if not override:
        return published
    if override.strip().lower() == "off":
        return ()
    out = []
    for part in override.split(","):
        requests, _, seconds = part.strip().partition("/")
        out.append(RateLimit(int(requests), int(seconds)))
    return tuple(out)


def build_context(integration: Integration, credentials: dict[str, Any], *,
                  client: httpx.Client | None = None) -> VendorContext:
    vendor = vendor_of(integration)
    svc = services()
    key = account_key(vendor.slug, credentials, current_app.config["SECRET_KEY"])
    settings = operator_settings(vendor.slug)
    origin = (integration.settings or {}).get("origin") or settings.get("origin")
    limits = rate_limits(vendor.info.rate_limits, settings.get("rate_limits"))
    budget = RateBudget(svc.redis, key, limits) if limits else None
    logger = logging.getLogger(f"hub.vendor.{vendor.slug}")
    timeout = httpx.Timeout(current_app.config.get("HUB_VENDOR_TIMEOUT", DEFAULT_TIMEOUT.read), connect=10.0)
    http = VendorHttp(vendor.slug, client or new_client(timeout), budget=budget, origin=origin, log=logger)
    return VendorContext(vendor=vendor.slug, http=http, log=logger, settings=settings,
                         cache=RedisCache(svc.redis, svc.vault, key), account=key)


# -- the vendor account a call goes to ---------------------------------------------------------
#: Hooks that act for one client: the run must name the client, and the core picks its account.
CLIENT_HOOKS = frozenset({"hub_fetch_statistics", "hub_refresh_statistics", "hub_export_invoice",
                          "hub_find_invoice"})


@dataclasses.dataclass(frozen=True)
class VendorAccount:
    """The vendor account a call goes to: the client's own account when its connection has credentials,
    else the firm integration's. ``owner`` is whose credentials are used and whose state changes (needs
    attention, last success); catalog caches and mappings are kept per account (``catalog_key``)."""

    integration: Integration
    connection: ClientConnection | None  # the client's link to this integration, if there is one
    client_id: int | None  # the client the call is for; None for firm-level calls (lookup, firm catalog)
    pinned_firm: bool = False  # an export recorded as booked in the firm's account (hub.exports)

    @property
    def own(self) -> bool:
        return not self.pinned_firm and self.connection is not None and self.connection.has_credentials

    @property
    def owner(self) -> Owner:
        return self.connection if self.own else self.integration

    @property
    def kind(self) -> str:
        """``"client"`` (the client's own account) or ``"firm"``."""
        return "client" if self.own else "firm"

    @property
    def catalog_key(self) -> int | None:
        """``CatalogItem/CatalogMapping.client_connection_id`` of this account (None: the firm's)."""
        return self.connection.id if self.own else None

    @property
    def client_ref(self) -> str | None:
        """What hooks get as ``client``: None in the client's own account (it is the client), else the
        vendor's client record the firm linked."""
        if self.own or self.connection is None:
            return None
        return self.connection.vendor_client_id

    def credentials(self) -> dict[str, Any]:
        owner = self.owner
        if not owner.has_credentials:
            raise ConfigError("No credentials are saved yet.", hint="Paste them on the Connect tab and save.")
        return stored_credentials(owner)

    def identity(self) -> str:
        """Which vendor record or account numbers come from (changes when the link points elsewhere)."""
        if self.own:
            return "account:" + account_key(self.integration.vendor, self.connection.public_credentials or {})
        return f"record:{self.client_ref}"


def account_for(integration: Integration, *, client_id: int | None = None,
                connection: ClientConnection | None = None) -> VendorAccount:
    """THE routing rule: a call for a client goes to the client's own account when its connection has
    credentials, else to the firm's; a call for no client goes to the firm's."""
    if connection is not None:
        if connection.integration_id != integration.id:
            raise ValueError("the connection belongs to another integration")
        if client_id is not None and client_id != connection.client_id:
            raise ValueError("the connection belongs to another client")
        return VendorAccount(integration, connection, connection.client_id)
    if client_id is not None:
        connection = ClientConnection.query.filter_by(client_id=client_id, integration_id=integration.id) \
            .one_or_none()
    return VendorAccount(integration, connection, client_id)


def firm_account(integration: Integration) -> VendorAccount:
    return VendorAccount(integration, None, None)


def run_client_id(run: SyncRun) -> int | None:
    """The client a run is for (its connection's, or ``params["client_id"]``)."""
    if run.client_connection_id:
        connection = db.session.get(ClientConnection, run.client_connection_id)
        if connection is not None:
            return connection.client_id
    return (run.params or {}).get("client_id")


def run_account(run: SyncRun) -> VendorAccount:
    """The account of a run, from what the run records: its client connection or client, and
    ``params["account"]`` when the flow pinned one (``"firm"``: an invoice booked in the firm's account stays
    there; ``"client"``: the client's own account, and no other, e.g. after an unlink)."""
    integration = db.session.get(Integration, run.integration_id)
    params = run.params or {}
    connection = db.session.get(ClientConnection, run.client_connection_id) if run.client_connection_id else None
    account = account_for(integration, client_id=params.get("client_id"), connection=connection)
    return pin(account, params.get("account"))


def pin(account: VendorAccount, kind: str | None) -> VendorAccount:
    """``account`` held to the account ``kind`` a flow recorded (None: no pin, route as usual)."""
    if kind == "firm" and account.own:
        return dataclasses.replace(account, pinned_firm=True)
    if kind == "client" and not account.own:
        raise ConfigError("This was sent to the client's own account, which is no longer connected.",
                          hint="Connect the client's own account again (its credentials); nothing is sent to "
                               "the firm's account instead.")
    return account


def account_run(kind: str, account: VendorAccount, *, params: dict | None = None, trigger: str = "user",
                user: User | None = None, at_front: bool = False, enqueue: bool = True,
                subject: str | None = None) -> SyncRun:
    """Start a run for ``account``: a run for a client always records the client and its connection, so
    the worker routes it to the same account. ``subject``: see :func:`hub.jobs.start_run`."""
    params = dict(params or {})
    if account.client_id is not None:
        params["client_id"] = account.client_id
    return start_run(kind, firm_id=account.integration.firm_id, integration_id=account.integration.id,
                     client_connection_id=account.connection.id if account.connection else None, params=params,
                     trigger=trigger, user_id=user.id if user else None, at_front=at_front, enqueue=enqueue,
                     subject=subject)


def check_route(run: SyncRun, hook: str, account: VendorAccount) -> None:
    """Refuse a call that would go to the wrong books: a client hook for no client, an account of another
    client than the run's, or the firm's account for a client that has its own."""
    if account.integration.id != run.integration_id:
        raise UnexpectedError("A vendor call was routed to another integration than its run's.")
    run_client = run_client_id(run)
    if hook in CLIENT_HOOKS and account.client_id is None:
        raise UnexpectedError(f"{hook} acts for a client, but the run names none: refusing to use the firm's "
                              "account for it.", hint="Start client runs with hub.connections.account_run.")
    if run_client is not None and account.client_id != run_client:
        raise UnexpectedError("A vendor call was routed to another client's account than its run's.")
    if account.client_id is not None and not account.own and not account.pinned_firm:
        connection = account.connection or ClientConnection.query.filter_by(
            client_id=account.client_id, integration_id=account.integration.id).one_or_none()
        if connection is not None and connection.has_credentials:
            raise UnexpectedError("Refusing to call the firm's account for a client that has its own account.")


def call_vendor(run: SyncRun, hook: str, *, account: VendorAccount | None = None,
                credentials: dict | None = None, **kwargs: Any) -> Any:
    """Call ``hook`` in the vendor account of ``run`` (:func:`run_account`, or ``account`` when the flow
    pinned one, checked against the run) with its credentials and a fresh context. ``credentials`` only
    for testing unsaved values (a draft)."""
    account = account or run_account(run)
    check_route(run, hook, account)
    if credentials is None:
        credentials = account.credentials()
    ctx = build_context(account.integration, credentials)
    try:
        return services().registry.call(account.integration.vendor, hook, ctx=ctx, credentials=credentials,
                                        **kwargs)
    finally:
        ctx.close()


# -- drafts: what was typed but is not stored --------------------------------------------------------
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
    owner.status = NEEDS_ATTENTION
    owner.last_checked_at = utcnow()
    owner.last_error = draft.error or {"kind": "auth", "message": "The new credentials were not tested."}
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
    _store(owner, schema, data)
    changed = sorted(k for k in data if before.get(k) != data.get(k))
    return integration, owner, {"changed_fields": changed,
                                "secret_fields_changed": sorted(set(changed) & creds.secret_fields(schema))}


def _apply_draft(draft: CredentialDraft, run: SyncRun, result: dict[str, Any]) -> None:
    """A Save whose test passed: the draft becomes the owner's credentials."""
    integration, owner, changes = _store_draft(draft)
    record_success(owner, result)
    user = db.session.get(User, draft.user_id) if draft.user_id else None
    db.session.delete(draft)
    db.session.commit()
    audit.record(integration.firm_id, "credentials.saved", owner, user=user,
                 details={**changes, "tested_run_id": run.id})


def _draft_test_finished(run: SyncRun) -> None:
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
        db.session.add(Notification(
            firm_id=run.firm_id, user_id=run.requested_by_id, level="error",
            title=f"New {name} credentials were not saved",
            body=f"{name} refused them: {(run.error or {}).get('message', 'the test failed')} {kept}",
            link=link))
    db.session.commit()




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
        _store(draft, schema, data)
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
    if draft_id:
        draft = db.session.get(CredentialDraft, draft_id)
        if draft is None:
            raise ConfigError("These credentials were not saved and are too old to test.",
                              hint="Paste them again and click Test connection.")
        credentials = stored_credentials(draft)
    else:
        credentials = run_account(run).credentials()
    info = call_vendor(run, "hub_test_connection", credentials=credentials)
    missing = [str(m) for m in getattr(info, "missing", ()) or ()]
    result = {
        "account_name": info.account_name, "account_id": info.account_id,
        "expires_on": info.expires_on.isoformat() if info.expires_on else None,
        "details": dict(info.details), "missing": missing, "fingerprint": _fingerprint(credentials),
    }
    if draft is not None:
        if draft.run_id == run.id and draft.save_requested:
            _apply_draft(draft, run, result)
            result["saved"] = True
        elif draft.run_id == run.id:
            draft.state, draft.error = "tested", None
    else:
        owner = run_owner(run)
        record_success(owner, result)
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


def link_client(connection_or_none: ClientConnection | None, *, client_id: int, integration: Integration,
                vendor_client_id: str | None, vendor_client_name: str | None = None,
                vendor_client_reg_code: str | None = None, user: User | None = None,
                actor: str | None = None) -> ClientConnection:
    """Link a firm client to the vendor's client record (or re-link it to fix a wrong pick). Pointing the
    link at another record starts a new link (``linked_at``): what the old record imported may then be
    overwritten, also by 0. :func:`link_warnings` says whether the record looks like another company."""
    connection = connection_or_none or ClientConnection.query.filter_by(
        client_id=client_id, integration_id=integration.id).one_or_none()
    if connection is None:
        connection = ClientConnection(client_id=client_id, integration_id=integration.id, status=integration.status,
                                      linked_at=utcnow())
        db.session.add(connection)
    previous = connection.vendor_client_id
    if vendor_client_id != previous:
        connection.linked_at = utcnow()
    connection.vendor_client_id = vendor_client_id
    connection.vendor_client_name = vendor_client_name
    connection.vendor_client_reg_code = vendor_client_reg_code
    if not connection.has_credentials:
        connection.status = integration.status
    db.session.commit()
    audit.record(integration.firm_id, "client.linked", connection, user=user, actor=actor,
                 details={"vendor_client_id": vendor_client_id, "previous": previous,
                          "warnings": link_warnings(connection)})
    return connection


def link_warnings(connection: ClientConnection) -> list[str]:
    """Why the linked vendor record may be another company than the hub client (empty: nothing disagrees)."""
    client = db.session.get(Client, connection.client_id)
    if client is None or not connection.vendor_client_id:
        return []
    return clients.mismatches(client, name=connection.vendor_client_name, reg_code=connection.vendor_client_reg_code)


def unlink_client(connection: ClientConnection, *, user: User | None = None, actor: str | None = None) -> dict:
    """End a client's link (a client that left): syncing stops, history stays — summary tasks, exported
    invoices and finished runs are kept (runs keep the client's id in their params). Refused only while a
    job for the link is running. The client's own credentials and its account's catalog are deleted;
    invoices booked in that account keep their record but are no longer asked about (no credentials)."""
    running = SyncRun.query.filter(SyncRun.client_connection_id == connection.id,
                                   SyncRun.status.in_(("queued", "running", "retrying"))).count()
    if running:
        raise ConfigError(f"{running} job(s) for this link are still running.",
                          hint="Try again when they have finished.")
    integration = connection.integration
    details = {"vendor": integration.vendor, "vendor_client_id": connection.vendor_client_id,
               "vendor_client_name": connection.vendor_client_name,
               "own_credentials_deleted": connection.has_credentials}
    for run in SyncRun.query.filter_by(client_connection_id=connection.id):
        run.params = {**(run.params or {}), "client_id": connection.client_id}
        run.client_connection_id = None
    InvoiceExport.query.filter_by(account_connection_id=connection.id).update({"account_connection_id": None})
    CatalogMapping.query.filter_by(client_connection_id=connection.id).delete()
    CatalogItem.query.filter_by(client_connection_id=connection.id).delete()
    MonthlyImport.query.filter_by(client_connection_id=connection.id).delete()
    CredentialDraft.query.filter_by(client_connection_id=connection.id).delete()
    client = db.session.get(Client, connection.client_id)
    db.session.delete(connection)
    db.session.commit()
    audit.record(integration.firm_id, "client.unlinked", client, user=user, actor=actor, details=details)
    return details


# -- suggested links (a firm with hundreds of clients) -----------------------------------------
def unlinked_clients(integration: Integration) -> list[Client]:
    """The firm's clients with no link to this integration (no vendor record, no own account)."""
    linked = {c.client_id for c in ClientConnection.query.filter_by(integration_id=integration.id)
              if c.vendor_client_id or c.has_credentials}
    return [c for c in Client.query.filter_by(firm_id=integration.firm_id).order_by(Client.name) if c.id not in linked]


def suggest_links(integration: Integration, *, user: User | None = None, wait: float | None = None,
                  trigger: str = "user") -> SyncRun:
    """Read the vendor's whole client list once (one paged lookup, however many clients the firm has) and
    suggest a record for every unlinked client (:func:`match_clients`); the admin confirms in bulk
    (:func:`link_suggested`)."""
    if not vendor_of(integration).can("client_lookup"):
        raise ConfigError(f"{vendor_of(integration).info.name} has no client list to match against.")
    run = account_run("link_suggestions", firm_account(integration), trigger=trigger, user=user, at_front=True)
    return wait_for(run, wait) if wait else run


def _link_suggestions_action(run: SyncRun) -> dict:
    records = call_vendor(run, "hub_list_clients", query="")
    integration = db.session.get(Integration, run.integration_id)
    taken = {c.vendor_client_id for c in ClientConnection.query.filter_by(integration_id=integration.id)
             if c.vendor_client_id}
    pending = unlinked_clients(integration)
    suggestions = match_clients(pending, [r for r in records if r.id not in taken])
    matched = {s["client_id"] for s in suggestions}
    return {"vendor_records": len(records), "clients": len(pending), "suggestions": suggestions,
            "unmatched_client_ids": [c.id for c in pending if c.id not in matched]}


def match_clients(hub_clients: list[Client], records: list[Any]) -> list[dict[str, Any]]:
    """For each hub client the one vendor record with the same registration code, else the same VAT number,
    else the same normalised name. A key that fits several records, or a record that fits several clients,
    is no suggestion (the admin links those by hand)."""
    by_reg: dict[str, list] = {}
    by_vat: dict[str, list] = {}
    by_name: dict[str, list] = {}
    for record in records:
        if (code := clients.normalise_code(record.reg_code)):
            by_reg.setdefault(code, []).append(record)
        for key in clients.vat_keys(record.vat_no):
            by_vat.setdefault(key, []).append(record)
        if (name := clients.normalise_name(record.name)):
            by_name.setdefault(name, []).append(record)
    picks: list[dict[str, Any]] = []
    for client in hub_clients:
        for match, found in (("reg_code", by_reg.get(clients.normalise_code(client.reg_code)) or []),
                             ("vat_no", [r for k in clients.vat_keys(client.vat_no) for r in by_vat.get(k, [])]),
                             ("name", by_name.get(clients.normalise_name(client.name)) or [])):
            unique = {r.id: r for r in found}
            if len(unique) == 1:
                [record] = unique.values()
                picks.append({"client_id": client.id, "client_name": client.name, "match": match,
                              "vendor_client_id": record.id, "vendor_client_name": record.name,
                              "vendor_client_reg_code": record.reg_code,
                              "warnings": clients.mismatches(client, name=record.name, reg_code=record.reg_code)})
                break
            if unique:
                break  # ambiguous on the strongest key: do not fall back to a weaker one
    counts: dict[str, int] = {}
    for pick in picks:
        counts[pick["vendor_client_id"]] = counts.get(pick["vendor_client_id"], 0) + 1
    return [p for p in picks if counts[p["vendor_client_id"]] == 1]


def link_suggested(integration: Integration, run: SyncRun, client_ids: list[int], *, user: User | None = None,
                   actor: str | None = None) -> list[ClientConnection]:
    """Confirm suggestions of ``run`` (a finished :func:`suggest_links`) for ``client_ids`` in one go.
    Raises ``ConfigError`` naming clients without a suggestion; a client linked meanwhile is left as it is."""
    if run.kind != "link_suggestions" or run.integration_id != integration.id or run.status != "succeeded":
        raise ConfigError("These suggestions are not ready.", hint="Find suggested matches again.")
    by_client = {s["client_id"]: s for s in (run.result or {}).get("suggestions", [])}
    unknown = [cid for cid in client_ids if cid not in by_client]
    if unknown:
        raise ConfigError(f"No suggestion for client(s) {', '.join(map(str, unknown))}.",
                          hint="Link those clients one by one on their Integration page.")
    pending = {c.id for c in unlinked_clients(integration)}
    linked = []
    for cid in client_ids:
        if cid not in pending:
            continue
        pick = by_client[cid]
        linked.append(link_client(None, client_id=cid, integration=integration,
                                  vendor_client_id=pick["vendor_client_id"],
                                  vendor_client_name=pick["vendor_client_name"],
                                  vendor_client_reg_code=pick["vendor_client_reg_code"], user=user, actor=actor))
    return linked


# -- the firm's clients at real sizes: search, filter, attention --------------------------------------
CLIENT_STATUSES = {"attention": "Needs attention", "linked": "Connected", "not_linked": "Not connected"}


def attention_connection_ids(firm_id: int) -> Any:
    """A select of the firm's client connections that need attention: their own credentials do, or their
    latest finished import failed (a wrong client code, a missing permission…)."""
    latest = (sa.select(SyncRun.client_connection_id.label("cid"), sa.func.max(SyncRun.id).label("rid"))
              .where(SyncRun.firm_id == firm_id, SyncRun.kind == "import",
                     SyncRun.status.in_(("succeeded", "failed")), SyncRun.client_connection_id.isnot(None))
              .group_by(SyncRun.client_connection_id).subquery())
    failed = sa.select(latest.c.cid).join(SyncRun, SyncRun.id == latest.c.rid).where(SyncRun.status == "failed")
    own = (sa.select(ClientConnection.id).join(Integration, Integration.id == ClientConnection.integration_id)
           .where(Integration.firm_id == firm_id, ClientConnection.status == NEEDS_ATTENTION))
    return sa.union(own, failed)


def attention_by_integration(firm_id: int) -> dict[int, list[int]]:
    """integration id → ids of its clients that need attention (one query)."""
    rows = db.session.execute(
        sa.select(ClientConnection.integration_id, ClientConnection.client_id)
        .where(ClientConnection.id.in_(attention_connection_ids(firm_id))))
    out: dict[int, list[int]] = {}
    for integration_id, client_id in rows:
        out.setdefault(integration_id, []).append(client_id)
    return out


def client_query(firm_id: int, *, q: str = "", integration: Integration | None = None, status: str = "") -> Any:
    """The firm's clients matching ``q`` (name, registration or VAT number, e-mail; case-insensitive),
    linked to ``integration`` and in ``status`` (a key of ``CLIENT_STATUSES``), ordered by name."""
    query = Client.query.filter(Client.firm_id == firm_id)
    needle = (q or "").strip()
    if needle:
        like = f"%{needle.lower()}%"
        query = query.filter(sa.or_(sa.func.lower(Client.name).like(like), sa.func.lower(Client.reg_code).like(like),
                                    sa.func.lower(Client.vat_no).like(like), sa.func.lower(Client.email).like(like)))
    links = sa.select(ClientConnection.client_id)
    if integration is not None:
        links = links.where(ClientConnection.integration_id == integration.id)
    else:
        links = links.join(Integration, Integration.id == ClientConnection.integration_id) \
            .where(Integration.firm_id == firm_id)
    if status == "attention":
        query = query.filter(Client.id.in_(links.where(ClientConnection.id.in_(attention_connection_ids(firm_id)))))
    elif status == "not_linked":
        query = query.filter(Client.id.not_in(links))
    elif status == "linked" or integration is not None:
        query = query.filter(Client.id.in_(links))
    return query.order_by(Client.name, Client.id)


def unlinked_counts(firm_id: int, integrations: list[Integration]) -> dict[str, int]:
    """vendor → how many of the firm's clients have no link to that integration (two queries in all)."""
    total = Client.query.filter_by(firm_id=firm_id).count()
    linked: dict[int, set[int]] = {i.id: set() for i in integrations}
    rows = ClientConnection.query.filter(ClientConnection.integration_id.in_(list(linked))) if linked else []
    for row in rows:
        if row.vendor_client_id or row.has_credentials:
            linked[row.integration_id].add(row.client_id)
    return {i.vendor: total - len(linked[i.id]) for i in integrations}


register(Kind("test_connection", _test_connection_action, on_finish=_draft_test_finished, on_attention=record_failure))
register(Kind("list_clients", _list_clients_action, on_attention=record_failure))
register(Kind("link_suggestions", _link_suggestions_action, on_attention=record_failure))
