"""A faithful emulator of Directo XML Direct (public-apis.md §5) as a Flask WSGI app.

* ``POST https://login.directo.ee/xmlcore/cap_xml_direct/xmlcore.asp`` (routed by the ``Host`` header),
  ``application/x-www-form-urlencoded``, the access token in the form field ``token``.
* ``get=1&what=customer|item|invoice|purchase|receipt|transaction`` with the filters ``code``,
  ``number``, ``date1``, ``date2`` (``dd.mm.yyyy`` or ISO) and ``ts``; every match is returned at once.
* ``put=1&what=invoice&xmldata=<invoices>…`` answers ``<results><Result Type=… Desc=… docid=…/>``
  with the documented codes (0, 8, 9, 11, 12 for a missing number, 13, 14, 99, …); it never numbers an
  invoice itself (the number is mandatory).
* Customer, item and receipt records have the attributes and children of Directo's output XSDs
  (``ws_kliendid``, ``ws_artiklid``, ``ws_laekumised``; the tests validate them); receipts also carry the
  header ``paymentmode`` and ``aeg`` of Directo's receipt page, and a row's ``invoicesum`` is the invoice's
  balance before the row, not its total.
* Authentication failures are HTTP 200 bodies: ``<err>token required</err>`` and
  ``<result type="5" desc="Unauthorized"/>`` (unknown, expired, revoked or component-limited token).
* The ``<transport>`` root names the token's database (``database``/``databasename`` attributes):
  an assumption of this project [INF], switchable off with the ``database_attr`` knob.

Recording, the fault knobs and the ``/_sandbox/`` control endpoints come from the hub's sandbox kit
(:mod:`hub.testing.sandbox`); this module is Directo. Knobs (keyword arguments of :func:`create_app`, or
``POST /_sandbox/knobs``): the kit's — ``latency_ms``, ``rate_limit`` ("N/S" per token; a hit is answered 429
with ``Retry-After``), ``fault`` (None | "429" | "500" | "timeout" | "garbage", answered Directo's way),
``fault_every``, ``fault_path``, ``timeout_s``, ``retry_after`` (of an injected 429; default 60) — and
Directo's: ``hostile`` (None | "billion_laughs" | "external_entity": a hostile XML answer), ``database_attr``
(bool).
"""

from __future__ import annotations

import datetime as dt
import pickle
import random
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from flask import Flask, Response, request

from hub.testing.sandbox import Recorded, Sandbox

from .wire import fact

#: Where the sandbox answers: the host and path of Directo's one endpoint (wire fact ``endpoint``).
HOST = urllib.parse.urlsplit(fact("endpoint")).hostname
PATH = urllib.parse.urlsplit(fact("endpoint")).path
TODAY = dt.date(2026, 11, 22)
FIRST_DAY, LAST_DAY = dt.date(2025, 1, 1), dt.date(2026, 12, 31)
#: VAT code → percent (wire fact ``vat_codes``, assumed).
VAT_CODES = {code: Decimal(rate) for code, rate in fact("vat_codes").items()}

# -- seeded accounts ---------------------------------------------------------------------------------
#: The demo accounts carry the range of invoice numbers their bookkeeper reserved for the hub.
DEMO_CREDENTIALS: dict = {"token": "dxd-demo-7f3a9c2e51b84d06", "database": "uku_demo",
                          "invoice_numbers": "900001-999999"}
DEMO_CLIENT_CREDENTIALS: list[dict] = [
    {"token": "dxd-pohjala-2b7e4f9a63c1", "database": "pohjala_puit", "invoice_numbers": "900001-999999"},
    {"token": "dxd-riga-91c3d5e7a2f4b8", "database": "riga_amber", "invoice_numbers": "900001-999999"},
    {"token": "dxd-saare-4e8a0b6c1d9f37", "database": "saare_kala", "invoice_numbers": "900001-999999"},
]
EXPIRED_CREDENTIALS: dict = {"token": "dxd-expired-5a1f7c3d9e2b", "database": "uku_demo"}
REVOKED_CREDENTIALS: dict = {"token": "dxd-revoked-8d2b6e4f0a7c", "database": "uku_demo"}
#: A valid token that may read customers only (tokens can be limited to chosen components, D1).
LIMITED_CREDENTIALS: dict = {"token": "dxd-limited-3c9e1a7b5f2d", "database": "uku_demo"}

