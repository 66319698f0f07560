"""The SmartAccounts API client: signing, reads and writes, paging, error mapping (public-apis.md §4), and what
the hooks do on top of it — VAT types, articles, statistics, invoice export and find — mapped to and from
:mod:`hub.types`.

Every request goes through ``ctx.http``. The wire protocol, as the public clients (A1 ``smartman``,
A2 ``mobitrek``, A4 Laravel connector, Konekt WooCommerce) agree:

* ``https://sa.smartaccounts.eu/api/{module}/{entity}:{verb}?apikey=…&timestamp=…[&params…]&signature=…``
* ``timestamp`` = ``ddMMyyyyHHmmss`` in Europe/Tallinn local time, fresh for every request.
* ``signature`` = lowercase hex HMAC-SHA256 keyed with the API secret over the query string exactly as
  sent (without ``signature``) followed by the raw JSON body when there is one.
* ``:get`` reads are sent as GET without a body (A2, A4); if the API answers 405 the client switches to
  A1's style (POST with the body ``{}``) for this account. ``:add`` writes are POST with a JSON body.
* A list answer carries its rows under a key of its own (``clientInvoices``, ``vendorInvoices``, …) next to
  a ``deleted`` array and ``hasMoreEntries``; the key of each endpoint is a wire fact.
* Throttling is answered 503 with ``Retry-After`` (A3): every request names that status to ``ctx.http``
  (``throttle_statuses``), which turns it into ``RateLimited`` honouring the wait.

Every fact relied on here is in :mod:`hub_smartaccounts.wire`, with its source.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import httpx

from hub.errors import AuthError, ConfigError, NotSupported, TransientError, VendorRejected
from hub.types import (
    BookedInvoice,
    BookedLine,
    Context,
    ExportReceipt,
    Invoice,
    InvoiceParty,
    Period,
    Product,
    StatisticField,
    Statistics,
    TaxRate,
)

from .wire import fact, list_key

BASE_URL: str = fact("base_url")
TALLINN = ZoneInfo(fact("timestamp_zone"))
TIMESTAMP_FORMAT: str = fact("timestamp_format")
DATE_FORMAT: str = fact("date_format")
PAGE_PARAM: str = fact("page_param")
MORE_KEY: str = fact("more_key")
THROTTLE_STATUS: int = fact("throttle_status")
#: Stop paging after this many pages of one list: a safety net against an API that never says "no more".
MAX_PAGES = 500
READ_METHOD_CACHE_KEY = "read_method"

SECRET_HINT = ("Check that the API key and the API secret were both pasted in full. SmartAccounts shows the secret "
               "only once, when the key pair is generated: if you no longer have it, generate a new API key pair "
               "in SmartAccounts (Settings → API) and paste both the new key and the new secret.")


def format_date(day: dt.date) -> str:
    """SmartAccounts dates: ``dd.MM.yyyy``."""
    return day.strftime(DATE_FORMAT)


def parse_date(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(str(text), DATE_FORMAT).date()
    except ValueError:
        return None


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # shortest round-trip repr: Decimal("12.50") -> 12.5, decimal point "."
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(payload: Any) -> str:
    """The exact JSON text sent (and signed)."""
    return json.dumps(payload, separators=(",", ":"), default=_json_default)


def vendor_errors(response: httpx.Response) -> list[dict]:
    """The error list of an error answer, as ``[{"code", "message", "field"}]`` (tolerant: the error body is not
    documented; Konekt reads ``errors[].message``, wire facts ``error_body`` and ``error_codes_and_fields``)."""
    errors_key, message_key = fact("error_body")
    code_key, field_key = fact("error_codes_and_fields")
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return [{"code": "", "message": text[:200], "field": ""}] if text and "<" not in text[:1] else []
    items: list[Any]
    if isinstance(body, dict) and isinstance(body.get(errors_key), list):
        items = body[errors_key]
    elif isinstance(body, dict) and isinstance(body.get(errors_key), dict):
        items = [{field_key: k, message_key: m} for k, v in body[errors_key].items()
                 for m in (v if isinstance(v, list) else [v])]
    elif isinstance(body, dict):
        items = [body]
    elif isinstance(body, list):
        items = body
    else:
        items = [str(body)]
    out = []
    for item in items:
        if isinstance(item, dict):
            message = (item.get(message_key) or item.get("error") or item.get("description") or item.get(code_key)
                       or "")
            out.append({"code": str(item.get(code_key) or item.get("errorCode") or ""), "message": str(message),
                        "field": str(item.get(field_key) or item.get("property") or "")})
        else:
            out.append({"code": "", "message": str(item), "field": ""})
    return [e for e in out if e["message"] or e["code"]]


class SmartAccountsApi:
    """One SmartAccounts company (an API key pair) reached through ``ctx.http``."""

    def __init__(self, ctx: Context, credentials: dict) -> None:
        self.ctx = ctx
        self.api_key = credentials["api_key"]
        self.api_secret = credentials["api_secret"]

    # -- signing -------------------------------------------------------------------------------------------
    def timestamp(self) -> str:
        return self.ctx.now().astimezone(TALLINN).strftime(TIMESTAMP_FORMAT)

    def signed_url(self, endpoint: str, params: dict[str, Any] | None, body: str) -> str:
        """The full URL: ``apikey``, ``timestamp`` (wire fact ``query_auth_order``), the other parameters in order,
        then ``signature``: the HMAC of the query string and the body (wire fact ``signature``)."""
        key_param, time_param = fact("query_auth_order")
        pairs = [(key_param, self.api_key), (time_param, self.timestamp())]
        pairs += [(k, _param(v)) for k, v in (params or {}).items() if v is not None]
        query = urlencode(pairs, quote_via=quote, safe="")
        signing = fact("signature")
        signature = hmac.new(self.api_secret.encode("utf-8"), (query + body).encode("utf-8"),
                             signing["hmac"]).hexdigest()
        return f"{BASE_URL}{endpoint}?{query}&{signing['param']}={signature}"

    # -- requests ------------------------------------------------------------------------------------------
    def _send(self, method: str, endpoint: str, params: dict[str, Any] | None, payload: Any) -> httpx.Response:
        body = "" if payload is None else dumps(payload)
        url = self.signed_url(endpoint, params, body)
        headers = {"Accept": "application/json"}
        throttled = (THROTTLE_STATUS,)  # 503 + Retry-After is SmartAccounts saying "too many requests"
        if payload is None:
            return self.ctx.http.request(method, url, headers=headers, throttle_statuses=throttled)
        headers["Content-Type"] = "application/json"
        return self.ctx.http.request(method, url, headers=headers, content=body.encode("utf-8"),
                                     throttle_statuses=throttled)

    def read(self, endpoint: str, **params: Any) -> dict:
        """A ``:get`` call. GET without a body; POST with ``{}`` if the API refuses GET (405) (wire fact
        ``read_method``: the first choice, then the fallback)."""
        first, fallback = fact("read_method")
        method = self.ctx.cache.get(READ_METHOD_CACHE_KEY) or first
        response = self._send(method, endpoint, params, None if method == "GET" else {})
        if response.status_code == 405:
            method = fallback if method == first else first
            response = self._send(method, endpoint, params, None if method == "GET" else {})
            if response.status_code != 405:
                self.ctx.cache.set(READ_METHOD_CACHE_KEY, method, 86400)
        return self._check(response, endpoint)

    def write(self, endpoint: str, payload: dict) -> dict:
        """An ``:add`` / ``:edit`` call: POST with a signed JSON body."""
        return self._check(self._send("POST", endpoint, None, payload), endpoint)

    def pages(self, endpoint: str, **params: Any) -> Iterator[dict]:
        """Every row of a paged list (under the endpoint's own key), page 1 until ``hasMoreEntries`` is false."""
        for page in range(1, MAX_PAGES + 1):
            body = self.read(endpoint, **params, **{PAGE_PARAM: page})
            items = list_of(body, list_key(endpoint), endpoint)
            yield from items
            if not body.get(MORE_KEY) or not items:
                return
        raise TransientError(f"SmartAccounts kept answering more pages of {endpoint} after {MAX_PAGES} pages.",
                             hint="The hub will try again later.")

    # -- answers -------------------------------------------------------------------------------------------
    def _check(self, response: httpx.Response, endpoint: str) -> dict:
        status = response.status_code
        if status in (200, 201):
            try:
                body = response.json()
            except ValueError:
                raise TransientError(f"SmartAccounts answered {endpoint} with something that is not JSON.",
                                     hint="This is usually a temporary fault at SmartAccounts; the hub will "
                                          "try again later.") from None
            if not isinstance(body, dict):
                raise TransientError(f"SmartAccounts answered {endpoint} with unexpected JSON.",
                                     hint="The hub will try again later.")
            return body
        errors = vendor_errors(response)
        said = "; ".join(e["message"] for e in errors if e["message"])[:300]
        codes = " ".join(e["code"] for e in errors).upper()
        if status in (401, 403) and ("TIMESTAMP" in codes or "timestamp" in said.lower()):
            raise TransientError("SmartAccounts refused the request time (timestamp). The hub server's clock may "
                                 "be off.", hint="The hub will try again; if this persists, tell your hub operator.")
        if status == 401:
            raise AuthError("SmartAccounts did not accept the API key and secret"
                            + (f" ({said})." if said else "."), hint=SECRET_HINT)
        if status == 403:
            raise AuthError("SmartAccounts refused access for this API key"
                            + (f" ({said})." if said else ".")
                            + " The key may have been revoked or the company's SmartAccounts subscription may have "
                              "ended.",
                            hint="Check the company's subscription in SmartAccounts, then generate a new API key "
                                 "pair (Settings → API) and paste both the key and the secret.")
        if status in (404, 405):
            raise NotSupported(f"SmartAccounts does not offer {endpoint} for this company (HTTP {status}).",
                               hint="Check that the company has API access enabled in SmartAccounts.")
        field_messages: dict[str, list[str]] = {}
        for error in errors:
            field_messages.setdefault(error["field"], []).append(error["message"] or error["code"])
        rejected = VendorRejected(f"SmartAccounts refused {endpoint} (HTTP {status})"
                                  + (f": {said}" if said else "."), field_messages=field_messages)
        rejected.vendor_errors = errors  # codes kept for callers (e.g. "already exists" on export)
        raise rejected


def list_of(body: dict, key: str, endpoint: str) -> list[dict]:
    """The rows under ``key`` (the endpoint's own list key, a wire fact). Nothing else is taken for them: the
    ``deleted`` array beside them is not a list of rows. An answer with no list at all (an empty page that
    only says ``hasMoreEntries``) has no rows."""
    items = body.get(key)
    if items is None and not any(isinstance(v, list) for v in body.values()) and MORE_KEY in body:
        items = []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        seen = ", ".join(sorted(str(k) for k in body)) or "nothing"
        raise TransientError(f"SmartAccounts answered {endpoint} without the expected list of {key} "
                             f"(the answer has: {seen}).", hint="The hub will try again later.")
    return items


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return format_date(value)
    return str(value)


# -- statistics ------------------------------------------------------------------------------------------------
STATISTIC_FIELDS = (
    StatisticField("sale_entries", "Sale entries",
                   "Sales invoices (credit invoices included) dated in the month, by invoice date."),
    StatisticField("purchase_entries", "Purchase entries",
                   "Purchase invoices dated in the month, by invoice date."),
    StatisticField("bank_entries", "Bank entries",
                   "Payments booked on a bank account, from clients and to vendors alike, by payment date."),
    StatisticField("documents", "Documents",
                   "Every document booked in the general ledger in the month, whatever its type (invoices, "
                   "payments, manual entries…), by entry date."),
    StatisticField("cash_entries", "Cash entries",
                   "Payments booked on a cash account, by payment date.", advanced=True),
    StatisticField("manual_entries", "Manual ledger entries",
                   "Entries made by hand in the general ledger, by entry date.",
                   advanced=True),
)
STATISTIC_KEYS = tuple(f.key for f in STATISTIC_FIELDS)

#: The four lists read once each over the whole window (each answers under its own key: :func:`list_key`).
SALES, PURCHASES, PAYMENTS, ENTRIES = ("purchasesales/clientinvoices:get", "purchasesales/vendorinvoices:get",
                                       "purchasesales/payments:get", "general/entries:get")
STATISTIC_LISTS = (SALES, PURCHASES, PAYMENTS, ENTRIES)


def date_window(endpoint: str, first: dt.date, last: dt.date) -> dict[str, str]:
    """The date filter of a list read from ``first`` to ``last`` (wire fact ``date_filters``). It is sourced on the
    ledger entries; on the document lists it is assumed (``date_filters_on_document_lists``): where it is not
    there the whole list is read, and the rows are still taken by their own date."""
    if endpoint != ENTRIES and not fact("date_filters_on_document_lists"):
        return {}
    date_from, date_to = fact("date_filters")
    return {date_from: format_date(first), date_to: format_date(last)}


def fetch_statistics(api: SmartAccountsApi, periods: list[Period]) -> Statistics:
    """One paged read of each list over the whole window (``dateFrom`` = first day of the oldest month,
    ``dateTo`` = last day of the newest), bucketed by month on the document's ``date``."""
    result: Statistics = {p: dict.fromkeys(STATISTIC_KEYS, 0) for p in periods}
    if not periods:
        return result
    first, last = min(periods).first_day, max(periods).last_day
    for endpoint in STATISTIC_LISTS:
        for item in api.pages(endpoint, **date_window(endpoint, first, last)):
            day = parse_date(item.get("date", ""))
            if day is None:
                raise TransientError(f"SmartAccounts answered {endpoint} with an unreadable date.",
                                     hint="The hub will try again later.")
            bucket = result.get(Period.of(day))
            if bucket is None:
                continue
            if endpoint == SALES:
                bucket["sale_entries"] += 1
            elif endpoint == PURCHASES:
                bucket["purchase_entries"] += 1
            elif endpoint == PAYMENTS:
                account_type = str(item.get(fact("payment_account_type_field")) or "").upper()
                if account_type == "BANK":
                    bucket["bank_entries"] += 1
                elif account_type == "CASH":
                    bucket["cash_entries"] += 1
            else:
                bucket["documents"] += 1
                if item.get("docType") == fact("manual_entry_doc_type"):
                    bucket["manual_entries"] += 1
    return result


# -- VAT types -------------------------------------------------------------------------------------------------
def vat_percent(item: dict) -> Decimal | None:
    """The rate of a VAT pc: ``pc`` (A3) or ``percent`` (A5), the two documented spellings."""
    for name in (*fact("vat_percent_fields"), "vatPercent"):
        if item.get(name) is not None:
            try:
                return Decimal(str(item[name]))
            except InvalidOperation:
                return None
    return None


def vat_pcs(api: SmartAccountsApi) -> list[dict]:
    endpoint = "settings/vatpcs:get"
    return list_of(api.read(endpoint), list_key(endpoint), endpoint)


def tax_rates(api: SmartAccountsApi) -> list[TaxRate]:
    out = []
    for item in vat_pcs(api):
        code = str(item.get("vatPc") or "")
        rate = vat_percent(item)
        if not code or rate is None:
            continue
        name = item.get("descriptionEn") or item.get("descriptionEt") or f"VAT {rate}%"
        out.append(TaxRate(id=code, code=code, name=str(name), rate=rate))
    return out


# -- articles (products) ---------------------------------------------------------------------------------------
ARTICLES_GET, ARTICLES_ADD = "purchasesales/articles:get", "purchasesales/articles:add"
#: The article a row without a mapped product code is booked on (every row carries an article code: A1, Konekt).
#: The operator may name one of their own with ``HUB_SMARTACCOUNTS_DEFAULT_ARTICLE``.
DEFAULT_ARTICLE = {"code": "UKU", "description": "Uku invoice line", "type": "SERVICE", "activeSales": True}
ARTICLE_CACHE_TTL = 86400


def _money(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def products(api: SmartAccountsApi) -> list[Product]:
    """The articles active for sales (``purchasesales/articles:get``, paged): what the hub maps its product
    codes to, so a mapped line arrives with a SmartAccounts article code."""
    out = []
    for item in api.pages(ARTICLES_GET):
        code = str(item.get("code") or "").strip()
        if not code or item.get("activeSales") is False:
            continue
        out.append(Product(id=code, code=code, name=str(item.get("description") or code),
                           unit_price=_money(item.get("priceSales")), unit=item.get("unit") or None,
                           tax_id=str(item["vatPc"]) if item.get("vatPc") not in (None, "") else None))
    return out


def default_article(api: SmartAccountsApi) -> str:
    """The code of the article for rows without a mapped product: looked up by ``code`` and created
    (``purchasesales/articles:add``, a sales SERVICE) when the company does not have it yet, as the vendor's own
    WooCommerce plugin does. Remembered for a day per company."""
    code = str(api.ctx.settings.get("default_article") or DEFAULT_ARTICLE["code"]).strip()
    key = f"article:{code}"
    if api.ctx.cache.get(key):
        return code
    def exists() -> bool:
        found = api.pages(ARTICLES_GET, **{fact("article_search_param"): code})
        return any(str(a.get("code")) == code for a in found)

    if not exists():
        try:
            api.write(ARTICLES_ADD, {**DEFAULT_ARTICLE, "code": code})
        except VendorRejected as exc:
            if exists():  # another export created it a moment ago
                api.ctx.cache.set(key, True, ARTICLE_CACHE_TTL)
                return code
            raise ConfigError(f"SmartAccounts would not create the article {code!r} that invoice lines without a "
                              f"product are booked on: {exc.message}",
                              hint=f"Create an article with code {code} (a sales service) in SmartAccounts, or "
                                   "map the hub's products to SmartAccounts articles, then export again.") from None
    api.ctx.cache.set(key, True, ARTICLE_CACHE_TTL)
    return code


# -- invoice export --------------------------------------------------------------------------------------------
def reference_comment(invoice: Invoice) -> str:
    """The internal comment that carries the hub's reference (found again by :func:`find_invoice`)."""
    return f"Uku ref {invoice.reference}"


def _same_reg(a: str | None, b: str | None) -> bool:
    return bool(a and b) and a.replace(" ", "").upper() == b.replace(" ", "").upper()


def address_lines(street: str | None) -> tuple[str | None, str | None]:
    """``address1`` and ``address2`` of a street, each at most 64 characters (wire fact ``address_line_max``): what
    does not fit the first line goes on the second (at a space when there is one), and the rest is cut, as
    SmartAccounts' own shop plugin cuts it. The full address stays in the hub."""
    limit = fact("address_line_max")
    street = " ".join((street or "").split())
    if len(street) <= limit:
        return street or None, None
    cut = street.rfind(" ", 0, limit + 1)
    cut = cut if cut > 0 else limit
    return street[:cut].rstrip(), street[cut:].strip()[:limit].rstrip() or None


def find_or_create_client(api: SmartAccountsApi, party: InvoiceParty) -> str:
    """The SmartAccounts client id of the buyer: the linked id, else a client with the same registry code (or,
    without one, the same name), else a new client."""
    if party.vendor_client_id:
        return str(party.vendor_client_id)
    needle = party.reg_code or party.name
    for item in api.pages("purchasesales/clients:get", **{fact("client_search_param"): needle}):
        if party.reg_code and _same_reg(item.get("regCode"), party.reg_code):
            return str(item["id"])
        if not party.reg_code and str(item.get("name", "")).strip().casefold() == party.name.strip().casefold():
            return str(item["id"])
    payload: dict = {"name": party.name}
    if party.reg_code:
        payload["regCode"] = party.reg_code
    if party.vat_no:
        payload["vatNumber"] = party.vat_no
    if party.address:
        line1, line2 = address_lines(party.address.street)
        address = {"country": party.address.country, "city": party.address.city,
                   "address1": line1, "address2": line2, "postalCode": party.address.postal_code}
        payload["address"] = {k: v for k, v in address.items() if v}
    if party.email:
        payload["contacts"] = [{"type": "EMAIL", "value": party.email}]
    body = api.write("purchasesales/clients:add", payload)
    client_id = body.get(fact("client_add_answer"))
    if client_id is None:
        raise TransientError("SmartAccounts created the client but did not say its id.",
                             hint="The hub will try again later.")
    return str(client_id)


def _vat_code_for(rate: Decimal, codes: Iterable[dict]) -> str | None:
    """The first VAT pc active for sales with this rate (prefers a code equal to the bare number, e.g. ``24``)."""
    matches = [str(c.get("vatPc")) for c in codes
               if c.get("activeSales", True) is not False and vat_percent(c) == rate and c.get("vatPc") is not None]
    bare = format(rate.normalize(), "f")
    return bare if bare in matches else (matches[0] if matches else None)


def invoice_rows(api: SmartAccountsApi, invoice: Invoice) -> list[dict]:
    """The ``rows`` of ``clientinvoices:add``. Every row carries an article ``code`` (wire fact
    ``row_article_code_required``): the line's mapped product code (a SmartAccounts article, via the hub's product
    mapping), else :func:`default_article`."""
    codes: list[dict] | None = None
    rows = []
    problems: dict[str, list[str]] = {}
    for i, line in enumerate(invoice.lines):
        vat = line.tax_id
        if not vat:
            codes = vat_pcs(api) if codes is None else codes
            vat = _vat_code_for(line.vat_rate, codes)
            if vat is None:
                problems.setdefault(f"lines[{i}].tax_id", []).append(
                    f"SmartAccounts has no VAT type for {line.vat_rate}% active for sales; map a VAT type to this "
                    "rate in the integration settings.")
                continue
        row: dict = {"code": line.product_code or None, "description": line.description,
                     "quantity": line.quantity, "price": line.unit_price, "vatPc": vat}
        if line.unit:
            row["unit"] = line.unit
        rows.append(row)
    if problems:
        raise VendorRejected("The invoice cannot be sent to SmartAccounts.", field_messages=problems)
    if fact("row_article_code_required") and any(row["code"] is None for row in rows):
        default = default_article(api)
        for row in rows:
            row["code"] = row["code"] or default
    return rows


def _receipt(item: dict, already_existed: bool, booked: BookedInvoice | None = None) -> ExportReceipt:
    """The receipt of ``clientinvoices:add``'s answer (wire fact ``invoice_add_answer``) or of a listed invoice."""
    id_key, number_key = fact("invoice_add_answer")
    invoice_id = item.get(id_key, item.get("id"))
    number = item.get(number_key) or item.get("number")
    return ExportReceipt(vendor_invoice_id=str(invoice_id), number=str(number) if number else None,
                         already_existed=already_existed, booked=booked)


CENT = Decimal("0.01")


def booked_invoice(item: dict, rates: dict[str, Decimal]) -> BookedInvoice | None:
    """What SmartAccounts booked, from its own ``clientinvoices:get`` row (with its rows): ``amount`` (net),
    ``vatAmount``, ``totalAmount``, ``currency``, the client's name and registry code, and per row its net and VAT
    in cents (``totalCents``, ``taxCents``) with the percent of its ``vatPc``. ``None`` without totals. The field
    names are assumed (wire facts ``invoice_list_totals``, ``invoice_list_row_cents``)."""
    net_key, vat_key, total_key, currency_key = fact("invoice_list_totals")
    net, vat, total = (_money(item.get(key)) for key in (net_key, vat_key, total_key))
    if net is None or vat is None or total is None:
        return None
    net, vat, total = (value.quantize(CENT) for value in (net, vat, total))
    net_cents, vat_cents = fact("invoice_list_row_cents")
    lines = []
    for row in item.get("rows") or []:
        if not isinstance(row, dict) or row.get(net_cents) is None:
            continue
        lines.append(BookedLine(net=Decimal(int(row[net_cents])) / 100,
                                vat=Decimal(int(row[vat_cents])) / 100 if row.get(vat_cents) is not None else None,
                                vat_rate=rates.get(str(row.get("vatPc"))), description=row.get("description")))
    client = item.get("client") if isinstance(item.get("client"), dict) else {}
    return BookedInvoice(currency=str(item.get(currency_key) or ""), total_net=net, total_vat=vat, total=total,
                         lines=tuple(lines), buyer_code=client.get("regCode") or None,
                         buyer_name=client.get("name") or None)


def _booked(api: SmartAccountsApi, item: dict) -> BookedInvoice | None:
    if any(_money(item.get(key)) is None for key in fact("invoice_list_totals")[:3]):
        return None  # no totals in the answer: nothing to read back (and no VAT pcs to ask for)
    rates = {str(c.get("vatPc")): pc for c in vat_pcs(api) if (pc := vat_percent(c)) is not None}
    return booked_invoice(item, rates)


def find_invoice(api: SmartAccountsApi, invoice: Invoice) -> ExportReceipt | None:
    """The sales invoice created for ``invoice`` by an earlier attempt: same issue date and invoice number, with
    the hub's reference in its comment (or, if SmartAccounts does not return comments, the same number)."""
    marker = reference_comment(invoice)
    params = {**date_window(SALES, invoice.issue_date, invoice.issue_date),
              fact("invoice_list_filter_number"): invoice.number,
              fact("invoice_list_rows_param"): "true"}  # the rows too, for the read-back of what was booked
    for item in api.pages(SALES, **params):
        if "comment" in item:
            if marker in str(item.get("comment") or ""):
                return _receipt(item, True, _booked(api, item))
        elif str(item.get("invoiceNumber")) == invoice.number:
            return _receipt(item, True, _booked(api, item))
    return None


DUPLICATE_MARKERS = ("EXISTS", "DUPLICATE", "ALREADY")


def export_invoice(api: SmartAccountsApi, invoice: Invoice) -> ExportReceipt:
    client_id = find_or_create_client(api, invoice.client)
    payload: dict = {
        "clientId": int(client_id) if client_id.isdigit() else client_id,
        "date": format_date(invoice.issue_date),
        "dueDate": format_date(invoice.due_date),
        "currency": invoice.currency.upper(),
        "invoiceNumber": invoice.number,
        "comment": reference_comment(invoice),
        "rows": invoice_rows(api, invoice),
    }
    if invoice.notes:
        payload["invoiceNote"] = invoice.notes
    try:
        body = api.write("purchasesales/clientinvoices:add", payload)
    except VendorRejected as exc:
        errors = getattr(exc, "vendor_errors", [])
        duplicate = any(any(m in f"{e['code']} {e['message']}".upper() for m in DUPLICATE_MARKERS)
                        and (e["field"] == "invoiceNumber" or "INVOICE" in f"{e['code']} {e['message']}".upper())
                        for e in errors)
        if duplicate:
            found = find_invoice(api, invoice)
            if found is not None:
                return found
            exc.message = (f"SmartAccounts already has a different invoice numbered {invoice.number}. "
                           "Change the invoice number series in Uku or in SmartAccounts.")
            exc.args = (exc.message,)
        raise
    if body.get(fact("invoice_add_answer")[0]) is None:
        raise TransientError("SmartAccounts accepted the invoice but did not say its id.",
                             hint="The hub will look it up before trying again.")
    return _receipt(body, False)

