"""A Tripletex API v2 emulator (Flask WSGI app) for tests, benchmarks and the demo firm.

What it emulates (public-apis.md §1): both hosts (``tripletex.no`` = production,
``api-test.tripletex.tech`` = test; routed by the ``Host`` header, loopback hosts count as
production), session tokens created with ``POST /v2/token/session/:create`` (JSON body, 201; the
spec's deprecated ``PUT`` with query parameters is served too, 200), HTTP Basic ``<companyId>:<sessionToken>``,
session expiry at midnight Europe/Oslo at the start of ``expirationDate``, accountant access to
client companies through the Basic username, the ``{"value": …}`` / ``{"fullResultSize", "from",
"count", "versionDigest", "values"}`` envelopes, ``from``/``count`` paging, ``fields`` selection
(nested objects are ``{id, url}`` unless expanded), ``sorting``, the error body
(``status``/``code``/``message``/``link``/``developerMessage``/``validationMessages``/``requestId``),
``x-tlx-request-id`` and ``X-Rate-Limit-*`` headers on every reply and a 429 once the limit is hit.

Recording, the knobs and the ``/_sandbox/`` control endpoints come from the hub's sandbox kit
(:mod:`hub.testing.sandbox`); this module is Tripletex. Knobs (``create_app(**knobs)`` or
``POST /_sandbox/knobs``), the kit's: ``latency_ms``, ``rate_limit`` ("N/S" per employee token per
consumer, a fixed window), ``fault`` (None | "429" | "500" | "timeout" | "garbage", answered Tripletex's way),
``fault_every`` (every Nth request), ``fault_path`` / ``fault_method`` (only requests whose path contains it /
with that method), ``timeout_s`` (how long "timeout" sleeps, after the request was processed), ``today`` (ISO
date the sandbox treats as today, Europe/Oslo; default: the real date); Tripletex's own: ``book_vat_rounding``
("rate", default: an invoice's VAT once per VAT type on the sum of its lines' nets, each line net rounded to
øre — an assumption, nothing published says per line or per rate; "line": per line). Control endpoint:
``POST /_sandbox/expire-sessions``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import uuid
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, g, request

from hub.testing.sandbox import Sandbox, json_response, parse_rate
from hub_tripletex.wire import fact

#: The API's base URL per environment, its hosts, and the path it is served under (``/v2``).
BASE_URLS = {"production": fact("base_url_production"), "test": fact("base_url_test")}
HOSTS = {urlsplit(url).hostname: env for env, url in BASE_URLS.items()}
API = urlsplit(fact("base_url_production")).path
#: Tripletex's internal error codes by name.
CODES = fact("error_codes")
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

#: The hub's partner (consumer) tokens the sandbox accepts, per environment.
DEMO_SETTINGS = {
    "consumer_token_production": "sbx-consumer-production-7f3a9c52",
    "consumer_token_test": "test-sbx-consumer-2b8e41d7",
}
#: The demo firm's Tripletex login: Fjord Regnskap AS in production.
DEMO_CREDENTIALS = {"employee_token": "sbx-employee-fjord-0001", "environment": "production"}

#: (environment, employee token) → the token's owner, expiry and state.
EMPLOYEE_TOKENS: dict[tuple[str, str], dict[str, Any]] = {
    ("production", "sbx-employee-fjord-0001"): {"id": 501, "company": 1, "employee": 11,
                                                 "expires": "2027-06-30", "revoked": False},
    ("production", "sbx-employee-nordlys-0002"): {"id": 502, "company": 4, "employee": 41,
                                                   "expires": "2027-03-31", "revoked": False},
    ("production", "sbx-employee-expired-0003"): {"id": 503, "company": 1, "employee": 12,
                                                   "expires": "2026-10-31", "revoked": False},
    ("production", "sbx-employee-revoked-0004"): {"id": 504, "company": 4, "employee": 42,
                                                   "expires": "2027-12-31", "revoked": True},
    ("test", "test-sbx-employee-demo-0101"): {"id": 601, "company": 101, "employee": 1011,
                                              "expires": "2027-01-31", "revoked": False},
    ("test", "test-sbx-employee-expired-0102"): {"id": 602, "company": 101, "employee": 1012,
                                                 "expires": "2026-06-30", "revoked": False},
}

#: id → (name, organisation number, has a bank account, customers to seed, environment).
COMPANY_SEED = {
    1: ("Fjord Regnskap AS", "912345670", True, 2345, "production"),
    2: ("Bergen Bygg AS", "923456781", True, 45, "production"),
    3: ("Trondheim Teknikk AS", "934567892", False, 30, "production"),
    4: ("Nordlys Bakeri AS", "945678903", True, 25, "production"),
    101: ("Testfirma Integrasjon AS", "911111119", True, 30, "test"),
}
#: accountant company → the client companies its employees may log in to (Basic username).
LOGIN_ACCESS = {1: [2, 3]}
EMPLOYEES = {11: ("Kari", "Nordmann"), 12: ("Ola", "Hansen"), 41: ("Ingrid", "Berg"), 42: ("Lars", "Dahl"),
             1011: ("Test", "Bruker"), 1012: ("Gammel", "Bruker")}

VAT_TYPES = [
    {"id": 0, "number": "0", "name": "Ingen avgiftsbehandling", "percentage": 0.0},
    {"id": 1, "number": "1", "name": "Fradrag inngående avgift, høy sats", "percentage": 25.0},
    {"id": 3, "number": "3", "name": "Utgående avgift, høy sats", "percentage": 25.0},
    {"id": 5, "number": "5", "name": "Ingen utgående avgift (innenfor mva-loven)", "percentage": 0.0},
    {"id": 6, "number": "6", "name": "Ingen utgående avgift (utenfor mva-loven)", "percentage": 0.0},
    {"id": 11, "number": "11", "name": "Fradrag inngående avgift, middels sats", "percentage": 15.0},
    {"id": 13, "number": "13", "name": "Fradrag inngående avgift, lav sats", "percentage": 12.0},
    {"id": 31, "number": "31", "name": "Utgående avgift, middels sats", "percentage": 15.0},
    {"id": 32, "number": "32", "name": "Utgående avgift, lav sats", "percentage": 12.0},
    {"id": 52, "number": "52", "name": "Utførsel av varer og tjenester, fritatt", "percentage": 0.0},
]
#: ``typeOfVat`` of ``GET /ledger/vatType``: the types valid on an outgoing (sales) invoice, and on an incoming one
#: (purchases: input VAT deduction); the other kinds of the spec's enum list every type here.
VAT_USES = {"OUTGOING": {0, 3, 5, 6, 31, 32, 52}, "INCOMING": {0, 1, 11, 13}, "INCOMING_INVOICE": {0, 1, 11, 13}}
CURRENCIES = [{"id": 1, "code": "NOK"}, {"id": 2, "code": "EUR"}, {"id": 3, "code": "SEK"},
              {"id": 4, "code": "USD"}, {"id": 5, "code": "DKK"}]
NORWAY = {"id": 161, "name": "Norge", "isoAlpha2Code": "NO", "isoAlpha3Code": "NOR"}

_FIRST = ["Havbris", "Nordkapp", "Fjellvind", "Solstrand", "Granskog", "Isbre", "Midnatt", "Skjærgård",
          "Lofoten", "Vestland", "Elvedal", "Polar", "Saga", "Viking", "Fyrlys", "Brygge"]
_SECOND = ["Eiendom", "Fisk", "Transport", "Bygg", "Konsult", "Handel", "Elektro", "Design", "Regnskap",
           "Maskin", "Reiseliv", "Bakeri", "Rør", "Data", "Marine", "Landbruk"]
_CITIES = [("0150", "Oslo"), ("5003", "Bergen"), ("7010", "Trondheim"), ("4006", "Stavanger"),
           ("9008", "Tromsø"), ("8006", "Bodø"), ("3015", "Drammen"), ("6002", "Ålesund")]
_PRODUCTS = ["Regnskapsføring", "Lønnskjøring", "Årsoppgjør", "Rådgivning time", "MVA-melding", "Fakturering",
             "Bilagsføring", "Skattemelding", "Rapportering", "Budsjett", "Konsulenttime", "Reisetid"]


def _url(env: str, kind: str, oid: int) -> str:
    return f"{BASE_URLS[env]}/{kind}/{oid}"


def seed() -> dict[str, Any]:
    """The deterministic data set (fixed random seed)."""
    rng = random.Random(20261122)
    vat_high, vat_middle = fact("vat_type_ids")["25"], fact("vat_type_ids")["15"]
    store: dict[str, Any] = {"companies": {}, "customers": {}, "products": {}, "invoices": {}}
    for cid, (name, org, bank, n_customers, env) in COMPANY_SEED.items():
        store["companies"][cid] = {
            "id": cid, "version": 3, "url": _url(env, "company", cid), "name": name, "organizationNumber": org,
            "email": f"post@{name.split()[0].lower()}.no", "type": "AS", "hasBankAccount": bank, "env": env,
        }
        customers = []
        for i in range(1, n_customers + 1):
            first, second = _FIRST[(i * 7 + cid) % len(_FIRST)], _SECOND[(i * 5 + cid * 3) % len(_SECOND)]
            private = i % 11 == 0
            postal, city = _CITIES[rng.randrange(len(_CITIES))]
            oid = cid * 10000 + i
            customers.append({
                "id": oid, "version": 1, "url": _url(env, "customer", oid),
                "name": f"Ola Privat {i}" if private else f"{first} {second} {i:03d} AS",
                "organizationNumber": "" if private else f"9{rng.randrange(10**7, 10**8):08d}",
                "customerNumber": 10000 + i,
                "email": f"faktura{i}@kunde{cid}.no", "invoiceEmail": f"faktura{i}@kunde{cid}.no",
                "phoneNumber": f"+47 9{rng.randrange(10**6, 10**7):07d}", "isPrivateIndividual": private,
                "isCustomer": True, "isInactive": i % 17 == 0, "language": "NO", "invoiceSendMethod": "EMAIL",
                "postalAddress": {"id": oid * 10, "url": _url(env, "address", oid * 10),
                                  "addressLine1": f"Storgata {rng.randrange(1, 120)}", "addressLine2": "",
                                  "postalCode": postal, "city": city, "country": dict(NORWAY)},
            })
        store["customers"][cid] = customers
        products = []
        for i in range(1, 31):
            oid = cid * 100000 + i
            products.append({
                "id": oid, "version": 0, "url": _url(env, "product", oid),
                "name": f"{_PRODUCTS[(i - 1) % len(_PRODUCTS)]} {i}", "number": f"P{i:03d}",
                "description": "", "priceExcludingVatCurrency": float(rng.randrange(200, 20000, 50)),
                "vatType": dict(_vat(vat_high if i % 6 else vat_middle),
                                url=_url(env, "ledger/vatType", vat_high if i % 6 else vat_middle)),
                "productUnit": {"id": 1, "url": _url(env, "product/unit", 1), "name": "stk"},
                "currency": {"id": 1, "url": _url(env, "currency", 1), "code": "NOK"},
                "isInactive": i % 13 == 0, "isStockItem": False,
            })
        store["products"][cid] = products
        invoices, number = [], 0
        day = dt.date(2025, 1, 1)
        active = [c for c in customers if not c["isInactive"]]
        while day <= dt.date(2026, 12, 31):
            for _ in range(rng.randrange(0, 3)):
                number += 1
                customer = active[rng.randrange(len(active))]
                net = Decimal(rng.randrange(500, 50000)).quantize(Decimal("1.00"))
                oid = cid * 1000000 + number
                invoices.append({
                    "id": oid, "version": 1, "url": _url(env, "invoice", oid), "invoiceNumber": number,
                    "invoiceDate": _day(day), "invoiceDueDate": _day(day + dt.timedelta(days=14)),
                    "customer": _ref(customer), "comment": "", "invoiceComment": "", "kid": "",
                    "amountExcludingVat": float(net), "amountExcludingVatCurrency": float(net),
                    "amount": float(net * Decimal("1.25")), "amountCurrency": float(net * Decimal("1.25")),
                    "currency": {"id": 1, "url": _url(env, "currency", 1), "code": "NOK"},
                    "isCreditNote": False, "isCharged": True, "isApproved": True,
                    "orders": [{"id": oid + 500000, "url": _url(env, "order", oid + 500000),
                                "reference": f"PO-{rng.randrange(1000, 9999)}", "orderLines": []}],
                })
            day += dt.timedelta(days=3)
        store["invoices"][cid] = invoices
    return store


def _day(value: dt.date) -> str:
    """A date as Tripletex writes it."""
    return value.strftime(fact("date_format"))


def _parse_day(text: str) -> dt.date:
    """A date as Tripletex reads it, ``YYYY-MM-DD`` and nothing looser (``ValueError`` when it is not one)."""
    day = dt.datetime.strptime(text, fact("date_format")).date()
    if _day(day) != text:
        raise ValueError(f"not a date as {fact('date_format')}: {text!r}")
    return day


def _vat(vid: int) -> dict[str, Any]:
    return dict(next(v for v in VAT_TYPES if v["id"] == vid))


def _ore(value: Decimal) -> Decimal:
    """``value`` rounded half-up to øre (cents)."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _ref(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: obj[k] for k in ("id", "url") if k in obj} | {"_full": obj}


