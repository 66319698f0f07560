"""Merit Aktiva (Estonia; Finland "Passeli Merit"; Poland "360 Księgowość"), API v1 (v2 for paid status).

Each firm client is its own Merit company with its own API ID and key (``per_client_credentials``).
The hooks are thin; the wire protocol lives in :mod:`hub_merit.client`.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import marshmallow
from marshmallow import fields, pre_load, validate

from hub import hookimpl
from hub.errors import TransientError, VendorRejected
from hub.types import (
    BookedInvoice,
    BookedLine,
    ConnectionInfo,
    ExportReceipt,
    Invoice,
    InvoiceParty,
    Payment,
    Period,
    Product,
    RateLimit,
    StatisticField,
    TaxRate,
    VendorInfo,
)
from hub_merit.client import COUNTRY_NAMES, MeritClient, bucket, decimal, tax_percent, ymdhms
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
#: Item code used on invoice rows whose line has no mapped Merit article code.
DEFAULT_ITEM_CODE = "TEENUS"
#: A registry code of this shape on a client is a private person's personal identification code (not a Merit
#: fact: the national formats — Estonian isikukood and Polish PESEL are 11 digits, a Finnish henkilötunnus is
#: DDMMYY, a century sign and four characters; company codes are 8 digits in Estonia, NIP 10 in Poland,
#: Y-tunnus 1234567-8 in Finland).
PERSONAL_CODE = {"EE": re.compile(r"[1-8]\d{10}"), "PL": re.compile(r"\d{11}"),
                 "FI": re.compile(r"\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]", re.IGNORECASE)}
#: The country in an EU VAT number's prefix (ISO 3166-1 alpha-2 except Greece, "EL").
_VAT_PREFIX = re.compile(r"^\s*([A-Za-z]{2})\s*[0-9]")

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


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _plain(value: Decimal) -> Decimal:
    """A Decimal without exponent or trailing zeros beyond what is needed (``1.5000`` → ``1.5``)."""
    value = value.normalize()
    return value.quantize(Decimal(1)) if value == value.to_integral() else value


def home_country(country: str) -> str:
    """The country of a Merit service (``FI-LEGACY`` is Finland)."""
    return "FI" if country.startswith("FI") else country


def party_country(party: InvoiceParty, home: str) -> str:
    """The client's country: its address, else its VAT number's prefix, else the Merit company's own country."""
    if party.address and party.address.country:
        return party.address.country.strip().upper()
    prefix = _VAT_PREFIX.match(party.vat_no or "")
    if prefix:
        code = prefix.group(1).upper()
        return {"EL": "GR", "XI": "GB"}.get(code, code)
    return home


def is_private_person(party: InvoiceParty, home: str) -> bool:
    """The hub says so (``InvoiceParty.private_person``, contract 1.1); otherwise a client without a registry code
    and without a VAT number is taken for one (Merit could not report it as a business in the VAT annex anyway),
    and so is one whose registry code has the shape of a personal identification code."""
    if getattr(party, "private_person", False):  # a hub older than contract 1.1 has no such field
        return True
    reg_code = (party.reg_code or "").strip()
    if not reg_code:
        return not (party.vat_no or "").strip()
    pattern = PERSONAL_CODE.get(home)
    return bool(pattern and pattern.fullmatch(reg_code))


def not_td_customer(party: InvoiceParty, home: str) -> bool:
    """Merit's ``NotTDCustomer``: true for private persons, and (in Estonia and Finland) foreign companies."""
    rule = fact(f"not_td_customer_{home.lower()}")
    return ("private" in rule and is_private_person(party, home)) or (
        "foreign" in rule and party_country(party, home) != home)


def short_description(text: str) -> str:
    """A row description cut to what Merit's ItemObject allows, marked with "…" where it was cut."""
    limit = fact("item_description_max")
    text = text.strip() or "-"
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


