"""What the hooks do, on top of :class:`hub_directo.client.DirectoClient`.

Every read is one ``get`` per component over the widest date window (XML Direct has no paging and no
documented window limit), bucketed by month here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element, SubElement, tostring

from hub.errors import AuthError, TransientError, VendorRejected
from hub.types import (
    Address,
    BookedInvoice,
    BookedLine,
    ConnectionInfo,
    Contact,
    ExportReceipt,
    Invoice,
    Payment,
    Period,
    Product,
    Statistics,
    TaxRate,
    VendorClient,
)

from .client import (
    AUTH_HINT,
    BUYER_TYPE_FIELD,
    BUYER_TYPES,
    MAX_DOC_NUMBER,
    PROBE_CODE,
    RETRY_AFTER,
    VAT_CODES,
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
    from hub.types import Context

#: The statistic keys, in the order they are declared in ``hub_vendor``.
STAT_KEYS = ("sale_entries", "purchase_entries", "bank_transactions", "documents",
             "sales_invoice_rows", "credit_invoices", "unconfirmed_documents", "gl_transactions")


# -- connection, clients, products -------------------------------------------------------------------
def test_connection(ctx: "Context", credentials: dict) -> ConnectionInfo:
    client = DirectoClient(ctx, credentials)
    root = client.get("customer", code=PROBE_CODE)
    code = attr(root, "database") or credentials["database"]
    name = attr(root, "databasename") or f"Directo database {code}"
    return ConnectionInfo(account_name=name, account_id=code, details={"database": code})


def list_clients(ctx: "Context", credentials: dict, query: str) -> list[VendorClient]:
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
        # ws_kliendid.xsd has address1..3 (their use "according to settings"): street, city, postal code
        street, city = attr(el, "address1"), attr(el, "address2")
        postal, country = attr(el, "address3"), attr(el, "country")
        addresses = (Address(street=street, city=city, postal_code=postal, country=country),) \
            if any((street, city, postal, country)) else ()
        out.append(VendorClient(id=code, name=name, reg_code=regno, vat_no=vatno, email=email,
                                contacts=contacts, addresses=addresses))
    return out


def list_tax_rates() -> list[TaxRate]:
    """Directo's VAT codes (no API lists them: :data:`hub_directo.client.VAT_CODES`), for the hub's mapping."""
    return [TaxRate(id=code, code=code, name=name, rate=rate) for code, (name, rate) in VAT_CODES.items()]


def list_products(ctx: "Context", credentials: dict) -> list[Product]:
    out = []
    for el in DirectoClient(ctx, credentials).records("item"):
        code = attr(el, "code")
        if not code or attr(el, "closed") == "1":
            continue
        out.append(Product(id=code, code=code, name=attr(el, "name") or code,
                           unit_price=parse_decimal(attr(el, "salesprice")),
                           unit=attr(el, "unit"), tax_id=attr(el, "vatcode")))
    return out


# -- statistics --------------------------------------------------------------------------------------
def _window(periods: list[Period]) -> dict[str, str]:
    return {"date1": format_date(periods[0].first_day), "date2": format_date(periods[-1].last_day)}


def fetch_statistics(ctx: "Context", credentials: dict, client: str | None,
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
        header_day = parse_date(attr(el, "aeg"))
        counted_in: dict[str, int] | None = None
        for row in rows(el):
            target = bucket(_row_day(row, header_day))
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
#: How long the hub remembers the next free number of an integration's range (a hint: Directo decides).
NUMBER_HINT_TTL = 90 * 24 * 3600.0
#: Puts tried when another writer takes the number the hub picked between the check and the put.
NUMBER_ATTEMPTS = 3
NUMBERS_SETTING = "Invoice numbers for the hub"


def _numeric(text: str) -> str | None:
    """A Directo document number (an int, 1…2147483647, D1) or ``None``."""
    text = text.strip()
    if text.isdigit() and 0 < int(text) <= MAX_DOC_NUMBER:
        return str(int(text))
    return None


def number_range(credentials: dict) -> tuple[int, int] | None:
    """The integration's invoice number range (credentials ``invoice_numbers``, ``"900001-999999"``)."""
    text = (credentials.get("invoice_numbers") or "").strip()
    if not text:
        return None
    low, _, high = text.partition("-")
    return int(low), int(high or MAX_DOC_NUMBER)