# -- fields selection -------------------------------------------------------------------------
class FieldsError(ValueError):
    pass


def parse_fields(text: str) -> dict[str, Any]:
    """``"a,b(c,d(*)),*"`` → ``{"a": None, "b": {"c": None, "d": {"*": None}}, "*": None}``."""
    pos = 0

    def parse_level() -> dict[str, Any]:
        nonlocal pos
        out: dict[str, Any] = {}
        name = ""
        while pos < len(text):
            ch = text[pos]
            pos += 1
            if ch == "(":
                if not name.strip():
                    raise FieldsError("empty field name before '('")
                out[name.strip()] = parse_level()
                name = ""
            elif ch == ")":
                if name.strip():
                    out[name.strip()] = None
                return out
            elif ch == ",":
                if name.strip():
                    out[name.strip()] = None
                name = ""
            else:
                name += ch
        if name.strip():
            out[name.strip()] = None
        return out

    return parse_level()


def render(obj: Any, spec: dict[str, Any] | None, model: str = "") -> Any:
    """An object as the API shows it: nested objects as ``{id, url}`` unless expanded by ``fields``."""
    if isinstance(obj, list):
        return [render(o, spec, model) for o in obj]
    if not isinstance(obj, dict):
        return obj
    full = obj.get("_full", obj)
    if spec is None:
        spec = {"*": None}
    names = [k for k in full if not k.startswith("_") and k not in ("env", "hasBankAccount")]
    for wanted in spec:
        if wanted != "*" and wanted not in names:
            raise FieldsError(f"Illegal field in fields filter: {wanted}. {wanted} does not match a field in "
                              f"the model: {model or 'DTO'}")
    out: dict[str, Any] = {}
    for name in names:
        if name not in spec and "*" not in spec:
            continue
        value, sub = full[name], spec.get(name)
        nested = isinstance(value, dict) or (isinstance(value, list) and value and isinstance(value[0], dict))
        if nested and sub is None:
            items = value if isinstance(value, list) else [value]
            shown = [({k: v for k, v in i.items() if k in ("id", "url")} if "id" in i.get("_full", i)
                      else render(i, None)) for i in items]
            out[name] = shown if isinstance(value, list) else shown[0]
        elif nested:
            out[name] = render(value, sub, name)
        else:
            out[name] = value
    return out