DATABASES = {  # code: (name, country, customers, items, invoice intensity)
    "uku_demo": ("Uku Demo Raamatupidamine OÜ", "EE", 36, 12, 1.0),
    "pohjala_puit": ("Põhjala Puit OÜ", "EE", 12, 6, 1.5),
    "riga_amber": ("Riga Amber SIA", "LV", 10, 5, 1.2),
    "saare_kala": ("Saaremaa Seafood OÜ", "EE", 8, 4, 0.8),
}


@dataclass
class Token:
    database: str
    status: str = "active"  # active | expired | revoked
    components: frozenset[str] | None = None  # None: every component


def _tokens() -> dict[str, Token]:
    tokens = {DEMO_CREDENTIALS["token"]: Token("uku_demo"),
              EXPIRED_CREDENTIALS["token"]: Token("uku_demo", "expired"),
              REVOKED_CREDENTIALS["token"]: Token("uku_demo", "revoked"),
              LIMITED_CREDENTIALS["token"]: Token("uku_demo", components=frozenset({"customer"}))}
    for creds in DEMO_CLIENT_CREDENTIALS:
        tokens[creds["token"]] = Token(creds["database"])
    return tokens


@dataclass
class Database:
    code: str
    name: str
    country: str
    customers: list[dict] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)
    invoices: list[dict] = field(default_factory=list)
    purchases: list[dict] = field(default_factory=list)
    receipts: list[dict] = field(default_factory=list)
    transactions: list[dict] = field(default_factory=list)
    created_invoices: list[str] = field(default_factory=list)  # numbers created through put
    next_invoice: int = 100001

    def customer(self, code: str | None) -> dict | None:
        return next((c for c in self.customers if code and c["code"] == code), None)

    def item(self, code: str | None) -> dict | None:
        return next((i for i in self.items if code and i["code"] == code), None)

    def invoice(self, number: str) -> dict | None:
        return next((i for i in self.invoices if i["number"] == number), None)


_FIRST = ["Põhja", "Lõuna", "Mere", "Metsa", "Kivi", "Tamme", "Kase", "Linna", "Järve", "Saare", "Ranna",
          "Valge", "Tuule", "Kalda", "Kuuse", "Vahtra"]
_SECOND = ["Puit", "Ehitus", "Kohvik", "Transport", "Aed", "Tehnika", "Kaubandus", "Disain", "Konsult", "Pagar",
           "Meedia", "Logistika", "Kala", "Ilu"]
_LV_FIRST = ["Daugava", "Gauja", "Jūrmala", "Liepa", "Ozols", "Saule", "Kurzeme", "Vidzeme"]
_LV_SECOND = ["Serviss", "Būve", "Tirdzniecība", "Loģistika", "Dizains", "Maiznīca"]
_ITEMS = [("KONS", "Konsultatsioon", "h", "60"), ("RAAM", "Raamatupidamisteenus", "kuu", "250"),
          ("PALK", "Palgaarvestus", "tk", "12.5"), ("AAST", "Aastaaruanne", "tk", "450"),
          ("TRANSP", "Transport", "km", "0.85"), ("PUIT", "Saematerjal", "m3", "180"),
          ("KALA", "Kalafilee", "kg", "9.9"), ("PAKK", "Pakendamine", "tk", "1.2"),
          ("LADU", "Laoteenus", "päev", "35"), ("IT", "IT-tugi", "h", "55"), ("KOOL", "Koolitus", "h", "80"),
          ("MUU", "Muu teenus", "tk", "10")]


_ASCII = str.maketrans("äöõüšžāēīūļņķģč", "aoouszaeiulnkgc")


