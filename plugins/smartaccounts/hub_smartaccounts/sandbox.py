"""A faithful emulator of the SmartAccounts API (``https://sa.smartaccounts.eu/api/``) as a Flask app.

What it enforces, like the public clients describe the real API (public-apis.md §4):

* ``{module}/{entity}:{verb}`` endpoints under ``/api/`` on the host ``sa.smartaccounts.eu``.
* Query authentication: ``apikey``, ``timestamp`` (``ddMMyyyyHHmmss``, Europe/Tallinn) and ``signature`` =
  lowercase hex HMAC-SHA256 keyed with the API secret over the query string exactly as sent (without the
  ``signature`` parameter) with the raw body appended. The timestamp must be within ``max_skew_s``.
* ``:get`` reads as GET without a body (A2, A4) or as POST with a JSON body (A1); ``:add`` as POST only.
* Lists paged with ``pageNumber`` (1-based), 100 objects a page, ``hasMoreEntries``; dates ``dd.MM.yyyy``.
  Each list answers under its own key (``clientInvoices``, ``vendorInvoices``, …) and the document lists carry
  a ``deleted`` array beside the rows (A3).
* Every sales-invoice row must name an existing article ``code``; ``purchasesales/articles:add`` creates one.
* 60 requests a minute and 1000 a day per API key, answered **503** with ``Retry-After`` (how A3 says
  SmartAccounts throttles); knob ``fault="503"`` injects that answer, ``fault="429"`` a 429.
* Shapes come from :mod:`hub_smartaccounts.wire` (the facts the client relies on, with their sources).
* Error bodies ``{"errors": [{"code", "message", "field"?}]}`` (the ``errors[].message`` shape is read by the
  Konekt WooCommerce client; ``code`` and ``field`` are this sandbox's inference).

Recording, the fault knobs (``latency_ms``, ``fault``, ``fault_every``, ``fault_path``, ``timeout_s``,
``retry_after``: the seconds sent with an injected 429/503, …), the ``/_sandbox/`` control endpoints and serving
come from the hub's sandbox kit (:mod:`hub.testing.sandbox`); the faults answer SmartAccounts' way, and
``fault="503"`` is added to the kit's. ``rate_limit`` ("N/S", default "60/60"; ``None``/"" disables) is a sliding
window per API key. SmartAccounts' own knobs (``create_app(**knobs)`` or ``POST /_sandbox/knobs``):
``daily_limit`` (default 1000; 0 disables), ``max_skew_s`` (default 300), ``read_method`` ("both" | "GET" |
"POST"), ``vat_percent_field`` ("pc" as in A3, or "percent" as in A5), ``seed`` (default 20261122).
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import hmac
import json
import random
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote_plus, urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, Response, request

from hub.testing.sandbox import FAULTS, Recorded, Sandbox, json_response, money, parse_rate

from .wire import fact, list_key

HOST = urlsplit(fact("base_url")).hostname
API_PATH = urlsplit(fact("base_url")).path
#: ``{module}/{entity}:{verb}`` (wire fact ``endpoint_form``) as a pattern.
ENDPOINT = re.compile(fact("endpoint_form").format(module="(?P<module>[^/:]+)", entity="(?P<entity>[^:]+)",
                                                    verb="(?P<verb>[^/:]+)"))
ERRORS_KEY, MESSAGE_KEY = fact("error_body")
CODE_KEY, FIELD_KEY = fact("error_codes_and_fields")
TALLINN = ZoneInfo(fact("timestamp_zone"))
PAGE_SIZE: int = fact("page_size")
DATE_FORMAT: str = fact("date_format")
TIMESTAMP_FORMAT: str = fact("timestamp_format")
ADDRESS_LINE_MAX: int = fact("address_line_max")
PAGE_PARAM: str = fact("page_param")
MORE_KEY: str = fact("more_key")
DELETED_KEY: str = fact("deleted_key")
THROTTLE_STATUS: int = fact("throttle_status")
ARTICLE_TYPES: tuple[str, ...] = fact("article_types")
FIRST_DAY = dt.date(2025, 1, 1)
LAST_DAY = dt.date(2026, 12, 31)

#: The demo company (the hub's demo firm saves these credentials).
DEMO_CREDENTIALS: dict = {"api_key": "5a1d3c9e7f20b846", "api_secret": "9f8e7d6c5b4a39281706f5e4d3c2b1a0"}
#: Three more companies, one per demo firm client (each firm client is its own SmartAccounts company).
DEMO_CLIENT_CREDENTIALS: list[dict] = [
    {"api_key": "6b2e4d0f8a31c957", "api_secret": "a0b1c2d3e4f5061728394a5b6c7d8e9f"},
    {"api_key": "7c3f5e1a9b42da68", "api_secret": "b1c2d3e4f5061728394a5b6c7d8e9fa0"},
    {"api_key": "8d4a6f2bac53eb79", "api_secret": "c2d3e4f5061728394a5b6c7d8e9fa0b1"},
]
#: A key pair that was regenerated in SmartAccounts (the old pair no longer works).
REVOKED_CREDENTIALS: dict = {"api_key": "1e0f2a3b4c5d6e7f", "api_secret": "d3e4f5061728394a5b6c7d8e9fa0b1c2"}
#: A company whose SmartAccounts subscription has ended (API access disabled).
EXPIRED_CREDENTIALS: dict = {"api_key": "2f1a3b4c5d6e7f80", "api_secret": "e4f5061728394a5b6c7d8e9fa0b1c2d3"}

COMPANIES = [
    # name, credentials, status, monthly volume scale
    ("Demo Raamatupidamine OÜ", DEMO_CREDENTIALS, "active", 2.0),
    ("Kask ja Kuusk OÜ", DEMO_CLIENT_CREDENTIALS[0], "active", 1.0),
    ("Põldma Ehitus AS", DEMO_CLIENT_CREDENTIALS[1], "active", 1.5),
    ("Tamme Kohvik OÜ", DEMO_CLIENT_CREDENTIALS[2], "active", 0.5),
    ("Vana Võti OÜ", REVOKED_CREDENTIALS, "revoked", 0.5),
    ("Lõppenud Leping OÜ", EXPIRED_CREDENTIALS, "expired", 0.5),
]

VAT_PCS = [
    # code, percent, Estonian, English, activeSales, activePurchase
    ("24", "24", "Käibemaks 24%", "VAT 24%", True, True),
    ("22", "22", "Käibemaks 22% (kuni 30.06.2025)", "VAT 22% (until 30.06.2025)", True, True),
    ("13", "13", "Käibemaks 13% (majutus)", "VAT 13% (accommodation)", True, True),
    ("9", "9", "Käibemaks 9%", "VAT 9%", True, True),
    ("0", "0", "Käibemaks 0%", "VAT 0%", True, True),
    ("EU0", "0", "Ühendusesisene käive 0%", "Intra-Community supply 0%", True, False),
    ("MV", "0", "Maksuvaba", "VAT exempt", True, True),
]

FIRST_NAMES = ["Mets", "Kivi", "Tamm", "Saar", "Rebane", "Ilves", "Kuusk", "Lepik", "Mägi", "Sepp", "Oja", "Pärn",
               "Kask", "Lind", "Vaher", "Järv", "Raud", "Kallas", "Org", "Põder"]
SUFFIXES = ["OÜ", "AS", "MTÜ", "FIE", "OÜ", "OÜ"]
TRADES = ["Ehitus", "Kaubandus", "Transport", "Konsult", "Disain", "Puit", "Aed", "IT", "Meedia", "Toit"]
CITIES = ["Tallinn", "Tartu", "Pärnu", "Narva", "Viljandi", "Rakvere", "Kuressaare", "Haapsalu"]
ARTICLES = [("SERV", "Raamatupidamisteenus", "SERVICE", "h", "45.00"),
            ("CONS", "Konsultatsioon", "SERVICE", "h", "80.00"), ("GOODS", "Kaup", "PRODUCT", "tk", "12.50"),
            ("SHIP", "Transport", "SERVICE", "km", "0.90"),
            ("RENT", "Rent", "SERVICE", "kuu", "650.00")]
DOC_TYPES = {"client_invoices": "CLIENT_INVOICE", "vendor_invoices": "VENDOR_INVOICE", "payments": "PAYMENT",
             "manual": fact("manual_entry_doc_type")}


def _fmt(day: dt.date) -> str:
    return day.strftime(DATE_FORMAT)


def _num(value: Decimal) -> float | int:
    """A JSON number with a decimal point (SmartAccounts sends numbers, not strings)."""
    return float(value)


@dataclass
class Company:
    id: int
    name: str
    api_key: str
    api_secret: str
    status: str
    vat_pcs: list[dict] = field(default_factory=list)
    accounts: list[dict] = field(default_factory=list)
    clients: list[dict] = field(default_factory=list)
    vendors: list[dict] = field(default_factory=list)
    articles: list[dict] = field(default_factory=list)
    client_invoices: list[dict] = field(default_factory=list)
    vendor_invoices: list[dict] = field(default_factory=list)
    payments: list[dict] = field(default_factory=list)
    manual_entries: list[dict] = field(default_factory=list)
    #: ids of deleted documents per list endpoint (answered in the ``deleted`` array beside the rows)
    deleted: dict[str, list[int]] = field(default_factory=dict)
    next_id: int = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def entries(self) -> list[dict]:
        """The general ledger: one entry per booked document (``general/entries:get``)."""
        out = []
        for kind, doc_type in DOC_TYPES.items():
            items = self.manual_entries if kind == "manual" else getattr(self, kind)
            for item in items:
                out.append({"id": item["entryId"], "date": item["date"], "entryDate": item["date"],
                            "modifyDate": item["date"], "docType": doc_type, "number": item["number"],
                            "currency": item.get("currency", "EUR"), "description": item.get("description", ""),
                            "rows": item.get("entryRows", [])})
        return sorted(out, key=lambda e: (dt.datetime.strptime(e["date"], DATE_FORMAT).date(), e["id"]))


class SandboxState(Sandbox):
    """``app.extensions["sandbox"]``: the kit's knobs and recorded requests, and the data store."""

    name = "smartaccounts"
    vendor_knobs = {"rate_limit": "60/60", "daily_limit": 1000, "max_skew_s": fact("clock_skew_seconds"),
                    "read_method": "both", "vat_percent_field": fact("vat_percent_fields")[0], "seed": 20261122,
                    "book_vat_rounding": "line" if fact("vat_per_row") else "rate"}
    faults = (*FAULTS, "503")  # SmartAccounts throttles with 503 + Retry-After (wire fact throttle_status)

    def seed(self) -> None:
        self.companies: dict[str, Company] = seed(int(self.knobs.get("seed") or 20261122))

    def fault_response(self, fault: str) -> Response:
        if fault in ("429", "503"):
            return json_response({ERRORS_KEY: [_error("TOO_MANY_REQUESTS", "Too many requests")]}, int(fault),
                                 {fact("throttle_retry_after"): str(self.knobs.get("retry_after", 1))})
        if fault == "500":
            return Response("<html><body><h1>500 Internal Server Error</h1></body></html>", 500, mimetype="text/html")
        if fault == "garbage":
            return Response("<html><body>java.lang.NullPointerException\n\tat ee.smartaccounts.api...</body></html>",
                            200, mimetype="text/html")
        return super().fault_response(fault)

    def request_key(self, record: Recorded) -> str | None:
        """The API key (``apikey``), for ``GET /_sandbox/timeline``."""
        return record.args.get(fact("query_auth_order")[0])

    def company(self, name: str) -> Company:
        return next(c for c in self.companies.values() if c.name == name)

    def by_key(self, api_key: str) -> Company | None:
        return self.companies.get(api_key)


