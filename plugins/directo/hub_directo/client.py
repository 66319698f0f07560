"""Directo XML Direct: the requests, the answers and their mapping to and from :mod:`hub.types`, on
``ctx.http``. The hooks in :mod:`hub_directo` call the functions at the end of this module; what this relies on
about the wire is read from :mod:`hub_directo.wire` through ``fact(name)``.

Wire protocol (``/work/shared/vendors/public-apis.md`` §5, sources D1 = wiki.directo.ee, D2 = the
``5dvision/directo`` PHP SDK, D3 = a Go client following ``xml_IN_arved.xsd``):

* one endpoint, ``POST https://login.directo.ee/xmlcore/cap_xml_direct/xmlcore.asp``, form-encoded;
* the access token travels as the form field ``token`` (never in the URL);
* read: ``get=1&what=<component>&<filters>``; the whole result comes back at once (no paging, D1);
* write: ``put=1&what=<component>&xmldata=<XML document>``; one ``<Result Type=… Desc=… docid=…>`` per
  document in ``<results>``;
* authentication failures come back as **HTTP 200** with ``<result type="5" desc="Unauthorized"/>``
  (bad token) or ``<err>token required</err>`` (missing token);
* on failure Directo asks for a retry after 60 s or more, so every retryable error carries
  ``retry_after >= 60``.

Every answer is parsed with ``defusedxml`` and DTDs are refused outright: a hostile answer
(billion laughs, external entities) cannot expand entities, read files or reach the network.

Every read is one ``get`` per component over the widest date window (XML Direct has no paging and no
documented window limit), bucketed by month here.
"""


from __future__ import annotations

import datetime as dt
import functools
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from hub.errors import AuthError, ConfigError, RateLimited, TransientError, VendorRejected
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

from .wire import fact

if TYPE_CHECKING:
    from hub.types import Context

#: A customer code that cannot exist: the cheap connection test reads ``what=customer&code=<this>``.
PROBE_CODE = "UKU-HUB-CONNECTION-TEST"
#: A day with no documents: the per-component permission check reads nothing.
PROBE_DAY = dt.date(1990, 1, 1)

#: What each component holds, in the words of the hub's messages (the components: wire fact ``components``).
COMPONENT_WORDS = {
    "customer": "customers",
    "item": "articles (items)",
    "invoice": "sales invoices",
    "purchase": "purchase invoices",
    "receipt": "receipts (customer payments)",
    "transaction": "financial transactions",
}

#: Directo's VAT codes (``vatcode`` on an invoice row): code → (name, percent). XML Direct has no component that
#: lists them (public-apis.md §5 "[gap]") and no published artifact names the values: the XSDs only type them
#: (wire fact ``vatcode_type``). These are the Estonian standard codes of a Directo database as this project
#: assumes them (wire fact ``vat_codes``, **assumed**); a database with other codes needs that table extended.
VAT_CODES: dict[str, tuple[str, Decimal]] = {code: (f"Käibemaks {rate}%", Decimal(rate))
                                             for code, rate in fact("vat_codes").items()}

AUTH_HINT = ("Check that the access token was copied whole (no spaces), that it has not expired or been revoked, "
             "and that it belongs to this company database; if in doubt, generate a new token in Directo "
             "(Settings → System settings → API access) and paste it here.")


@dataclass(frozen=True)
class PutResult:
    """One ``<Result>`` of a put answer."""

    type: int
    desc: str
    docid: str | None
    doctype: str | None


# -- low level ---------------------------------------------------------------------------------------
def _retry_after() -> float:
    """Directo's own advice after a failed call: "retry after 60 s or more" (wire fact ``retry_after_seconds``)."""
    return float(fact("retry_after_seconds"))


def _words(what: str) -> str:
    return COMPONENT_WORDS.get(what, what)


@functools.cache
def _documented(name: str) -> Element:
    """An answer body Directo documents (wire facts ``unauthorized_body``, ``token_missing_body``), parsed."""
    return SafeET.fromstring(fact(name))


def _unauthorized_type() -> str:
    """The ``type`` of Directo's Unauthorized result (``5``)."""
    return _documented("unauthorized_body").get("type") or ""


