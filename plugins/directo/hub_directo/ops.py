"""What the hooks do, on top of :class:`hub_directo.client.DirectoClient`.

Every read is one ``get`` per component over the widest date window (XML Direct has no paging and no
documented window limit), bucketed by month here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element, SubElement, tostring

from hub.errors import AuthError, TransientError, VendorRejected
from hub.types import (
    Address,
    ConnectionInfo,
    Contact,
    ExportReceipt,
    Invoice,
    Payment,
    Period,
    Product,
    Statistics,
    VendorClient,
)

from .client import (
    AUTH_HINT,
    MAX_DOC_NUMBER,
    PROBE_CODE,
    RETRY_AFTER,
    DirectoClient,
    PutResult,
    attr,
    format_date,
    format_decimal,
    parse_date,
    parse_decimal,
    rows,
)

if TYPE_CHECKING:
    from hub.context import VendorContext

#: The statistic keys, in the order they are declared in ``hub_vendor``.
STAT_KEYS = ("sale_entries", "purchase_entries", "bank_transactions", "documents",
             "sales_invoice_rows", "credit_invoices", "unconfirmed_documents", "gl_transactions")


# -- connection, clients, products -------------------------------------------------------------------
def test_connection(ctx: "VendorContext", credentials: dict) -> ConnectionInfo:
    client = DirectoClient(ctx, credentials)
    root = client.get("customer", code=PROBE_CODE)
    code = attr(root, "database") or credentials["database"]
    name = attr(root, "databasename", "name") or f"Directo database {code}"
    return ConnectionInfo(account_name=name, account_id=code, details={"database": code})


def list_clients(ctx: "VendorContext", credentials: dict, query: str) -> list[VendorClient]:
    needle = (query or "").strip().casefold()
    out = []
    for el in DirectoClient(ctx, credentials).records("customer"):
        code = attr(el, "code")
        if not code or attr(el, "closed") == "1":
            continue
        name = attr(el, "name") or code
        regno, vatno = attr(el, "regno"), attr(el, "vatregno")
        haystack = " ".join(x for x in (code, name, regno, vatno) if x).casefold()
        if needle and needle not in haystack:
            continue
        email, phone = attr(el, "email"), attr(el, "phone")
        contacts = (Contact(name=attr(el, "contact") or name, email=email, phone=phone),) if (email or phone) else ()
        street, city = attr(el, "address1"), attr(el, "city", "address2")
        postal, country = attr(el, "zip", "postalcode", "address3"), attr(el, "country")
        addresses = (Address(street=street, city=city, postal_code=postal, country=country),) \
            if any((street, city, postal, country)) else ()
        out.append(VendorClient(id=code, name=name, reg_code=regno, vat_no=vatno, email=email,
                                contacts=contacts, addresses=addresses))
    return out


def list_products(ctx: "VendorContext", credentials: dict) -> list[Product]:
    out = []
    for el in DirectoClient(ctx, credentials).records("item"):
        code = attr(el, "code")
        if not code or attr(el, "closed") == "1":
            continue
        out.append(Product(id=code, code=code, name=attr(el, "name") or code,
                           unit_price=parse_decimal(attr(el, "salesprice", "price")),
                           unit=attr(el, "unit"), tax_id=attr(el, "vatcode")))
    return out


# -- statistics --------------------------------------------------------------------------------------
def _window(periods: list[Period]) -> dict[str, str]:
    return {"date1": format_date(periods[0].first_day), "date2": format_date(periods[-1].last_day)}


def fetch_statistics(ctx: "VendorContext", credentials: dict, client: str | None,
                     periods: list[Period]) -> Statistics:
    """One ``get`` per component over the whole range: invoice, purchase, receipt (+ transaction for a
    whole database). ``client`` (a customer code in a firm-level database) narrows each component to
    that customer (purchases: supplier code); ``None`` counts the whole database."""
    periods = sorted(periods)
    stats: Statistics = {p: dict.fromkeys(STAT_KEYS, 0) for p in periods}
    if not periods:
        return stats
    api = DirectoClient(ctx, credentials)
    window = _window(periods)
    first, last = periods[0].first_day, periods[-1].last_day

    def bucket(day: dt.date | None) -> dict[str, int] | None:
        if day is None or not first <= day <= last:
            return None
        return stats.get(Period.of(day))

    def mine(value: str | None) -> bool:
        return client is None or (value or "").casefold() == client.casefold()

    for el in api.records("invoice", **window):
        target = bucket(parse_date(attr(el, "date")))
        if target is None or not mine(attr(el, "customer", "customercode")):
            continue
        target["sale_entries"] += 1
        target["documents"] += 1
        target["sales_invoice_rows"] += sum(1 for _ in rows(el))
        total = parse_decimal(attr(el, "total", "sum"))
        if total is not None and total < 0:
            target["credit_invoices"] += 1
        if attr(el, "confirmed") != "1":
            target["unconfirmed_documents"] += 1

    for el in api.records("purchase", **window):
        target = bucket(parse_date(attr(el, "date")))
        if target is None or not mine(attr(el, "supplier", "suppliercode")):
            continue
        target["purchase_entries"] += 1
        target["documents"] += 1
        if attr(el, "confirmed") != "1":
            target["unconfirmed_documents"] += 1

    for el in api.records("receipt", **window):
        header_day = parse_date(attr(el, "date"))
        counted_in: dict[str, int] | None = None
        for row in rows(el):
            target = bucket(header_day or parse_date(attr(row, "aeg", "date")))
            if target is None or not mine(attr(row, "customer")):
                continue
            target["bank_transactions"] += 1
            counted_in = counted_in or target
        if counted_in is not None:  # the receipt itself is one document, in the month of its first row
            counted_in["documents"] += 1

    if client is None:  # GL transactions have no customer: only for a whole database
        for el in api.records("transaction", **window):
            target = bucket(parse_date(attr(el, "date")))
            if target is not None:
                target["gl_transactions"] += 1
    return stats


# -- invoices ----------------------------------------------------------------------------------------
def _numeric_number(invoice: Invoice) -> str | None:
    """Directo document numbers are ints ≤ 2147483647: send the hub's number only when it is one."""
    text = invoice.number.strip()
    if text.isdigit() and 0 < int(text) <= MAX_DOC_NUMBER:
        return str(int(text))
    return None


