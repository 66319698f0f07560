"""The Merit Aktiva API client, on ``ctx.http`` (public-apis.md §3; the facts it relies on: :mod:`hub_merit.wire`).

* Hosts per country: Estonia ``aktiva.merit.ee``, Finland ``app.passelimerit.fi`` (or the legacy
  ``aktiva.meritaktiva.fi``), Poland ``program.360ksiegowosc.pl``; paths ``/api/v1/<endpoint>`` (``v2`` where
  only v2 has what the hub needs: ``v2/getpayments`` links a payment to the invoices it pays).
* Every call is a POST with a JSON body and three query parameters: ``ApiId``, ``timestamp`` (UTC
  ``yyyyMMddHHmmss``) and ``signature`` = base64(HMAC-SHA256(key = API key string as-is,
  data = ApiId + timestamp + exact body bytes)), URL-encoded. The signing runs as an ``httpx.Auth`` flow, so
  every attempt (including ``ctx.http``'s own 429 retries) gets a fresh timestamp and signature.
* List endpoints take windows of at most 3 months; :func:`windows` splits a range into the fewest windows.
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
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import httpx

from hub.errors import AuthError, ConfigError, TransientError, VendorRejected
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
