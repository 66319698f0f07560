"""The Merit Aktiva API client, on ``ctx.http`` (public-apis.md §3; the facts it relies on: :mod:`hub_merit.wire`).

* Hosts per country: Estonia ``aktiva.merit.ee``, Finland ``app.passelimerit.fi`` (or the legacy
  ``aktiva.meritaktiva.fi``), Poland ``program.360ksiegowosc.pl``; paths ``/api/v1/<endpoint>`` (``v2`` where
  only v2 has what the hub needs: ``v2/getpayments`` links a payment to the invoices it pays).
* Every call is a POST with a JSON body and three query parameters: ``ApiId``, ``timestamp`` (UTC
  ``yyyyMMddHHmmss``) and ``signature`` = base64(HMAC-SHA256(key = API key string as-is,
  data = ApiId + timestamp + exact body bytes)), URL-encoded. The signing runs as an ``httpx.Auth`` flow, so
  every attempt (including ``ctx.http``'s own 429 retries) gets a fresh timestamp and signature.
* List endpoints take windows of at most 3 months; :func:`windows` splits a range into the fewest windows.
* The hub's invoice as Merit's ``sendinvoice`` body (:func:`build_invoice_payload`), and Merit's answers as hub
  types (:func:`booked_invoice`, :func:`payment_links`): the hooks in :mod:`hub_merit` only put these together.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import html
import json
import re
from collections.abc import Callable, Generator, Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import httpx

from hub.errors import AuthError, ConfigError, TransientError, VendorRejected
from hub.types import BookedInvoice, BookedLine, Invoice, InvoiceParty
from hub_merit.wire import fact

BASES: dict[str, str] = fact("hosts")
COUNTRY_NAMES = {"EE": "Estonia", "FI": "Finland", "FI-LEGACY": "Finland (legacy host)", "PL": "Poland"}
#: The widest list window the API allows (PeriodStart..PeriodEnd).
WINDOW_MONTHS: int = fact("list_window_months")
#: Endpoints whose payload carries the caller's data: a 200 stack trace there is a refusal of that data
#: (Merit: "the payload made no sense"), not a fault worth retrying. Read endpoints get the hub's own fixed
#: payloads, so a stack trace there is treated as Merit's trouble and retried.
DATA_ENDPOINTS = frozenset({fact("endpoint_send_invoice")})

AUTH_HINT = ("Check the credentials: copy the API ID and the API key again from Merit Aktiva → Settings → API "
             "settings (if the key was reset there, the old one no longer works) and paste them without spaces. "
             "Also check that the country is right: Estonia, Finland and Poland are separate Merit services and "
             "credentials of one do not work on another.")


def sign(api_id: str, api_key: str, timestamp: str, body: bytes) -> str:
    """Merit's signature: base64 HMAC-SHA256 keyed with the API key string over ApiId + timestamp + body."""
    data = api_id.encode("utf-8") + timestamp.encode("utf-8") + body
    return base64.b64encode(hmac.new(api_key.encode("utf-8"), data, hashlib.sha256).digest()).decode("ascii")


def timestamp(now: dt.datetime) -> str:
    """``yyyyMMddHHmmss`` in UTC."""
    return now.astimezone(dt.UTC).strftime(fact("timestamp_format"))


class MeritAuth(httpx.Auth):
    """Adds ``ApiId``, ``timestamp`` and ``signature`` to the query of every attempt."""

    requires_request_body = True

    def __init__(self, api_id: str, api_key: str, now: Callable[[], dt.datetime]) -> None:
        self.api_id = api_id
        self.api_key = api_key
        self.now = now

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        ts = timestamp(self.now())
        signature = sign(self.api_id, self.api_key, ts, request.content)
        api_id, ts_name, sig_name = fact("auth_query")
        query = f"{api_id}={quote(self.api_id, safe='')}&{ts_name}={ts}&{sig_name}={quote(signature, safe='')}"
        request.url = request.url.copy_with(query=query.encode("ascii"))
        yield request


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"\x00dec:{format(value, 'f')}\x00"
    if isinstance(value, (dt.date, dt.datetime)):
        raise TypeError("format dates explicitly")
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(payload: Any) -> bytes:
    """Compact UTF-8 JSON with ``Decimal`` written as plain JSON numbers (decimal point ``.``)."""
    text = json.dumps(payload, default=_encode, ensure_ascii=False, separators=(",", ":"))
    return re.sub(r'"\\u0000dec:(-?[0-9.]+)\\u0000"', r"\1", text).encode("utf-8")


def ymd(day: dt.date) -> str:
    return day.strftime(fact("request_date_format"))


def ymdhms(day: dt.date) -> str:
    return dt.datetime.combine(day, dt.time()).strftime(fact("request_datetime_format"))


