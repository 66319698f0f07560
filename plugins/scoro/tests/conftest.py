"""Fixtures of the Scoro plugin tests: credentials of the sandbox's accounts, a harness around the in-process
sandbox, and a sample invoice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import hub_scoro
import pytest
from hub_scoro import sandbox

from hub import credentials as creds
from hub.testing import make_context, vendor_registry
from hub.types import Address, Invoice, InvoiceLine, InvoiceParty

SLUG = "scoro"


def _credentials(**changes) -> dict:
    """The demo account's credentials (``sandbox.DEMO_CREDENTIALS``) with ``changes``, validated by the form."""
    return creds.validate(hub_scoro.Credentials, {**sandbox.DEMO_CREDENTIALS, **changes})


class Harness:
    """A sandbox app, a ctx whose HTTP reaches it in-process, and a registry holding the plugin."""

    def __init__(self, now=None, **knobs) -> None:
        self.app = sandbox.create_app(now=now, **knobs)
        self.state = self.app.extensions["sandbox"]
        self.registry = vendor_registry(SLUG, hub_scoro)
        self.ctx = make_context(SLUG, httpx.WSGITransport(app=self.app), **({"now": now} if now else {}))

    def call(self, hook: str, **kwargs):
        kwargs.setdefault("credentials", _credentials())
        return self.registry.call(SLUG, hook, ctx=self.ctx, **kwargs)

    @property
    def requests(self):
        return self.state.requests

    def knobs(self, **knobs) -> None:
        self.state.knobs.update(knobs)


@pytest.fixture
def credentials():
    """``credentials(**changes)``: the demo account's credentials with ``changes``, validated by the form."""
    return _credentials


@pytest.fixture
def account_credentials():
    """``account_credentials(host, **changes)``: the credentials of the seeded account at ``host``."""

    def make(host: str, **changes) -> dict:
        spec = next(a for a in sandbox.ACCOUNTS if a["host"] == host)
        sub, domain = host.split(".", 1)
        values = {"subdomain": sub, "domain": domain, "company_account_id": spec["company_account_id"],
                  "api_key": spec["api_key"]}
        return _credentials(**{**values, **changes})

    return make


@pytest.fixture
def harness():
    """``harness(now=None, **knobs)``: a :class:`Harness` — a fresh in-process sandbox with these knobs, a ctx
    that reaches it and the plugin's registry (``h.call(hook, **kwargs)``, ``h.requests``, ``h.state``)."""
    return Harness


@pytest.fixture
def make_invoice():
    """``make_invoice(number="20260042", ...)``: a two-line invoice to Saaremaa Seafood OÜ (an EE address)."""

    def make(number: str = "20260042", *, reference: str = "hub-inv-42-scoro", tax_id: str | None = "1",
             vendor_client_id: str | None = None, reg_code: str | None = "14567890", notes: str = "",
             vat_rate: Decimal = Decimal("24")) -> Invoice:
        lines = (
            InvoiceLine("Monthly bookkeeping, November 2026", Decimal("1"), Decimal("350.00"), vat_rate,
                        tax_id=tax_id, unit="month"),
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

    return make
