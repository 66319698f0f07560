"""A faithful emulator of the Merit Aktiva API v1 (public-apis.md §3), as a Flask WSGI app.

What it enforces, as the real service does:

* one service per country, chosen by the ``Host`` header (``aktiva.merit.ee``, ``app.passelimerit.fi`` and the
  legacy ``aktiva.meritaktiva.fi``, ``program.360ksiegowosc.pl``); an API id of another country is unknown there;
* the HMAC signature on every call: ``ApiId`` (``apiId`` accepted too), ``timestamp`` (``yyyyMMddHHmmss`` UTC,
  ±``max_skew_s``) and ``signature`` = base64 HMAC-SHA256(key = API key string, ApiId + timestamp + raw body),
  URL-encoded in the query;
* the documented answers: 404 for a missing query parameter or unknown path, 400 text for a malformed API id or a
  refused payload, 401 with an empty body for an unknown API id / bad signature / stale timestamp / reset key,
  401 ``api-wronglicense`` for a company without a PRO/PREMIUM licence, 200 with an ASP.NET stack trace for a
  payload that makes no sense (invalid JSON, an invoice without rows), 429 + ``Retry-After`` /
  ``X-RateLimit-*`` over 60 requests per minute per API id;
* list windows of at most 3 months (``PeriodStart``/``PeriodEnd`` ``yyyyMMdd``), at most 200 invoice rows,
  ``TaxAmount`` summed per ``TaxId``, unique invoice numbers, item ``Code`` ≤ 20 and ``Description`` ≤ 100
  characters and comments ≤ 4000 (longer: 200 + a "would be truncated" stack trace), ``NotTDCustomer`` a JSON
  boolean and true for a new foreign customer of an Estonian or Finnish company (else 400 ``{"Message": …}``);
* the shapes of :mod:`hub_merit.wire`: GL batches dated by ``BatchDate``, payments numbered on their own
  (v1 ``DocumentNo``) and linked to the invoices they pay only in v2 ``getpayments`` ``PaymAPIDetails``.

Recording, the fault knobs (``latency_ms``, ``fault``, ``fault_every``, ``fault_path``, ``timeout_s``,
``retry_after``, …), the ``/_sandbox/`` control endpoints and serving come from the hub's sandbox kit
(:mod:`hub.testing.sandbox`); the faults answer Merit's way (a 429 with its rate headers, an ASP.NET error page,
a stack trace with 200 for "garbage"). ``rate_limit`` ("N/S", default "60/60"; "" or None disables) is a fixed
window per API id. Merit's own knobs (``create_app(**knobs)`` or ``POST /_sandbox/knobs``): ``max_skew_s``,
``revoked_api_ids`` (list: treat these companies' keys as reset), ``lapsed_api_ids`` (list: these companies lose
their PRO/PREMIUM licence), ``extra_companies`` (int: that many more Estonian companies, "Bench Client 001 OÜ" …,
for load tests; their credentials: ``extra_credentials(n)``). ``GET /_sandbox/timeline`` keys every request by its
ApiId; ``POST /_sandbox/pay`` books a customer payment (demo helper).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import Flask, Response, jsonify, request

from hub.testing.sandbox import Recorded, Sandbox, money
from hub_merit.wire import fact

#: Host name → the service (country) it serves; both Finnish hosts are one service (wire fact ``hosts``).
HOSTS = {urlsplit(base).hostname: country.split("-")[0] for country, base in fact("hosts").items()}
TODAY = dt.date(2026, 11, 22)
SEED = 4242
FIRST_DAY, LAST_DAY = dt.date(2025, 1, 1), dt.date(2026, 12, 31)
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

STACK_TRACE_TEMPLATE = """<!DOCTYPE html>
<html><head><title>{message}</title></head>
<body><h1>Server Error in '/' Application.</h1>
<h2><i>{message}</i></h2>
<b>Exception Details: </b>{exception}: {message}
<pre>[{short}: {message}]
   Merit.Aktiva.Api.Controllers.ApiController.Dispatch(String endpoint) +412
   System.Web.Mvc.ActionMethodDispatcher.Execute(ControllerBase controller, Object[] parameters) +14