# -- state -------------------------------------------------------------------------------------
class SandboxState(Sandbox):
    """``app.extensions["sandbox"]``: knobs, recorded requests, sessions and the data store."""

    name = "tripletex"
    timezone = fact("session_timezone")
    late_timeout = True  # "timeout" answers after the request was processed
    vendor_knobs = {"book_vat_rounding": "rate"}

    def __init__(self, **knobs: Any) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.next_id = 90000000
        super().__init__(**knobs)

    def seed(self) -> None:
        self.store = seed()
        self.created_invoices: list[dict[str, Any]] = []
        self.created_customers: list[dict[str, Any]] = []
        self.employee_tokens = {key: dict(value) for key, value in EMPLOYEE_TOKENS.items()}

    def fault_response(self, fault: str) -> Response:
        """Tripletex's own answers; the error body's ``requestId`` is the answer's ``x-tlx-request-id``."""
        g.request_id = str(uuid.uuid4())  # the kit answers a fault before the vendor's before_api hook runs
        if fault == "429":
            resp = error(429, 0, "Too many requests. The rate limit for this API consumer is reached.")
            resp.headers.update(dict(zip(fact("rate_limit_headers"), ("100", "0", "2"), strict=True)))
            return resp
        if fault == "500":
            return error(500, CODES["exception"], "Internal error", developer="java.lang.NullPointerException")
        if fault == "garbage":
            return Response("<html><body><h1>Tripletex er midlertidig utilgjengelig</h1></body></html>", 200,
                            mimetype="text/html")
        return super().fault_response(fault)

    def expire_sessions(self) -> None:
        """Make every session token lapse (as if its expirationDate had passed)."""
        with self.lock:
            for session in self.sessions.values():
                session["expirationDate"] = _day(self.today())

    def revoke(self, employee_token: str) -> None:
        """Revoke an employee token (as an admin would in Company → API access)."""
        with self.lock:
            for (_, token), info in self.employee_tokens.items():
                if token == employee_token:
                    info["revoked"] = True

    def new_id(self) -> int:
        with self.lock:
            self.next_id += 1
            return self.next_id