#: New-customer fields Merit keeps shorter than the hub (wire fact ``new_customer_max``) that are cut to fit: free
#: text the buyer still recognises. The others (``PostalCode``, ``Email``) are refused instead: a cut postal code or
#: e-mail address is a different, wrong one.
CUT_CUSTOMER_FIELDS = ("Address", "City")
_CUSTOMER_FIELD_NAMES = {"Address": "street address", "City": "city", "PostalCode": "postal code",
                         "Email": "e-mail address"}


def fit_customer_field(key: str, value: str) -> str:
    """``value`` for the new customer's ``key``, cut to Merit's limit (free text) or refused (codes, e-mail)."""
    limit = fact("new_customer_max").get(key)
    if limit is None or len(value) <= limit:
        return value
    if key in CUT_CUSTOMER_FIELDS:
        return value[:limit].rstrip()
    name = _CUSTOMER_FIELD_NAMES[key]
    raise VendorRejected(
        f"The client's {name} is too long for Merit Aktiva.",
        field_messages={"client": [f"Merit Aktiva keeps at most {limit} characters of a new customer's {name}; "
                                   f"this one has {len(value)}. Correct it on the client's page, or link the client "
                                   "to its Merit customer, then export again."]})


def build_invoice_payload(invoice: Invoice, tax_ids: list[str], country: str) -> dict:
    """The v1 ``sendinvoice`` body: rows, ``TaxAmount`` summed per ``TaxId``, ``TotalAmount`` without VAT.

    Merit counts VAT per row, each row rounded half-up, and recomputes it (wire fact ``vat_per_row``): so
    ``TaxAmount`` is the sum of the row-rounded VATs of a ``TaxId`` and ``TotalAmount`` the sum of the
    row-rounded nets (three rows of 0.10 at 22 % give 0.06, not 0.07; two rows of 10.004 give 20.00).

    A row description longer than Merit's 100 characters is shortened on the row and written out in full in the
    invoice's footer comment (``Fcomment``, after the notes): Merit's rows have no longer text field."""
    rows, tax_by_id, total, full_texts = [], {}, Decimal(0), []
    for n, (line, tax_id) in enumerate(zip(invoice.lines, tax_ids, strict=True), 1):
        description = short_description(line.description)
        if description != (line.description.strip() or "-"):
            full_texts.append(f"Row {n}: {line.description.strip()}")
        item = {"Code": (line.product_code or DEFAULT_ITEM_CODE)[:fact("item_code_max")],
                "Description": description, "Type": fact("item_type_service")}
        if line.unit:
            item["UOMName"] = line.unit
        rows.append({"Item": item, "Quantity": _plain(line.quantity), "Price": _plain(line.unit_price),
                     "TaxId": tax_id})
        net = _money(line.net)
        tax_by_id[tax_id] = tax_by_id.get(tax_id, Decimal(0)) + _money(net * line.vat_rate / 100)
        total += net
    party = invoice.client
    home = home_country(country)
    if party.vendor_client_id:
        customer: dict[str, Any] = {"Id": party.vendor_client_id}
    else:
        address = party.address
        customer = {"Name": party.name, "CountryCode": party_country(party, home),
                    "NotTDCustomer": not_td_customer(party, home)}
        for key, value in (("RegNo", party.reg_code), ("VatRegNo", party.vat_no), ("Email", party.email),
                           ("Address", address.street if address else None),
                           ("City", address.city if address else None),
                           ("PostalCode", address.postal_code if address else None)):
            if value:
                customer[key] = fit_customer_field(key, value.strip())
    payload: dict[str, Any] = {
        "Customer": customer,
        "DocDate": ymdhms(invoice.issue_date),
        "DueDate": ymdhms(invoice.due_date),
        "TransactionDate": ymdhms(invoice.issue_date),
        "InvoiceNo": invoice.number,
        "CurrencyCode": invoice.currency,
        "InvoiceRow": rows,
        "TaxAmount": [{"TaxId": tax_id, "Amount": _money(amount)} for tax_id, amount in tax_by_id.items()],
        "TotalAmount": _money(total),
    }
    comment = "\n\n".join(part for part in ((invoice.notes or "").strip(), "\n".join(full_texts)) if part)
    if len(comment) > fact("comment_max"):
        field = "lines" if full_texts else "notes"
        raise VendorRejected(
            "The invoice's comment is too long for Merit Aktiva.",
            field_messages={field: [
                f"Merit Aktiva keeps at most {fact('comment_max')} characters of invoice comment; this invoice "
                f"needs {len(comment)} (its notes, plus the full text of the line descriptions longer than "
                f"{fact('item_description_max')} characters). Shorten the notes or those descriptions."]})
    if comment:
        payload["Fcomment"] = comment
    return payload


