"""A faithful emulator of the Scoro API v2 (``shared/vendors/public-apis.md`` §2), as a Flask WSGI app.

* Accounts are told apart by the **Host** header (``{subdomain}.scoro.com`` or ``.scoro.ee``); an
  unknown host gets Scoro's HTML "not found" page, as the real service shows for a mistyped subdomain.
* Every API call is ``POST /api/v2/{module}/{action}[/{id}]`` with the credentials in the JSON body
  (``apiKey`` + ``company_account_id``); any other method gets a 405 envelope.
* Answers use the envelope ``{"status", "statusCode", "messages", "data"}`` (+ ``errors`` for field
  errors). By default the HTTP status mirrors ``statusCode``; knob ``error_http_status="200"``
  answers every error with HTTP 200 and the error only in the envelope (the variant C2 guards against).
* Lists: ``page`` / ``per_page`` (default 50, never more than 100 objects), exact-match ``filter``.
* Shapes come from :mod:`hub_scoro.wire` (the facts the client relies on, with their sources): an
  invoice's ``no`` is a number (an invoice sent without one gets the next number), an address's
  ``country`` is ISO 3166-1 alpha-3 and only the documented address fields are taken.
* Limits: 500 authenticated requests per account per UTC day (knob ``daily_limit``); every answer says how many
  are left in ``x-daily-requests-remaining``, and the one over the limit is 429 + the envelope +
  ``x-daily-requests-remaining: 0`` + ``Retry-After`` (seconds to midnight UTC) [INF: issue 27 names the header;
  Scoro documents the limit, not the whole answer]. Knob ``rate_limit="N/S"`` adds a sliding window per API
  key, answered the same way.
* Invoices are booked with Scoro's own ``sum`` / ``vat_sum`` from the lines (VAT once per percent, knob
  ``book_vat_rounding="line"`` per line); a contact is a ``person`` or a ``company`` (``contact_type``).

Recording, the fault knobs (``latency_ms``, ``fault``, ``fault_every``, ``fault_path``, ``timeout_s``,
``retry_after``, …), the ``/_sandbox/`` control endpoints and serving come from the hub's sandbox kit
(:mod:`hub.testing.sandbox`); the faults answer Scoro's way (a 429 envelope, an HTML 500, a maintenance page
with 200), and a "timeout" does the work before the answer is lost. Scoro's own knobs (``create_app(**knobs)``,
``POST /_sandbox/knobs``): ``daily_limit``, ``error_http_status`` ("mirror" | "200"), ``slim_lists`` (invoice
list answers without ``description``, as without ``detailed_response``; a call that sends it gets them);
``create_app(now=...)`` (in-process only) sets the clock of the daily limit.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import pycountry
from flask import Flask, Response, request

from hub.testing.sandbox import Recorded, Sandbox
from hub_scoro.wire import (  # the request body's and the answer's names
    ACCOUNT_FIELD,
    API_KEY_FIELD,
    API_PATH,
    DATA,
    DETAILED_FIELD,
    ERROR_KEY,
    ERRORS,
    FILTER_FIELD,
    LANG_FIELD,
    MESSAGES,
    METHOD,
    OK_CODE,
    PAGE_FIELD,
    PER_PAGE_FIELD,
    STATUS,
    STATUS_CODE,
    fact,
)

#: The seeded demo account the hub's demo firm connects to (``make run``).
DEMO_CREDENTIALS: dict = {
    "company_account_id": "acme",
    "api_key": "scoro-acme-7f3a9c1e5b2d4f60a8e1",
    "subdomain": "acme",
    "domain": "scoro.com",
    "language": "eng",
}

SEED = 20260301
TODAY = dt.date(2026, 11, 22)
CENT = Decimal("0.01")

#: The seeded accounts. ``revoked_keys`` answer 401 like any wrong key; ``active=False`` is a company
#: whose Scoro subscription lapsed (403 on every call).
ACCOUNTS: list[dict[str, Any]] = [
    {"host": "acme.scoro.com", "company_account_id": "acme", "api_key": "scoro-acme-7f3a9c1e5b2d4f60a8e1",
     "revoked_keys": ["scoro-acme-0d9e8c7b6a5f4e3100aa"], "country": "EE", "active": True,
     "entities": ["Acme Consulting OÜ", "Acme Digital OÜ"], "contacts": 36, "invoices_per_month": (6, 14)},
    {"host": "nordlight.scoro.com", "company_account_id": "nordlight", "api_key": "scoro-nordlight-2b4d6f8a0c1e3a5c",
     "revoked_keys": [], "country": "GB", "active": True,
     "entities": ["Nordlight Studio Ltd"], "contacts": 28, "invoices_per_month": (4, 10)},
    {"host": "vanatalu.scoro.ee", "company_account_id": "vanatalu", "api_key": "scoro-vanatalu-9a8b7c6d5e4f3a2b",
     "revoked_keys": [], "country": "EE", "active": True,
     "entities": ["Vana Talu Ehitus OÜ"], "contacts": 24, "invoices_per_month": (3, 8)},
    {"host": "eurotrade.scoro.com", "company_account_id": "eurotrade", "api_key": "scoro-eurotrade-5e6f7a8b9c0d1e2f",
     "revoked_keys": [], "country": "OSS", "active": True,
     "entities": ["EuroTrade Online OÜ"], "contacts": 30, "invoices_per_month": (5, 12)},
    {"host": "lapsed.scoro.com", "company_account_id": "lapsed", "api_key": "scoro-lapsed-1a2b3c4d5e6f7a8b",
     "revoked_keys": [], "country": "EE", "active": False,
     "entities": ["Lapsed Agency OÜ"], "contacts": 12, "invoices_per_month": (1, 3)},
]

#: (code, name, percent, is_sales, is_purchases, is_active, is_not_applicable)
VAT_TABLES: dict[str, list[tuple]] = {
    "EE": [("24", "Käibemaks 24%", "24.00", 1, 0, 1, 0), ("22", "Käibemaks 22%", "22.00", 1, 0, 1, 0),
           ("13", "Käibemaks 13% (majutus)", "13.00", 1, 0, 1, 0), ("9", "Käibemaks 9%", "9.00", 1, 0, 1, 0),
           ("0", "Käibemaks 0% (eksport)", "0.00", 1, 0, 1, 0),
           ("KMV", "Käibemaksuvaba", "0.00", 1, 0, 1, 1), ("PM", "Pöördmaksustamine", "0.00", 1, 1, 1, 0),
           ("S24", "Sisendkäibemaks 24%", "24.00", 0, 1, 1, 0),
           ("20", "Käibemaks 20% (kuni 2024)", "20.00", 1, 0, 0, 0)],
    "GB": [("S", "Standard rate 20%", "20.00", 1, 1, 1, 0), ("R", "Reduced rate 5%", "5.00", 1, 1, 1, 0),
           ("Z", "Zero rate", "0.00", 1, 1, 1, 0), ("E", "Exempt", "0.00", 1, 1, 1, 1),
           ("P20", "Purchases 20%", "20.00", 0, 1, 1, 0)],
}
#: EU standard and reduced rates (for the One-Stop-Shop seller: more than one page of VAT codes).
EU_RATES = {
    "AT": (20, 13, 10), "BE": (21, 12, 6), "BG": (20, 9), "CY": (19, 9, 5, 3), "CZ": (21, 12), "DE": (19, 7),
    "DK": (25,), "EE": (24, 13, 9), "EL": (24, 13, 6), "ES": (21, 10, 4), "FI": (25.5, 14, 10),
    "FR": (20, 10, 5.5, 2.1),
    "HR": (25, 13, 5), "HU": (27, 18, 5), "IE": (23, 13.5, 9, 4.8), "IT": (22, 10, 5, 4), "LT": (21, 9, 5),
    "LU": (17, 14, 8, 3), "LV": (21, 12, 5), "MT": (18, 7, 5), "NL": (21, 9), "PL": (23, 8, 5), "PT": (23, 13, 6),
    "RO": (21, 11), "SE": (25, 12, 6), "SI": (22, 9.5, 5), "SK": (23, 19, 5),
}
NAME_PARTS = (["Põhja", "Lõuna", "Mere", "Metsa", "Kalju", "Tähe", "Laane", "Järve", "Nord", "Baltic", "Amber",
               "Harbour", "Birch", "Linden", "Granite", "Fjord", "Oak", "Raven"],
              ["Puit", "Ehitus", "Logistika", "Disain", "Kohvik", "Tarkvara", "Consulting", "Studio", "Trade",
               "Media", "Foods", "Systems", "Partners", "Works"],
              ["OÜ", "AS", "Ltd", "OÜ", "SIA", "OÜ", "Ltd"])
ITEMS = ["Consulting hours", "Monthly retainer", "Design work", "Software licence", "Support package",
         "Travel costs", "Workshop", "Project management"]

MAX_PER_PAGE: int = fact("list_page_max")
DEFAULT_PER_PAGE = 50
MODULES: tuple[str, ...] = fact("modules")
COMPANY_ACCOUNT, USERS, VAT_CODES, CONTACTS, INVOICES = MODULES
PAID, UNPAID = fact("invoice_statuses")
DUPLICATE_FIELD: str = fact("duplicate_no_answer")["field"]
#: The answer over the daily limit (wire fact ``daily_limit_answer``): its status and the remaining count it reports.
DAILY_ANSWER: dict[str, Any] = fact("daily_limit_answer")
DATE_FORMAT: str = fact("date_format")
COUNTRY_LENGTH: int = fact("address_country_length")
ADDRESS_FIELDS: tuple[str, ...] = fact("address_fields")
#: The seeded accounts' home country, as Scoro spells an address country.
HOME_COUNTRY = {"EE": "EST", "GB": "GBR", "OSS": "EST"}
#: Scoro's own knobs and their defaults (the kit's are ``hub.testing.sandbox.BASE_KNOBS``).
DEFAULT_KNOBS: dict[str, Any] = {
    "daily_limit": fact("daily_request_limit"), "error_http_status": "mirror", "slim_lists": False,
    "book_vat_rounding": "rate" if fact("vat_per_rate") else "line",
}
#: The header that tells how many of the day's requests are left (wire fact ``daily_remaining_header``).
DAILY_HEADER: str = fact("daily_remaining_header")
NOT_FOUND_PAGE = ("<!DOCTYPE html><html><head><title>Scoro</title></head><body><h1>Page not found</h1>"
                  "<p>This Scoro account does not exist.</p></body></html>")


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _vat_codes(country: str) -> list[dict]:
    rows: list[tuple] = []
    if country == "OSS":
        rows += VAT_TABLES["EE"]
        for cc, rates in EU_RATES.items():
            for i, rate in enumerate(rates):
                pct = f"{Decimal(str(rate)):.2f}"
                kind = "standard" if i == 0 else "reduced"
                rows.append((f"OSS-{cc}-{pct}", f"OSS {cc} {kind} {pct}%", pct, 1, 0, 1, 0))
                rows.append((f"OSS-{cc}-{pct}-P", f"OSS {cc} {kind} {pct}% (purchases)", pct, 0, 1, 1, 0))
    else:
        rows = VAT_TABLES[country]
    return [{"vat_code_id": i, "vat_code": code, "vat_name": name, "percent": pct, "is_sales": s,
             "is_purchases": p, "is_active": a, "is_not_applicable": na}
            for i, (code, name, pct, s, p, a, na) in enumerate(rows, start=1)]


@dataclass
class Account:
    host: str
    company_account_id: str
    api_key: str
    revoked_keys: list[str]
    active: bool
    entities: list[dict]
    vat_codes: list[dict]
    contacts: list[dict]
    invoices: list[dict]
    users: list[dict]
    next_contact_id: int = 0
    next_invoice_id: int = 0
    requests_today: Counter = field(default_factory=Counter)  # UTC date → authenticated requests


def _seed_account(spec: dict, rng: random.Random) -> Account:
    contacts = []
    for i in range(1, spec["contacts"] + 1):
        person = i % 7 == 0
        name = (f"{rng.choice(['Mari', 'Jaan', 'Anna', 'Peeter', 'Liis', 'Tom'])} "
                f"{rng.choice(['Tamm', 'Saar', 'Smith', 'Kask', 'Mägi', 'Brown'])}") if person else \
            f"{rng.choice(NAME_PARTS[0])} {rng.choice(NAME_PARTS[1])} {rng.choice(NAME_PARTS[2])}"
        contacts.append({
            "contact_id": i, "contact_type": "person" if person else "company", "name": name,
            "id_code": f"{rng.randrange(10_000_000, 99_999_999)}",
            "vatno": "" if person else f"EE{rng.randrange(10**8, 10**9)}",
            "is_client": 1, "is_supplier": int(i % 5 == 0), "means_of_contact": {"email": [f"info{i}@example.test"]},
            "addresses": [{"country": HOME_COUNTRY[spec["country"]],
                           "city": "London" if spec["country"] == "GB" else "Tallinn"}],
            "created_date": "2024-06-01 09:00:00", "modified_date": "2025-01-15 12:00:00",
            "is_deleted": int(i % 17 == 0),
        })
    vat_codes = _vat_codes(spec["country"])
    sales = [c for c in vat_codes if c["is_sales"] and c["is_active"]]
    invoices, number = [], 0
    month = dt.date(2025, 1, 1)
    clients = [c for c in contacts if c["contact_type"] == "company" and not c["is_deleted"]]
    while month <= dt.date(2026, 12, 1):
        low, high = spec["invoices_per_month"]
        for _ in range(rng.randint(low, high)):
            number += 1
            day = month.replace(day=rng.randint(1, 28))
            code = rng.choice(sales)
            lines = []
            for _ in range(rng.randint(1, 3)):
                price = Decimal(rng.randrange(2000, 200000)) / 100
                amount = Decimal(rng.randint(1, 10))
                lines.append({"product_id": None, "comment": rng.choice(ITEMS), "price": _money(price),
                              "amount": str(amount), "discount": "0.00", "sum": _money(price * amount),
                              "vat": code["percent"], "vat_code_id": code["vat_code_id"], "unit": "pcs"})
            invoices.append(_invoice_record(len(invoices) + 1, {
                "no": int(f"{day.year}{number:04d}"), "date": day.isoformat(),
                "deadline": (day + dt.timedelta(days=14)).isoformat(), "currency": "EUR",
                "company_id": rng.choice(clients)["contact_id"], "description": "",
                "status": PAID if day < TODAY - dt.timedelta(days=30) else UNPAID, "is_sent": 1,
            }, lines, "eng"))
        month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    users = [{"id": 1, "username": "admin", "firstname": "Admin", "lastname": "User", "is_active": 1},
             {"id": 2, "username": "finance", "firstname": "Finance", "lastname": "Team", "is_active": 1}]
    entities = [{"id": i, "name": name, "is_default": int(i == 1)} for i, name in enumerate(spec["entities"], start=1)]
    return Account(host=spec["host"], company_account_id=spec["company_account_id"], api_key=spec["api_key"],
                   revoked_keys=list(spec["revoked_keys"]), active=spec["active"], entities=entities,
                   vat_codes=vat_codes, contacts=contacts, invoices=invoices, users=users,
                   next_contact_id=len(contacts) + 1, next_invoice_id=len(invoices) + 1)


def _invoice_record(invoice_id: int, header: dict, lines: list[dict], lang: str, vat_rounding: str = "rate") -> dict:
    """An invoice as Scoro books it: its own ``sum`` and ``vat_sum`` from the lines, VAT once per percent on the
    sum of its lines, rounded half-up (wire fact ``vat_per_rate``, assumed); ``vat_rounding="line"`` (knob
    ``book_vat_rounding``) rounds per line instead."""
    net = sum((Decimal(line["sum"]) for line in lines), Decimal(0))
    if vat_rounding == "line":
        vat = sum((Decimal(_money(Decimal(line["sum"]) * Decimal(str(line["vat"])) / 100)) for line in lines),
                  Decimal(0))
    else:
        by_rate: dict[Decimal, Decimal] = {}
        for line in lines:
            by_rate[Decimal(str(line["vat"]))] = by_rate.get(Decimal(str(line["vat"])), Decimal(0)) + \
                Decimal(line["sum"])
        vat = sum((Decimal(_money(n * rate / 100)) for rate, n in by_rate.items()), Decimal(0))
    stamp = f"{header['date']} 10:00:00"
    return {"id": invoice_id, **header, "sum": _money(net), "vat_sum": _money(vat), "lang": lang,
            "created_date": stamp, "modified_date": stamp, "is_deleted": 0, "lines": lines}


def seed() -> dict[str, Account]:
    rng = random.Random(SEED)
    return {spec["host"]: _seed_account(spec, rng) for spec in ACCOUNTS}


class SandboxState(Sandbox):
    """``app.extensions["sandbox"]``: the kit's knobs and recorded requests, and the data store."""

    name = "scoro"
    vendor_knobs = DEFAULT_KNOBS
    late_timeout = True  # a "timeout" does the work; only the answer is late (an "answer lost" case)

    def __init__(self, now: Any = None, **knobs: Any) -> None:
        self.now = now or (lambda: dt.datetime.now(dt.UTC))  # the daily limit's clock
        super().__init__(**knobs)

    def seed(self) -> None:
        self.accounts = seed()

    def answer(self, code: int, data: Any = None, *, messages: Any = None, errors: Any = None,
               headers: dict | None = None) -> Response:
        """Scoro's envelope; with ``error_http_status="200"`` an error only in the envelope."""
        http = code if str(self.knobs["error_http_status"]) != "200" or code == 200 else 200
        return Response(json.dumps(_envelope(code, data, messages=messages, errors=errors), ensure_ascii=False),
                        status=http, mimetype="application/json", headers=headers or {})

    def fault_response(self, fault: str) -> Response:
        if fault == "429":
            return self.answer(429, messages=_said("Too many requests"),
                               headers={"Retry-After": str(self.knobs["retry_after"] or 1)})
        if fault == "500":
            return Response("<html><body><h1>500 Internal Server Error</h1></body></html>", status=500,
                            mimetype="text/html")
        if fault == "garbage":
            return Response("<html><body>Scoro is undergoing maintenance", status=200, mimetype="text/html")
        return super().fault_response(fault)

    def request_key(self, record: Recorded) -> str | None:
        """The API key (``apiKey`` in the JSON body), for ``GET /_sandbox/timeline``."""
        try:
            body = record.json()
        except ValueError:
            return None
        return body.get(API_KEY_FIELD) if isinstance(body, dict) else None

    def account(self, host: str) -> Account | None:
        return self.accounts.get(host)

    def created_invoices(self, host: str) -> list[dict]:
        account = self.accounts[host]
        return [i for i in account.invoices if i.get("_api")]

    def created_contacts(self, host: str) -> list[dict]:
        return [c for c in self.accounts[host].contacts if c.get("_api")]


