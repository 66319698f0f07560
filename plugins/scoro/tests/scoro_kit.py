"""Shared helpers for the Scoro plugin tests (a plain module: no conftest, so it cannot clash with
other plugins' test folders)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import hub_scoro
from hub_scoro import sandbox

from hub import credentials as creds
from hub.testing import make_context, vendor_registry
from hub.types import Address, Invoice, InvoiceLine, InvoiceParty

SLUG = "scoro"
GOOD = dict(sandbox.DEMO_CREDENTIALS)
ACME = "acme.scoro.com"


def credentials(**changes) -> dict:
    return creds.validate(hub_scoro.Credentials, {**GOOD, **changes})


def account_credentials(host: str, **changes) -> dict:
    spec = next(a for a in sandbox.ACCOUNTS if a["host"] == host)
    sub, domain = host.split(".", 1)
    values = {"subdomain": sub, "domain": domain, "company_account_id": spec["company_account_id"],
              "api_key": spec["api_key"]}
    return credentials(**{**values, **changes})


class Harness:
    """A sandbox app, a ctx whose HTTP reaches it in-process, and a registry holding the plugin."""

    def __init__(self, now=None, **knobs) -> None:
        self.app = sandbox.create_app(now=now, **knobs)
        self.state = self.app.extensions["sandbox"]
        self.registry = vendor_registry(SLUG, hub_scoro)
        self.ctx = make_context(SLUG, httpx.WSGITransport(app=self.app), **({"now": now} if now else {}))

    def call(self, hook: str, **kwargs):
        kwargs.setdefault("credentials", credentials())
        return self.registry.call(SLUG, hook, ctx=self.ctx, **kwargs)

    @property
    def requests(self):
        return self.state.requests

    def knobs(self, **knobs) -> None:
        self.state.knobs.update(knobs)


def make_invoice(number: str = "20260042", *, reference: str = "hub-inv-42-scoro", tax_id: str | None = "1",
                 vendor_client_id: str | None = None, reg_code: str | None = "14567890", notes: str = "",
                 vat_rate: Decimal = Decimal("24")) -> Invoice:
    lines = (
        InvoiceLine("Monthly bookkeeping, November 2026", Decimal("1"), Decimal("350.00"), vat_rate, tax_id=tax_id,
                    unit="month"),
        InvoiceLine("Payroll, per employee", Decimal("7"), Decimal("12.50"), vat_rate, tax_id=tax_id,
                    product_code="17"),
    )
    net = sum((line.net for line in lines), Decimal(0))
    vat = (net * vat_rate / 100).quantize(Decimal("0.01"))
    return Invoice(
        reference=reference, number=number,
        client=InvoiceParty(name="Saaremaa Seafood OÜ", reg_code=reg_code, vat_no="EE101234567",
                            email="arved@saaremaa.example", vendor_client_id=vendor_client_id,
                            address=Address(street="Sadama 1", city="Kuressaare", postal_code="93815",
                                            country="EE")),
        issue_date=dt.date(2026, 11, 20), due_date=dt.date(2026, 12, 4), currency="EUR", lines=lines,
        total_net=net, total_vat=vat, total=net + vat, notes=notes,
    )