# -- seeded data -----------------------------------------------------------------------------------------------
def _months() -> list[tuple[int, int]]:
    out, (y, m) = [], (FIRST_DAY.year, FIRST_DAY.month)
    while (y, m) <= (LAST_DAY.year, LAST_DAY.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def seed(value: int = 20261122) -> dict[str, Company]:
    """Deterministic companies, clients, vendors, articles and a 2025–2026 of documents."""
    rng = random.Random(value)
    companies: dict[str, Company] = {}
    for index, (name, creds, status, scale) in enumerate(COMPANIES, start=1):
        company = Company(id=index, name=name, api_key=creds["api_key"], api_secret=creds["api_secret"],
                          status=status, next_id=index * 100000)
        company.vat_pcs = [{"vatPc": code, "pc": pc, "descriptionEt": et, "descriptionEn": en,
                            "activeSales": sales, "activePurchase": purchase,
                            "accountSales": "4000", "accountPurchase": "2610"}
                           for code, pc, et, en, sales, purchase in VAT_PCS]
        company.accounts = [{"code": "1020", "type": "ASSET", "descriptionEt": "Pank", "descriptionEn": "Bank"},
                            {"code": "1000", "type": "ASSET", "descriptionEt": "Kassa", "descriptionEn": "Cash"},
                            {"code": "4000", "type": "INCOME", "descriptionEt": "Müügitulu", "descriptionEn": "Sales"}]
        company.articles = [{"code": code, "description": desc, "type": kind, "unit": unit, "vatPc": "24",
                             "activeSales": True, "activePurchase": kind == "PRODUCT", "priceSales": float(price),
                             "pricePurchase": None, "accountSales": "4000", "accountPurchase": None,
                             "accountWarehouse": None} for code, desc, kind, unit, price in ARTICLES]
        for i in range(rng.randint(28, 40)):
            cname = f"{rng.choice(FIRST_NAMES)} {rng.choice(TRADES)} {rng.choice(SUFFIXES)}"
            reg = f"{rng.choice('1189')}{rng.randint(1000000, 4999999)}"
            company.clients.append({
                "id": company.new_id(), "name": cname, "regCode": reg,
                "vatNumber": f"EE{rng.randint(100000000, 102999999)}" if rng.random() < 0.6 else None,
                "bankAccount": None, "referenceNumber": f"{1000 + i}", "invoiceDueDate": rng.choice([7, 14, 21]),
                "group": None,
                "address": {"country": "EE", "county": None, "city": rng.choice(CITIES),
                            "address1": f"{rng.choice(FIRST_NAMES)} tn {rng.randint(1, 90)}", "address2": None,
                            "postalCode": f"{rng.randint(10000, 99999)}"},
                "contacts": [{"type": "EMAIL", "value": f"arved{i}@{cname.split()[0].lower()}.ee", "description": ""}],
            })
        for _ in range(rng.randint(8, 14)):
            company.vendors.append({"id": company.new_id(),
                                    "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(TRADES)} {rng.choice(SUFFIXES)}",
                                    "regCode": f"1{rng.randint(1000000, 4999999)}"})
        inv_no = 0
        for year, month in _months():
            last = calendar.monthrange(year, month)[1]

            def day(last: int = last, year: int = year, month: int = month) -> str:
                return _fmt(dt.date(year, month, rng.randint(1, last)))

            for _ in range(int(rng.randint(6, 12) * scale)):
                inv_no += 1
                client = rng.choice(company.clients)
                invoice = _build_invoice(company, client, day(), f"{inv_no:05d}", None, "", [
                    {"code": art["code"], "description": art["description"],
                     "quantity": Decimal(rng.randint(1, 20)), "price": Decimal(str(art["priceSales"])),
                     "vatPc": "24" if year >= 2026 or month > 6 else "22", "unit": art["unit"]}
                    for art in rng.sample(company.articles, rng.randint(1, 3))])
                company.client_invoices.append(invoice)
            for _ in range(int(rng.randint(3, 8) * scale)):
                vendor = rng.choice(company.vendors)
                amount = money(Decimal(rng.randint(1000, 250000)) / 100)
                company.vendor_invoices.append({
                    "id": company.new_id(), "entryId": company.new_id(), "vendorId": vendor["id"],
                    "vendor": {"id": vendor["id"], "name": vendor["name"]}, "date": day(),
                    "invoiceNumber": f"V-{rng.randint(100, 99999)}", "number": f"O{company.next_id}",
                    "currency": "EUR", "totalAmount": _num(amount), "description": "Ostuarve"})
            for _ in range(int(rng.randint(4, 11) * scale)):
                bank = rng.random() < 0.8
                amount = money(Decimal(rng.randint(500, 150000)) / 100)
                client = rng.random() < 0.6
                partner = rng.choice(company.clients if client else company.vendors)
                company.payments.append({
                    "id": company.new_id(), "entryId": company.new_id(), "date": day(),
                    "partnerType": "CLIENT" if client else "VENDOR",
                    ("clientId" if client else "vendorId"): partner["id"],
                    fact("payment_account_type_field"): "BANK" if bank else "CASH",
                    "accountName": "LHV" if bank else "Kassa",
                    "currency": "EUR", "amount": _num(amount), "number": f"P{company.next_id}",
                    "description": "Laekumine" if client else "Tasumine"})
            for _ in range(rng.randint(0, 3)):
                amount = money(Decimal(rng.randint(1000, 90000)) / 100)
                company.manual_entries.append({
                    "id": company.new_id(), "entryId": company.new_id(), "date": day(), "number": f"K{company.next_id}",
                    "currency": "EUR", "description": "Kanne",
                    "entryRows": [{"account": "5000", "debitAmount": _num(amount), "creditAmount": 0},
                                  {"account": "2000", "debitAmount": 0, "creditAmount": _num(amount)}]})
        for items in (company.client_invoices, company.vendor_invoices, company.payments, company.manual_entries):
            items.sort(key=lambda d: (dt.datetime.strptime(d["date"], DATE_FORMAT).date(), d["id"]))
        # documents deleted in SmartAccounts: gone from the rows, listed in `deleted` (ids not reused)
        company.deleted = {"purchasesales/clientinvoices:get": [company.new_id(), company.new_id()],
                           "purchasesales/vendorinvoices:get": [company.new_id()],
                           "purchasesales/payments:get": [company.new_id()]}
        companies[company.api_key] = company
    return companies


def _build_invoice(company: Company, client: dict, date: str, invoice_number: str, due: str | None,
                   comment: str, rows: list[dict], note: str = "", vat_rounding: str = "line") -> dict:
    """An invoice as SmartAccounts books it: VAT per row, each rounded (wire fact ``vat_per_row``, inferred); with
    ``vat_rounding="rate"`` (knob ``book_vat_rounding``) the header's VAT is once per VAT pc instead. The totals and
    the rows' cents are named by the wire facts ``invoice_list_totals`` and ``invoice_list_row_cents``."""
    net_key, vat_key, total_key, currency_key = fact("invoice_list_totals")
    net_cents, vat_cents = fact("invoice_list_row_cents")
    amount = vat = Decimal(0)
    net_by_pc: dict[str, Decimal] = {}
    out_rows = []
    rates = {v["vatPc"]: Decimal(v["pc"]) for v in company.vat_pcs}
    for row in rows:
        net = money(row["quantity"] * row["price"])
        row_vat = money(net * rates[row["vatPc"]] / 100)
        amount += net
        vat += row_vat
        net_by_pc[row["vatPc"]] = net_by_pc.get(row["vatPc"], Decimal(0)) + net
        out_rows.append({"code": row.get("code"), "description": row.get("description"),
                         "quantity": _num(row["quantity"]), "price": _num(row["price"]), "vatPc": row["vatPc"],
                         "unit": row.get("unit"), net_cents: int(net * 100), vat_cents: int(row_vat * 100)})
    if vat_rounding == "rate":
        vat = sum((money(n * rates[pc] / 100) for pc, n in net_by_pc.items()), Decimal(0))
    invoice_date = dt.datetime.strptime(date, DATE_FORMAT).date()
    due = due or _fmt(invoice_date + dt.timedelta(days=int(client.get("invoiceDueDate") or 14)))
    invoice_id = company.new_id()
    return {"id": invoice_id, "entryId": company.new_id(), "clientId": client["id"],
            "client": {"id": client["id"], "name": client["name"], "regCode": client.get("regCode")},
            "date": date, "dueDate": due, "entryDate": date, "number": f"M{invoice_id}",
            "invoiceNumber": invoice_number, "referenceNumber": f"{invoice_id}7", currency_key: "EUR",
            net_key: _num(amount), vat_key: _num(vat), total_key: _num(amount + vat),
            "roundAmount": 0.0, "outstandingAmount": _num(amount + vat), "comment": comment, "invoiceNote": note,
            "rows": out_rows, "description": "Müügiarve"}


# -- the app -----------------------------------------------------------------------------------------------------
def _error(code: str, message: str, field: str | None = None) -> dict:
    """One entry of an error answer's list (wire facts ``error_body``, ``error_codes_and_fields``)."""
    return {CODE_KEY: code, MESSAGE_KEY: message, **({FIELD_KEY: field} if field else {})}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 errors: list[dict] | None = None, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or [_error(code, message, field)]
        self.headers = headers or {}


def _parse_date(value: str, name: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, DATE_FORMAT).date()
    except ValueError:
        raise ApiError(400, "INVALID_DATE", f"{name}: date must be in format dd.MM.yyyy", field=name) from None


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ApiError(400, "INVALID_NUMBER", f"{name}: a number is required", field=name)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ApiError(400, "INVALID_NUMBER", f"{name}: not a number", field=name) from None
    if not number.is_finite():
        raise ApiError(400, "INVALID_NUMBER", f"{name}: not a number", field=name)
    return number


def create_app(**knobs: Any) -> Flask:
    """The SmartAccounts sandbox. See the module docstring for the knobs."""
    state = SandboxState(**knobs)
    app = state.create_app()

    @app.route(f"{API_PATH}<path:endpoint>", methods=["GET", "POST", "PUT", "DELETE"])
    def api(endpoint: str) -> Response:
        try:
            return _handle(state, endpoint, state.current_record())
        except ApiError as exc:
            return json_response({ERRORS_KEY: exc.errors}, exc.status, exc.headers)

    @app.errorhandler(404)
    def not_found(_exc: Exception) -> Response:
        return json_response({ERRORS_KEY: [_error("NOT_FOUND", "Not found")]}, 404)

    return app


def _rate_limit(state: SandboxState, key: str) -> None:
    """60 a minute and 1000 a day per API key (knobs ``rate_limit``, ``daily_limit``), answered 503."""
    daily = int(state.knobs.get("daily_limit") or 0)
    verdict = state.take_rate(key, parse_rate(state.knobs.get("rate_limit")), (daily, 86400) if daily else None)
    if verdict is not None and not verdict.allowed:
        raise ApiError(THROTTLE_STATUS, "TOO_MANY_REQUESTS",
                       f"Rate limit of {verdict.limit} requests per {verdict.per:g} seconds exceeded",
                       headers={fact("throttle_retry_after"): str(verdict.retry_after)})


def _authenticate(state: SandboxState, record: Recorded) -> Company:
    pieces = record.query_string.split("&") if record.query_string else []
    params: dict[str, str] = {}
    for piece in pieces:
        name, _, value = piece.partition("=")
        params.setdefault(unquote_plus(name), unquote_plus(value))
    key_param, time_param = fact("query_auth_order")
    signing = fact("signature")
    api_key = params.get(key_param, "")
    timestamp = params.get(time_param, "")
    signature = params.get(signing["param"], "")
    if not api_key or not timestamp or not signature:
        raise ApiError(401, "AUTHENTICATION_FAILED", f"{key_param}, {time_param} and {signing['param']} are required")
    _rate_limit(state, api_key)
    company = state.by_key(api_key)
    if company is None or company.status == "revoked":
        raise ApiError(401, "AUTHENTICATION_FAILED", "Invalid API key")
    signed = "&".join(p for p in pieces if not p.startswith(f"{signing['param']}=")).encode("latin-1") + record.body
    expected = hmac.new(company.api_secret.encode(), signed, signing["hmac"]).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise ApiError(401, "AUTHENTICATION_FAILED", "Invalid signature")
    try:
        sent = dt.datetime.strptime(timestamp, TIMESTAMP_FORMAT).replace(tzinfo=TALLINN)
    except ValueError:
        raise ApiError(401, "INVALID_TIMESTAMP", "Timestamp must be in format ddMMyyyyHHmmss") from None
    skew = abs((dt.datetime.now(dt.UTC) - sent).total_seconds())
    if skew > float(state.knobs.get("max_skew_s") or fact("clock_skew_seconds")):
        raise ApiError(401, "INVALID_TIMESTAMP", "Request timestamp is too old or in the future")
    if company.status == "expired":
        raise ApiError(403, "COMPANY_NOT_ACTIVE", "The company's SmartAccounts subscription has ended")
    return company


def _handle(state: SandboxState, endpoint: str, record: Recorded) -> Response:
    if record.host != HOST:
        raise ApiError(404, "NOT_FOUND", f"Unknown host {record.host}")
    form = ENDPOINT.fullmatch(endpoint)
    path, verb = (f"{form['module']}/{form['entity']}", form["verb"]) if form else (endpoint, "")
    company = _authenticate(state, record)
    handler = HANDLERS.get((path, verb))
    if handler is None:
        raise ApiError(404, "NOT_FOUND", f"Unknown endpoint {endpoint}")
    read_method = str(state.knobs.get("read_method") or "both").upper()
    if verb.startswith("get"):
        allowed = set(fact("read_method")) if read_method == "BOTH" else {read_method}
    else:
        allowed = {"POST"}
    if record.method not in allowed:
        raise ApiError(405, "METHOD_NOT_ALLOWED", f"{record.method} is not allowed for {endpoint}")
    body: Any = {}
    if record.method == "POST":
        try:
            body = json.loads(record.body or b"{}")
        except ValueError:
            raise ApiError(400, "INVALID_JSON", "Request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "INVALID_JSON", "Request body must be a JSON object")
    with state.lock:
        return handler(state, company, request.args, body)


# -- endpoint handlers -------------------------------------------------------------------------------------------
def _page(args: Any) -> int:
    raw = args.get(PAGE_PARAM, "1")
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError(400, "INVALID_PARAMETER", f"{PAGE_PARAM} must be a positive integer", field=PAGE_PARAM)
    return int(raw)


def _paged(company: Company, endpoint: str, items: list[dict], args: Any) -> Response:
    """One page of a list, under the endpoint's own key (a wire fact), with the ``deleted`` array beside the
    rows for the document lists."""
    page = _page(args)
    chunk = items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    body: dict[str, Any] = {list_key(endpoint): chunk}
    if endpoint in company.deleted:
        body[DELETED_KEY] = list(company.deleted[endpoint])
    body[MORE_KEY] = page * PAGE_SIZE < len(items)
    return json_response(body)


def _date_filter(items: list[dict], args: Any) -> list[dict]:
    date_type = args.get("dateType", "date").lower()
    field_name = {"date": "date", "entrydate": "entryDate", "duedate": "dueDate", "modifydate": "date"}.get(date_type)
    if field_name is None:
        raise ApiError(400, "INVALID_PARAMETER", "dateType must be date, entrydate, duedate or modifydate",
                       field="dateType")
    date_from, date_to = fact("date_filters")
    start = _parse_date(args[date_from], date_from) if args.get(date_from) else None
    end = _parse_date(args[date_to], date_to) if args.get(date_to) else None
    if start and end and start > end:
        raise ApiError(400, "INVALID_PARAMETER", f"{date_from} must not be after {date_to}", field=date_from)
    out = []
    for item in items:
        day = dt.datetime.strptime(item.get(field_name) or item["date"], DATE_FORMAT).date()
        if (start is None or day >= start) and (end is None or day <= end):
            out.append(item)
    return out


def _vatpcs(state: SandboxState, company: Company, args: Any, body: dict) -> Response:
    name = state.knobs.get("vat_percent_field") or fact("vat_percent_fields")[0]
    items = []
    for vat in company.vat_pcs:
        item = {k: v for k, v in vat.items() if k != "pc"}
        item[name] = int(vat["pc"])
        items.append(item)
    return json_response({list_key("settings/vatpcs:get"): items})


def _accounts(state: SandboxState, company: Company, args: Any, body: dict) -> Response:
    return json_response({"accounts": company.accounts})


def _clients_get(state: SandboxState, company: Company, args: Any, body: dict) -> Response:
    items = company.clients
    if args.get("id"):
        items = [c for c in items if str(c["id"]) == args["id"]]
    if args.get(fact("client_search_param")):
        needle = args[fact("client_search_param")].casefold()
        items = [c for c in items if needle in c["name"].casefold() or needle == (c.get("regCode") or "").casefold()]
    out = []
    for client in items:
        item = copy.deepcopy(client)
        if args.get("fetchAddresses") != "true":
            item.pop("address", None)
        if args.get("fetchContacts") != "true":
            item.pop("contacts", None)
        out.append(item)
    return _paged(company, "purchasesales/clients:get", out, args)


def _clients_add(state: SandboxState, company: Company, args: Any, body: dict) -> Response:
    errors = []
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append(_error("REQUIRED", "name: is required", "name"))
    reg = body.get("regCode")
    if reg and any(c.get("regCode") == reg for c in company.clients):
        errors.append(_error("CLIENT_EXISTS", f"regCode: a client with registry code {reg} already exists",
                             "regCode"))
    address = body.get("address") if isinstance(body.get("address"), dict) else {}
    for key in ("address1", "address2"):  # wire fact address_line_max
        if len(str(address.get(key) or "")) > ADDRESS_LINE_MAX:
            errors.append(_error("INVALID_LENGTH", f"address.{key}: at most {ADDRESS_LINE_MAX} characters",
                                 f"address.{key}"))
    contacts = body.get("contacts") or []
    for i, contact in enumerate(contacts if isinstance(contacts, list) else []):
        if contact.get("type") not in ("EMAIL", "PHONE", "FAX", "WWW", "MOBILE", "SKYPE"):
            errors.append(_error("INVALID_VALUE", "unknown contact type", f"contacts[{i}].type"))
    if errors:
        raise ApiError(400, errors[0][CODE_KEY], errors[0][MESSAGE_KEY], errors=errors)
    client = {"id": company.new_id(), "name": name.strip(), "regCode": reg or None,
              "vatNumber": body.get("vatNumber"), "bankAccount": None,
              "referenceNumber": f"{2000 + len(company.clients)}", "invoiceDueDate": body.get("invoiceDueDate") or 14,
              "group": None, "address": body.get("address") or {}, "contacts": contacts}
    company.clients.append(client)
    return json_response({fact("client_add_answer"): client["id"], "referenceNumber": client["referenceNumber"]})


def _articles_get(state: SandboxState, company: Company, args: Any, body: dict) -> Response:
    items = company.articles
    if args.get(fact("article_search_param")):
        items = [a for a in items if a["code"] == args[fact("article_search_param")]]
    return _paged(company, "purchasesales/articles:get", items, args)


def _invoices_get(state: SandboxState, company: Company, args: Any, body: dict) -> Response:
    items = _date_filter(company.client_invoices, args)
    if args.get("id"):
        items = [i for i in items if str(i["id"]) == args["id"]]
    if args.get("clientId"):
        items = [i for i in items if str(i["clientId"]) == args["clientId"]]
    if args.get(fact("invoice_list_filter_number")):
        items = [i for i in items if i["invoiceNumber"] == args[fact("invoice_list_filter_number")]]
    status = args.get("paymentStatus")
    if status:
        items = [i for i in items if i["outstandingAmount"] > 0]
    out = []
    for invoice in items:
        item = copy.deepcopy(invoice)
        item.pop("entryId", None)
        if args.get(fact("invoice_list_rows_param")) != "true":
            item.pop("rows", None)
        if not fact("invoice_list_has_comment"):
            item.pop("comment", None)
        out.append(item)
    return _paged(company, "purchasesales/clientinvoices:get", out, args)


def _invoices_add(state: SandboxState, company: Company, args: Any, body: dict) -> Response:
    errors: list[dict] = []

    def err(code: str, name: str, message: str) -> None:
        errors.append(_error(code, f"{name}: {message}", name))

    client = next((c for c in company.clients if str(c["id"]) == str(body.get("clientId"))), None)
    if body.get("clientId") in (None, ""):
        err("REQUIRED", "clientId", "is required")
    elif client is None:
        err("CLIENT_NOT_FOUND", "clientId", f"client {body.get('clientId')} not found")
    for name in ("date", "dueDate"):
        value = body.get(name)
        if value is None and name == "dueDate":
            continue
        if not isinstance(value, str):
            err("REQUIRED", name, "is required")
            continue
        try:
            dt.datetime.strptime(value, DATE_FORMAT)
        except ValueError:
            err("INVALID_DATE", name, "date must be in format dd.MM.yyyy")
    currency = body.get("currency", "EUR")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha() and currency.isupper()):
        err("INVALID_VALUE", "currency", "must be an ISO 4217 code such as EUR")
    number = body.get("invoiceNumber")
    if number and any(i["invoiceNumber"] == number for i in company.client_invoices):
        errors.append(_error("INVOICE_NUMBER_EXISTS", f"invoiceNumber: invoice with number {number} already exists",
                             "invoiceNumber"))
    rows = body.get("rows")
    clean_rows = []
    if not isinstance(rows, list) or not rows:
        err("REQUIRED", "rows", "at least one row is required")
        rows = []
    vat_codes = {v["vatPc"] for v in company.vat_pcs if v["activeSales"]}
    articles = {a["code"] for a in company.articles}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            err("INVALID_VALUE", f"rows[{i}]", "must be an object")
            continue
        if row.get("code") in (None, ""):
            if fact("row_article_code_required"):
                err("REQUIRED", f"rows[{i}].code", "an article code is required")
        elif row["code"] not in articles:
            err("ARTICLE_NOT_FOUND", f"rows[{i}].code", f"article {row['code']} not found")
        if str(row.get("vatPc")) not in vat_codes:
            err("VAT_PC_NOT_FOUND", f"rows[{i}].vatPc", f"VAT code {row.get('vatPc')} not found")
        try:
            quantity = _decimal(row.get("quantity"), f"rows[{i}].quantity")
            price = _decimal(row.get("price"), f"rows[{i}].price")
        except ApiError as exc:
            errors.extend(exc.errors)
            continue
        clean_rows.append({**row, "quantity": quantity, "price": price, "vatPc": str(row.get("vatPc"))})
    if errors:
        raise ApiError(400, errors[0][CODE_KEY], errors[0][MESSAGE_KEY], errors=errors)
    invoice = _build_invoice(company, client, body["date"], number or f"{len(company.client_invoices) + 1:05d}",
                             body.get("dueDate"), str(body.get("comment") or ""), clean_rows,
                             str(body.get("invoiceNote") or ""), state.knobs["book_vat_rounding"])
    invoice[fact("invoice_list_totals")[3]] = currency
    company.client_invoices.append(invoice)
    net_key, vat_key, total_key, _ = fact("invoice_list_totals")
    id_key, number_key = fact("invoice_add_answer")
    return json_response({key: invoice[key] for key in ("clientId", "number", number_key, "referenceNumber",
                                                        net_key, vat_key, total_key, "roundAmount", "dueDate")}
                         | {id_key: invoice["id"]})


def _articles_add(state: SandboxState, company: Company, args: Any, body: dict) -> Response:
    errors: list[dict] = []
    code = body.get("code")
    if not isinstance(code, str) or not code.strip():
        errors.append(_error("REQUIRED", "code: is required", "code"))
    elif any(a["code"] == code for a in company.articles):
        errors.append(_error("ARTICLE_EXISTS", f"code: article {code} already exists", "code"))
    if not isinstance(body.get("description"), str) or not body["description"].strip():
        errors.append(_error("REQUIRED", "description: is required", "description"))
    if body.get("type") not in ARTICLE_TYPES:
        errors.append(_error("INVALID_VALUE", f"type: must be one of {', '.join(ARTICLE_TYPES)}", "type"))
    if errors:
        raise ApiError(400, errors[0][CODE_KEY], errors[0][MESSAGE_KEY], errors=errors)
    company.articles.append({"code": code, "description": body["description"], "type": body["type"],
                             "unit": body.get("unit"), "vatPc": body.get("vatPc"),
                             "activeSales": bool(body.get("activeSales", True)),
                             "activePurchase": bool(body.get("activePurchase", False)),
                             "priceSales": body.get("priceSales"), "pricePurchase": None,
                             "accountSales": body.get("accountSales"), "accountPurchase": None,
                             "accountWarehouse": None})
    return json_response({"code": code})


def _vendor_invoices_get(state: SandboxState, company: Company, args: Any, body: dict) -> Response:
    items = [{k: v for k, v in i.items() if k != "entryId"} for i in _date_filter(company.vendor_invoices, args)]
    return _paged(company, "purchasesales/vendorinvoices:get", items, args)


def _payments_get(state: SandboxState, company: Company, args: Any, body: dict) -> Response:
    items = [{k: v for k, v in p.items() if k != "entryId"} for p in _date_filter(company.payments, args)]
    return _paged(company, "purchasesales/payments:get", items, args)


def _entries_get(state: SandboxState, company: Company, args: Any, body: dict) -> Response:
    items = _date_filter(company.entries(), args)
    if args.get("docType"):
        items = [e for e in items if e["docType"] == args["docType"]]
    if args.get("fetchRows") != "true":
        items = [{k: v for k, v in e.items() if k != "rows"} for e in items]
    return _paged(company, "general/entries:get", items, args)


HANDLERS = {
    ("settings/vatpcs", "get"): _vatpcs,
    ("settings/accounts", "get"): _accounts,
    ("purchasesales/clients", "get"): _clients_get,
    ("purchasesales/clients", "add"): _clients_add,
    ("purchasesales/articles", "get"): _articles_get,
    ("purchasesales/articles", "add"): _articles_add,
    ("purchasesales/clientinvoices", "get"): _invoices_get,
    ("purchasesales/clientinvoices", "add"): _invoices_add,
    ("purchasesales/vendorinvoices", "get"): _vendor_invoices_get,
    ("purchasesales/payments", "get"): _payments_get,
    ("general/entries", "get"): _entries_get,
}