# -- helpers -------------------------------------------------------------------------------------
def error(status: int, code: int, message: str, *, validation: list[dict[str, Any]] | None = None,
          developer: str | None = None) -> Response:
    body = dict(zip(fact("error_body"), (status, code, message, fact("docs_link"), developer, validation,
                                         g.get("request_id", str(uuid.uuid4()))), strict=True))
    return json_response(body, status)


def vmsg(field: str, message: str) -> dict[str, Any]:
    return dict(zip(fact("validation_message_keys"), (field, message, None, None), strict=True))


class ApiError(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _fields_spec() -> dict[str, Any] | None:
    text = request.args.get("fields")
    if not text:
        return None
    try:
        return parse_fields(text)
    except FieldsError as exc:
        raise ApiError(error(400, CODES["illegal_filter"], "Illegal filter", developer=str(exc))) from None


def _single(obj: dict[str, Any], model: str, status: int = 200) -> Response:
    try:
        return json_response({fact("single_value_key"): render(obj, _fields_spec(), model)}, status)
    except FieldsError as exc:
        return error(400, CODES["illegal_filter"], "Illegal field in fields filter", developer=str(exc))


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(error(422, CODES["param"], "Illegal parameter",
                             validation=[vmsg(name, "Må være et heltall.")])) from None
    if value < 0:
        raise ApiError(error(422, CODES["param"], "Illegal parameter",
                             validation=[vmsg(name, "Kan ikke være negativ.")]))
    return value


def _list(items: list[dict[str, Any]], model: str) -> Response:
    sorting = request.args.get("sorting")
    if sorting:
        for key in reversed([s.strip() for s in sorting.split(",") if s.strip()]):
            desc, name = key.startswith("-"), key.lstrip("-")
            if items and name not in items[0]:
                return error(422, CODES["sorting"], "Sorting failed", developer=f"Illegal sorting field: {name}")
            items = sorted(items, key=lambda o, n=name: (o.get(n) is None, o.get(n)), reverse=desc)
    from_param, count_param = fact("paging_params")
    start, count = _int_arg(from_param, 0), _int_arg(count_param, fact("page_size"))
    if count > 10000:
        return error(422, CODES["result_set_too_large"], "Result set too large",
                     developer="count must be at most 10000")
    page = items[start:start + count]
    try:
        values = render(page, _fields_spec(), model)
    except FieldsError as exc:
        return error(400, CODES["illegal_filter"], "Illegal field in fields filter", developer=str(exc))
    return json_response(dict(zip(fact("list_envelope"), (len(items), start, len(page), None, values), strict=True)))


def _date_arg(name: str, required: bool = True) -> dt.date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return _parse_day(raw)
    except ValueError:
        raise ApiError(error(422, CODES["mapping"], "Mapping failed",
                             validation=[vmsg(name, "Ugyldig dato.")])) from None


def _is_true(raw: str | None, default: bool) -> bool:
    if raw is None or raw == "":
        return default
    return raw.strip().lower() == "true"


# -- the app -------------------------------------------------------------------------------------
def create_app(**knobs: Any) -> Flask:  # noqa: C901 (one place for the whole API)
    state = SandboxState(**knobs)
    app = state.create_app()

    def environment() -> str | None:
        host = (request.headers.get("Host") or request.host or "").lower()
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        if name in LOOPBACK:
            return "production"
        return HOSTS.get(name)

    @state.before_api
    def before() -> Response | None:
        g.request_id = str(uuid.uuid4())
        env = environment()
        if env is None:
            return Response("<html><body>404 Not Found</body></html>", 404, mimetype="text/html")
        g.env = env
        if not request.path.startswith(f"{API}/"):
            return error(404, CODES["not_found"], "Object not found", developer=f"No endpoint {request.path}")
        return None

    @state.after_api
    def after(response: Response) -> Response:
        response.headers[fact("request_id_header")] = g.get("request_id", "")
        rate = g.get("rate")
        if rate and fact("rate_limit_headers")[0] not in response.headers:
            response.headers.update(rate)
        return response

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return exc.response

    @app.errorhandler(404)
    def not_found(exc: Exception) -> Response:
        return error(404, CODES["not_found"], "Object not found",
                     developer=f"No endpoint {request.method} {request.path}")

    @app.errorhandler(405)
    def not_allowed(exc: Exception) -> Response:
        return error(405, CODES["bad_request"], "Method not allowed",
                     developer=f"{request.method} is not allowed on {request.path}")

    def take_rate_slot(key: tuple) -> Response | None:
        """Per employee token per consumer, a fixed window; without the ``rate_limit`` knob the headers count
        down from 10000 a day and nothing is refused (the real limit is not published)."""
        limit = parse_rate(state.knobs.get("rate_limit"))
        verdict = state.take_rate(repr(key), limit or (10000, 86400), fixed=True)
        g.rate = dict(zip(fact("rate_limit_headers"), (str(verdict.limit), str(verdict.remaining),
                                                         str(max(1, int(verdict.reset_in + 0.999)))), strict=True))
        if not verdict.allowed and limit is not None:
            resp = error(429, 0, "Too many requests. The rate limit for this API consumer is reached.")
            resp.headers.update(g.rate)
            return resp
        return None

    def employee_token_state(env: str, token: str) -> tuple[dict[str, Any] | None, str]:
        info = state.employee_tokens.get((env, token))
        if info is None:
            return None, "Unknown employee token"
        status = state.credential_status(token, revoked=info["revoked"], expires=info["expires"])  # knobs too
        if status == "revoked":
            return None, "The employee token has been revoked"
        if status == "expired":
            return None, f"The employee token expired {info['expires']}"
        return info, ""

    def authenticate() -> tuple[dict[str, Any], int]:
        """The session behind the Basic header and the company the call acts for."""
        header = request.headers.get("Authorization", "")
        scheme = f"{fact('auth_scheme')} "
        if not header.startswith(scheme):
            raise ApiError(error(401, CODES["authentication"], "Unauthorized",
                                 developer="Missing Basic authentication"))
        try:
            user, _, token = base64.b64decode(header[len(scheme):]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(error(401, CODES["authentication"], "Unauthorized",
                                 developer="Malformed Basic authentication")) from None
        session = state.sessions.get(token)
        if session is None or session["env"] != g.env:
            raise ApiError(error(401, CODES["authentication"], "Unauthorized", developer="Invalid session token"))
        if _parse_day(session["expirationDate"]) <= state.today():
            raise ApiError(error(401, CODES["authentication"], "Unauthorized",
                                 developer="The session token has expired"))
        owner, why = employee_token_state(g.env, session["employeeToken"])
        if owner is None:
            raise ApiError(error(401, CODES["authentication"], "Unauthorized", developer=why))
        blocked = take_rate_slot((g.env, session["consumerToken"], session["employeeToken"]))
        if blocked is not None:
            raise ApiError(blocked)
        company = owner["company"]
        if user not in ("", fact("own_company_id")):
            try:
                wanted = int(user)
            except ValueError:
                raise ApiError(error(401, CODES["authentication"], "Unauthorized",
                                     developer="The username must be a company id")) from None
            if wanted != company and wanted not in LOGIN_ACCESS.get(company, []):
                raise ApiError(error(403, CODES["security"], "You do not have access to this company",
                                     developer=f"No login access to company {wanted}"))
            company = wanted
        return owner, company

    # -- control -------------------------------------------------------------------------------------
    @app.post("/_sandbox/expire-sessions")
    def control_expire() -> Response:
        state.expire_sessions()
        return json_response({"ok": True})

    # -- token/session -------------------------------------------------------------------------------
    @app.route(f"{API}{fact('session_create_path')}", methods=["PUT", "POST"])
    def session_create() -> Response:
        keys = fact("session_create_body")
        if request.method == "POST":  # the spec's preferred form; PUT with query parameters is deprecated
            body = request.get_json(force=True, silent=True) or {}
            params = {k: str(body.get(k) or "") for k in keys}
        else:
            params = {k: request.args.get(k, "") for k in keys}
        missing = [vmsg(k, "Kan ikke være null.") for k, v in params.items() if not v]
        if missing:
            return error(422, CODES["value_validation"], "Validering feilet.", validation=missing)
        try:
            expiration = _parse_day(params["expirationDate"])
        except ValueError:
            return error(422, CODES["mapping"], "Mapping failed", validation=[vmsg("expirationDate", "Ugyldig dato.")])
        if expiration <= state.today():
            return error(422, CODES["value_validation"], "Validering feilet.",
                         validation=[vmsg("expirationDate", "Utløpsdato må være etter dagens dato.")])
        consumer_ok = params["consumerToken"] == DEMO_SETTINGS[f"consumer_token_{g.env}"]
        if not consumer_ok:
            return error(401, CODES["authentication"], "Unauthorized", developer="Invalid consumer token")
        owner, why = employee_token_state(g.env, params["employeeToken"])
        if owner is None:
            return error(401, CODES["authentication"], "Unauthorized", developer=why)
        blocked = take_rate_slot((g.env, params["consumerToken"], params["employeeToken"]))
        if blocked is not None:
            return blocked
        prefix = fact("test_token_prefix") if g.env == "test" else ""
        token = prefix + base64.urlsafe_b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode().rstrip("=")
        sid = state.new_id()
        session = {"id": sid, "version": 0, "url": _url(g.env, "token/session", sid),
                   "consumerToken": {"id": 77, "url": _url(g.env, "token/consumer", 77)},
                   "employeeToken": {"id": owner["id"], "url": _url(g.env, "token/employee", owner["id"]),
                                     "_full": {"id": owner["id"], "expirationDate": owner["expires"]}},
                   fact("session_expiry_key"): _day(expiration), fact("session_token_key"): token,
                   "encryptionKey": None}
        with state.lock:
            state.sessions[token] = {**session, "env": g.env, "consumerToken": params["consumerToken"],
                                     "employeeToken": params["employeeToken"]}
        return _single(session, "SessionTokenDTO", fact("created_status") if request.method == "POST" else 200)

    @app.delete(f"{API}/token/session/<token>")
    def session_delete(token: str) -> Response:
        authenticate()
        with state.lock:
            if state.sessions.pop(token, None) is None:
                return error(404, CODES["not_found"], "Object not found")
        return Response(status=204)

    @app.get(f"{API}{fact('who_am_i_path')}")
    def who_am_i() -> Response:
        owner, company = authenticate()
        first, last = EMPLOYEES[owner["employee"]]
        env = g.env
        employee = {"id": owner["employee"], "url": _url(env, "employee", owner["employee"]),
                    "firstName": first, "lastName": last, "email": f"{first.lower()}@example.no"}
        value = {"employeeId": owner["employee"], "employee": employee, "actualEmployeeId": owner["employee"],
                 "companyId": company, "company": state.store["companies"][company], "language": "no",
                 "loggedInWithConnect": False, "employeeIsProxy": False}
        return _single(value, "LoggedInUserInfoDTO")

    # -- companies -------------------------------------------------------------------------------------
    @app.get(f"{API}/company/>withLoginAccess")
    def login_access() -> Response:
        owner, _ = authenticate()
        ids = [owner["company"], *LOGIN_ACCESS.get(owner["company"], [])]
        return _list([state.store["companies"][i] for i in ids], "CompanyDTO")

    @app.get(f"{API}/company/<int:cid>")
    def company_get(cid: int) -> Response:
        owner, company = authenticate()
        if cid not in (company, owner["company"]) or cid not in state.store["companies"]:
            return error(404, CODES["not_found"], "Object not found")
        return _single(state.store["companies"][cid], "CompanyDTO")

    # -- customers -----------------------------------------------------------------------------------
    @app.get(f"{API}{fact('customer_path')}")
    def customer_list() -> Response:
        _, company = authenticate()
        items = state.store["customers"][company]
        # isInactive: "Equals", default false (spec 2.74): without it only active customers are listed
        inactive = _is_true(request.args.get(fact("inactive_param")), fact("inactive_default"))
        items = [c for c in items if c["isInactive"] == inactive]
        if request.args.get("id"):
            ids = {int(i) for i in request.args["id"].split(",") if i.strip().isdigit()}
            items = [c for c in items if c["id"] in ids]
        if request.args.get("customerAccountNumber"):  # "List of customer numbers"
            numbers = {n.strip() for n in request.args["customerAccountNumber"].split(",")}
            items = [c for c in items if str(c["customerNumber"]) in numbers]
        for arg in (fact("org_number_param"), "email", "invoiceEmail"):  # "Equals"
            if request.args.get(arg):
                items = [c for c in items if c[arg] == request.args[arg]]
        if request.args.get(fact("customer_name_param")):
            # The spec says only "Name". Matching a part of the name, ignoring case, is our reading [INF]: a
            # client that compares the names itself works whether Tripletex matches exactly or not.
            needle = request.args[fact("customer_name_param")].casefold()
            items = [c for c in items if needle in c["name"].casefold()]
        return _list(items, "CustomerDTO")

    @app.get(f"{API}{fact('customer_path')}/<int:oid>")
    def customer_get(oid: int) -> Response:
        _, company = authenticate()
        found = next((c for c in state.store["customers"][company] if c["id"] == oid), None)
        if found is None:
            return error(404, CODES["not_found"], "Object not found")
        return _single(found, "CustomerDTO")

    @app.post(f"{API}{fact('customer_path')}")
    def customer_create() -> Response:
        _, company = authenticate()
        body = _body()
        if not str(body.get("name") or "").strip():
            return error(422, CODES["value_validation"], "Validering feilet.",
                         validation=[vmsg("name", "Kan ikke være null.")])
        oid = state.new_id()
        customer = {"id": oid, "version": 0, "url": _url(g.env, "customer", oid), "name": body["name"],
                    "organizationNumber": str(body.get("organizationNumber") or ""),
                    "customerNumber": 50000 + oid % 10000, "email": body.get("email") or "",
                    "invoiceEmail": body.get("invoiceEmail") or "", "phoneNumber": body.get("phoneNumber") or "",
                    "isPrivateIndividual": bool(body.get("isPrivateIndividual")), "isCustomer": True,
                    "isInactive": False, "language": body.get("language") or "NO",
                    "invoiceSendMethod": body.get("invoiceSendMethod") or "EMAIL",
                    "postalAddress": {"id": oid * 10, "url": _url(g.env, "address", oid * 10),
                                      **{k: v for k, v in (body.get("postalAddress") or {}).items()
                                         if k in ("addressLine1", "addressLine2", "postalCode", "city")},
                                      "country": dict(NORWAY)}}
        with state.lock:
            state.store["customers"][company].append(customer)
            state.created_customers.append(customer)
        return _single(customer, "CustomerDTO", fact("created_status"))

    # -- products, VAT types, currencies ----------------------------------------------------------------
    @app.get(f"{API}{fact('product_path')}")
    def product_list() -> Response:
        _, company = authenticate()
        items = state.store["products"][company]
        if request.args.get(fact("inactive_param")):
            wanted = _is_true(request.args[fact("inactive_param")], fact("inactive_default"))
            items = [p for p in items if p["isInactive"] == wanted]
        if request.args.get("number"):
            items = [p for p in items if p["number"] == request.args["number"]]
        if request.args.get("name"):
            items = [p for p in items if request.args["name"].lower() in p["name"].lower()]
        return _list(items, "ProductDTO")

    @app.get(f"{API}{fact('vat_type_path')}")
    def vat_list() -> Response:
        authenticate()
        items = [dict(v, version=0, url=_url(g.env, "ledger/vatType", v["id"])) for v in VAT_TYPES]
        if request.args.get("id"):
            ids = {i.strip() for i in request.args["id"].split(",")}
            items = [v for v in items if str(v["id"]) in ids]
        if request.args.get("number"):
            items = [v for v in items if v["number"] == request.args["number"]]
        kind = fact("sales_vat_filter")[0]
        if request.args.get(kind) in VAT_USES:
            items = [v for v in items if v["id"] in VAT_USES[request.args[kind]]]
        return _list(items, "VatTypeDTO")

    @app.get(f"{API}{fact('vat_type_path')}/<int:vid>")
    def vat_get(vid: int) -> Response:
        authenticate()
        if not any(v["id"] == vid for v in VAT_TYPES):
            return error(404, CODES["not_found"], "Object not found")
        return _single(dict(_vat(vid), version=0, url=_url(g.env, "ledger/vatType", vid)), "VatTypeDTO")

    @app.get(f"{API}{fact('currency_path')}")
    def currency_list() -> Response:
        authenticate()
        items = [dict(c, version=0, url=_url(g.env, "currency", c["id"])) for c in CURRENCIES]
        code = fact("currency_code_param")
        if request.args.get(code):
            items = [c for c in items if c["code"] == request.args[code].upper()]
        return _list(items, "CurrencyDTO")

    # -- invoices ------------------------------------------------------------------------------------
    @app.get(f"{API}{fact('invoice_path')}")
    def invoice_list() -> Response:
        _, company = authenticate()
        date_from, date_to = fact("invoice_date_range")
        problems = [vmsg(k, "Kan ikke være null.") for k in (date_from, date_to) if not request.args.get(k)]
        if problems:
            return error(422, CODES["value_validation"], "Validering feilet.", validation=problems)
        start, end = _date_arg(date_from), _date_arg(date_to)
        items = [i for i in state.store["invoices"][company]
                 if start <= _parse_day(i["invoiceDate"]) < end]  # from including, to excluding
        if request.args.get("invoiceNumber"):
            items = [i for i in items if str(i["invoiceNumber"]) == request.args["invoiceNumber"]]
        if request.args.get("customerId"):
            items = [i for i in items if str(i["customer"]["id"]) == request.args["customerId"]]
        if request.args.get("id"):
            ids = {s.strip() for s in request.args["id"].split(",")}
            items = [i for i in items if str(i["id"]) in ids]
        return _list(items, "InvoiceDTO")

    @app.get(f"{API}{fact('invoice_path')}/<int:oid>")
    def invoice_get(oid: int) -> Response:
        _, company = authenticate()
        found = next((i for i in state.store["invoices"][company] if i["id"] == oid), None)
        if found is None:
            return error(404, CODES["not_found"], "Object not found")
        return _single(found, "InvoiceDTO")

    @app.post(f"{API}{fact('invoice_path')}")
    def invoice_create() -> Response:
        _, company = authenticate()
        body = _body()
        send = _is_true(request.args.get(fact("send_to_customer_param")), fact("send_to_customer_default"))
        problems: list[dict[str, Any]] = []
        dates = {}
        for key in ("invoiceDate", "invoiceDueDate"):
            dates[key] = _parse_date(body.get(key), key, problems)
        orders = body.get("orders")
        if not isinstance(orders, list) or not orders:
            problems.append(vmsg("orders", "Kan ikke være null."))
            orders = []
        elif len(orders) > 1:
            problems.append(vmsg("orders", "Kun én ordre per faktura er støttet."))
        customers = {c["id"]: c for c in state.store["customers"][company]}
        products = {p["id"]: p for p in state.store["products"][company]}
        vat_ids = {v["id"]: v for v in VAT_TYPES}
        currency_ids = {c["id"]: c for c in CURRENCIES}
        made_orders = []
        for oi, order in enumerate(orders[:1]):
            prefix = f"orders[{oi}]"
            if not isinstance(order, dict):
                problems.append(vmsg(prefix, "Ugyldig ordre."))
                continue
            cust = customers.get(_ref_id(order.get("customer")))
            if cust is None:
                problems.append(vmsg(f"{prefix}.customer", "Kunden finnes ikke." if order.get("customer")
                                     else "Kan ikke være null."))
            _parse_date(order.get("orderDate"), f"{prefix}.orderDate", problems)
            _parse_date(order.get("deliveryDate"), f"{prefix}.deliveryDate", problems)
            currency = currency_ids.get(_ref_id(order.get("currency")) or 1)
            if currency is None:
                problems.append(vmsg(f"{prefix}.currency", "Valutaen finnes ikke."))
            incl = bool(order.get(fact("prices_include_vat_key")))
            lines = order.get("orderLines") or []
            if not lines:
                problems.append(vmsg(f"{prefix}.orderLines", "Ordren må ha minst én ordrelinje."))
            made_lines, net_total, gross_total = [], Decimal(0), Decimal(0)
            vat_by_rate: dict[Decimal, Decimal] = {}
            line_vats: list[Decimal] = []
            for li, line in enumerate(lines):
                lp = f"{prefix}.orderLines[{li}]"
                count = _decimal(line.get("count"), f"{lp}.count", problems, required=True)
                price_key = fact("line_price_including_vat_key") if incl else fact("line_price_key")
                price = _decimal(line.get(price_key), f"{lp}.{price_key}", problems,
                                 required=not line.get("product"))
                vat = (vat_ids.get(_ref_id(line.get("vatType"))) if line.get("vatType")
                       else _vat(fact("vat_type_ids")["25"]))
                if vat is None:
                    problems.append(vmsg(f"{lp}.vatType", "MVA-typen finnes ikke."))
                product = None
                if line.get("product"):
                    product = products.get(_ref_id(line.get("product")))
                    if product is None:
                        problems.append(vmsg(f"{lp}.product", "Produktet finnes ikke."))
                if count is None or vat is None or (price is None and product is None):
                    continue
                if price is None:
                    price = Decimal(str(product["priceExcludingVatCurrency"]))
                    incl_line = False
                else:
                    incl_line = incl
                rate = Decimal(str(vat["percentage"])) / 100
                net = _ore(count * price / (1 + rate) if incl_line else count * price)
                line_vat = _ore(net * rate)
                net_total += net
                vat_by_rate[rate] = vat_by_rate.get(rate, Decimal(0)) + net
                line_vats.append(line_vat)
                made_lines.append({"id": state.new_id(), "description": str(line.get("description") or ""),
                                   "count": float(count), fact("line_price_key"):
                                   float((price / (1 + rate)) if incl_line else price),
                                   fact("line_net_key"): float(net),
                                   fact("line_gross_key"): float(net + line_vat),
                                   "vatType": _ref(dict(vat, url=_url(g.env, "ledger/vatType", vat["id"]))),
                                   "product": _ref(product) if product else None})
            if state.knobs["book_vat_rounding"] == "line":
                gross_total = net_total + sum(line_vats, Decimal(0))
            else:
                gross_total = net_total + sum((_ore(n * r) for r, n in vat_by_rate.items()), Decimal(0))
            oid = state.new_id()
            made_orders.append({"id": oid, "url": _url(g.env, "order", oid),
                                fact("order_reference_key"): order.get(fact("order_reference_key")),
                                fact("order_comment_key"): order.get(fact("order_comment_key")) or "",
                                "customer": cust,
                                "orderDate": order.get("orderDate"), "deliveryDate": order.get("deliveryDate"),
                                "currency": currency, "orderLines": made_lines,
                                "_net": net_total, "_gross": gross_total})
        if body.get("customer") and made_orders and made_orders[0]["customer"] is not None \
                and _ref_id(body["customer"]) != made_orders[0]["customer"]["id"]:
            problems.append(vmsg("customer", "Kunden på fakturaen må være kunden på ordren."))
        if problems:
            return error(422, CODES["value_validation"], "Validering feilet.", validation=problems)
        if not state.store["companies"][company]["hasBankAccount"]:
            return error(422, CODES["value_validation"], "Validering feilet.", validation=[vmsg(
                "", "Faktura kan ikke opprettes før selskapet har registrert et bankkontonummer.")])
        order = made_orders[0]
        with state.lock:
            invoices = state.store["invoices"][company]
            number = max((i["invoiceNumber"] for i in invoices), default=0) + 1
            oid = state.new_id()
            net, gross = order.pop("_net"), order.pop("_gross")
            currency = order["currency"]
            invoice = {
                "id": oid, "version": 0, "url": _url(g.env, "invoice", oid), "invoiceNumber": number,
                "invoiceDate": _day(dates["invoiceDate"]), "invoiceDueDate": _day(dates["invoiceDueDate"]),
                "customer": _ref(order["customer"]), "comment": str(body.get("comment") or ""),
                "invoiceComment": order[fact("order_comment_key")], "kid": "",
                "amountExcludingVat": float(round(net, 2)), fact("invoice_net_key"): float(round(net, 2)),
                "amount": float(round(gross, 2)), fact("invoice_gross_key"): float(round(gross, 2)),
                "currency": dict(currency, url=_url(g.env, "currency", currency["id"])),
                "isCreditNote": False, "isCharged": True, "isApproved": True,
                "orders": [dict(order, customer=_ref(order["customer"]))],
                "_sentToCustomer": send,
            }
            invoices.append(invoice)
            state.created_invoices.append(invoice)
        return _single(invoice, "InvoiceDTO", fact("created_status"))

    return app


def _body() -> dict[str, Any]:
    raw = request.get_data()
    try:
        body = json.loads(raw or b"null", parse_float=Decimal)
    except ValueError:
        raise ApiError(error(422, CODES["invalid_json"], "Invalid JSON",
                             developer="The request body is not valid JSON")) from None
    if not isinstance(body, dict):
        raise ApiError(error(422, CODES["invalid_json"], "Invalid JSON", developer="Expected a JSON object"))
    return body


def _ref_id(ref: Any) -> int | None:
    if isinstance(ref, dict) and ref.get("id") is not None:
        try:
            return int(ref["id"])
        except (TypeError, ValueError):
            return None
    return None


def _parse_date(value: Any, field: str, problems: list[dict[str, Any]]) -> dt.date | None:
    if not value:
        problems.append(vmsg(field, "Kan ikke være null."))
        return None
    try:
        return _parse_day(str(value))
    except ValueError:
        problems.append(vmsg(field, "Ugyldig dato, bruk formatet ÅÅÅÅ-MM-DD."))
        return None


def _decimal(value: Any, field: str, problems: list[dict[str, Any]], *, required: bool) -> Decimal | None:
    if value is None:
        if required:
            problems.append(vmsg(field, "Kan ikke være null."))
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, float)):
        problems.append(vmsg(field, "Må være et tall."))
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        problems.append(vmsg(field, "Må være et tall."))
        return None