def hub_comment(invoice: Invoice) -> str:
    """The invoice's ``comment`` in Directo: the hub's own number and its reference, e.g.
    ``INV-2026-0001 [HUB-12-3]``; :func:`find_invoice` looks the reference up there."""
    return f"{invoice.number} [{invoice.reference}]"


def _is_ours(el: Element, invoice: Invoice) -> bool:
    comment = attr(el, "comment") or ""
    return comment == invoice.reference or comment.endswith(f"[{invoice.reference}]")  # == : before the number


def invoice_xml(invoice: Invoice, *, number: str, default_item: str | None = None) -> str:
    """``xmldata`` for ``put=1&what=invoice`` (element/attribute names per ``xml_IN_arved.xsd`` via D3).

    ``number`` is the Directo document number (mandatory: Type 12 without it). The hub's number and
    reference go into the header ``comment`` so the invoice can be found again; the invoice is left
    unconfirmed and nothing asks Directo to send it to anyone.
    """
    unmapped = [f"Line {n}: map VAT {line.vat_rate} % to a Directo VAT code." for n, line in
                enumerate(invoice.lines, 1) if not line.tax_id]
    if unmapped:  # Directo would book its default VAT instead (the hub maps before sending; this is the backstop)
        raise VendorRejected("Some lines have no Directo VAT code, and Directo would book its default VAT on them.",
                             field_messages={"lines": unmapped})
    root = Element("invoices")
    head = SubElement(root, "invoice")
    party = invoice.client
    values = {
        "number": number,
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
        "comment": hub_comment(invoice),
    }
    if not party.vendor_client_id:  # a buyer put inline: say whether it is a company or a private person
        values[BUYER_TYPE_FIELD] = BUYER_TYPES["private" if party.private_person else "company"]
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
        row.set("vatcode", str(line.tax_id))
        if line.unit:
            row.set("unit", line.unit)
    return tostring(root, encoding="unicode")


def _receipt(el: Element, *, already: bool) -> ExportReceipt:
    number = attr(el, "number") or ""
    return ExportReceipt(vendor_invoice_id=number, number=number, already_existed=already, booked=booked(el))


def booked(el: Element) -> BookedInvoice | None:
    """What Directo booked, from its own ``get`` answer for the invoice: the header's ``sum`` (net), ``vat`` and
    ``total``, its currency and buyer, and per row ``quantity`` × ``price`` with the percent of the row's
    ``vatcode`` (the output names mirror the put names: wire fact ``invoice_output_fields``, inferred; no
    ws_arved.xsd is at hand). Directo keeps no VAT per row in that answer, so a row's ``vat`` is ``None``.
    ``None`` when the answer has no totals."""
    net, vat, total = (parse_decimal(attr(el, name)) for name in ("sum", "vat", "total"))
    if net is None or vat is None or total is None:
        return None
    lines = []
    for row in rows(el):
        quantity, price = parse_decimal(attr(row, "quantity")), parse_decimal(attr(row, "price"))
        code = attr(row, "vatcode")
        line_net = ((quantity or Decimal(0)) * (price or Decimal(0))).quantize(Decimal("0.01"), ROUND_HALF_UP)
        lines.append(BookedLine(net=line_net,
                                vat_rate=VAT_CODES[code][1] if code in VAT_CODES else None,
                                description=attr(row, "description")))
    return BookedInvoice(currency=attr(el, "currency") or "", total_net=net, total_vat=vat, total=total,
                         lines=tuple(lines), buyer_code=attr(el, "customer_regno", "regno"),
                         buyer_name=attr(el, "customername"))


def find_invoice(ctx: "Context", credentials: dict, invoice: Invoice) -> ExportReceipt | None:
    """The invoices of the issue date, matched on the reference kept in ``comment``: one request."""
    day = format_date(invoice.issue_date)
    for el in DirectoClient(ctx, credentials).records("invoice", date1=day, date2=day):
        if _is_ours(el, invoice):
            return _receipt(el, already=True)
    return None


def _taken(api: DirectoClient, number: int) -> bool:
    return bool(api.records("invoice", number=str(number)))