def _receipt_row(payer: dict, day: dt.date, received: Decimal, *, balance: Decimal) -> dict:
    """A receipt row (ws_laekumised.xsd): ``invoicesum`` is the invoice's balance the payment is entered
    against ("Arve saldo"), not its total; ``aeg`` is a dateTime."""
    return {"invoice": payer["invoice"], fact("receipt_time_field"): f"{day.isoformat()}T00:00:00",
            "customer": payer["customer"], "customername": payer["customername"], "received": _money(received),
            "regno": payer["regno"], fact("receipt_balance_field"): _money(balance)}


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _months() -> list[tuple[int, int]]:
    return [(y, m) for y in (2025, 2026) for m in range(1, 13)]


def seed() -> dict[str, Database]:
    """The deterministic data store (fixed random seed): a fresh copy each time."""
    global _SEEDED
    if _SEEDED is None:
        _SEEDED = pickle.dumps(_generate())
    return pickle.loads(_SEEDED)


_SEEDED: bytes | None = None


def _generate() -> dict[str, Database]:
    rng = random.Random(20261122)
    later = random.Random(20261201)  # instalments after a part payment (its own stream: the rest stays as seeded)
    out: dict[str, Database] = {}
    for code, (name, country, n_customers, n_items, intensity) in DATABASES.items():
        db = Database(code, name, country)
        first, second, form = (_LV_FIRST, _LV_SECOND, "SIA") if country == "LV" else (_FIRST, _SECOND, "OÜ")
        names: set[str] = set()
        while len(names) < n_customers:
            names.add(f"{rng.choice(first)} {rng.choice(second)} {form if rng.random() < .8 else 'AS'}")
        for i, cname in enumerate(sorted(names), start=1):
            db.customers.append({
                "code": f"K{i:04d}", "name": cname, "regno": str(rng.randint(10000000, 16999999)),
                "vatregno": f"{country}{rng.randint(100000000, 999999999)}" if rng.random() < .7 else "",
                "email": f"arved@{cname.split()[0].lower().translate(_ASCII)}{i}.example" if rng.random() < .9 else "",
                "phone": f"+372 5{rng.randint(100000, 999999)}", "address1": f"{rng.choice(first)} tn {i}",
                # ws_kliendid.xsd has address1..3 (used "according to settings"): street, city, postal code
                "address2": "Riga" if country == "LV" else rng.choice(["Tallinn", "Tartu", "Pärnu", "Kuressaare"]),
                "address3": str(rng.randint(10000, 99999)), "country": country,
                "closed": "1" if rng.random() < .08 else "0", "ts": "2025-01-02T09:00:00",
            })
        for code_, iname, unit, price in _ITEMS[:n_items]:
            db.items.append({"code": code_, "name": iname, "class": "TEENUS", "unit": unit, "salesprice": price,
                             "vatcode": "1", "closed": "0", "ts": "2025-01-02T09:00:00"})
        suppliers = [f"T{i:03d}" for i in range(1, 9)]
        purchase_no, receipt_no, gl_no = 500001, 700001, 900001
        payments: dict[dt.date, list[dict]] = defaultdict(list)
        for year, month in _months():
            days = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.date(year, month, 1)).days
            for cust in db.customers:
                count = rng.choice([0, 0, 1, 1, 1, 2, 3]) if rng.random() < intensity else 0
                for _ in range(count):
                    day = dt.date(year, month, rng.randint(1, days))
                    credit = rng.random() < .05
                    lines, net = [], Decimal("0")
                    for _ in range(rng.randint(1, 4)):
                        item = rng.choice(db.items)
                        qty = Decimal(rng.randint(1, 10)) * (-1 if credit else 1)
                        price = Decimal(item["salesprice"])
                        net += qty * price
                        lines.append({"item": item["code"], "description": item["name"], "quantity": str(qty),
                                      "price": item["salesprice"], "vatcode": "1"})
                    vat = (net * Decimal("0.24")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                    number = str(db.next_invoice)
                    db.next_invoice += 1
                    invoice = {"number": number, "customer": cust["code"], "customername": cust["name"],
                               "date": day.isoformat(), "duedate": (day + dt.timedelta(days=14)).isoformat(),
                               "currency": "EUR", "sum": _money(net), "vat": _money(vat), "total": _money(net + vat),
                               "confirmed": "1" if day <= TODAY and rng.random() < .9 else "0",
                               fact("invoice_reference_field"): "",
                               "ts": f"{day.isoformat()}T12:00:00", "rows": lines}
                    db.invoices.append(invoice)
                    pay_day = day + dt.timedelta(days=rng.randint(0, 25))
                    if not credit and pay_day <= TODAY and rng.random() < .8:
                        total = net + vat
                        received = total if rng.random() < .9 else (total / 2).quantize(Decimal("0.01"))
                        payer = {"invoice": number, "customer": cust["code"], "customername": cust["name"],
                                 "regno": cust["regno"]}
                        payments[pay_day].append(_receipt_row(payer, pay_day, received, balance=total))
                        rest = total - received
                        second_day = pay_day + dt.timedelta(days=later.randint(5, 40))
                        if rest > 0 and second_day <= TODAY and later.random() < .7:
                            # the rest, or (one time in two) all but a tenth of the invoice
                            second = rest if later.random() < .5 else rest - (total / 10).quantize(Decimal("0.01"))
                            payments[second_day].append(_receipt_row(payer, second_day, second, balance=rest))
            for _ in range(int(rng.randint(4, 14) * intensity)):
                day = dt.date(year, month, rng.randint(1, days))
                supplier = rng.choice(db.customers)["code"] if rng.random() < .2 else rng.choice(suppliers)
                amount = Decimal(rng.randint(1000, 200000)) / 100
                db.purchases.append({"number": str(purchase_no), "supplier": supplier,
                                     "date": day.strftime("%d.%m.%Y"), "sum": _money(amount), "currency": "EUR",
                                     "confirmed": "1" if day <= TODAY and rng.random() < .85 else "0",
                                     "ts": f"{day.isoformat()}T15:00:00"})
                purchase_no += 1
            for _ in range(int(rng.randint(20, 45) * intensity)):
                day = dt.date(year, month, rng.randint(1, days))
                amount = _money(Decimal(rng.randint(100, 500000)) / 100)
                db.transactions.append({"number": str(gl_no), "date": f"{day.isoformat()}T00:00:00",
                                        "description": "Kanne", "ts": f"{day.isoformat()}T18:00:00",
                                        "rows": [{"account": "1200", "debitamount": amount, "creditamount": "0"},
                                                 {"account": "3000", "debitamount": "0", "creditamount": amount}]})
                gl_no += 1
        for day in sorted(payments):
            if day > LAST_DAY:
                continue
            # header fields as the wiki's receipt page lists them (ws_laekumised.xsd has no paymentmode, aeg)
            db.receipts.append({"number": str(receipt_no), "paymentmode": "PANK",
                                fact("receipt_time_field"): f"{day.isoformat()}T00:00:00", "confirmed": "1",
                                "ts": f"{day.isoformat()}T20:00:00", "rows": payments[day]})
            receipt_no += 1
        out[code] = db
    return out


# -- the app -----------------------------------------------------------------------------------------
class SandboxState(Sandbox):
    """``app.extensions["sandbox"]``: knobs, recorded requests and the data store."""

    name = "directo"
    #: Directo's retry advice and its published rate limit (none) as defaults; VAT booked per rate (wire facts
    #: ``retry_after_seconds``, ``published_rate_limit``, ``vat_per_rate``).
    vendor_knobs = {"retry_after": fact("retry_after_seconds"), "rate_limit": fact("published_rate_limit"),
                    "hostile": None, "database_attr": True,
                    "book_vat_rounding": "rate" if fact("vat_per_rate") else "line"}
    knobs_reply_key = "knobs"

    def __init__(self, **knobs: Any) -> None:
        self.tokens = _tokens()
        super().__init__(**knobs)

    def seed(self) -> None:
        self.data = seed()

    def fault_response(self, fault: str) -> Response:
        """Directo's own answers: XML with 429, IIS's HTML 500, a cut-off XML document with 200."""
        if fault == "429":
            return Response("<err>Too many requests</err>", status=429, content_type="text/xml",
                            headers={"Retry-After": str(self.knobs["retry_after"])})
        if fault == "500":
            return Response("<html><body><h1>500 - Internal server error.</h1></body></html>", status=500,
                            content_type="text/html")
        if fault == "garbage":
            return Response('<?xml version="1.0"?><transport><customers><customer code="K00', status=200,
                            content_type="text/xml")
        return super().fault_response(fault)

    def request_key(self, record: Recorded) -> str | None:
        """The access token (form field ``token``), for ``GET /_sandbox/timeline``."""
        return record.form.get(fact("token_field"))


def _xml(root: Element, status: int = 200) -> Response:
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="utf-8", xml_declaration=False)
    return Response(body, status=status, content_type="text/xml; charset=utf-8")