def _json_answer(content: bytes) -> Any:
    """A JSON answer; pre-2020 replies are a JSON-encoded string holding the JSON."""
    data = json.loads(content)
    if isinstance(data, str) and data[:1] in "[{":
        data = json.loads(data)
    return data


def tax_percent(row: dict) -> Decimal:
    """A ``gettaxes`` row's percentage: ``TaxPct`` (Estonian docs), or ``Percent`` (one Finnish table)."""
    for name in fact("tax_percent_fields"):
        if row.get(name) is not None:
            return decimal(row[name])
    return Decimal(0)


def parse_date(value: Any) -> dt.date | None:
    """Merit output dates: ``YYYY-mm-DDTHH:mm:ss`` (also tolerates ``yyyyMMdd``)."""
    if not value or not isinstance(value, str):
        return None
    if len(value) >= 10 and value[4] == "-" and value[7] == "-":  # the usual form: no regex, no copy
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    text = value.strip()
    try:
        if re.fullmatch(r"\d{8}(\d{6})?", text):
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def windows(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    """``first..last`` as the fewest consecutive windows of at most 3 months (end < start + 3 months)."""
    out = []
    start = first
    while start <= last:
        end = min(last, add_months(start, WINDOW_MONTHS) - dt.timedelta(days=1))
        out.append((start, end))
        start = end + dt.timedelta(days=1)
    return out


class MeritClient:
    """One Merit company (API ID + key on one country's service)."""

    def __init__(self, ctx: Any, credentials: dict) -> None:
        self.ctx = ctx
        self.country = credentials["country"]
        self.base = BASES[self.country]
        self.auth = MeritAuth(credentials["api_id"], credentials["api_key"], ctx.now)

    def call(self, endpoint: str, payload: dict | None = None, *, version: str = "v1", method: str = "POST") -> Any:
        """POST (or ``method``) ``payload`` to ``/api/<version>/<endpoint>``; return the parsed JSON answer.

        ``endpoint`` may carry its version (``"v2/getpayments"``, as the wire facts spell endpoints)."""
        if "/" in endpoint:
            version, endpoint = endpoint.split("/", 1)
        response = self._send(method, f"{version}/{endpoint}", payload)
        return self.parse(response, f"{version}/{endpoint}")

    def _send(self, method: str, path: str, payload: dict | None) -> httpx.Response:
        return self.ctx.http.request(method, f"{self.base}/{path}", content=dumps(payload or {}), auth=self.auth,
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "Accept": "application/json"})

    def call_either_method(self, endpoint: str, payload: dict, first: str) -> Any:
        """``endpoint`` with ``first`` (``"GET"`` or ``"POST"``), and with the other method when Merit answers 405:
        the sources disagree on which one a service takes (wire fact ``gl_batches_method``)."""
        response = self._send(first, endpoint, payload)
        if response.status_code == 405:
            response = self._send("POST" if first == "GET" else "GET", endpoint, payload)
        return self.parse(response, endpoint)

    def mask(self, text: str) -> str:
        """``text`` (something Merit sent back) without the API key or the signature. (The hub masks every other
        known secret in what a hook raises.)"""
        text = re.sub(r"(signature=)[A-Za-z0-9%+/=]+", r"\1[redacted]", text, flags=re.IGNORECASE)
        if self.auth.api_key:
            text = text.replace(self.auth.api_key, "[redacted]")
        return text

    def parse(self, response: httpx.Response, endpoint: str) -> Any:
        status = response.status_code
        if status < 400:  # the usual case: the JSON straight from the bytes (no text copy of a large body)
            try:
                return _json_answer(response.content)
            except ValueError:
                pass
        text = response.text.strip()
        where = COUNTRY_NAMES[self.country]
        name = endpoint.rsplit("/", 1)[-1]
        if status == 401:
            if fact("licence_error") in text.lower():
                raise ConfigError(
                    "Merit Aktiva refused the API because the company has no PRO or PREMIUM licence "
                    "(api-wronglicense).",
                    hint="The Merit API works only when the company's creator has a PRO or PREMIUM licence. Upgrade "
                         "the licence in Merit Aktiva (or ask the company owner to), then test the connection again.")
            raise AuthError(f"Merit Aktiva ({where}) did not accept the API ID and API key (HTTP 401).",
                            hint=AUTH_HINT)
        if status == 403:
            raise AuthError(f"Merit Aktiva ({where}) refused access (HTTP 403).", hint=AUTH_HINT)
        if status == 400:
            compact = text.lower().replace(" ", "")
            if "apiid" in compact:
                raise AuthError("Merit Aktiva says the API ID is wrong (HTTP 400).", hint=AUTH_HINT)
            message = self.mask(error_message(text)[:500]) or "Merit Aktiva answered HTTP 400."
            raise VendorRejected(f"Merit Aktiva refused the request: {message}", field_messages={"": [message]})
        if status == 404:
            raise ConfigError(
                f"Merit Aktiva ({where}) answered 404 Not Found for {name}.",
                hint="Check that the country is right; the endpoint does not exist on this service.",
                field="country")
        if status >= 400:
            raise TransientError(f"Merit Aktiva answered HTTP {status} for {name}.",
                                 hint="The hub will try again later.")
        try:
            return _json_answer(response.content)
        except ValueError:
            if endpoint in DATA_ENDPOINTS and looks_like_stack_trace(text):
                message = self.mask(stack_trace_message(text)) or "Merit Aktiva could not process the data."
                raise VendorRejected(
                    f"Merit Aktiva could not process the {name} data: {message}",
                    field_messages={"": [message]},
                    hint="Merit answers this way (HTTP 200 with a server error page) when a value does not fit, "
                         "e.g. a text longer than Merit allows or a missing required field. Correct the invoice "
                         "and export it again; retrying the same data gets the same answer.") from None
            raise TransientError(
                f"Merit Aktiva answered {name} with something that is not JSON (an error page).",
                hint="Merit answers this way when it cannot process a request; the hub will try again later. "
                     "If it keeps happening, contact Merit support.") from None

    # -- reads ---------------------------------------------------------------------------------
    def list_rows(self, endpoint: str, first: dt.date, last: dt.date, **extra: Any) -> list[dict]:
        """Every row of a period list endpoint over ``first..last``, one call per 3-month window."""
        rows: list[dict] = []
        start_field, end_field = fact("period_fields")
        methods: dict[str, str] = fact("gl_batches_method") if endpoint == fact("endpoint_gl_batches") else {}
        for start, end in windows(first, last):
            window = {start_field: ymd(start), end_field: ymd(end), **extra}
            data = self.call_either_method(endpoint, window, methods[self.country]) if methods else \
                self.call(endpoint, window)
            rows.extend(as_rows(data, endpoint))
        return rows

    def taxes(self) -> list[dict]:
        return as_rows(self.call(fact("endpoint_taxes"), {}), "gettaxes")

    def items(self) -> list[dict]:
        return as_rows(self.call(fact("endpoint_items"), {}), "getitems")