def free_number(api: DirectoClient, start: int, high: int) -> int:
    """A number in ``start…high`` no invoice has: ``start`` itself when free (the usual case, one request),
    else found by doubling the step and then halving the gap, so a forgotten hint costs about
    2·log2(used) requests instead of one per used number."""
    if not _taken(api, start):
        return start
    taken, step = start, 1  # ``taken`` is used; look further and further ahead for a free one
    while True:
        if taken >= high:
            raise VendorRejected(
                f"Every invoice number up to {high} in the hub's range is already used in Directo.",
                field_messages={"number": [f"Extend '{NUMBERS_SETTING}' in the Directo connection settings "
                                           "(with a range the bookkeeper reserves for the hub)."]})
        candidate = min(taken + step, high)
        if not _taken(api, candidate):
            break
        taken, step = candidate, step * 2
    while candidate - taken > 1:
        middle = (taken + candidate) // 2
        if _taken(api, middle):
            taken = middle
        else:
            candidate = middle
    return candidate


#: Put ``Result Type`` codes (D1 "Responses and error codes") → what the hub does.
CREATED = {0: "created", 30: "created (linked)", 29: "saved, not confirmed", 39: "saved, linked not confirmed"}
ALREADY_THERE = {11: "duplicate", 14: "already confirmed, not changeable"}
REJECTED = {
    8: ("", "Directo could not read the invoice XML (Type 8, invalid XML)."),
    9: ("", "Directo refused the invoice (Type 9, error on import)."),
    12: ("number", f"Directo needs a document number (Type 12, missing document id). Set '{NUMBERS_SETTING}' in "
                   "the Directo connection settings."),
    13: ("client", "Directo needs the customer's code or registration number and e-mail (Type 13). Link the client "
                   "to its Directo customer, or fill in its registration code and e-mail in the hub."),
    18: ("", "Directo could not find the unique id field (Type 18)."),
    19: ("", "Directo does not allow removing this document (Type 19)."),
    31: ("", "A record the invoice refers to was not found in Directo (Type 31, precondition not found)."),
    99: ("", "Directo found no processable XML in the upload (Type 99)."),
}
RETRYABLE = {17: "Directo could not insert the invoice (Type 17, document insert failed)."}


def export_invoice(ctx: "Context", credentials: dict, invoice: Invoice) -> ExportReceipt:
    """Find first (one request); then put the invoice under its Directo number.

    The number is the next free one of the integration's range (``invoice_numbers``) when one is set,
    else the hub's own number when it is a Directo number (digits, ≤ 2147483647). A hub number such as
    ``INV-2026-0001`` without a range is refused before anything is sent: Directo would answer Type 12.
    """
    found = find_invoice(ctx, credentials, invoice)
    if found is not None:
        return found
    api = DirectoClient(ctx, credentials)
    series = number_range(credentials)
    if series is None:
        number = _numeric(invoice.number)
        if number is None:
            raise VendorRejected(
                f"Directo needs a numeric invoice number, and '{invoice.number[:50]}' is not one.",
                field_messages={"number": [
                    "Directo refuses an invoice without a document number (Type 12); its numbers are whole "
                    f"numbers up to {MAX_DOC_NUMBER}. Set '{NUMBERS_SETTING}' in the Directo connection settings "
                    "to a range the bookkeeper reserves for the hub (e.g. 900001-999999): the hub then numbers "
                    "its invoices from it and keeps its own number in the invoice's comment."]})
        receipt = _put_invoice(ctx, credentials, api, invoice, number, allocated=False)
        assert receipt is not None  # only an allocated number is given up on
        return receipt
    low, high = series
    key = f"next-invoice-number:{credentials['database']}:{low}-{high}"
    hint = ctx.cache.get(key)
    start = hint if isinstance(hint, int) and low <= hint <= high else low
    for _ in range(NUMBER_ATTEMPTS):
        number = free_number(api, start, high)
        receipt = _put_invoice(ctx, credentials, api, invoice, str(number), allocated=True)
        if receipt is not None:
            ctx.cache.set(key, min(number + 1, high), ttl=NUMBER_HINT_TTL)
            return receipt
        start = min(number + 1, high)  # someone else took it between the check and the put
    raise TransientError("Other invoices took the free numbers of the hub's range in Directo while this one "
                         "was being sent.", hint="The hub will try again in a minute or more.",
                         retry_after=RETRY_AFTER)