def parse_xml(content: bytes, *, what: str) -> Element:
    """Parse a Directo answer safely: DTDs, entities and external references are refused."""
    if not content.strip():
        raise TransientError(f"Directo sent an empty answer when reading {_words(what)}.",
                             hint="The hub will try again later.", retry_after=_retry_after())
    try:
        return SafeET.fromstring(content, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise TransientError(
            "Directo's answer declared XML entities or a DTD, which the hub refuses to read for safety.",
            hint="This is not a normal Directo answer (a proxy or a misconfigured server may be in between). "
                 "The hub will try again later; contact support if it persists.", retry_after=_retry_after(),
        ) from None
    except (ParseError, ValueError):
        raise TransientError("Directo answered with something that is not XML.",
                             hint="Directo may be under maintenance; the hub will try again later.",
                             retry_after=_retry_after()) from None


def _raise_for_auth(root: Element, what: str, verb: str = "reading") -> None:
    """Authentication failures arrive as HTTP 200 bodies (D1, D2 ``ErrorResponseDetector``)."""
    tag = root.tag.lower()
    result_tag = _documented("unauthorized_body").tag
    if tag == _documented("token_missing_body").tag:
        text = (root.text or "").strip()
        if "token" in text.lower():
            if "required" in text.lower():
                raise AuthError("Directo did not receive an access token.",
                                hint="Paste the access token from Directo into the connection settings.")
            raise AuthError(f"Directo refused the access token ({text[:100]}).", hint=AUTH_HINT)
        raise TransientError(f"Directo reported an error while reading {_words(what)}: "
                             f"{text[:200] or 'no details'}.", hint="The hub will try again later.",
                             retry_after=_retry_after())
    candidates = [root] if tag == result_tag else [el for el in root if el.tag.lower() == result_tag]
    for result in candidates if tag in (result_tag, "results") else []:
        if _attr(result, "type") == _unauthorized_type():
            raise AuthError(
                f"Directo refused the access token (Unauthorized) when {verb} {_words(what)}.",
                hint=AUTH_HINT + f" If the token is limited to chosen components, allow '{what}' for it.",
            )


def _attr(element: Element, name: str) -> str | None:
    """An attribute, case-insensitively (Directo writes ``Type``/``type``, ``Desc``/``desc``)."""
    if name in element.attrib:
        return element.attrib[name]
    lowered = name.lower()
    for key, value in element.attrib.items():
        if key.lower() == lowered:
            return value
    return None


class DirectoClient:
    """XML Direct calls for one set of credentials."""

    def __init__(self, ctx: "Context", credentials: dict) -> None:
        self.ctx = ctx
        self.token: str = credentials["token"]
        self.database: str = credentials["database"]

    def _post(self, form: dict[str, str], what: str) -> bytes:
        try:
            response = self.ctx.http.post(fact("endpoint"), data={fact("token_field"): self.token, **form},
                                          headers={"Accept": "application/xml, text/xml"})
        except (RateLimited, TransientError) as exc:  # Directo: "retry after 60 s or more"
            exc.retry_after = max(exc.retry_after or 0.0, _retry_after())
            raise
        status = response.status_code
        if status in (401, 403):
            raise AuthError(f"Directo refused the access token (HTTP {status}).", hint=AUTH_HINT)
        if status == 404:
            raise ConfigError("Directo's XML Direct address was not found (HTTP 404).",
                              hint="XML Direct may not be enabled for this database; ask your Directo administrator.")
        if status >= 400:
            raise TransientError(f"Directo answered HTTP {status} when reading {_words(what)}.",
                                 hint="The hub will try again later.", retry_after=_retry_after())
        return response.content

    def _check_database(self, root: Element) -> None:
        """A token belongs to one database. The sandbox (and, we assume, Directo) names it on the
        ``<transport>`` root [INF]; when it names another one than configured, say so."""
        reported = _attr(root, fact("transport_database_attributes")[0])
        if reported and reported.lower() != self.database.lower():
            raise ConfigError(
                f"This access token belongs to the Directo database '{reported}', not '{self.database}'.",
                hint=f"Either correct the company database code to '{reported}', or generate a token in the "
                     f"'{self.database}' database and paste it.", field="database")

    def get(self, what: str, **filters: str) -> Element:
        """``get=1&what=<what>`` with filters (the documented ones only); the parsed ``<transport>`` root. Every
        record comes in the one answer (wire fact ``no_paging``)."""
        undocumented = sorted(set(filters) - set(fact("filters")))
        if what not in fact("components") or undocumented:
            raise ValueError(f"XML Direct has no component {what!r} or no filters {undocumented}")
        flag, component = fact("read_fields")
        content = self._post({flag: "1", component: what, **filters}, what)
        root = parse_xml(content, what=what)
        _raise_for_auth(root, what)
        if root.tag.lower() != "transport":
            raise TransientError(f"Directo answered with an unexpected document <{root.tag[:40]}> when reading "
                                 f"{_words(what)}.", hint="The hub will try again later.",
                                 retry_after=_retry_after())
        self._check_database(root)
        return root

    def missing_components(self, used: dict[str, str]) -> list[str]:
        """Of ``used`` (component → what the hub uses it for), the components this token may not read: one
        cheap read each (a filter that matches nothing); a component-limited token answers Unauthorized."""
        missing = []
        for what, purpose in used.items():
            try:
                day = format_date(PROBE_DAY)
                self.get(what, code=PROBE_CODE, date1=day, date2=day)
            except AuthError:
                missing.append(f"{_words(what).capitalize()} ({purpose}): ask your Directo "
                               f"administrator to allow the “{what}” component for this token.")
        return missing

    def records(self, what: str, **filters: str) -> list[Element]:
        """Every ``<what>`` record of the answer, with or without a plural container element
        (both shapes occur: D2 fixtures ``transport-with-container`` / ``-without-container``)."""
        root = self.get(what, **filters)
        return [el for el in root.iter() if el.tag.lower() == what]

    def put(self, what: str, xmldata: str, **params: str) -> list[PutResult]:
        flag, component, data = fact("write_fields")
        content = self._post({flag: "1", component: what, data: xmldata, **params}, what)
        root = parse_xml(content, what=what)
        _raise_for_auth(root, what, "sending")
        results = [el for el in ([root] if root.tag.lower() == "result" else root.iter())
                   if el.tag.lower() == "result"]
        if not results:
            raise TransientError("Directo's answer to the upload had no result.",
                                 hint="The hub will check whether the document arrived and try again.",
                                 retry_after=_retry_after())
        kind, desc, docid, doctype = fact("result_attributes")
        out = []
        for el in results:
            try:
                code = int(_attr(el, kind) or "")
            except ValueError:
                code = -1
            out.append(PutResult(code, (_attr(el, desc) or "").strip(), _attr(el, docid) or None,
                                 _attr(el, doctype)))
        return out


# -- formats -----------------------------------------------------------------------------------------
def parse_date(value: str | None) -> dt.date | None:
    """Directo dates: ISO (``2026-01-31``, ``2026-01-31T10:30:00``) or Estonian ``31.01.2026``
    (optionally with a time); both occur in documented answers (D1 curl example, D2 fixtures)."""
    if not value:
        return None
    text = value.strip()
    head = re.split(r"[T ]", text, maxsplit=1)[0]
    for fmt in ("%Y-%m-%d", fact("filter_date_format")):
        try:
            return dt.datetime.strptime(head, fmt).date()
        except ValueError:
            continue
    return None


def format_date(day: dt.date) -> str:
    """Filter dates as in the D1 example (``dd.mm.yyyy``, wire fact ``filter_date_format``)."""
    return day.strftime(fact("filter_date_format"))


def parse_decimal(value: str | None) -> Decimal | None:
    if value is None or not value.strip():
        return None
    try:
        return Decimal(value.strip().replace("\u00a0", "").replace(" ", "").replace(",", "."))
    except InvalidOperation:
        return None


def format_decimal(value: Decimal) -> str:
    """Directo numbers: plain, ``.`` as the decimal separator, no thousands separator."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".") or "0"
    return text


def attr(element: Element, *names: str) -> str | None:
    """The first present, non-empty attribute among ``names`` (case-insensitive)."""
    for name in names:
        value = _attr(element, name)
        if value is not None and value.strip():
            return value.strip()
    return None


def rows(element: Element) -> Iterator[Element]:
    """The ``<row>`` children of a document (inside ``<rows>`` or directly)."""
    for el in element.iter():
        if el is not element and el.tag.lower() == "row":
            yield el


#: The statistic keys, in the order they are declared in ``hub_vendor``.
STAT_KEYS = ("sale_entries", "purchase_entries", "bank_transactions", "documents",
             "sales_invoice_rows", "credit_invoices", "unconfirmed_documents", "gl_transactions")


# -- connection, clients, products -------------------------------------------------------------------
def test_connection(ctx: "Context", credentials: dict) -> ConnectionInfo:
    client = DirectoClient(ctx, credentials)
    root = client.get("customer", code=PROBE_CODE)
    code_attr, name_attr = fact("transport_database_attributes")
    code = attr(root, code_attr) or credentials["database"]
    name = attr(root, name_attr) or f"Directo database {code}"
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
        header_day = parse_date(attr(el, fact("receipt_time_field")))
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
    if text.isdigit() and 0 < int(text) <= fact("max_document_number"):
        return str(int(text))
    return None


def number_range(credentials: dict) -> tuple[int, int] | None:
    """The integration's invoice number range (credentials ``invoice_numbers``, ``"900001-999999"``)."""
    text = (credentials.get("invoice_numbers") or "").strip()
    if not text:
        return None
    low, _, high = text.partition("-")
    return int(low), int(high or fact("max_document_number"))


def hub_comment(invoice: Invoice) -> str:
    """The invoice's ``comment`` in Directo: the hub's own number and its reference, e.g.
    ``INV-2026-0001 [HUB-12-3]``; :func:`find_invoice` looks the reference up there."""
    return f"{invoice.number} [{invoice.reference}]"


def _is_ours(el: Element, invoice: Invoice) -> bool:
    comment = attr(el, fact("invoice_reference_field")) or ""
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
    documents, document, rows_tag, row_tag = fact("invoice_put_elements")
    root = Element(documents)
    head = SubElement(root, document)
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
        fact("invoice_reference_field"): hub_comment(invoice),
    }
    if not party.vendor_client_id:  # a buyer put inline: say whether it is a company or a private person
        values[fact("invoice_buyer_type_field")] = fact("buyer_type_values")["private" if party.private_person
                                                                             else "company"]
    if party.address is not None:
        a = party.address
        values["address1"] = a.street
        values["address2"] = " ".join(x for x in (a.postal_code, a.city) if x) or None
        values["address3"] = a.country
    for key, value in values.items():
        if value:
            head.set(key, value)
    lines = SubElement(head, rows_tag)
    for line in invoice.lines:
        row = SubElement(lines, row_tag)
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