def _err(text: str) -> Response:
    el = Element("err")
    el.text = text
    return _xml(el)


def _unauthorized() -> Response:
    """Directo's answer to an unknown, expired, revoked or component-limited token (wire fact
    ``unauthorized_body``)."""
    return _xml(SafeET.fromstring(fact("unauthorized_body")))


def _token_missing() -> Response:
    """Directo's answer to a request without a token (wire fact ``token_missing_body``)."""
    return _xml(SafeET.fromstring(fact("token_missing_body")))


def _result(results: Element, code: int, desc: str, docid: str | None = None) -> None:
    """One ``<Result>`` of a put answer: a documented code, the documented attributes (wire facts
    ``result_codes``, ``result_attributes``)."""
    assert code in fact("result_codes"), f"Directo documents no Result Type {code}"
    kind, text, docid_attr, doctype = fact("result_attributes")
    attrs = {kind: str(code), text: desc}
    if docid:
        attrs.update({docid_attr: docid, doctype: "INVOICE", "submit": "Invoices"})
    SubElement(results, "Result", attrs)


def _parse_day(value: str) -> dt.date | None:
    text = value.strip().split("T")[0].split(" ")[0]
    for fmt in (fact("filter_date_format"), "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _record_date(record: dict, key: str = "date") -> dt.date | None:
    return _parse_day(record[key]) if record.get(key) else None


HOSTILE = {
    "billion_laughs": (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
        + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
                  for i in range(1, 10))
        + ']>\n<transport><customers><customer code="K1" name="&lol9;"/></customers></transport>'
    ),
    "external_entity": (
        '<?xml version="1.0"?>\n<!DOCTYPE transport [\n <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
        '<transport><customers><customer code="K1" name="&xxe;"/></customers></transport>'
    ),
}


