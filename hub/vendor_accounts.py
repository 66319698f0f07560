"""The vendor account a call goes to, and the call: :func:`call_vendor` is how every flow reaches a vendor.

A call for a client goes to the client's **own** account when its connection has credentials, else to the firm's
(:func:`account_for`, THE routing rule); a run records the client and its connection so the worker routes it the
same way (:func:`account_run`, :func:`run_account`), and :func:`check_route` refuses a call that would go to the
wrong books. The outcome of every call is its account's health (:mod:`hub.health`). Here too: reading and storing
an owner's credentials (encrypted) and the ``ctx`` a hook gets.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any

import httpx
import marshmallow
from flask import current_app

from hub import credentials as creds
from hub import oauth, redaction
from hub.context import RedisCache, VendorContext, account_key
from hub.errors import ConfigError, HubError, UnexpectedError
from hub.health import Owner, attribute_failure, record_outcome
from hub.http import DEFAULT_TIMEOUT, VendorHttp, new_client
from hub.jobs import start_run
from hub.models import ClientConnection, CredentialDraft, Integration, SyncRun, User, db
from hub.plugins import Vendor
from hub.ratelimit import RateBudget
from hub.services import services
from hub.types import RateLimit


# -- credentials -------------------------------------------------------------------------------
def vendor_of(integration: Integration) -> Vendor:
    return services().registry.get(integration.vendor)


def stored_credentials(owner: Owner | CredentialDraft) -> dict[str, Any]:
    """Public values and decrypted secrets of ``owner`` (empty if none saved)."""
    data = dict(owner.public_credentials or {})
    data.update(services().vault.decrypt(owner.secret_credentials))
    return data


def credentials_owner(integration: Integration, connection: ClientConnection | None) -> Owner:
    """Whose credentials — and health — a client's link uses: its own when it has credentials, else the firm's
    integration (the owner of :func:`account_for`)."""
    return account_for(integration, connection=connection).owner


def store_credentials(owner: Owner | CredentialDraft, schema: type[marshmallow.Schema], data: dict[str, Any]) -> None:
    """Store ``data`` as ``owner``'s credentials: public values as they are, secrets encrypted (not committed)."""
    public, secret = creds.split(schema, data)
    redaction.register_secrets(list(secret.values()))
    owner.public_credentials = public
    owner.secret_credentials = services().vault.encrypt(secret) if secret else None


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


def vendor_origin(integration: Integration, settings: dict[str, str] | None = None) -> str | None:
    """Where the integration's vendor traffic goes instead of the vendor's real host (a sandbox in the demo and
    the tests): its ``origin`` setting, else the operator's ``HUB_<SLUG>_ORIGIN``; None: the real host."""
    settings = operator_settings(integration.vendor) if settings is None else settings
    return (integration.settings or {}).get("origin") or settings.get("origin")


def build_context(integration: Integration, credentials: dict[str, Any], *,
                  client: httpx.Client | None = None) -> VendorContext:
    vendor = vendor_of(integration)
    svc = services()
    key = account_key(vendor.slug, credentials, current_app.config["SECRET_KEY"])
    settings = operator_settings(vendor.slug)
    origin = vendor_origin(integration, settings)
    limits = rate_limits(vendor.info.rate_limits, settings.get("rate_limits"))
    budget = RateBudget(svc.redis, key, limits) if limits else None
    logger = logging.getLogger(f"hub.vendor.{vendor.slug}")
    timeout = httpx.Timeout(current_app.config.get("HUB_VENDOR_TIMEOUT", DEFAULT_TIMEOUT.read), connect=10.0)
    bearer = oauth.bearer(integration.id, vendor.info, origin) if vendor.info.oauth is not None else None
    http = VendorHttp(vendor.slug, client or new_client(timeout), budget=budget, origin=origin, log=logger,
                      bearer=bearer, name=vendor.info.name)
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

    def uses_stored(self, credentials: dict[str, Any] | None) -> bool:
        """Whether a call with ``credentials`` (None: the stored ones) is a call of this account as stored, whose
        outcome is then the owner's health (a Test connection of typed values that equal the stored ones is)."""
        owner = self.owner
        return credentials is None or (owner.has_credentials and stored_credentials(owner) == credentials) \
            or (credentials == {} and self.by_grant())

    def by_grant(self) -> bool:
        """An OAuth vendor's firm account with nothing pasted: its grant (:mod:`hub.oauth`) is the credential."""
        return not self.own and not self.owner.has_credentials and \
            vendor_of(self.integration).info.oauth is not None and oauth.grant_of(self.integration) is not None

    def credentials(self) -> dict[str, Any]:
        owner = self.owner
        if not owner.has_credentials:
            if self.by_grant():
                return {}  # the grant is the credential: ctx.http carries its bearer token
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
                              "account for it.", hint="Start client runs with hub.vendor_accounts.account_run.")
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
    for testing unsaved values (a draft).

    The outcome is the account's health (:mod:`hub.health`) when the call used its stored credentials: a success
    makes it ``ok`` (no statement when it already is), an ``AuthError``/``ConfigError`` is named for the kind's
    ``on_attention`` (:func:`hub.health.record_failure`)."""
    account = account or run_account(run)
    check_route(run, hook, account)
    counts = account.uses_stored(credentials)
    if credentials is None:
        credentials = account.credentials()
    ctx = build_context(account.integration, credentials)
    try:
        result = services().registry.call(account.integration.vendor, hook, ctx=ctx, credentials=credentials,
                                          **kwargs)
    except HubError as exc:
        if counts and exc.needs_attention:
            attribute_failure(exc, account.owner)
        raise
    finally:
        ctx.close()
    if counts:
        record_outcome(account.owner)
    return result