def _type(code: int) -> str:
    """``Type 8, invalid XML``: a put ``Result Type`` with Directo's meaning of it (wire fact ``result_codes``)."""
    return f"Type {code}, {fact('result_codes')[code]}"


#: Put ``Result Type`` codes (wire fact ``result_codes``, D1 "Responses and error codes") → what the hub does;
#: every documented code has one (tests/test_client.py checks it), an undocumented one is a rejection.
CREATED = {0: "created", 30: "created (linked)", 29: "saved, not confirmed", 39: "saved, linked not confirmed"}
ALREADY_THERE = {11: "duplicate", 14: "already confirmed, not changeable"}
REJECTED = {
    8: ("", f"Directo could not read the invoice XML ({_type(8)})."),
    9: ("", f"Directo refused the invoice ({_type(9)})."),
    12: ("number", f"Directo needs a document number ({_type(12)}). Set '{NUMBERS_SETTING}' in "
                   "the Directo connection settings."),
    13: ("client", "Directo needs the customer's code or registration number and e-mail (Type 13). Link the client "
                   "to its Directo customer, or fill in its registration code and e-mail in the hub."),
    18: ("", "Directo could not find the unique id field (Type 18)."),
    19: ("", "Directo does not allow removing this document (Type 19)."),
    31: ("", f"A record the invoice refers to was not found in Directo ({_type(31)})."),
    99: ("", "Directo found no processable XML in the upload (Type 99)."),
}
RETRYABLE = {17: f"Directo could not insert the invoice ({_type(17)})."}


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
                    f"numbers up to {fact('max_document_number')}. Set '{NUMBERS_SETTING}' in the Directo connection "
                    "settings to a range the bookkeeper reserves for the hub (e.g. 900001-999999): the hub then "
                    "numbers its invoices from it and keeps its own number in the invoice's comment."]})
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
                         retry_after=_retry_after())


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
    if str(result.type) == _unauthorized_type():
        raise AuthError("Directo refused the access token when uploading the invoice.", hint=AUTH_HINT)
    if result.type in RETRYABLE:
        raise TransientError(RETRYABLE[result.type], hint="The hub will try again in a minute or more.",
                             retry_after=_retry_after())
    field, message = REJECTED.get(result.type, ("", f"Directo refused the invoice (Type {result.type})."))
    detail = [message] + ([f"Directo says: {result.desc}"] if result.desc else [])
    raise VendorRejected(message, field_messages={field: detail})


# -- payments ----------------------------------------------------------------------------------------
def _row_day(row: Element, header_day: dt.date | None) -> dt.date | None:
    """A receipt row's day: its own ``aeg`` (ws_laekumised.xsd), else the header's ``aeg`` (D1 receipt page)."""
    return parse_date(attr(row, fact("receipt_time_field"))) or header_day


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
        header_day = parse_date(attr(el, fact("receipt_time_field")))
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
            order = (day or dt.date.min, attr(row, fact("receipt_time_field")) or "", receipt_no.zfill(12), position)
            if number not in latest or order >= latest[number][0]:
                latest[number] = (order, amount, parse_decimal(attr(row, fact("receipt_balance_field"))))
    out = []
    for number, amount in paid.items():
        _, received, balance = latest[number]
        out.append(Payment(vendor_invoice_id=number, invoice_number=number, paid_amount=amount,
                           paid_on=last_day.get(number), fully_paid=balance is not None and received >= balance))
    return out