def invoice_xml(invoice: Invoice, *, default_item: str | None = None) -> str:
    """``xmldata`` for ``put=1&what=invoice`` (element/attribute names per ``xml_IN_arved.xsd`` via D3).

    The hub's reference goes into the header ``comment`` so the invoice can be found again; the
    invoice is left unconfirmed and nothing asks Directo to send it to anyone.
    """
    root = Element("invoices")
    head = SubElement(root, "invoice")
    party = invoice.client
    values = {
        "number": _numeric_number(invoice),
        "customercode": party.vendor_client_id,
        "customername": party.name,
        "customer_regno": party.reg_code,
        "vatregno": party.vat_no,
        "email": party.email,
        "date": invoice.issue_date.isoformat(),
        "duedate": invoice.due_date.isoformat(),
        "paymentterm": str(max(0, (invoice.due_date - invoice.issue_date).days)),
        "currency": invoice.currency.upper(),
        "language": (invoice.language or "").upper()[:2] or None,
        "comment": invoice.reference,
    }
    if party.address is not None:
        a = party.address
        values["address1"] = a.street
        values["address2"] = " ".join(x for x in (a.postal_code, a.city) if x) or None
        values["address3"] = a.country
    for key, value in values.items():
        if value:
            head.set(key, value)
    lines = SubElement(head, "rows")
    for line in invoice.lines:
        row = SubElement(lines, "row")
        item = line.product_code or default_item
        if item:
            row.set("item", item)
        row.set("description", line.description)
        row.set("quantity", format_decimal(line.quantity))
        row.set("price", format_decimal(line.unit_price))
        if line.tax_id:
            row.set("vatcode", line.tax_id)
        if line.unit:
            row.set("unit", line.unit)
    return tostring(root, encoding="unicode")


def _receipt(el: Element, *, already: bool) -> ExportReceipt:
    number = attr(el, "number") or ""
    return ExportReceipt(vendor_invoice_id=number, number=number, already_existed=already)


def find_invoice(ctx: "VendorContext", credentials: dict, invoice: Invoice) -> ExportReceipt | None:
    """The invoices of the issue date, matched on the reference kept in ``comment``: one request."""
    day = format_date(invoice.issue_date)
    for el in DirectoClient(ctx, credentials).records("invoice", date1=day, date2=day):
        if attr(el, "comment") == invoice.reference:
            return _receipt(el, already=True)
    return None


