"""The new-invoice form of the client page: plain line rows, parsing and validation in words, how money
and quantities look (2 decimals for money), and what the page's Invoices section shows."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask import g, request

from hub import exports as flow
from hub.models import Client, Invoice, InvoiceExport
from hub.web.base import bp, vendor_name

CENT = Decimal("0.01")
DEFAULT_ROWS = 3
MORE_ROWS = 3
MAX_ROWS = 30
LINE_FIELDS = ("description", "quantity", "unit_price", "vat_rate", "product_code")
DUE_DAYS = 14
BIG = Decimal(10) ** 10  # Numeric(14, 4): ten digits before the point


# -- how money and quantities look ----------------------------------------------------------------------
@bp.app_template_filter("money")
def money(value: Any) -> str:
    """``1234.5`` → ``"1234.50"`` (half-up to cents); ``None`` → ``""``."""
    if value is None or value == "":
        return ""
    return f"{Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP):f}"


@bp.app_template_filter("price")
def price(value: Any) -> str:
    """A unit price: 2 decimals, more only where the price has them (``12.3450`` → ``"12.345"``)."""
    if value is None or value == "":
        return ""
    d = Decimal(str(value))
    return money(d) if d == d.quantize(CENT) else f"{d.normalize():f}"


@bp.app_template_filter("quantity")
def quantity(value: Any) -> str:
    if value is None or value == "":
        return ""
    d = Decimal(str(value)).normalize()
    return f"{d.quantize(Decimal(1)) if d == d.to_integral_value() else d:f}"


# -- the form ------------------------------------------------------------------------------------------
def firm_today() -> dt.date:
    try:
        return dt.datetime.now(ZoneInfo(g.user.firm.timezone or "UTC")).date()
    except (KeyError, ValueError):
        return dt.date.today()


def blank_form(rows: int = DEFAULT_ROWS) -> dict[str, Any]:
    today = firm_today()
    return {"values": {"number": "", "issue_date": today.isoformat(),
                       "due_date": (today + dt.timedelta(days=DUE_DAYS)).isoformat(), "currency": "EUR", "notes": ""},
            "lines": [dict.fromkeys(LINE_FIELDS, "") for _ in range(rows)], "errors": {}}


def parse_decimal(text: str, *, places: int, low: Decimal, high: Decimal, example: str) -> Decimal:
    """A number as typed (``1 234,50`` works too); ``ValueError`` carries the message for the field."""
    cleaned = re.sub(r"[\s\u00a0\u202f]", "", text).replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"Enter a number, e.g. {example}.") from None
    if not value.is_finite():
        raise ValueError(f"Enter a number, e.g. {example}.")
    if value.as_tuple().exponent < -places:
        raise ValueError(f"Use at most {places} decimals.")
    if not low <= value <= high:
        raise ValueError(f"Must be between {low.normalize():f} and {high.normalize():f}." if high < BIG
                         else "Must be more than 0." if low > 0 else "The number is too large.")
    return value


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError("Enter a date as YYYY-MM-DD.") from None


def posted_form(form: Any) -> dict[str, Any]:
    """The posted new-invoice form as it was typed (for re-showing it)."""
    indexes = sorted({int(m.group(1)) for key in form for m in [re.fullmatch(r"line-(\d+)-[a-z_]+", key)] if m
                      and int(m.group(1)) < MAX_ROWS})
    rows = max(DEFAULT_ROWS, (indexes[-1] + 1) if indexes else 0)
    return {"values": {k: form.get(k, "") for k in ("number", "issue_date", "due_date", "currency", "notes")},
            "lines": [{f: form.get(f"line-{i}-{f}", "") for f in LINE_FIELDS} for i in range(rows)], "errors": {}}


def validate(state: dict[str, Any], firm_id: int) -> dict[str, Any] | None:
    """Check the posted form; fills ``state["errors"]`` (field → messages) and returns the invoice data
    for ``hub.exports.create_invoice`` when there are none."""
    values, errors = state["values"], state["errors"]

    def fail(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    number = values["number"].strip()
    if not number:
        fail("number", "Give the invoice a number.")
    elif len(number) > 50:
        fail("number", "At most 50 characters.")
    elif Invoice.query.filter_by(firm_id=firm_id, number=number).count():
        fail("number", "Another invoice has this number.")
    dates = {}
    for key in ("issue_date", "due_date"):
        try:
            dates[key] = parse_date(values[key])
        except ValueError as exc:
            fail(key, str(exc))
    if len(dates) == 2 and dates["due_date"] < dates["issue_date"]:
        fail("due_date", "Must be on or after the issue date.")
    currency = values["currency"].strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        fail("currency", "Enter a three-letter currency code, e.g. EUR.")
    if len(values["notes"]) > 5000:
        fail("notes", "At most 5000 characters.")
    lines = []
    for i, row in enumerate(state["lines"]):
        row = {k: (v or "").strip() for k, v in row.items()}
        if not any(row.values()):
            continue  # an empty row is not a line
        line: dict[str, Any] = {"description": row["description"], "product_code": row["product_code"] or None}
        if not row["description"]:
            fail(f"line-{i}-description", "Describe the line.")
        elif len(row["description"]) > 500:
            fail(f"line-{i}-description", "At most 500 characters.")
        if len(row["product_code"]) > 100:
            fail(f"line-{i}-product_code", "At most 100 characters.")
        for key, places, low, high, example in (("quantity", 4, Decimal("0.0001"), BIG - 1, "1 or 2.5"),
                                                ("unit_price", 4, -(BIG - 1), BIG - 1, "150.00"),
                                                ("vat_rate", 2, Decimal(0), Decimal(100), "24 or 9")):
            text = row[key].rstrip("%").strip() if key == "vat_rate" else row[key]
            if not text:
                fail(f"line-{i}-{key}", "Required.")
                continue
            try:
                line[key] = parse_decimal(text, places=places, low=low, high=high, example=example)
            except ValueError as exc:
                fail(f"line-{i}-{key}", str(exc))
        lines.append(line)
    if not lines:
        fail("lines", "Add at least one line.")
    if errors:
        return None
    return {"number": number, "issue_date": dates["issue_date"], "due_date": dates["due_date"],
            "currency": currency, "notes": values["notes"].strip(), "lines": lines}


def invoice_context(client: Client, exports: list[InvoiceExport],
                    invoice_form: dict[str, Any] | None) -> dict[str, Any]:
    """What the client page needs for its Invoices section."""
    invoices = Invoice.query.filter_by(client_id=client.id, firm_id=g.user.firm_id) \
        .order_by(Invoice.issue_date.desc(), Invoice.id.desc()).all()
    by_invoice: dict[int, list[InvoiceExport]] = {}
    for export in exports:
        by_invoice.setdefault(export.invoice_id, []).append(export)
    targets = {i.id: [vendor_name(t.vendor) for t in flow.export_targets(i)] for i in invoices if i.status == "draft"}
    if invoice_form is None:
        rows = min(max(request.args.get("lines", DEFAULT_ROWS, type=int) or DEFAULT_ROWS, 1), MAX_ROWS)
        invoice_form = blank_form(rows)
    return {"invoices": invoices, "exports_by_invoice": by_invoice, "targets": targets, "invoice_form": invoice_form,
            "more_rows": min(len(invoice_form["lines"]) + MORE_ROWS, MAX_ROWS), "more_rows_step": MORE_ROWS,
            "max_rows": MAX_ROWS}
