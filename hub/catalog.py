"""Products and tax rates from the vendor: pulled on demand and daily, cached per **vendor account**, and
mapped to the hub's product codes and VAT rates so that exports carry the vendor's own codes.

A vendor account is the firm integration's, or a client's own (a client connection with credentials): a
Finnish client company has its own VAT codes, so its cache and mappings are its own. Every function takes
the account as an :class:`~hub.models.Integration` (the firm's), a :class:`~hub.models.ClientConnection` with
own credentials, or a :class:`hub.vendor_accounts.VendorAccount` (what an export is routed to).

Matching: an explicit mapping wins; otherwise a VAT rate matches the vendor's only tax rate with that
percentage, and a product code matches the vendor's product with the same code. Anything else must be
mapped by the admin (the export says what).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hub import audit
from hub.errors import ConfigError, NotSupported
from hub.health import record_failure
from hub.jobs import Kind, register, wait_for
from hub.models import OK, CatalogItem, CatalogMapping, ClientConnection, Integration, SyncRun, User, db, utcnow
from hub.schedule import dispatcher
from hub.services import services
from hub.vendor_accounts import (
    VendorAccount,
    account_for,
    account_run,
    call_vendor,
    firm_account,
    run_account,
    vendor_of,
)

KINDS = {"product": ("products", "hub_list_products"), "tax_rate": ("tax_rates", "hub_list_tax_rates")}
REFRESH_EVERY = dt.timedelta(days=1)


def rate_key(rate: Decimal | str | float) -> str:
    """``Decimal("22.00")`` → ``"22"``; ``9.5`` → ``"9.5"``: how VAT rates are keyed in mappings."""
    text = format(Decimal(str(rate)).normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


Scope = Integration | ClientConnection | VendorAccount


def account_of(scope: Scope) -> VendorAccount:
    """The vendor account whose catalog ``scope`` means; a client connection without its own credentials
    has none of its own (it uses the firm's)."""
    if isinstance(scope, VendorAccount):
        return scope
    if isinstance(scope, Integration):
        return firm_account(scope)
    account = account_for(scope.integration, connection=scope)
    if not account.own:
        raise ConfigError("This client has no account of its own: it uses the firm's products and tax rates.",
                          hint="Map them on the integration's Invoices tab.")
    return account


def _rows(model: type[CatalogItem] | type[CatalogMapping], account: VendorAccount, kind: str):  # noqa: ANN202
    query = model.query.filter_by(integration_id=account.integration.id, kind=kind)
    key = account.catalog_key
    return query.filter(model.client_connection_id.is_(None) if key is None else model.client_connection_id == key)


def _check(integration: Integration, kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown catalog kind {kind!r}")
    vendor = vendor_of(integration)
    if not vendor.can(KINDS[kind][0]):
        raise NotSupported(f"{vendor.info.name} has no {kind.replace('_', ' ')}s to read.")


def refresh(scope: Scope, kind: str, *, user: User | None = None, wait: float | None = None,
            trigger: str = "user") -> SyncRun:
    """Pull the account's products or tax rates into its cache (in the background)."""
    account = account_of(scope)
    _check(account.integration, kind)
    run = account_run("catalog", account, trigger=trigger, user=user, params={"kind": kind, "account": account.kind})
    return wait_for(run, wait) if wait else run


def _catalog_action(run: SyncRun) -> dict:
    kind = run.params["kind"]
    account = run_account(run)
    rows = call_vendor(run, KINDS[kind][1], account=account)
    now = utcnow()
    cached = {c.vendor_id: c for c in _rows(CatalogItem, account, kind)}
    seen = set()
    for row in rows:
        item = cached.get(row.id) or CatalogItem(integration_id=run.integration_id, kind=kind, vendor_id=row.id,
                                                 client_connection_id=account.catalog_key)
        item.code, item.name, item.fetched_at = row.code, row.name, now
        item.rate = row.rate if kind == "tax_rate" else None
        item.unit_price = getattr(row, "unit_price", None) if kind == "product" else None
        db.session.add(item)
        seen.add(row.id)
    for vendor_id, item in cached.items():
        if vendor_id not in seen:
            db.session.delete(item)
    db.session.commit()
    return {"kind": kind, "count": len(rows)}


def items(scope: Scope, kind: str) -> list[CatalogItem]:
    return _rows(CatalogItem, account_of(scope), kind).order_by(CatalogItem.code).all()


def mappings(scope: Scope, kind: str) -> dict[str, str]:
    return {m.hub_key: m.vendor_code for m in _rows(CatalogMapping, account_of(scope), kind)}


def set_mapping(scope: Scope, kind: str, hub_key: str, vendor_code: str | None, *,
                user: User | None = None) -> None:
    """Map a hub product code or VAT rate to the account's code (``None`` removes the mapping)."""
    set_mappings(scope, kind, {hub_key: vendor_code}, user=user)


def item_label(item: CatalogItem) -> str:
    """A cached product or tax rate in words: ``"3 · Utgående mva, høy sats (25 %)"``."""
    rate = f" ({rate_key(item.rate)} %)" if item.rate is not None else ""
    return " · ".join(x for x in (item.code, item.name) if x) + rate


def set_mappings(scope: Scope, kind: str, chosen: dict[str, str | None], *, user: User | None = None) -> list[str]:
    """Save one form of mappings (hub key → the account's code, ``None``: no mapping) at once: all are checked
    before any is written, and one audit entry names what changed (none when nothing did). Returns the changes
    in words (``"VAT 22 % → 3 · Utgående mva (25 %)"``)."""
    account = account_of(scope)
    integration = account.integration
    _check(integration, kind)
    name = vendor_of(integration).info.name
    cached = {c.vendor_id if kind == "tax_rate" else c.code: c for c in items(account, kind)}
    rows = {m.hub_key: m for m in _rows(CatalogMapping, account, kind)}
    wanted: dict[str, str | None] = {}
    for hub_key, vendor_code in chosen.items():
        key = rate_key(hub_key) if kind == "tax_rate" else hub_key.strip()
        if vendor_code is not None and vendor_code not in cached:
            raise ConfigError(f"{name} has no {kind.replace('_', ' ')} {vendor_code!r}.",
                              hint="Refresh the list from the vendor and pick one of its codes.")
        wanted[key] = vendor_code

    def words(code: str | None) -> str:
        if code is None:
            return "not mapped"
        item = cached.get(code)
        return f"{name} {item_label(item) if item else code}"

    changes = []
    for key, vendor_code in wanted.items():
        row = rows.get(key)
        before = row.vendor_code if row is not None else None
        if before == vendor_code:
            continue
        if vendor_code is None:
            db.session.delete(row)
        else:
            row = row or CatalogMapping(integration_id=integration.id, kind=kind, hub_key=key,
                                        client_connection_id=account.catalog_key)
            row.vendor_code = vendor_code
            db.session.add(row)
        what = f"VAT {key} %" if kind == "tax_rate" else f"product {key}"
        changes.append(f"{what}: {words(before)} → {words(vendor_code)}")
    db.session.commit()
    if changes:
        audit.record(integration.firm_id, "catalog.mapped", account.owner, user=user,
                     details={"kind": kind, "account": account.kind, "changes": "; ".join(changes)})
    return changes


def vendor_code(scope: Scope, kind: str, hub_value: Decimal | str) -> str | None:
    """The account's code for a hub product code / VAT rate, or ``None`` if it must be mapped first."""
    account = account_of(scope)
    key = rate_key(hub_value) if kind == "tax_rate" else str(hub_value)
    explicit = mappings(account, kind).get(key)
    if explicit:
        return explicit
    cached = items(account, kind)
    if kind == "tax_rate":
        same = [c for c in cached if c.rate is not None and rate_key(c.rate) == key]
        return same[0].vendor_id if len(same) == 1 else None
    same = [c for c in cached if c.code == key]
    return same[0].code if same else None


def own_accounts(integration: Integration) -> list[ClientConnection]:
    """The integration's client connections with an account of their own."""
    return [c for c in ClientConnection.query.filter_by(integration_id=integration.id).order_by(ClientConnection.id)
            if c.has_credentials]


@dispatcher("catalog")
def dispatch_catalog(now: dt.datetime | None = None) -> int:
    """Refresh the products and tax rates of every healthy vendor account (the firm's and clients' own) once a
    day."""
    registry = services().registry
    cutoff = (now or dt.datetime.now(dt.UTC)).replace(tzinfo=None) - REFRESH_EVERY
    count = 0
    for integration in Integration.query.filter_by(enabled=True):
        vendor = registry.vendors.get(integration.vendor)
        scopes: list[Scope] = [integration] if integration.status == OK else []
        scopes += [c for c in own_accounts(integration) if c.status == OK]
        for scope in scopes:
            for kind, (capability, _hook) in KINDS.items():
                if vendor is None or not vendor.can(capability):
                    continue
                connection_id = scope.id if isinstance(scope, ClientConnection) else None
                recent = SyncRun.query.filter(SyncRun.integration_id == integration.id, SyncRun.kind == "catalog",
                                              SyncRun.client_connection_id.is_(None) if connection_id is None
                                              else SyncRun.client_connection_id == connection_id,
                                              SyncRun.params["kind"].as_string() == kind,
                                              SyncRun.created_at > cutoff).count()
                if not recent:
                    refresh(scope, kind, trigger="schedule")
                    count += 1
    return count


register(Kind("catalog", _catalog_action, on_attention=record_failure))