def create_app(**knobs: Any) -> Flask:
    """The sandbox app. See the module docstring for the knobs."""
    state = SandboxState(**knobs)
    app = state.create_app()
    app.config["MAX_CONTENT_LENGTH"] = fact("max_post_bytes")  # "the whole post must be ≤ 19 MB" (D1)

    def rate_limited(token: str) -> Response | None:
        verdict = state.take_rate(token)
        if verdict is None or verdict.allowed:
            return None
        return Response("<err>Too many requests</err>", status=429, content_type="text/xml",
                        headers={"Retry-After": str(verdict.retry_after)})

    @app.post(PATH)
    def xml_direct():  # noqa: ANN202
        if request.host.split(":")[0].lower() != HOST:
            return Response("<html><body>404 Not Found</body></html>", status=404, content_type="text/html")
        token = request.form.get(fact("token_field"), "")
        if not token:
            return _token_missing()
        if (limited := rate_limited(token)) is not None:
            return limited
        hostile = state.knobs.get("hostile")
        if hostile in HOSTILE:
            return Response(HOSTILE[hostile], content_type="text/xml")
        info = state.tokens.get(token)
        if info is None or info.status != "active":
            return _unauthorized()
        get, component = fact("read_fields")
        put = fact("write_fields")[0]
        what = request.form.get(component, "").strip().lower()
        if info.components is not None and what not in info.components:
            return _unauthorized()
        with state.lock:
            db = state.data[info.database]
            if request.form.get(get) == "1":
                return _get(db, what, request.form)
            if request.form.get(put) == "1":
                return _put(db, what, request.form)
        return _err("get=1 or put=1 required")

    def _transport(db: Database) -> Element:
        code, name = fact("transport_database_attributes")
        attrs = {code: db.code, name: db.name} if state.knobs.get("database_attr", True) else {}
        return Element("transport", attrs)

    def _get(db: Database, what: str, form: Any) -> Response:
        if what not in fact("components"):
            return _err(f"unknown component: {what[:40]}")
        bounds = {}
        for key in ("date1", "date2", "ts"):
            if form.get(key):
                day = _parse_day(form[key])
                if day is None:
                    return _err(f"invalid {key}: use dd.mm.yyyy")
                bounds[key] = day
        root = _transport(db)

        def keep(record: dict, date_key: str = "date") -> bool:
            if form.get("code") and record.get("code") != form["code"]:
                return False
            if form.get("number") and record.get("number") != form["number"]:
                return False
            if "ts" in bounds and _parse_day(record.get("ts", "")) and _parse_day(record["ts"]) < bounds["ts"]:
                return False
            day = _record_date(record, date_key) if date_key else None
            if "date1" in bounds and (day is None or day < bounds["date1"]):
                return False
            if "date2" in bounds and (day is None or day > bounds["date2"]):
                return False
            return True

        def emit(parent: Element, tag: str, record: dict, children: tuple[str, ...] = ()) -> None:
            el = SubElement(parent, tag, {k: str(v) for k, v in record.items() if k != "rows" and v != ""})
            for child in children:  # ws_kliendid/ws_artiklid.xsd: <datafields/> (and <supplieritems/>) always
                SubElement(el, child)
            if "rows" in record:
                rows_el = SubElement(el, "rows")
                for row in record["rows"]:
                    SubElement(rows_el, "row", {k: str(v) for k, v in row.items()})

        # customers and items inside their plural container (wire fact ``containers``, D2 fixtures), invoices in
        # <invoices> [INF]; purchases, receipts and transactions straight under <transport> (D2 receipts fixture)
        container = {**fact("containers"), "invoice": "invoices"}.get(what)
        parent = SubElement(root, container) if container else root
        # the period filters: receipts by their time (D1 receipt page), the other documents by their date
        # (wire fact ``period_filters_on_every_document``); customers and items have no period
        dated = {"receipt": fact("receipt_time_field"), **dict.fromkeys(fact("period_filters_on_every_document"),
                                                                         "date")}
        children = {"customer": ("datafields",), "item": ("datafields", "supplieritems")}.get(what, ())
        source = {"customer": db.customers, "item": db.items, "invoice": db.invoices, "purchase": db.purchases,
                  "receipt": db.receipts, "transaction": db.transactions}[what]
        for rec in source:
            if keep(rec, date_key=dated.get(what, "")):
                emit(parent, what, rec, children)
        return _xml(root)

    def _put(db: Database, what: str, form: Any) -> Response:
        results = Element("results")
        if what != "invoice":
            _result(results, 99, f"No processable XML for {what[:40]}")
            return _xml(results)
        xmldata = form.get(fact("write_fields")[2], "")
        try:
            doc = SafeET.fromstring(xmldata.encode("utf-8"), forbid_dtd=True)
        except (ParseError, DefusedXmlException, ValueError):
            _result(results, 8, "Invalid XML")
            return _xml(results)
        document = fact("invoice_put_elements")[1]
        invoices = [doc] if doc.tag == document else [el for el in doc if el.tag == document]
        if not invoices:
            _result(results, 99, "No processable XML")
            return _xml(results)
        for el in invoices:
            code, desc, docid = _put_invoice(db, el, update=form.get(fact("update_needs_xd_update")) == "1",
                                             vat_rounding=state.knobs["book_vat_rounding"])
            _result(results, code, desc, docid)
        return _xml(results)

    return app