def _tax_ids(merit: MeritClient, invoice: Invoice) -> list[str]:
    if all(line.tax_id for line in invoice.lines):
        return [str(line.tax_id) for line in invoice.lines]
    taxes = merit.taxes()
    out, missing = [], []
    for n, line in enumerate(invoice.lines, 1):
        if line.tax_id:
            out.append(str(line.tax_id))
            continue
        match = next((t for t in taxes if tax_percent(t) == line.vat_rate), None)
        if match is None:
            missing.append(f"Line {n}: Merit has no tax rate of {line.vat_rate}%; map a Merit tax code for it.")
        else:
            out.append(str(match["Id"]))
    if missing:
        raise VendorRejected("Some invoice lines have no Merit tax code.", field_messages={"lines": missing})
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


def booked_invoice(merit: MeritClient, invoice_id: str) -> BookedInvoice | None:
    """What Merit booked, from its own ``getinvoice`` answer (wire facts ``endpoint_invoice_details``,
    ``invoice_details_header``; the row fields ``invoice_details_line`` are assumed): the header's totals,
    currency and customer, and per row its net (``Quantity`` × ``Price``), its VAT (``TaxAmount`` when Merit
    gives it) and the percent of its ``TaxId`` (``gettaxes``). ``None`` when Merit does not answer with a header."""
    answer = merit.call(fact("endpoint_invoice_details"), {"Id": invoice_id})
    header = answer.get("Header") if isinstance(answer, dict) else None
    if not isinstance(header, dict):
        return None
    net_key, vat_key, total_key, currency_key, name_key, code_key, _ = fact("invoice_details_header")
    text_key, quantity_key, price_key, tax_key, line_vat_key = fact("invoice_details_line")
    percents = {str(t.get("Id")): tax_percent(t) for t in merit.taxes()}
    lines = []
    for row in answer.get("Lines") or []:
        if not isinstance(row, dict):
            continue
        vat = row.get(line_vat_key)
        lines.append(BookedLine(net=_money(decimal(row.get(quantity_key)) * decimal(row.get(price_key))),
                                vat=decimal(vat) if vat is not None else None,
                                vat_rate=percents.get(str(row.get(tax_key))),
                                description=str(row.get(text_key) or "") or None))
    return BookedInvoice(currency=str(header.get(currency_key) or ""), total_net=decimal(header.get(net_key)),
                         total_vat=decimal(header.get(vat_key)), total=decimal(header.get(total_key)),
                         lines=tuple(lines), buyer_code=str(header.get(code_key) or "") or None,
                         buyer_name=str(header.get(name_key) or "") or None)


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
    payload = build_invoice_payload(invoice, _tax_ids(merit, invoice), credentials["country"])
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


def payment_links(row: dict) -> list[dict]:
    """The documents a v2 payment pays (``PaymAPIDetails``: a list, or one object as Merit's table says)."""
    links = row.get(fact("payment_links"))
    if links is None:
        links = row.get(fact("payment_links_alt"))
    if isinstance(links, dict):
        links = [links]
    return [link for link in links or [] if isinstance(link, dict)]


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