#: Put ``Result Type`` codes (D1 "Responses and error codes") → what the hub does.
CREATED = {0: "created", 30: "created (linked)", 29: "saved, not confirmed", 39: "saved, linked not confirmed"}
ALREADY_THERE = {11: "duplicate", 14: "already confirmed, not changeable"}
REJECTED = {
    8: ("", "Directo could not read the invoice XML (Type 8, invalid XML)."),
    9: ("", "Directo refused the invoice (Type 9, error on import)."),
    12: ("number", "Directo needs a document number (Type 12, missing document id)."),
    13: ("client", "Directo needs the customer's code or registration number and e-mail (Type 13). Link the client "
                   "to its Directo customer, or fill in its registration code and e-mail in the hub."),
    18: ("", "Directo could not find the unique id field (Type 18)."),
    19: ("", "Directo does not allow removing this document (Type 19)."),
    31: ("", "A record the invoice refers to was not found in Directo (Type 31, precondition not found)."),
    99: ("", "Directo found no processable XML in the upload (Type 99)."),
}
RETRYABLE = {17: "Directo could not insert the invoice (Type 17, document insert failed)."}


def export_invoice(ctx: "VendorContext", credentials: dict, invoice: Invoice) -> ExportReceipt:
    found = find_invoice(ctx, credentials, invoice)
    if found is not None:
        return found
    api = DirectoClient(ctx, credentials)
    xmldata = invoice_xml(invoice, default_item=ctx.settings.get("default_item"))
    results = api.put("invoice", xmldata)
    result: PutResult = results[0]
    if result.type in CREATED:
        if result.type in (29, 39):
            ctx.log.warning("directo invoice saved but not confirmed (Type %s)", result.type)
        number = result.docid or _numeric_number(invoice)
        if not number:  # created, but the answer lost the number: read it back
            again = find_invoice(ctx, credentials, invoice)
            if again is None:
                raise TransientError("Directo accepted the invoice but did not say its number.",
                                     hint="The hub will look it up again.", retry_after=RETRY_AFTER)
            return ExportReceipt(vendor_invoice_id=again.vendor_invoice_id, number=again.number)
        return ExportReceipt(vendor_invoice_id=number, number=number)
    if result.type in ALREADY_THERE:
        again = find_invoice(ctx, credentials, invoice)
        if again is not None:
            return again
        raise VendorRejected(
            f"Directo already has an invoice number {_numeric_number(invoice) or invoice.number} that the hub did "
            f"not create ({ALREADY_THERE[result.type]}, Type {result.type}).",
            field_messages={"number": ["This number is already used in Directo by another invoice. Use a number "
                                       "series that does not overlap with Directo's own."]})
    if result.type == 5:
        raise AuthError("Directo refused the access token when uploading the invoice.", hint=AUTH_HINT)
    if result.type in RETRYABLE:
        raise TransientError(RETRYABLE[result.type], hint="The hub will try again in a minute or more.",
                             retry_after=RETRY_AFTER)
    field, message = REJECTED.get(result.type, ("", f"Directo refused the invoice (Type {result.type})."))
    detail = [message] + ([f"Directo says: {result.desc}"] if result.desc else [])
    raise VendorRejected(message, field_messages={field: detail})


# -- payments ----------------------------------------------------------------------------------------
def fetch_payments(ctx: "VendorContext", credentials: dict, since: dt.date) -> list[Payment]:
    """Receipts (customer payments) dated on or after ``since``, summed per invoice number."""
    paid: dict[str, Decimal] = defaultdict(Decimal)
    last: dict[str, dt.date | None] = {}
    totals: dict[str, Decimal | None] = {}
    for el in DirectoClient(ctx, credentials).records("receipt", date1=format_date(since)):
        header_day = parse_date(attr(el, "date"))
        for row in rows(el):
            number = attr(row, "invoice")
            amount = parse_decimal(attr(row, "received"))
            if not number or amount is None:
                continue
            day = header_day or parse_date(attr(row, "aeg", "date"))
            if day is not None and day < since:
                continue
            paid[number] += amount
            if day is not None and (last.get(number) is None or day > last[number]):
                last[number] = day
            totals[number] = parse_decimal(attr(row, "invoicesum")) or totals.get(number)
    return [Payment(vendor_invoice_id=number, invoice_number=number, paid_amount=amount, paid_on=last.get(number),
                    fully_paid=bool(totals.get(number) is not None and amount >= totals[number]))
            for number, amount in paid.items()]
