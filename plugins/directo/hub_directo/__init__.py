"""Directo (Estonia, Latvia) through XML Direct: test connection, client lookup, articles, monthly
statistics, invoice export and paid status.

The hooks are thin: the wire protocol and the mapping are in :mod:`hub_directo.client`, the facts it relies on
in :mod:`hub_directo.wire`, the emulator in :mod:`hub_directo.sandbox`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import TYPE_CHECKING, Any

import marshmallow
from marshmallow import ValidationError, fields, post_load, pre_load, validate, validates

from hub import hookimpl
from hub.types import (
    ConnectionInfo,
    ExportReceipt,
    Invoice,
    Payment,
    Period,
    Product,
    StatisticField,
    Statistics,
    TaxRate,
    VendorClient,
    VendorInfo,
)

from . import client as xml_direct
from .client import DirectoClient
from .wire import fact

#: Components the integration reads besides ``customer`` (which the connection test itself reads).
USED_COMPONENTS = {"item": "products", "invoice": "statistics and invoice export",
                   "purchase": "statistics", "receipt": "statistics and paid status",
                   "transaction": "statistics"}

if TYPE_CHECKING:
    from hub.types import Context

__version__ = "0.1.0"

DOCS_URL = "https://wiki.directo.ee/en/xml_direct"
#: Checked after lower-casing: the pattern states what may be typed (any case).
_DATABASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{1,39}$")
_DATABASE_IN_URL = re.compile(r"/(?:xmlcore/|ocra_)([A-Za-z0-9_\-]+)")


def _up_to(top: int, space: str = "") -> str:
    """A regular expression for the whole numbers 1..``top`` written without leading zeros (``space`` after
    each digit: the spaces people type inside numbers, which are removed before the check)."""
    digits = str(top)

    def any_digits(count: int) -> str:
        return (rf"\d{{{count}}}" if not space else rf"(?:\d{space}){{{count}}}") if count else ""

    parts = [rf"[1-9]{space}" + (rf"\d{{0,{len(digits) - 2}}}" if not space else
                                  rf"(?:\d{space}){{0,{len(digits) - 2}}}")] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        low = 1 if i == 0 else 0
        if int(digit) > low:
            prefix = "".join(d + space for d in digits[:i])
            parts.append(prefix + f"[{low}-{int(digit) - 1}]{space}" + any_digits(len(digits) - i - 1))
    parts.append("".join(d + space for d in digits))
    return "(?:" + "|".join(parts) + ")"


MAX_DOC_NUMBER = fact("max_document_number")
_NUMBER = _up_to(MAX_DOC_NUMBER)
#: ``900001-999999`` or a first number only, each 1..MAX_DOC_NUMBER (leading zeros allowed); the smaller first.
_NUMBER_RANGE = re.compile(rf"^0*({_NUMBER})(?:-0*({_NUMBER}))?$")
#: What may be typed (the API document's pattern): the same, with spaces anywhere and an en or em dash; blank
#: is no range. Whitespace is :data:`hub.credentials.WHITESPACE`-like: spelled out for every regex engine.
_SPACE = "[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
_TYPED_NUMBER = rf"(?:0{_SPACE}*)*{_up_to(MAX_DOC_NUMBER, _SPACE + '*')}"
TYPED_RANGE = rf"^{_SPACE}*$|^{_SPACE}*{_TYPED_NUMBER}(?:[-\u2013\u2014]{_SPACE}*{_TYPED_NUMBER})?$"


class Credentials(marshmallow.Schema):
    """An XML Direct access token and the company database it belongs to."""

    token = fields.String(required=True, validate=[
        validate.Length(min=8, error="This is too short to be a Directo access token: copy the whole value."),
        validate.Regexp(r"^[!-~]+$", error="The token must not contain spaces or line breaks: copy it again from "
                                         "Directo.")], metadata={
        "label": "Access token",
        "secret": True,
        "help": "A personal access token of Directo's integration user: in Directo, Settings → System settings → "
                "API access (XML Direct; on older versions the Employee card → XML). Tokens are shown only once.",
        "placeholder": "paste the token from Directo",
    })
    database = fields.String(required=True, validate=validate.Regexp(_DATABASE, error=(
        "Enter only the company database code, e.g. acme_ee (letters, digits and underscores), not a URL or the "
        "company name.")), metadata={
        "label": "Company database code",
        "help": "The short code of the Directo company database the token was created in (e.g. acme_ee). "
                "Each database needs its own token.",
        "placeholder": "acme_ee",
    })
    invoice_numbers = fields.String(load_default=None, allow_none=True, metadata={
        "pattern": TYPED_RANGE,  # the check below, on the typed text (the messages say what is wrong)
        "label": "Invoice numbers for the hub",
        "help": "Directo numbers are whole numbers and every invoice needs one. Give a range the bookkeeper "
                "reserves for the hub in Directo (e.g. 900001-999999, or just the first number): the hub gives "
                "each exported invoice the next free number from it and keeps its own number (e.g. INV-2026-0001) "
                "in the invoice's comment. Leave empty only if the hub's invoice numbers are plain numbers that "
                "Directo does not use itself.",
        "placeholder": "900001-999999",
    })

    @pre_load
    def normalise(self, data: dict, **kwargs: Any) -> dict:
        data = dict(data or {})
        token = data.get("token")
        if isinstance(token, str):
            token = token.strip()
            if token.lower().startswith("token="):  # pasted from a URL or a curl example
                token = token[len("token="):].strip()
            data["token"] = token
        database = data.get("database")
        if isinstance(database, str):
            database = database.strip()
            found = _DATABASE_IN_URL.search(database) if "/" in database else None
            if found and found.group(1).lower() != "cap_xml_direct":
                database = found.group(1)
            data["database"] = database.lower()
        numbers = data.get("invoice_numbers")
        if isinstance(numbers, str):
            numbers = re.sub(r"\s+", "", numbers).replace("\u2013", "-").replace("\u2014", "-")
            data["invoice_numbers"] = numbers or None
        return data

    @validates("invoice_numbers")
    def check_invoice_numbers(self, value: str | None, **kwargs: Any) -> None:
        if value is None:
            return
        if not re.match(r"^\d+(-\d+)?$", value):
            raise ValidationError("Enter a range of whole numbers such as 900001-999999 (or only the first number).")
        found = _NUMBER_RANGE.match(value)
        low, high = (int(found.group(1)), int(found.group(2) or MAX_DOC_NUMBER)) if found else (0, 0)
        if not 0 < low <= high <= MAX_DOC_NUMBER:
            raise ValidationError(f"Directo numbers run from 1 to {MAX_DOC_NUMBER}: enter a range within them, "
                                  "the smaller number first.")

    @post_load
    def canonical_range(self, data: dict, **kwargs: Any) -> dict:
        """``invoice_numbers`` stored as ``low-high`` (a single first number runs to Directo's largest)."""
        found = _NUMBER_RANGE.match(data.get("invoice_numbers") or "")
        if found:
            data["invoice_numbers"] = f"{int(found.group(1))}-{int(found.group(2) or MAX_DOC_NUMBER)}"
        return data


STATISTIC_FIELDS = (
    StatisticField("sale_entries", "Sale entries",
                   "Sales invoices dated in the month."),
    StatisticField("purchase_entries", "Purchase entries",
                   "Purchase invoices dated in the month."),
    StatisticField("bank_transactions", "Bank transactions",
                   "Payments received (the lines of Directo receipts) dated in the month."),
    StatisticField("documents", "Documents",
                   "Sales invoices + purchase invoices + receipts dated in the month."),
    StatisticField("sales_invoice_rows", "Sales invoice rows",
                   "Rows on the month's sales invoices.", advanced=True),
    StatisticField("credit_invoices", "Credit invoices",
                   "Sales invoices with a negative total dated in the month.", advanced=True),
    StatisticField("unconfirmed_documents", "Unconfirmed documents",
                   "Sales and purchase invoices of the month not yet confirmed in Directo.", advanced=True),
    StatisticField("gl_transactions", "Financial transactions",
                   "General-ledger transactions dated in the month. Counted for the whole Directo database only: "
                   "0 for a client that shares a database with others.", advanced=True),
)
assert tuple(f.key for f in STATISTIC_FIELDS) == xml_direct.STAT_KEYS


@hookimpl
def hub_vendor() -> VendorInfo:
    return VendorInfo(
        slug="directo",
        name="Directo",
        regions=("EE", "LV"),
        api_version="XML Direct",
        summary="Directo ERP: client lookup, articles, monthly statistics and invoice export.",
        syncs=(
            "Clients: Directo → Integration Hub (read-only, to match the firm's clients)",
            "Articles (products): Directo → Integration Hub",
            "Monthly statistics: Directo → Integration Hub",
            "Invoices: Integration Hub → Directo (left unconfirmed; Directo never e-mails them)",
            "Paid status: Directo receipts → Integration Hub",
        ),
        setup_steps=(
            "Ask a Directo administrator to sign in to the company database you want to connect.",
            "In Directo open Settings → System settings → API access (XML Direct) and create a personal access token "
            "for an integration user (not a real employee), with an expiry date that fits your security policy.",
            "Allow the token the components the hub uses: customer, item, invoice, purchase, receipt, transaction.",
            "Copy the token (it is shown only once) and paste it here with the company database code (e.g. acme_ee).",
            "Ask the bookkeeper for a range of invoice numbers reserved for the hub in Directo (e.g. 900001-999999) "
            "and enter it as 'Invoice numbers for the hub': Directo needs a numeric number on every invoice.",
            "Click Test connection: Directo answers with the database name. Then Save.",
            "For clients with their own Directo database, connect them at the client level with that database's token.",
        ),
        gotchas=(
            "Tokens are tied to one company database: a token from another database fails with a message naming it.",
            "Pasted whitespace is removed automatically; an expired or revoked token must be regenerated in Directo.",
            "Multi-database firms: generate a token in each database and connect those clients with per-client "
            "credentials.",
            "Directo documents no rate limit; after a failure it asks for a retry after 60 seconds or more.",
            "Exported invoices arrive unconfirmed so the bookkeeper can review and confirm them in Directo.",
            "Exported invoices get the next free number of 'Invoice numbers for the hub'; the hub's own number "
            "(e.g. INV-2026-0001) is in the invoice's comment. Without the range only plain numeric hub numbers "
            "can be exported.",
        ),
        statistic_fields=STATISTIC_FIELDS,
        rate_limits=(),  # none published (public-apis.md §5); failures are retried after ≥ 60 s
        per_client_credentials=True,
        account_kind="database",
        docs_url=DOCS_URL,
        requires_api="1.2",
    )


@hookimpl
def hub_credentials_schema() -> type[marshmallow.Schema]:
    return Credentials


@hookimpl
def hub_test_connection(ctx: "Context", credentials: dict) -> ConnectionInfo:
    info = xml_direct.test_connection(ctx, credentials)
    missing = DirectoClient(ctx, credentials).missing_components(USED_COMPONENTS)
    if not missing:
        return info
    if "missing" in {f.name for f in dataclasses.fields(ConnectionInfo)}:  # hub ≥ 1.1 lists them itself
        return dataclasses.replace(info, missing=tuple(missing))
    return dataclasses.replace(info, details={**info.details, "missing permissions": " ".join(missing)})


@hookimpl
def hub_list_clients(ctx: "Context", credentials: dict, query: str) -> list[VendorClient]:
    return xml_direct.list_clients(ctx, credentials, query)


@hookimpl
def hub_list_products(ctx: "Context", credentials: dict) -> list[Product]:
    return xml_direct.list_products(ctx, credentials)


@hookimpl
def hub_list_tax_rates() -> list[TaxRate]:
    return xml_direct.list_tax_rates()


@hookimpl
def hub_fetch_statistics(ctx: "Context", credentials: dict, client: str | None,
                         periods: list[Period]) -> Statistics:
    return xml_direct.fetch_statistics(ctx, credentials, client, periods)


@hookimpl
def hub_export_invoice(ctx: "Context", credentials: dict, invoice: Invoice) -> ExportReceipt:
    return xml_direct.export_invoice(ctx, credentials, invoice)


@hookimpl
def hub_find_invoice(ctx: "Context", credentials: dict, invoice: Invoice) -> ExportReceipt | None:
    return xml_direct.find_invoice(ctx, credentials, invoice)


@hookimpl
def hub_fetch_payments(ctx: "Context", credentials: dict, since: dt.date) -> list[Payment]:
    return xml_direct.fetch_payments(ctx, credentials, since)