def _envelope(code: int, data: Any = None, *, messages: Any = None, errors: Any = None) -> dict:
    body = {STATUS: "OK" if code == OK_CODE else "ERROR", STATUS_CODE: code, MESSAGES: messages, DATA: data}
    if errors is not None:
        body[ERRORS] = errors
    return body


def _said(message: str) -> dict:
    """An error answer's ``messages`` (wire fact ``error_shape``)."""
    return {ERROR_KEY: [message]}


class ApiError(Exception):
    def __init__(self, code: int, message: str, errors: dict | None = None, headers: dict | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.errors, self.headers = code, message, errors, headers or {}


def _public(row: dict) -> dict:
    """An object as the API shows it (the sandbox's own bookkeeping keys start with ``_``)."""
    return {k: v for k, v in row.items() if not k.startswith("_")}


def _filter_match(item: dict, filters: dict) -> bool:
    for key, wanted in filters.items():
        have = item.get(key)
        if isinstance(wanted, list):
            if str(have) not in {str(w) for w in wanted}:
                return False
        elif str(have if have is not None else "") != str(wanted):
            return False
    return True


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def _date(value: Any) -> bool:
    try:
        dt.datetime.strptime(str(value), DATE_FORMAT)
        return len(str(value)) == 10
    except ValueError:
        return False


def _number(value: Any) -> int | None:
    """An invoice ``no`` as Scoro takes it (a JSON number, or a string of digits); ``None`` otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() and int(text) > 0 else None


def _address_errors(addresses: Any) -> dict[str, list[str]]:
    """Field errors of a contact's ``addresses`` (documented fields only, alpha-3 ``country``)."""
    if not isinstance(addresses, list):
        return {"addresses": ["addresses must be a list of address objects."]}
    errors: dict[str, list[str]] = {}
    for n, address in enumerate(addresses):
        if not isinstance(address, dict):
            errors[f"addresses.{n}"] = ["An address must be an object."]
            continue
        unknown = sorted(set(address) - set(ADDRESS_FIELDS))
        if unknown:
            errors[f"addresses.{n}"] = [f"Unknown address field(s): {', '.join(unknown)}."]
        country = address.get("country")
        if country is not None and not (isinstance(country, str) and len(country) == COUNTRY_LENGTH
                                        and pycountry.countries.get(alpha_3=country) is not None):
            errors[f"addresses.{n}.country"] = [
                f"country must be a {COUNTRY_LENGTH}-letter ISO 3166-1 alpha-3 code (e.g. EST), not {country!r}."]
    return errors


def create_app(**knobs: Any) -> Flask:
    """The Scoro sandbox. See the module docstring for the knobs."""
    state = SandboxState(**knobs)
    app = state.create_app()

    @app.route(f"{API_PATH}/<module>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    @app.route(f"{API_PATH}/<module>/<action>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    @app.route(f"{API_PATH}/<module>/<action>/<object_id>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    def api(module: str, action: str = "list", object_id: str | None = None) -> Response:
        return _handle(state, dict(state.knobs), state.current_record().host, module, action, object_id)

    @app.errorhandler(404)
    def not_found(_exc: Exception) -> Response:
        return Response(NOT_FOUND_PAGE, status=404, mimetype="text/html")

    return app


def _handle(state: SandboxState, knobs: dict, host: str, module: str, action: str,
            object_id: str | None) -> Response:
    account = state.account(host)
    if account is None:
        return Response(NOT_FOUND_PAGE, status=404, mimetype="text/html")
    if request.method != METHOD:
        return state.answer(405, messages=_said(f"Only {METHOD} requests are accepted by the API."))
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return state.answer(400, messages=_said("Request body must be a JSON object."))
    try:
        with state.lock:
            _authenticate(state, knobs, account, body)
            result = _dispatch(state, knobs, account, module, action, object_id, body)
            left = max(0, int(knobs["daily_limit"]) - account.requests_today[state.now().date()])
        return state.answer(OK_CODE, result, headers={DAILY_HEADER: str(left)})
    except ApiError as exc:
        return state.answer(exc.code, messages=_said(exc.message), errors=exc.errors, headers=exc.headers)


def _authenticate(state: SandboxState, knobs: dict, account: Account, body: dict) -> None:
    key = body.get(API_KEY_FIELD)
    if not key and body.get("user_token"):
        raise ApiError(401, "User token is invalid or expired.")
    if key != account.api_key or str(body.get(ACCOUNT_FIELD, "")) != account.company_account_id:
        raise ApiError(401, "Authentication failed: invalid API key or company account ID.")
    if not account.active:
        raise ApiError(403, "This Scoro account is not active. Please contact your account administrator.")
    now = state.now()
    day = now.date()
    if account.requests_today[day] >= int(knobs["daily_limit"]):
        midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        wait = max(1, int((midnight - now).total_seconds()))
        raise ApiError(DAILY_ANSWER["status"], "Daily API request limit exceeded.",
                       headers={"Retry-After": str(wait), DAILY_HEADER: DAILY_ANSWER["remaining"]})
    verdict = state.take_rate(key)  # knob rate_limit, a sliding window per API key
    if verdict is not None and not verdict.allowed:
        raise ApiError(429, "Too many requests.", headers={"Retry-After": str(verdict.retry_after)})
    account.requests_today[day] += 1


def _page(body: dict, items: list[dict]) -> list[dict]:
    filters = body.get(FILTER_FIELD) or {}
    if not isinstance(filters, dict):
        raise ApiError(400, f"{FILTER_FIELD} must be an object.")
    if not body.get("include_deleted"):
        items = [i for i in items if not i.get("is_deleted")]
    items = [i for i in items if _filter_match(i, filters)]
    try:
        page = int(body.get(PAGE_FIELD) or 1)
        per_page = int(body.get(PER_PAGE_FIELD) or DEFAULT_PER_PAGE)
    except (TypeError, ValueError):
        raise ApiError(400, f"{PAGE_FIELD} and {PER_PAGE_FIELD} must be numbers.") from None
    if page < 1 or per_page < 1:
        raise ApiError(400, f"{PAGE_FIELD} and {PER_PAGE_FIELD} must be positive.")
    per_page = min(per_page, MAX_PER_PAGE)
    return items[(page - 1) * per_page: page * per_page]


def _dispatch(state: SandboxState, knobs: dict, account: Account, module: str, action: str,
              object_id: str | None, body: dict) -> Any:
    lang = body.get(LANG_FIELD)
    if lang is not None and lang not in ("eng", "est", "rus", "fin", "lav", "lit", "pol", "ger", "fre", "spa"):
        raise ApiError(400, f"Unknown language: {lang}.")
    tables = {COMPANY_ACCOUNT: (account.entities, "id"), USERS: (account.users, "id"),
              VAT_CODES: (account.vat_codes, "vat_code_id"), CONTACTS: (account.contacts, "contact_id"),
              INVOICES: (account.invoices, "id")}
    if module not in tables:
        raise ApiError(404, f"Module '{module}' not found.")
    items, id_key = tables[module]
    if action == "list" and object_id is None:
        rows = [_public(row) for row in _page(body, items)]
        if module == INVOICES:  # slim_lists: the list without descriptions, unless detailed_response asks for them
            slim = knobs["slim_lists"] and not body.get(DETAILED_FIELD)
            drop = {"lines", "description"} if slim else {"lines"}
            rows = [{k: v for k, v in row.items() if k not in drop} for row in rows]
        return rows
    if action == "view":
        found = next((i for i in items if str(i[id_key]) == str(object_id) and not i.get("is_deleted")), None)
        if found is None:
            raise ApiError(404, f"Object {object_id} not found.")
        return _public(found)
    if action == "modify" and object_id is None and module == CONTACTS:
        return _create_contact(account, body.get("request"))
    if action == "modify" and object_id is None and module == INVOICES:
        return _create_invoice(account, body.get("request"), lang or "eng", knobs["book_vat_rounding"])
    raise ApiError(404, f"Action '{action}' not found for module '{module}'.")


def _create_contact(account: Account, req: Any) -> dict:
    if not isinstance(req, dict):
        raise ApiError(400, "request must be an object.")
    errors: dict[str, list[str]] = {}
    if not str(req.get("name") or "").strip():
        errors["name"] = ["Name is required."]
    if req.get("contact_type", "person") not in ("person", "company"):
        errors["contact_type"] = ["contact_type must be person or company."]
    errors.update(_address_errors(req.get("addresses") or []))
    if errors:
        raise ApiError(400, "Validation failed.", errors)
    contact = {"contact_id": account.next_contact_id, "contact_type": req.get("contact_type", "person"),
               "name": req["name"], "id_code": req.get("id_code", ""), "vatno": req.get("vatno", ""),
               "is_client": int(bool(req.get("is_client", 1))), "is_supplier": 0,
               "means_of_contact": req.get("means_of_contact") or {}, "addresses": req.get("addresses") or [],
               "created_date": "2026-11-22 10:00:00", "modified_date": "2026-11-22 10:00:00", "is_deleted": 0,
               "_api": True}
    account.next_contact_id += 1
    account.contacts.append(contact)
    return _public(contact)


def _create_invoice(account: Account, req: Any, lang: str, vat_rounding: str = "rate") -> dict:
    if not isinstance(req, dict):
        raise ApiError(400, "request must be an object.")
    errors: dict[str, list[str]] = {}
    number = _number(req["no"]) if req.get("no") not in (None, "") else None
    if req.get("no") not in (None, "") and number is None:
        errors["no"] = [f"no must be a positive number, not {req['no']!r}."]
    if number is not None and any(i["no"] == number and not i.get("is_deleted") for i in account.invoices):
        errors[DUPLICATE_FIELD] = [f"Invoice with number {number} already exists."]
    if req.get("no") in (None, "") and not fact("invoice_no_assigned_when_omitted"):
        errors["no"] = ["no is required."]
    for name in ("date", "deadline"):
        if name in req and not _date(req[name]):
            errors[name] = [f"{name} must be a date in format YYYY-mm-dd."]
    if "date" not in req:
        errors["date"] = ["date is required."]
    currency = req.get("currency", "EUR")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha() and currency.isupper()):
        errors["currency"] = ["currency must be an ISO 4217 code."]
    company_id = req.get("company_id")
    if company_id is None and req.get("person_id") is None:
        errors["company_id"] = ["company_id or person_id is required."]
    elif company_id is not None and not any(str(c["contact_id"]) == str(company_id) and not c["is_deleted"]
                                            for c in account.contacts):
        errors["company_id"] = [f"Contact {company_id} not found."]
    raw_lines = req.get("lines")
    lines = []
    if not isinstance(raw_lines, list) or not raw_lines:
        errors["lines"] = ["An invoice needs at least one line."]
    else:
        codes = {str(c["vat_code_id"]): c for c in account.vat_codes}
        for n, line in enumerate(raw_lines):
            where = f"lines.{n}"
            if not isinstance(line, dict):
                errors[where] = ["A line must be an object."]
                continue
            price, amount = _decimal(line.get("price")), _decimal(line.get("amount", 1))
            vat = _decimal(line.get("vat", 0))
            problems = []
            if price is None:
                problems.append("price must be a number.")
            if amount is None:
                problems.append("amount must be a number.")
            if vat is None:
                problems.append("vat must be a number.")
            code_id = line.get("vat_code_id")
            if code_id is not None:
                code = codes.get(str(code_id))
                if code is None:
                    problems.append(f"VAT code {code_id} not found.")
                elif not code["is_active"] or not code["is_sales"]:
                    problems.append(f"VAT code {code['vat_code']} cannot be used on sales invoices.")
                elif vat is not None and Decimal(code["percent"]) != vat:
                    problems.append(f"vat {vat} does not match VAT code {code['vat_code']} ({code['percent']}%).")
            if problems:
                errors[where] = problems
                continue
            lines.append({"product_id": line.get("product_id"), "comment": str(line.get("comment") or ""),
                          "price": str(price), "amount": str(amount), "discount": "0.00",
                          "sum": _money(price * amount), "vat": str(vat), "vat_code_id": code_id,
                          "unit": line.get("unit") or ""})
    if errors:
        raise ApiError(400, "Validation failed.", errors)
    if number is None:  # Scoro gives the invoice the next number of its series (invoice_no_assigned_when_omitted)
        number = max((i["no"] for i in account.invoices), default=0) + 1
    header = {"no": number, "date": req["date"], "deadline": req.get("deadline") or req["date"],
              "currency": currency, "company_id": company_id, "person_id": req.get("person_id"),
              "description": str(req.get("description") or ""), "status": req.get("status") or UNPAID,
              "is_sent": 0}
    invoice = _invoice_record(account.next_invoice_id, header, lines, lang, vat_rounding)
    invoice["_api"] = True
    account.next_invoice_id += 1
    account.invoices.append(invoice)
    return _public(invoice)
