"""Merit Aktiva (Estonia; Finland "Passeli Merit"; Poland "360 Księgowość"), API v1 (v2 for paid status).

Each firm client is its own Merit company with its own API ID and key (``per_client_credentials``).
The hooks are thin; the wire protocol lives in :mod:`hub_merit.client`.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import marshmallow
from marshmallow import fields, pre_load, validate

from hub import hookimpl
from hub.errors import TransientError, VendorRejected
from hub.types import (
    ConnectionInfo,
    ExportReceipt,
    Invoice,
    Payment,
    Period,
    Product,
    RateLimit,
    StatisticField,
    TaxRate,
    VendorInfo,
)
from hub_merit.client import (
    COUNTRY_NAMES,
    MeritClient,
    booked_invoice,
    bucket,
    build_invoice_payload,
    decimal,
    payment_links,
    tax_ids,
    tax_percent,
)
from hub_merit.wire import fact

SLUG = "merit"
COUNTRIES = tuple(fact("hosts"))  # EE, FI, FI-LEGACY, PL: one Merit service per host
COUNTRY_LABELS = ("Estonia (aktiva.merit.ee)", "Finland – Passeli Merit (app.passelimerit.fi)",
                  "Finland – legacy Merit Aktiva host (aktiva.meritaktiva.fi)",
                  "Poland – 360 Księgowość (program.360ksiegowosc.pl)")
_COUNTRY_ALIASES = {
    "ee": "EE", "est": "EE", "estonia": "EE", "eesti": "EE", "aktiva.merit.ee": "EE",
    "fi": "FI", "fin": "FI", "finland": "FI", "suomi": "FI", "passeli": "FI", "app.passelimerit.fi": "FI",
    "fi-legacy": "FI-LEGACY", "fi_legacy": "FI-LEGACY", "aktiva.meritaktiva.fi": "FI-LEGACY",
    "pl": "PL", "pol": "PL", "poland": "PL", "polska": "PL", "program.360ksiegowosc.pl": "PL",
}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
#: A Merit API key: a long string without spaces (base64, ~44 characters). The schema's validators carry
#: these rules, so the API document states them as ``pattern``.
_API_KEY = re.compile(r"^[!-~]{16,}$")  # visible ASCII: the same in every regex engine
_API_ID_ERROR = ("The API ID looks like 8-4-4-4-12 letters and digits (a GUID), e.g. "
                 "3f2504e0-4f89-41d3-9a0c-0305e82c3301. Copy it again from Merit Aktiva → Settings → API settings.")
_API_KEY_ERROR = ("This does not look like a Merit API key (a long string without spaces). Copy it again from "
                  "Merit Aktiva → Settings → API settings.")

STATISTIC_FIELDS = (
    StatisticField("entries", "Entries",
                   "General-ledger entries dated in the month: every financial transaction, whether an invoice or "
                   "payment made it or it was entered by hand."),
    StatisticField("vat_entries", "VAT entries",
                   "Sales and purchase invoices dated in the month that have VAT on them."),
    StatisticField("documents", "Documents",
                   "Sales invoices + purchase invoices + bank payments (incoming and outgoing) dated in the month."),
    StatisticField("sales_invoices", "Sales invoices",
                   "Sales invoices and credit notes dated in the month.", advanced=True),
    StatisticField("purchase_invoices", "Purchase invoices",
                   "Purchase invoices dated in the month.", advanced=True),
    StatisticField("payments", "Payments",
                   "Bank payments of every kind — from customers, to vendors, other income and expenses — dated in "
                   "the month.", advanced=True),
)
STATISTIC_KEYS = tuple(f.key for f in STATISTIC_FIELDS)


class Credentials(marshmallow.Schema):
    api_id = fields.String(required=True, validate=validate.Regexp(_GUID, error=_API_ID_ERROR), metadata={
        "label": "API ID",
        "help": "In Merit Aktiva: Settings → API settings (Company settings → Integrations). Copy the API ID of the "
                "key you generated for Integration Hub.",
        "placeholder": "e.g. 3f2504e0-4f89-41d3-9a0c-0305e82c3301",
    })
    api_key = fields.String(required=True, validate=validate.Regexp(_API_KEY, error=_API_KEY_ERROR), metadata={
        "label": "API key",
        "help": "Shown next to the API ID in Settings → API settings. Paste it exactly as shown (a long run of letters "
                "and digits, often ending in '='). If the key is reset in Merit, paste the new one here.",
        "secret": True,
        "placeholder": "e.g. u5h9…Zk0=",
    })
    country = fields.String(required=True, validate=validate.OneOf(
        COUNTRIES, labels=COUNTRY_LABELS,
        error="Choose Estonia, Finland or Poland: each country is a separate Merit service."), metadata={
        "label": "Country",
        "help": "The Merit service the company lives on. Estonia, Finland (Passeli Merit) and Poland (360 Księgowość) "
                "are separate services and credentials do not cross over; a wrong country fails like wrong "
                "credentials. Finnish companies still on aktiva.meritaktiva.fi choose the legacy host.",
    })

    @pre_load
    def normalise(self, data: dict, **kwargs: Any) -> dict:
        data = dict(data or {})
        country = data.get("country")
        if isinstance(country, str):
            data["country"] = _COUNTRY_ALIASES.get(country.strip().lower(), country.strip().upper())
        return data


@hookimpl
def hub_vendor() -> VendorInfo:
    return VendorInfo(
        slug=SLUG,
        name="Merit Aktiva",
        regions=("EE", "FI", "PL"),
        api_version="v1 (v2 getpayments for paid status)",
        summary="Merit Aktiva accounting (Passeli Merit in Finland, 360 Księgowość in Poland). One Merit company per "
                "client: tax rates, products, monthly statistics, invoice export and paid status.",
        syncs=("Tax rates: Merit Aktiva → Integration Hub", "Products (articles): Merit Aktiva → Integration Hub",
               "Monthly statistics (entries, VAT entries, documents): Merit Aktiva → Integration Hub",
               "Invoices: Integration Hub → Merit Aktiva",
               "Paid status of exported invoices: Merit Aktiva → Integration Hub"),
        setup_steps=("Sign in to Merit Aktiva and open Settings → API settings (Company settings → Integrations).",
                     "Generate an API ID and API key (the company needs a PRO or PREMIUM licence).",
                     "Paste the API ID and the API key, and choose the company's country: Estonia, Finland or "
                     "Poland.",
                     "Click Test connection, then Save."),
        gotchas=("If the country is wrong, the test fails with an authentication error even if the credentials are "
                 "right: each Merit country runs as a separate service.",
                 "Merit keys do not expire, but resetting the key in Merit stops the old one: paste the new key.",
                 "The API needs a PRO or PREMIUM licence on the Merit company.",
                 "Merit allows 60 requests per minute per API key; a 12-month reload takes 16 requests."),
        statistic_fields=STATISTIC_FIELDS,
        rate_limits=(RateLimit(*fact("rate_limit")),),
        per_client_credentials=True,
        account_kind="company",  # a Merit Aktiva company: its own API id and key
        docs_url="https://api.merit.ee/connecting-robots/reference-manual/",
        requires_api="1.2",
        vat_rounding="line" if fact("vat_per_row") else "rate",  # Merit counts VAT per row, each rounded
    )


@hookimpl
def hub_credentials_schema() -> type[marshmallow.Schema]:
    return Credentials


@hookimpl
def hub_test_connection(ctx: Any, credentials: dict) -> ConnectionInfo:
    taxes = MeritClient(ctx, credentials).taxes()
    country = COUNTRY_NAMES[credentials["country"]]
    api_id = credentials["api_id"]
    return ConnectionInfo(account_name=f"Merit Aktiva {country} company (API ID …{api_id[-4:]})",
                          account_id=api_id, details={"country": country, "tax_rates": str(len(taxes))})


@hookimpl
def hub_list_tax_rates(ctx: Any, credentials: dict) -> list[TaxRate]:
    return [TaxRate(id=str(t["Id"]), code=str(t.get("Code") or ""), name=str(t.get("NameEN") or t.get("Name") or ""),
                    rate=tax_percent(t)) for t in MeritClient(ctx, credentials).taxes()]


@hookimpl
def hub_list_products(ctx: Any, credentials: dict) -> list[Product]:
    client = MeritClient(ctx, credentials)
    items = client.items()
    taxes = client.taxes() if any(i.get("VatTaxName") for i in items) else []
    tax_by_name = {}
    for t in taxes:
        for key in ("Name", "NameEN", "Code"):
            if t.get(key):
                tax_by_name.setdefault(str(t[key]), str(t["Id"]))
    return [Product(id=str(i["ItemId"]), code=str(i.get("Code") or ""), name=str(i.get("Name") or ""),
                    unit_price=decimal(i["SalesPrice"]) if i.get("SalesPrice") is not None else None,
                    unit=i.get("UnitofMeasureName") or None, tax_id=tax_by_name.get(str(i.get("VatTaxName"))))
            for i in items]


@hookimpl
def hub_fetch_statistics(ctx: Any, credentials: dict, client: str | None, periods: list[Period]) -> dict:
    out = {p: dict.fromkeys(STATISTIC_KEYS, 0) for p in periods}
    if not periods:
        return out
    merit = MeritClient(ctx, credentials)
    first, last = min(periods).first_day, max(periods).last_day

    def add(rows: list[dict], date_field: str, *keys: str, when: Any = None) -> None:
        for day, row in bucket(rows, date_field):
            stats = out.get(Period.of(day))
            if stats is not None and (when is None or when(row)):
                for key in keys:
                    stats[key] += 1

    vat_field = fact("invoice_vat")
    has_vat = lambda row: decimal(row.get(vat_field)) != 0  # noqa: E731
    # The four lists are independent: fetch them at the same time (each still in 3-month windows, and every
    # request still within the 60/min budget of the API key).
    batches, sales, purchases, payments = ctx.parallel([
        lambda: merit.list_rows(fact("endpoint_gl_batches"), first, last, DateType=fact("gl_batch_date_type")),
        lambda: merit.list_rows(fact("endpoint_invoices"), first, last),
        lambda: merit.list_rows(fact("endpoint_purchases"), first, last),
        lambda: merit.list_rows(fact("endpoint_payments"), first, last),
    ])
    # each list has its own date field: a GL batch is dated by BatchDate, documents by DocumentDate
    add(batches, fact("gl_batch_date"), "entries")
    add(sales, fact("invoice_date"), "sales_invoices", "documents")
    add(sales, fact("invoice_date"), "vat_entries", when=has_vat)
    add(purchases, fact("purchase_date"), "purchase_invoices", "documents")
    add(purchases, fact("purchase_date"), "vat_entries", when=has_vat)
    add(payments, fact("payment_date"), "payments", "documents")
    return out


@hookimpl
def hub_find_invoice(ctx: Any, credentials: dict, invoice: Invoice) -> ExportReceipt | None:
    merit = MeritClient(ctx, credentials)
    id_field, number_field = fact("invoice_id"), fact("invoice_number")
    for row in merit.list_rows(fact("endpoint_invoices"), invoice.issue_date, invoice.issue_date):
        if str(row.get(number_field)) == invoice.number:
            return ExportReceipt(vendor_invoice_id=str(row[id_field]), number=str(row[number_field]),
                                 already_existed=True, booked=booked_invoice(merit, str(row[id_field])))
    return None


@hookimpl
def hub_export_invoice(ctx: Any, credentials: dict, invoice: Invoice) -> ExportReceipt:
    field_messages: dict[str, list[str]] = {}
    if not invoice.lines:
        field_messages["lines"] = ["Merit Aktiva needs at least one invoice row."]
    elif len(invoice.lines) > fact("max_rows"):
        field_messages["lines"] = [f"Merit Aktiva accepts at most {fact('max_rows')} rows per invoice."]
    if not invoice.number or len(invoice.number) > fact("invoice_no_max"):
        field_messages["number"] = [
            f"Merit Aktiva needs an invoice number of at most {fact('invoice_no_max')} characters."]
    if field_messages:
        raise VendorRejected("Merit Aktiva cannot take this invoice.", field_messages=field_messages)
    merit = MeritClient(ctx, credentials)
    payload = build_invoice_payload(invoice, tax_ids(merit, invoice), credentials["country"])
    try:
        answer = merit.call(fact("endpoint_send_invoice"), payload)
    except VendorRejected as exc:
        text = " ".join(m for ms in exc.field_messages.values() for m in ms).lower()
        if any(word in text for word in fact("duplicate_invoice_words")):
            existing = hub_find_invoice(ctx, credentials, invoice)
            if existing is not None:
                return existing
        raise
    _, id_key, number_key, _, _ = fact("send_invoice_answer")
    if not isinstance(answer, dict) or not answer.get(id_key):
        raise TransientError("Merit Aktiva answered sendinvoice without an invoice id.",
                             hint="The hub will look the invoice up before trying again.")
    return ExportReceipt(vendor_invoice_id=str(answer[id_key]), number=str(answer.get(number_key) or invoice.number))


@hookimpl
def hub_fetch_payments(ctx: Any, credentials: dict, since: dt.date) -> list[Payment]:
    """One :class:`Payment` per customer payment on/after ``since`` and per invoice it pays, whenever that
    invoice was issued (v2 ``getpayments``: only its ``PaymAPIDetails`` name the invoice; v1 ``DocumentNo`` is
    the payment's own number)."""
    merit = MeritClient(ctx, credentials)
    today = ctx.now().date()
    if since > today:
        return []
    number_key, id_key = fact("payment_link_invoice_number"), fact("payment_link_invoice_id")
    paid_key, amount_key = fact("payment_link_paid_amount"), fact("payment_link_doc_amount")
    direction_key, customers = fact("payment_direction"), fact("payment_direction_customer")
    found = []
    for day, row in bucket(merit.list_rows(fact("endpoint_payment_links"), since, today), fact("payment_date")):
        if row.get(direction_key) != customers:
            continue
        for link in payment_links(row):
            if link.get(number_key):
                found.append((day, link))
    found.sort(key=lambda item: item[0])
    paid_so_far: dict[str, Decimal] = {}
    out = []
    for day, link in found:
        number = str(link[number_key])
        paid = decimal(link.get(paid_key))
        paid_so_far[number] = paid_so_far.get(number, Decimal(0)) + paid
        # DocAmount is the paid document's amount (wire fact doc_amount_is_total): the invoice is fully paid once
        # what its payments since ``since`` paid on it reaches that (the core asks from the invoice's issue date).
        doc_amount = decimal(link.get(amount_key))
        out.append(Payment(vendor_invoice_id=str(link.get(id_key) or ""), invoice_number=number, paid_amount=paid,
                           paid_on=day, fully_paid=doc_amount > 0 and paid_so_far[number] >= doc_amount))
    return out