def as_rows(data: Any, endpoint: str) -> list[dict]:
    """Merit lists are arrays; some answer ``null``/empty or a single object."""
    if data is None or data == "":
        return []
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return data
    raise TransientError(f"Merit Aktiva answered {endpoint} with an unexpected shape.",
                         hint="The hub will try again later.")


def bucket(rows: Iterable[dict], date_field: str) -> Iterable[tuple[dt.date, dict]]:
    """``(day, row)`` for every row whose ``date_field`` is a date (each list has its own: see the wire facts)."""
    for row in rows:
        day = parse_date(row.get(date_field))
        if day is not None:
            yield day, row


def looks_like_stack_trace(text: str) -> bool:
    """An ASP.NET error page or stack trace (what Merit answers, with HTTP 200, to a payload it cannot use)."""
    return any(marker in text for marker in fact("stack_trace_markers"))


def stack_trace_message(text: str) -> str:
    """The exception's own message from an ASP.NET error page (its ``<title>`` or first ``…Exception: …`` line),
    as one short line of plain text."""
    found = re.search(r"<title>(.*?)</title>", text, flags=re.IGNORECASE | re.DOTALL)
    if found is None:
        found = re.search(r"Exception:\s*(.+)", text)
    message = found.group(1) if found else text
    message = re.sub(r"&(#[0-9]+|#x[0-9a-fA-F]+|[A-Za-z]+);", lambda m: html.unescape(m.group(0)),
                     re.sub(r"<[^>]+>", " ", message))
    return " ".join(message.split())[:300]


def error_message(text: str) -> str:
    """The message of a Merit error body: ``{"Message": …}`` (ASP.NET Web API errors) or plain text."""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    key = fact("error_message_key")
    if isinstance(data, dict) and isinstance(data.get(key), str):
        parts = [data[key]] + [str(data[k]) for k in ("ExceptionMessage", "MessageDetail") if data.get(k)]
        return " ".join(parts)
    return data if isinstance(data, str) else text


# -- the hub's invoices to Merit's requests, Merit's answers to hub types -----------------------------------

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
        name_key, country_key, not_td_key = fact("new_customer_required")
        customer = {name_key: party.name, country_key: party_country(party, home),
                    not_td_key: not_td_customer(party, home)}
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


def tax_ids(merit: MeritClient, invoice: Invoice) -> list[str]:
    """The Merit ``TaxId`` of each invoice line: its mapped one, else the Merit tax of the line's rate."""
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


def payment_links(row: dict) -> list[dict]:
    """The documents a v2 payment pays (``PaymAPIDetails``: a list, or one object as Merit's table says)."""
    links = row.get(fact("payment_links"))
    if links is None:
        links = row.get(fact("payment_links_alt"))
    if isinstance(links, dict):
        links = [links]
    return [link for link in links or [] if isinstance(link, dict)]
