"""Constants and helpers shared by the Tripletex tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hub.types import Invoice, InvoiceLine, InvoiceParty

SLUG = "tripletex"
GOOD = {"employee_token": "sbx-employee-fjord-0001", "environment": "production", "company_id": "0"}
NORDLYS = {"employee_token": "sbx-employee-nordlys-0002", "environment": "production", "company_id": "0"}
TEST_ENV = {"employee_token": "test-sbx-employee-demo-0101", "environment": "test", "company_id": "0"}
#: A fixed "now" (2026-11-22 12:00 Europe/Oslo) so expiration dates are predictable.
NOW = dt.datetime(2026, 11, 22, 11, 0, tzinfo=dt.UTC)


def make_invoice(**overrides) -> Invoice:
    values = dict(
        reference="hub-inv-000042-tripletex", number="2026-0042",
        client=InvoiceParty(name="Havbris Eiendom AS", vendor_client_id="10002"),
        issue_date=dt.date(2026, 11, 20), due_date=dt.date(2026, 12, 4), currency="NOK",
        lines=(InvoiceLine("Bookkeeping November", Decimal("2"), Decimal("1000.50"), Decimal("25")),
               InvoiceLine("Payroll", Decimal("1.5"), Decimal("800"), Decimal("15"))),
        total_net=Decimal("3201.00"), total_vat=Decimal("680.25"), total=Decimal("3881.25"),
        notes="Thank you",
    )
    values.update(overrides)
    return Invoice(**values)


def active_customers(state, company: int) -> list[dict]:
    return [c for c in state.store["customers"][company] if not c["isInactive"]]


def calls(state, method: str | None = None, path: str | None = None) -> list[dict]:
    return [r for r in state.requests if (method is None or r["method"] == method)
            and (path is None or r["path"] == path)]


def creates(state) -> int:
    return len(calls(state, path="/v2/token/session/:create"))