def _put_invoice(db: Database, el: Element, *, update: bool, vat_rounding: str = "rate") -> tuple[int, str, str | None]:
    """One ``<invoice>`` of a put: ``(Type, Desc, docid)``.

    A row without ``vatcode`` is booked at the item's code, else Directo's default ``1`` (wire fact
    ``default_vat_without_vatcode``). VAT is counted once per VAT code on the sum of its rows' nets, rounded
    half-up (wire fact ``vat_per_rate``, assumed); the ``book_vat_rounding="line"`` knob books it per row instead.
    A buyer put inline with its registration code needs no customer code (``inline_customer_avoids_type_13``);
    an inline buyer that is a private person (``customer_type="1"``) needs no registration code either."""
    a = el.attrib
    number = a.get("number", "").strip()
    if not number:  # the number is mandatory (D1 input pages; Type 12 "missing document id")
        return 12, "Missing document id (number)", None
    if not number.isdigit() or not 0 < int(number) <= fact("max_document_number"):
        return 9, f"Invalid document number {number[:20]}", None
    existing = db.invoice(number)
    if existing is not None:
        if existing["confirmed"] == "1":
            return 14, "Document is confirmed, update not allowed", number
        if not update:
            return 11, "Duplicate document number", number
    customer = db.customer(a.get("customercode"))
    inline = bool(a.get("customer_regno")) and fact("inline_customer_avoids_type_13")
    if a.get("customercode") and customer is None and not inline:
        return 13, f"Customer {a['customercode'][:20]} not found", None
    private = a.get(fact("invoice_buyer_type_field")) == fact("buyer_type_values")["private"]
    if customer is None and not inline and not (private and a.get("customername")):
        return 13, "Missing customer code or regno", None
    if not ((customer or {}).get("email") or a.get("email")):
        return 13, "Missing customer e-mail", None
    day = _parse_day(a.get("date", ""))
    if day is None:
        return 9, "Invalid or missing date", None
    rows_el = [r for r in el.iter(fact("invoice_put_elements")[3])]
    if not rows_el:
        return 9, "Document has no rows", None
    lines, net, vat = [], Decimal("0"), Decimal("0")
    net_by_code: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows_el:
        r = row.attrib
        if r.get("item") and db.item(r["item"]) is None:
            return 9, f"Item {r['item'][:30]} not found", None
        vatcode = r.get("vatcode") or ""
        if not vatcode and fact("default_vat_without_vatcode"):  # the item's code, else the database's default
            vatcode = (db.item(r.get("item")) or {}).get("vatcode") or "1"
        if vatcode not in VAT_CODES:
            return 9, f"VAT code {vatcode[:10]} not found", None
        try:
            qty, price = Decimal(r.get("quantity", "")), Decimal(r.get("price", ""))
        except InvalidOperation:
            return 9, "Invalid number in quantity or price (use . as the decimal separator)", None
        row_net = (qty * price).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        net += row_net
        net_by_code[vatcode] += row_net
        vat += (row_net * VAT_CODES[vatcode] / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        lines.append({**r, "vatcode": vatcode})
    if vat_rounding != "line":
        vat = sum(((n * VAT_CODES[c] / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                   for c, n in net_by_code.items()), Decimal("0"))
    record = {"number": number, "customer": (customer or {}).get("code", a.get("customercode", "")),
              "customername": a.get("customername") or (customer or {}).get("name", ""),
              "customer_regno": a.get("customer_regno") or (customer or {}).get("regno", ""),
              fact("invoice_buyer_type_field"): a.get(fact("invoice_buyer_type_field"), ""),
              "date": day.isoformat(), "duedate": a.get("duedate", ""), "currency": a.get("currency", "EUR"),
              "sum": _money(net), "vat": _money(vat), "total": _money(net + vat),
              "confirmed": "1" if a.get("confirm") == "1" else "0",
              fact("invoice_reference_field"): a.get(fact("invoice_reference_field"), ""),
              "ts": f"{TODAY.isoformat()}T12:00:00", "rows": lines}
    existing = db.invoice(number)
    if existing is not None:
        existing.update(record)
    else:
        db.invoices.append(record)
        db.created_invoices.append(number)
    return 0, "OK", number