def _put_invoice(ctx: "Context", credentials: dict, api: DirectoClient, invoice: Invoice, number: str, *,
                 allocated: bool) -> ExportReceipt | None:
    """One put; ``None`` when ``allocated`` and the number turned out to be another invoice's."""
    xmldata = invoice_xml(invoice, number=number, default_item=ctx.settings.get("default_item"))
    result: PutResult = api.put("invoice", xmldata)[0]
    if result.type in CREATED:
        if result.type in (29, 39):
            ctx.log.warning("directo invoice saved but not confirmed (Type %s)", result.type)
        created = result.docid or number
        return ExportReceipt(vendor_invoice_id=created, number=created)
    if result.type in ALREADY_THERE:
        again = find_invoice(ctx, credentials, invoice)
        if again is not None:
            return again
        if allocated:
            return None
        raise VendorRejected(
            f"Directo already has an invoice number {number} that the hub did not create "
            f"({ALREADY_THERE[result.type]}, Type {result.type}).",
            field_messages={"number": ["This number is already used in Directo by another invoice. Set "
                                       f"'{NUMBERS_SETTING}' in the Directo connection settings to a range that "
                                       "does not overlap with Directo's own numbers."]})
    if result.type == 5:
        raise AuthError("Directo refused the access token when uploading the invoice.", hint=AUTH_HINT)
    if result.type in RETRYABLE:
        raise TransientError(RETRYABLE[result.type], hint="The hub will try again in a minute or more.",
                             retry_after=RETRY_AFTER)
    field, message = REJECTED.get(result.type, ("", f"Directo refused the invoice (Type {result.type})."))
    detail = [message] + ([f"Directo says: {result.desc}"] if result.desc else [])
    raise VendorRejected(message, field_messages={field: detail})


# -- payments ----------------------------------------------------------------------------------------
def _row_day(row: Element, header_day: dt.date | None) -> dt.date | None:
    """A receipt row's day: its own ``aeg`` (ws_laekumised.xsd), else the header's ``aeg`` (D1 receipt page)."""
    return parse_date(attr(row, "aeg")) or header_day


def fetch_payments(ctx: "Context", credentials: dict, since: dt.date) -> list[Payment]:
    """Receipt rows dated on or after ``since``, per invoice: the amount received, the last payment day,
    and whether the invoice is settled.

    A row's ``invoicesum`` is the invoice's **balance** ("Arve saldo", ws_laekumised.xsd) that the row is
    entered against, not the invoice total: the invoice is fully paid when its latest row received at
    least that balance. Without a balance the plugin does not claim "fully paid" (the hub then compares
    the received sum with the invoice total)."""
    paid: dict[str, Decimal] = defaultdict(Decimal)
    last_day: dict[str, dt.date] = {}
    latest: dict[str, tuple[tuple, Decimal, Decimal | None]] = {}  # number: (order, received, balance)
    for el in DirectoClient(ctx, credentials).records("receipt", date1=format_date(since)):
        header_day = parse_date(attr(el, "aeg"))
        receipt_no = attr(el, "number") or ""
        for position, row in enumerate(rows(el)):
            number = attr(row, "invoice")
            amount = parse_decimal(attr(row, "received"))
            if not number or amount is None:
                continue
            day = _row_day(row, header_day)
            if day is not None and day < since:
                continue
            paid[number] += amount
            if day is not None and (number not in last_day or day > last_day[number]):
                last_day[number] = day
            order = (day or dt.date.min, attr(row, "aeg") or "", receipt_no.zfill(12), position)
            if number not in latest or order >= latest[number][0]:
                latest[number] = (order, amount, parse_decimal(attr(row, "invoicesum")))
    out = []
    for number, amount in paid.items():
        _, received, balance = latest[number]
        out.append(Payment(vendor_invoice_id=number, invoice_number=number, paid_amount=amount,
                           paid_on=last_day.get(number), fully_paid=balance is not None and received >= balance))
    return out