</pre></body></html>"""
NULL_REFERENCE = ("System.NullReferenceException", "Object reference not set to an instance of an object.")
STACK_TRACE = STACK_TRACE_TEMPLATE.format(exception=NULL_REFERENCE[0], short=NULL_REFERENCE[0].rsplit(".", 1)[1],
                                          message=NULL_REFERENCE[1])

TAXES = {
    "EE": [("22%", "Käibemaks 22%", "VAT 22%", 22), ("24%", "Käibemaks 24%", "VAT 24%", 24),
           ("9%", "Käibemaks 9%", "VAT 9%", 9), ("13%", "Käibemaks 13%", "VAT 13%", 13),
           ("0%", "Käibemaks 0%", "VAT 0%", 0), ("-", "Maksuvaba", "VAT exempt", 0)],
    "FI": [("25,5%", "ALV 25,5%", "VAT 25.5%", Decimal("25.5")), ("14%", "ALV 14%", "VAT 14%", 14),
           ("10%", "ALV 10%", "VAT 10%", 10), ("0%", "ALV 0%", "VAT 0%", 0)],
    "PL": [("23%", "VAT 23%", "VAT 23%", 23), ("8%", "VAT 8%", "VAT 8%", 8), ("5%", "VAT 5%", "VAT 5%", 5),
           ("0%", "VAT 0%", "VAT 0%", 0), ("zw", "Zwolniony", "VAT exempt", 0)],
}
CURRENCY = {"EE": "EUR", "FI": "EUR", "PL": "PLN"}
BANKS = {"EE": "LHV Pank", "FI": "Nordea", "PL": "mBank"}


@dataclass
class Company:
    api_id: str
    api_key: str
    country: str
    name: str
    licence_ok: bool = True
    revoked_keys: list[str] = field(default_factory=list)
    taxes: list[dict] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)
    customers: list[dict] = field(default_factory=list)
    vendors: list[dict] = field(default_factory=list)
    invoices: list[dict] = field(default_factory=list)
    purchases: list[dict] = field(default_factory=list)
    payments: list[dict] = field(default_factory=list)
    glbatches: list[dict] = field(default_factory=list)

    @property
    def credentials(self) -> dict:
        return {"api_id": self.api_id, "api_key": self.api_key, "country": self.country}


# (name, country, licence_ok) — deterministic ids and keys come from the seed.
COMPANY_SPECS = [
    ("Põhjala Puit OÜ", "EE", True),
    ("Tallinna Kohvik AS", "EE", True),
    ("Revontuli Sauna Oy", "FI", True),
    ("Bursztyn Kraków Sp. z o.o.", "PL", True),
    ("Saaremaa Seafood OÜ", "EE", True),   # its key was reset in Merit: the seeded old key is revoked
    ("Vana Litsents OÜ", "EE", False),     # licence lapsed (no PRO/PREMIUM): api-wronglicense
]


def _iso(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00"


def _invoice(invoice_id: str, number: str, day: dt.date, due: dt.date, customer: dict, currency: str, net: Decimal,
             vat: Decimal, reference: str) -> dict:
    """A sales invoice as the store keeps it: its ``getinvoices`` row, also the ``getinvoice`` header (wire facts
    ``invoice_id``, ``invoice_number``, ``invoice_date``, ``invoice_vat``, ``invoice_details_header``)."""
    net_key, _, total_key, currency_key, name_key, code_key, rounding_key = fact("invoice_details_header")
    return {fact("invoice_id"): invoice_id, fact("invoice_number"): number, fact("invoice_date"): _iso(day),
            "TransactionDate": _iso(day), "CustomerId": customer["CustomerId"], name_key: customer["Name"],
            code_key: customer["RegNo"], "DueDate": _iso(due), currency_key: currency, "CurrencyRate": Decimal(1),
            fact("invoice_vat"): vat, rounding_key: Decimal(0), net_key: net, total_key: net + vat,
            "PaidAmount": Decimal(0), "ReferenceNo": reference, "VatRegNo": "", "EInvSent": False,
            "EmailSent": False, "Paid": False}


def _link(payment_id: str, paid: dict, amount: Decimal) -> dict:
    """A v2 ``PaymAPIDetails`` row: the document (invoice or bill) a payment pays and how much of it (its
    ``DocAmount`` is the document's total with VAT: wire fact ``doc_amount_is_total``)."""
    net_key, _, total_key = fact("invoice_details_header")[:3]
    total = paid.get(total_key, paid[net_key] + paid[fact("invoice_vat")])
    number = paid.get(fact("invoice_number")) or paid.get("BillNo")
    return {"PaymId": payment_id, fact("payment_link_invoice_number"): number,
            fact("payment_link_doc_amount"): total if fact("doc_amount_is_total") else paid[net_key],
            fact("payment_link_paid_amount"): amount, "CurrencyCode": paid["CurrencyCode"],
            "CurrencyRate": Decimal(1),
            fact("payment_link_invoice_id"): paid.get(fact("invoice_id")) or paid.get("PIHId")}


def _payment(payment_id: str, bank: str, direction: int, party: dict | None, currency: str, day: dt.date,
             number: str, amount: Decimal, links: list[dict]) -> dict:
    """A payment as the store keeps it: the v1 row, plus its links (``_links``, answered by v2 only)."""
    return {"PIHId": payment_id, "BankName": bank, "CounterPartType": {1: 2, 2: 3}.get(direction, 0),
            "CounterPartName": (party or {}).get("Name", ""),
            "CounterPartId": (party or {}).get("CustomerId") or (party or {}).get("VendorId"),
            "CurrencyCode": currency, "CurrencyRate": Decimal(1), fact("payment_date"): _iso(day),
            "DocumentNo": number, fact("payment_direction"): direction, "Amount": amount, "EInvSentDate": None,
            "_links": links}


def _seed_company(rng: random.Random, name: str, country: str, licence_ok: bool) -> Company:
    api_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    api_key = base64.b64encode(rng.randbytes(32)).decode()
    company = Company(api_id=api_id, api_key=api_key, country=country, name=name, licence_ok=licence_ok)
    currency = CURRENCY[country]
    for code, name_local, name_en, pct in TAXES[country]:
        company.taxes.append({"Id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "Code": code,
                              "Name": name_local, "NameEN": name_en, "NameRU": name_en,
                              fact("tax_percent_fields")[0]: Decimal(pct)})
    for i, (code, item_name, price) in enumerate([("RAAM", "Raamatupidamisteenus", "250.00"),
                                                  ("PALK", "Palgaarvestus", "12.50"),
                                                  ("KMD", "Käibedeklaratsioon", "40.00"),
                                                  ("AA", "Aastaaruanne", "480.00"),
                                                  ("KONS", "Konsultatsioon (tund)", "65.00"),
                                                  ("LAUD", "Tammelaud 2m", "18.90"),
                                                  ("TRANSP", "Transport", "35.00"),
                                                  ("PAKEND", "Pakend", "1.20")]):
        tax = company.taxes[0]
        company.items.append({"ItemId": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "Code": code,
                              "Name": item_name, "UnitofMeasureName": "h" if code == "KONS" else "tk",
                              "Type": 1 if i >= 5 else 2, "SalesPrice": Decimal(price),
                              "InventoryQty": Decimal(rng.randint(0, 90)) if i >= 5 else Decimal(0),
                              "ReservedQty": Decimal(0), "VatTaxName": tax["Name"], "Usage": 3,
                              "SalesAccountCode": "3000", "ItemGroupName": "Teenused" if i < 5 else "Kaubad",
                              "EANCode": ""})
    for i in range(12):
        company.customers.append({"CustomerId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                                  "Name": f"{['Kask', 'Mänd', 'Kuusk', 'Haab', 'Saar', 'Tamm'][i % 6]} "
                                          f"{['Ehitus', 'Kaubandus', 'Teenused', 'Logistika'][i % 4]} "
                                          f"{['OÜ', 'AS', 'Oy', 'Sp. z o.o.'][i % 4]} {i + 1}",
                                  "RegNo": f"{rng.randint(10000000, 19999999)}", "CountryCode": country,
                                  "VatRegNo": "", "Email": f"arved{i + 1}@example.test", "CurrencyCode": currency,
                                  "NotTDCustomer": False})
    for i in range(6):
        company.vendors.append({"VendorId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                                "Name": f"Tarnija {i + 1} OÜ"})
    rated = [t for t in company.taxes if t[fact("tax_percent_fields")[0]] > 0]
    zero = [t for t in company.taxes if t[fact("tax_percent_fields")[0]] == 0]
    # Payment documents have their own numbering, which overlaps the invoice numbers (both are plain
    # sequences): a client that took a payment's DocumentNo for the invoice it pays would pair it wrongly.
    inv_no, bill_no, pay_no, gl_no = 1000, 1, 1000, 1

    def gl(day: dt.date, code: str, document: str, amount: Decimal) -> None:
        nonlocal gl_no
        # the documented getglbatches row: dated by BatchDate, no DocumentDate (wire fact gl_batch_date)
        company.glbatches.append({"GLBId": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "BatchCode": code,
                                  "No": gl_no, "Document": document, fact("gl_batch_date"): _iso(day),
                                  "CurrencyCode": currency, "CurrencyRate": Decimal(1), "TotalAmount": amount,
                                  "PriceInclVat": 0, "FileExists": False})
        gl_no += 1

    def pay(day: dt.date, direction: int, party: dict | None, paid: dict | None, amount: Decimal) -> None:
        """A bank payment of ``amount`` on ``day``; ``paid`` is the invoice or bill it pays (if any)."""
        nonlocal pay_no
        payment_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        company.payments.append(_payment(payment_id, BANKS[country], direction, party, currency, day, str(pay_no),
                                         amount, [_link(payment_id, paid, amount)] if paid else []))
        gl(day, "PA", str(pay_no), amount)
        pay_no += 1

    month = FIRST_DAY
    while month <= LAST_DAY:
        days = (month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1) - month).days
        for _ in range(rng.randint(3, 9)):
            day = month + dt.timedelta(days=rng.randrange(days))
            customer = rng.choice(company.customers)
            net = money(Decimal(rng.randint(2000, 250000)) / 100)
            tax = rng.choice(zero) if rng.random() < 0.2 else rng.choice(rated)
            vat = money(net * tax[fact("tax_percent_fields")[0]] / 100)
            invoice = _invoice(str(uuid.UUID(int=rng.getrandbits(128), version=4)), str(inv_no), day,
                               day + dt.timedelta(days=14), customer, currency, net, vat, f"{inv_no}7")
            company.invoices.append(invoice)
            inv_no += 1
            gl(day, "MA", invoice[fact("invoice_number")], net + vat)
            paid_on = day + dt.timedelta(days=rng.randint(0, 40))
            if paid_on <= TODAY and rng.random() < 0.75:
                partial = rng.random() < 0.1
                total = invoice[fact("invoice_details_header")[2]]
                amount = money(total / 2) if partial else total
                invoice["PaidAmount"] = amount
                invoice["Paid"] = not partial
                pay(paid_on, 1, customer, invoice, amount)
        for _ in range(rng.randint(2, 6)):
            day = month + dt.timedelta(days=rng.randrange(days))
            vendor = rng.choice(company.vendors)
            net = money(Decimal(rng.randint(500, 90000)) / 100)
            tax = rng.choice(zero) if rng.random() < 0.25 else rng.choice(rated)
            vat = money(net * tax[fact("tax_percent_fields")[0]] / 100)
            bill = {"PIHId": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "BillNo": f"B-{bill_no}",
                    fact("purchase_date"): _iso(day), "TransactionDate": _iso(day), "VendorId": vendor["VendorId"],
                    "VendorName": vendor["Name"], "DueDate": _iso(day + dt.timedelta(days=21)),
                    "CurrencyCode": currency, fact("invoice_vat"): vat, "TotalAmount": net, "PaidAmount": Decimal(0)}
            company.purchases.append(bill)
            bill_no += 1
            gl(day, "OA", bill["BillNo"], net + vat)
            paid_on = day + dt.timedelta(days=rng.randint(5, 30))
            if paid_on <= TODAY and rng.random() < 0.6:
                bill["PaidAmount"] = net + vat
                pay(paid_on, 2, vendor, bill, net + vat)
        for _ in range(rng.randint(0, 2)):  # other income / expenses (bank fees, interest)
            day = month + dt.timedelta(days=rng.randrange(days))
            if day <= TODAY:
                pay(day, rng.choice([3, 4]), None, None, money(Decimal(rng.randint(100, 5000)) / 100))
        for _ in range(rng.randint(0, 3)):  # manual GL entries (depreciation, accruals, salaries)
            day = month + dt.timedelta(days=rng.randrange(days))
            gl(day, "PK", "", money(Decimal(rng.randint(1000, 400000)) / 100))
        month = month + dt.timedelta(days=days)
    return company


def extra_companies(n: int) -> list[Company]:
    """``n`` more companies for load tests (deterministic, independent of the main seed)."""
    rng = random.Random(SEED + 1)
    return [_seed_company(rng, f"Bench Client {i:03d} OÜ", "EE", True) for i in range(1, n + 1)]


def extra_credentials(n: int) -> list[dict]:
    return [c.credentials for c in extra_companies(n)]


def seed_companies() -> list[Company]:
    """The seeded companies, always the same (fixed seed)."""
    rng = random.Random(SEED)
    companies = [_seed_company(rng, name, country, licence) for name, country, licence in COMPANY_SPECS]
    # Saaremaa Seafood reset its API key: the key we hand out as "revoked" no longer signs.
    revoked = companies[4]
    revoked.revoked_keys.append(revoked.api_key)
    revoked.api_key = base64.b64encode(rng.randbytes(32)).decode()
    return companies


_COMPANIES = seed_companies()
#: The demo firm's Merit company (Estonia).
DEMO_CREDENTIALS: dict = _COMPANIES[0].credentials
#: Three more client companies, one per service: Estonia, Finland, Poland.
DEMO_CLIENT_CREDENTIALS: list[dict] = [c.credentials for c in _COMPANIES[1:4]]
#: A key that was reset in Merit (Settings → API settings): every call with it gets 401.
REVOKED_CREDENTIALS: dict = {**_COMPANIES[4].credentials, "api_key": _COMPANIES[4].revoked_keys[0]}
#: A company whose creator lost the PRO/PREMIUM licence: 401 ``api-wronglicense``.
LAPSED_LICENCE_CREDENTIALS: dict = _COMPANIES[5].credentials


class SandboxState(Sandbox):
    """``app.extensions["sandbox"]``: knobs, recorded requests and the data store."""

    name = "merit"
    vendor_knobs = {"rate_limit": "{}/{}".format(*fact("rate_limit")), "max_skew_s": fact("timestamp_skew_s"),
                    "revoked_api_ids": [], "lapsed_api_ids": [], "extra_companies": 0,
                    "book_vat_rounding": "line" if fact("vat_per_row") else "rate"}

    def seed(self) -> None:
        companies = seed_companies() + extra_companies(int(self.knobs["extra_companies"] or 0))
        self.companies: dict[str, Company] = {c.api_id: c for c in companies}
        self.created: list[dict] = []

    def fault_response(self, fault: str) -> Response:
        """Merit's own answers: 429 with its rate headers, an ASP.NET error page (500), a stack trace with 200."""
        if fault == "429":
            wait = int(self.knobs["retry_after"] or 1)
            return _too_many(fact("rate_limit")[0], time.time() + wait, wait)
        if fault == "500":  # wire fact server_fault_answer
            return Response(STACK_TRACE, status=fact("server_fault_answer"), mimetype="text/html")
        if fault == "garbage":
            return _stack_trace()
        return super().fault_response(fault)

    def request_key(self, record: Recorded) -> str | None:
        """The ApiId (``apiId`` accepted too), for ``GET /_sandbox/timeline``."""
        name = fact("auth_query")[0]
        return record.args.get(name) or record.args.get(name[0].lower() + name[1:])

    # -- helpers for tests ---------------------------------------------------------------------
    def company(self, api_id: str) -> Company:
        return self.companies[api_id]

    def pay_invoice(self, api_id: str, invoice_id: str, amount: Decimal, day: dt.date) -> None:
        """Record a customer payment for an invoice (as if booked in Merit's bank module)."""
        company = self.companies[api_id]
        with self.lock:
            invoice = next(i for i in company.invoices if i[fact("invoice_id")] == invoice_id)
            invoice["PaidAmount"] = money(invoice["PaidAmount"] + amount)
            invoice["Paid"] = invoice["PaidAmount"] >= invoice[fact("invoice_details_header")[2]]
            payment_id = str(uuid.uuid4())
            number = str(1 + max((int(p["DocumentNo"]) for p in company.payments), default=999))
            customer = {"Name": invoice["CustomerName"], "CustomerId": invoice["CustomerId"]}
            company.payments.append(_payment(payment_id, BANKS[company.country], 1, customer, invoice["CurrencyCode"],
                                             day, number, money(amount), [_link(payment_id, invoice, money(amount))]))


# -- request handling ------------------------------------------------------------------------------

class _Refuse(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _text(body: str, status: int) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def _stack_trace(exception: tuple[str, str] = NULL_REFERENCE) -> Response:
    """Merit's answer to a payload it cannot use: HTTP 200 with an ASP.NET error page (wire fact
    ``bad_payload_answer``)."""
    name, message = exception
    body = STACK_TRACE_TEMPLATE.format(exception=name, short=name.rsplit(".", 1)[1], message=message)
    return Response(body, status=fact("bad_payload_answer"), mimetype="text/html")


def _message(text: str, status: int = 400) -> Response:
    """An ASP.NET Web API error body, ``{"Message": …}`` (wire fact ``error_message_key``)."""
    return Response(json.dumps({fact("error_message_key"): text}, ensure_ascii=False), status=status,
                    mimetype="application/json")


def _json(value: Any) -> Response:
    return Response(json.dumps(value, default=_encode, ensure_ascii=False), status=200,
                    mimetype="application/json")


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value))


def _day(text: Any, name: str) -> dt.date:
    """The day of a request date, ``yyyyMMdd`` (wire fact ``request_date_format``) or a date-time that starts
    with one (``yyyyMMddHHmmss``)."""
    if not isinstance(text, str) or not re.fullmatch(r"\d{8}(\d{6})?", text):
        raise _Refuse(_text(f"{name} has wrong format, expected yyyyMMdd", 400))
    try:
        return dt.datetime.strptime(text[:8], fact("request_date_format")).date()
    except ValueError:
        raise _Refuse(_text(f"{name} is not a valid date", 400)) from None


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _period(payload: dict) -> tuple[dt.date, dt.date]:
    start_field, end_field = fact("period_fields")
    if start_field not in payload or end_field not in payload:
        raise _Refuse(_stack_trace())  # the real API dies on a missing period
    start, end = _day(payload[start_field], start_field), _day(payload[end_field], end_field)
    if end < start:
        raise _Refuse(_text(f"{end_field} is before {start_field}", 400))
    months = fact("list_window_months")
    if end >= _add_months(start, months):
        raise _Refuse(_text(f"Period can not be longer than {months} months", 400))
    return start, end


def _in(row: dict, start: dt.date, end: dt.date, date_field: str) -> bool:
    return start <= dt.date.fromisoformat(row[date_field][:10]) <= end


def _public(row: dict) -> dict:
    """A stored row without the store's own ``_`` keys."""
    return {k: v for k, v in row.items() if not k.startswith("_")}


def _sign(api_id: str, api_key: str, timestamp: str, body: bytes) -> str:
    data = api_id.encode("utf-8") + timestamp.encode("utf-8") + body
    return base64.b64encode(hmac.new(api_key.encode("ascii"), data, hashlib.sha256).digest()).decode()


ENDPOINTS: dict[str, Any] = {}


def endpoint(path: str, *, get: bool = False):  # noqa: ANN201
    def register(func):  # noqa: ANN001, ANN202
        ENDPOINTS[path.lower()] = (func, get)
        return func
    return register


@endpoint(fact("endpoint_taxes"), get=True)
def _gettaxes(state: SandboxState, company: Company, payload: dict) -> Response:
    rows = [dict(t) for t in company.taxes]
    if company.country == "FI":  # the Finnish table names the percentage Percent (wire fact tax_percent_fields)
        for row in rows:
            row["TaxType"] = 1 if row[fact("tax_percent_fields")[0]] > 0 else 2
            row[fact("tax_percent_fields")[1]] = row.pop(fact("tax_percent_fields")[0])
    return _json(rows)


@endpoint(fact("endpoint_items"), get=True)
def _getitems(state: SandboxState, company: Company, payload: dict) -> Response:
    rows = company.items
    if payload.get("Id"):
        rows = [r for r in rows if r["ItemId"] == payload["Id"]]
    if payload.get("Code"):
        rows = [r for r in rows if str(payload["Code"]).lower() in r["Code"].lower()]
    if payload.get("Description"):
        rows = [r for r in rows if str(payload["Description"]).lower() in r["Name"].lower()]
    return _json(rows)


@endpoint("v1/getcustomers", get=True)
def _getcustomers(state: SandboxState, company: Company, payload: dict) -> Response:
    filters = {k: v for k, v in payload.items() if k in ("Id", "RegNo", "VatRegNo", "Name") and v}
    if not filters:
        return _stack_trace()  # an unfiltered list on a real database dies
    rows = company.customers
    if "Id" in filters:
        rows = [r for r in rows if r["CustomerId"] == filters["Id"]]
    if "RegNo" in filters:
        rows = [r for r in rows if r["RegNo"] == filters["RegNo"]]
    if "Name" in filters:
        rows = [r for r in rows if str(filters["Name"]).lower() in r["Name"].lower()]
    return _json(rows)


@endpoint(fact("endpoint_invoices"))
def _getinvoices(state: SandboxState, company: Company, payload: dict) -> Response:
    start, end = _period(payload)
    rows = [i for i in company.invoices if _in(i, start, end, fact("invoice_date"))]
    if payload.get("UnPaid") in (True, "true", 1):
        rows = [i for i in rows if not i["Paid"]]
    return _json([_public(r) for r in rows])


@endpoint(fact("endpoint_invoice_details"))
def _getinvoice(state: SandboxState, company: Company, payload: dict) -> Response:
    """One invoice: ``Header`` (the list row's fields), ``Lines`` (wire fact ``invoice_details_line``), ``Payments``."""
    invoice = next((i for i in company.invoices if i[fact("invoice_id")] == payload.get("Id")), None)
    if invoice is None:
        return _text("Invoice not found", 400)
    text, quantity, price, tax, vat = fact("invoice_details_line")
    rows = invoice.get("_rows") or []
    row_vats = invoice.get("_row_vats") or [None] * len(rows)
    lines = [{text: r["Item"]["Description"], quantity: r["Quantity"], price: r["Price"], tax: r["TaxId"],
              vat: row_vat} for r, row_vat in zip(rows, row_vats, strict=True)]
    return _json({"Header": _public(invoice), "Lines": lines, "Payments": []})


@endpoint(fact("endpoint_purchases"))
def _getpurchorders(state: SandboxState, company: Company, payload: dict) -> Response:
    start, end = _period(payload)
    return _json([r for r in company.purchases if _in(r, start, end, fact("purchase_date"))])


@endpoint(fact("endpoint_payments"))
def _getpayments(state: SandboxState, company: Company, payload: dict) -> Response:
    """v1: the payment documents alone; ``DocumentNo`` is the payment's own number."""
    start, end = _period(payload)
    return _json([_public(r) for r in company.payments if _in(r, start, end, fact("payment_date"))])


@endpoint(fact("endpoint_payment_links"))
def _getpayments_v2(state: SandboxState, company: Company, payload: dict) -> Response:
    """v2: the same payments, each with the documents it pays (``PaymAPIDetails``) and ``ChangedDate``."""
    start, end = _period(payload)
    if payload.get("DateType", 0) not in (0, 1):
        return _text("DateType must be 0 or 1", 400)
    return _json([{**_public(r), "ChangedDate": r[fact("payment_date")], fact("payment_links"): r["_links"]}
                  for r in company.payments if _in(r, start, end, fact("payment_date"))])


@endpoint(fact("endpoint_gl_batches"))
def _getglbatches(state: SandboxState, company: Company, payload: dict) -> Response:
    start, end = _period(payload)
    if payload.get("DateType", 0) not in (0, 1):
        return _text("DateType must be 0 or 1", 400)
    return _json([r for r in company.glbatches if _in(r, start, end, fact("gl_batch_date"))])


@endpoint(fact("endpoint_send_invoice"))
def _sendinvoice(state: SandboxState, company: Company, payload: dict) -> Response:
    rows = payload.get("InvoiceRow")
    if not rows or not isinstance(rows, list):
        return _stack_trace()  # "an invoice without rows" (M1)
    if len(rows) > fact("max_rows"):
        return _text(f"Dokumendil saab olla kuni {fact('max_rows')} rida. / A document can have at most "
                     f"{fact('max_rows')} rows.", 400)
    number = payload.get("InvoiceNo")
    if not number or not isinstance(number, str) or len(number) > fact("invoice_no_max"):
        return _text(f"InvoiceNo is required (max {fact('invoice_no_max')} characters)", 400)
    for name in ("DocDate", "DueDate"):
        if name not in payload:
            return _text(f"{name} is required", 400)
        _day(payload[name], name)
    if any(i[fact("invoice_number")] == number for i in company.invoices):
        return _text(f"Arve number {number} on juba kasutusel. / Invoice number {number} already exists.", 400)
    taxes = {t["Id"]: t for t in company.taxes}
    net_by_tax: dict[str, Decimal] = {}
    vat_by_tax: dict[str, Decimal] = {}  # Merit's own figure: per row, each rounded (wire fact vat_per_row)
    row_vats: list[Decimal] = []
    total = Decimal(0)
    for n, row in enumerate(rows, 1):
        item = row.get("Item") or {}
        if not item.get("Code") or not item.get("Description"):
            return _text(f"Row {n}: Item Code and Description are required", 400)
        if row.get("TaxId") not in taxes:
            return _text(f"Row {n}: unknown TaxId", 400)
        try:
            net = money(Decimal(str(row["Quantity"])) * Decimal(str(row["Price"])))
        except (KeyError, ArithmeticError):
            return _stack_trace()
        row_vats.append(money(net * taxes[row["TaxId"]][fact("tax_percent_fields")[0]] / 100))
        net_by_tax[row["TaxId"]] = net_by_tax.get(row["TaxId"], Decimal(0)) + net
        vat_by_tax[row["TaxId"]] = vat_by_tax.get(row["TaxId"], Decimal(0)) + row_vats[-1]
        total += net
    sent_tax = {}
    for entry in payload.get("TaxAmount") or []:
        if entry.get("TaxId") in sent_tax:
            return _text("TaxAmount must have one entry per TaxId", 400)
        sent_tax[entry.get("TaxId")] = Decimal(str(entry.get("Amount")))
    for tax_id, expected in vat_by_tax.items():
        if tax_id not in sent_tax or abs(sent_tax[tax_id] - expected) > Decimal("0.01"):
            return _text(f"TaxAmount for {taxes[tax_id]['Code']} does not match the rows ({expected})", 400)
    if set(sent_tax) - set(net_by_tax):
        return _text("TaxAmount has a TaxId that no row uses", 400)
    if "TotalAmount" not in payload or abs(Decimal(str(payload["TotalAmount"])) - money(total)) > Decimal("0.01"):
        return _text(f"TotalAmount does not match the rows ({money(total)})", 400)
    # texts longer than their columns fail when the invoice is written (wire fact description_too_long_answer)
    for row in rows:
        item = row["Item"]
        if len(str(item["Code"])) > fact("item_code_max") or len(str(item["Description"])) > \
                fact("item_description_max"):
            return _stack_trace(fact("description_too_long_answer"))
    for name in ("Hcomment", "Fcomment"):
        if len(str(payload.get(name) or "")) > fact("comment_max"):
            return _stack_trace(fact("description_too_long_answer"))
    cust = payload.get("Customer") or {}
    new_customer = False
    if cust.get("Id"):
        customer = next((c for c in company.customers if c["CustomerId"] == cust["Id"]), None)
        if customer is None:
            return _text("Customer not found", 400)
    else:
        required = fact("new_customer_required")
        name_key, country_key, not_td_key = required
        if any(not cust.get(name) and cust.get(name) is not False for name in required):
            return _text(f"Customer {', '.join(required[:-1])} and {required[-1]} are required for a new customer", 400)
        if any(len(str(cust.get(name) or "")) > limit for name, limit in fact("new_customer_max").items()):
            return _stack_trace(fact("customer_field_too_long_answer"))
        customer = next((c for c in company.customers if c["Name"] == cust[name_key]), None)
        if customer is None:
            if not isinstance(cust[not_td_key], bool):
                return _message(f"{not_td_key}: allowed values are true or false")
            rule = fact(f"not_td_customer_{company.country.lower()}")
            if "foreign" in rule and cust[country_key] != company.country and not cust[not_td_key]:
                # wire fact foreign_not_td_answer: a foreign company is never in the VAT annex (KMD INF)
                return _message(f"{not_td_key} must be true for a foreign customer ({cust[country_key]}): it "
                                "cannot be reported in the VAT return annex.", fact("foreign_not_td_answer"))
            new_customer = True
            customer = {"CustomerId": str(uuid.uuid4()), "Name": cust[name_key], "RegNo": cust.get("RegNo") or "",
                        "CountryCode": cust[country_key], "VatRegNo": cust.get("VatRegNo") or "",
                        "Email": cust.get("Email") or "", "CurrencyCode": CURRENCY[company.country],
                        **{name: cust.get(name) or "" for name in ("Address", "City", "PostalCode")},
                        "NotTDCustomer": bool(cust[not_td_key])}
            company.customers.append(customer)
    doc_day = _day(payload["DocDate"], "DocDate")
    if state.knobs["book_vat_rounding"] == "rate":  # a knob: book VAT once per rate, as Merit does not
        vat_by_tax = {t: money(n * taxes[t][fact("tax_percent_fields")[0]] / 100) for t, n in net_by_tax.items()}
    vat = sum(vat_by_tax.values(), Decimal(0))  # Merit books its own VAT, whatever TaxAmount said
    invoice = {**_invoice(str(uuid.uuid4()), number, doc_day, _day(payload["DueDate"], "DueDate"), customer,
                          payload.get("CurrencyCode") or CURRENCY[company.country], money(total), vat,
                          payload.get("RefNo") or f"{number}7"),
               "_rows": rows, "_row_vats": row_vats, "_hcomment": payload.get("Hcomment"),
               "_fcomment": payload.get("Fcomment")}
    company.invoices.append(invoice)
    state.created.append(invoice)
    customer_key, invoice_key, number_key, ref_key, new_customer_key = fact("send_invoice_answer")
    return _json({customer_key: customer["CustomerId"], invoice_key: invoice[fact("invoice_id")], number_key: number,
                  ref_key: invoice["ReferenceNo"], new_customer_key: new_customer})


def create_app(**knobs: Any) -> Flask:
    """The sandbox app. See the module docstring for the knobs."""
    state = SandboxState(**knobs)
    app = state.create_app()

    @app.post("/_sandbox/pay")
    def sandbox_pay():  # noqa: ANN202
        """Demo helper: ``{"ApiId", "InvoiceId", "Amount", "Date": "yyyy-mm-dd"}`` books a customer payment."""
        body = request.get_json(force=True) or {}
        state.pay_invoice(body["ApiId"], body["InvoiceId"], Decimal(str(body["Amount"])),
                          dt.date.fromisoformat(body.get("Date") or TODAY.isoformat()))
        return jsonify(ok=True)

    @app.route("/api/<path:endpoint_path>", methods=["GET", "POST"])
    def api(endpoint_path: str) -> Response:
        try:
            return _handle(state, state.current_record(), endpoint_path)
        except _Refuse as refused:
            return refused.response

    return app


def _handle(state: SandboxState, record: Recorded, endpoint_path: str) -> Response:
    knobs = state.knobs
    country = HOSTS.get(record.host)
    if country is None:
        return _text("Not found", 404)
    route = ENDPOINTS.get(endpoint_path.lower())
    if route is None:
        return _text("Not found", 404)
    func, get_ok = route
    if endpoint_path.lower() == fact("endpoint_gl_batches"):  # one method per service (wire fact gl_batches_method)
        if request.method != fact("gl_batches_method")[country]:
            return _text("Method Not Allowed", 405)
    elif request.method == "GET" and not get_ok:
        return _text("Not found", 404)
    # parse_qsl decodes '+' as a space, exactly like ASP.NET: an unencoded '+' in the signature breaks it.
    query = {k.lower(): v for k, v in parse_qsl(record.query_string, keep_blank_values=True)}
    api_id, timestamp, signature = (query.get(name.lower()) for name in fact("auth_query"))
    if not api_id or not timestamp or not signature:
        return _text("Not found", 404)  # "a missing required query parameter" (M1 FAQ)
    if not GUID.match(api_id):
        return _text("Vale API ID. Kontrollige, et selles ei oleks tühikuid. / Wrong API ID, check for spaces.", 400)
    company = state.companies.get(api_id)
    if company is None or company.country != country:
        return _text("", 401)
    if not re.fullmatch(r"\d{14}", timestamp):
        return _text("", 401)
    try:
        sent_at = dt.datetime.strptime(timestamp, fact("timestamp_format")).replace(tzinfo=dt.UTC)
    except ValueError:
        return _text("", 401)
    if abs(sent_at.timestamp() - time.time()) > float(knobs["max_skew_s"]):
        return _text("", 401)
    key = company.api_key
    if api_id in (knobs["revoked_api_ids"] or []):
        key = "reset-" + key  # the key was reset: whatever the client signs with no longer matches
    if not hmac.compare_digest(_sign(api_id, key, timestamp, record.body), signature):
        return _text("", 401)
    if not company.licence_ok or api_id in (knobs["lapsed_api_ids"] or []):
        return _text(fact("licence_error"), 401)
    limited = _rate_limit(state, api_id)
    if limited is not None:
        return limited
    if record.body.strip():
        try:
            payload = json.loads(record.body)
        except ValueError:
            return _stack_trace()
        if not isinstance(payload, dict):
            return _stack_trace()
    else:
        if request.method == "POST" and not get_ok:
            return _stack_trace()
        payload = {}
    with state.lock:
        return func(state, company, payload)


def _too_many(limit: int, reset_at: float, retry_after: int) -> Response:
    response = _text("Too Many Requests", 429)
    response.headers["Retry-After"] = str(max(1, retry_after))
    response.headers["X-RateLimit-Limit"] = str(limit)
    response.headers["X-RateLimit-Remaining"] = "0"
    response.headers["X-RateLimit-Reset"] = str(int(reset_at))
    return response


def _rate_limit(state: SandboxState, api_id: str) -> Response | None:
    verdict = state.take_rate(api_id, fixed=True)
    if verdict is None or verdict.allowed:
        return None
    return _too_many(verdict.limit, time.time() + verdict.reset_in, verdict.retry_after)
