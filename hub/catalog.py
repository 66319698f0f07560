"""Products and tax rates from the vendor: pulled on demand and daily, cached per integration, and mapped
to the hub's product codes and VAT rates so that exports carry the vendor's own codes.

Matching: an explicit mapping wins; otherwise a VAT rate matches the vendor's only tax rate with that
percentage, and a product code matches the vendor's product with the same code. Anything else must be
mapped by the admin (the export says what).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hub import audit
from hub.connections import call_vendor, vendor_of
from hub.errors import ConfigError, NotSupported
from hub.jobs import action, start_run, wait_for
from hub.models import CatalogItem, CatalogMapping, Integration, SyncRun, User, db, utcnow
from hub.schedule import dispatcher
from hub.services import services

KINDS = {"product": ("products", "hub_list_products"), "tax_rate": ("tax_rates", "hub_list_tax_rates")}
REFRESH_EVERY = dt.timedelta(days=1)


def rate_key(rate: Decimal | str | float) -> str:
    """``Decimal("22.00")`` → ``"22"``; ``9.5`` → ``"9.5"``: how VAT rates are keyed in mappings."""
    text = format(Decimal(str(rate)).normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _check(integration: Integration, kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown catalog kind {kind!r}")
    vendor = vendor_of(integration)
    if not vendor.can(KINDS[kind][0]):
        raise NotSupported(f"{vendor.info.name} has no {kind.replace('_', ' ')}s to read.")


def refresh(integration: Integration, kind: str, *, user: User | None = None, wait: float | None = None,
            trigger: str = "user") -> SyncRun:
    """Pull the vendor's products or tax rates into the cache (in the background)."""
    _check(integration, kind)
    run = start_run("catalog", firm_id=integration.firm_id, integration_id=integration.id, trigger=trigger,
                    user_id=user.id if user else None, params={"kind": kind})
    return wait_for(run, wait) if wait else run


@action("catalog", queue="interactive")
def _catalog_action(run: SyncRun) -> dict:
    kind = run.params["kind"]
    rows = call_vendor(run, KINDS[kind][1])
    now = utcnow()
    cached = {c.vendor_id: c for c in CatalogItem.query.filter_by(integration_id=run.integration_id, kind=kind)}
    seen = set()
    for row in rows:
        item = cached.get(row.id) or CatalogItem(integration_id=run.integration_id, kind=kind, vendor_id=row.id)
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


def items(integration: Integration, kind: str) -> list[CatalogItem]:
    return CatalogItem.query.filter_by(integration_id=integration.id, kind=kind).order_by(CatalogItem.code).all()


def mappings(integration: Integration, kind: str) -> dict[str, str]:
    return {m.hub_key: m.vendor_code for m in CatalogMapping.query.filter_by(integration_id=integration.id, kind=kind)}


def set_mapping(integration: Integration, kind: str, hub_key: str, vendor_code: str | None, *,
                user: User | None = None) -> None:
    """Map a hub product code or VAT rate to the vendor's code (``None`` removes the mapping)."""
    _check(integration, kind)
    hub_key = rate_key(hub_key) if kind == "tax_rate" else hub_key.strip()
    row = CatalogMapping.query.filter_by(integration_id=integration.id, kind=kind, hub_key=hub_key).one_or_none()
    if vendor_code is None:
        if row is not None:
            db.session.delete(row)
    else:
        known = {c.vendor_id if kind == "tax_rate" else c.code for c in items(integration, kind)}
        if vendor_code not in known:
            raise ConfigError(f"{vendor_of(integration).info.name} has no {kind.replace('_', ' ')} {vendor_code!r}.",
                              hint="Refresh the list from the vendor and pick one of its codes.")
        row = row or CatalogMapping(integration_id=integration.id, kind=kind, hub_key=hub_key)
        row.vendor_code = vendor_code
        db.session.add(row)
    db.session.commit()
    audit.record(integration.firm_id, "catalog.mapped", integration, user=user,
                 details={"kind": kind, "hub_key": hub_key, "vendor_code": vendor_code})


def vendor_code(integration: Integration, kind: str, hub_value: Decimal | str) -> str | None:
    """The vendor's code for a hub product code / VAT rate, or ``None`` if it must be mapped first."""
    key = rate_key(hub_value) if kind == "tax_rate" else str(hub_value)
    explicit = mappings(integration, kind).get(key)
    if explicit:
        return explicit
    cached = items(integration, kind)
    if kind == "tax_rate":
        same = [c for c in cached if c.rate is not None and rate_key(c.rate) == key]
        return same[0].vendor_id if len(same) == 1 else None
    same = [c for c in cached if c.code == key]
    return same[0].code if same else None


@dispatcher("catalog")
def dispatch_catalog(now: dt.datetime | None = None) -> int:
    """Refresh each integration's products and tax rates once a day."""
    registry = services().registry
    cutoff = (now or dt.datetime.now(dt.UTC)).replace(tzinfo=None) - REFRESH_EVERY
    count = 0
    for integration in Integration.query.filter_by(enabled=True).filter(Integration.status == "ok"):
        vendor = registry.vendors.get(integration.vendor)
        for kind, (capability, _hook) in KINDS.items():
            if vendor is None or not vendor.can(capability):
                continue
            recent = SyncRun.query.filter(SyncRun.integration_id == integration.id, SyncRun.kind == "catalog",
                                          SyncRun.params["kind"].as_string() == kind,
                                          SyncRun.created_at > cutoff).count()
            if not recent:
                refresh(integration, kind, trigger="schedule")
                count += 1
    return count
