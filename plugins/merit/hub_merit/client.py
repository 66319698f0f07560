"""The Merit Aktiva API v1 client, on ``ctx.http`` (public-apis.md §3).

* Hosts per country: Estonia ``aktiva.merit.ee``, Finland ``app.passelimerit.fi`` (or the legacy
  ``aktiva.meritaktiva.fi``), Poland ``program.360ksiegowosc.pl``; paths ``/api/v1/<endpoint>``.
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
import json
import re
from collections.abc import Callable, Generator, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import httpx

from hub.errors import AuthError, ConfigError, TransientError, VendorRejected

BASES = {
    "EE": "https://aktiva.merit.ee/api",
    "FI": "https://app.passelimerit.fi/api",
    "FI-LEGACY": "https://aktiva.meritaktiva.fi/api",
    "PL": "https://program.360ksiegowosc.pl/api",
}
COUNTRY_NAMES = {"EE": "Estonia", "FI": "Finland", "FI-LEGACY": "Finland (legacy host)", "PL": "Poland"}
#: The widest list window the API allows (PeriodStart..PeriodEnd).
WINDOW_MONTHS = 3

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
    return now.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")


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
        query = f"ApiId={quote(self.api_id, safe='')}&timestamp={ts}&signature={quote(signature, safe='')}"
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
    return day.strftime("%Y%m%d")


def ymdhms(day: dt.date) -> str:
    return day.strftime("%Y%m%d") + "000000"


def parse_date(value: Any) -> dt.date | None:
    """Merit output dates: ``YYYY-mm-DDTHH:mm:ss`` (also tolerates ``yyyyMMdd``)."""
    if not value or not isinstance(value, str):
        return None
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

    def call(self, endpoint: str, payload: dict | None = None, *, version: str = "v1") -> Any:
        """POST ``payload`` to ``/api/<version>/<endpoint>``; return the parsed JSON answer."""
        body = dumps(payload or {})
        response = self.ctx.http.post(f"{self.base}/{version}/{endpoint}", content=body, auth=self.auth,
                                      headers={"Content-Type": "application/json; charset=utf-8",
                                               "Accept": "application/json"})
        return self.parse(response, endpoint)

    def parse(self, response: httpx.Response, endpoint: str) -> Any:
        status = response.status_code
        text = response.text.strip()
        where = COUNTRY_NAMES[self.country]
        if status == 401:
            if "wronglicense" in text.lower():
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
            raise VendorRejected(f"Merit Aktiva refused the request: {text[:500] or 'HTTP 400'}",
                                 field_messages={"": [text[:500] or "Merit Aktiva answered HTTP 400."]})
        if status == 404:
            raise ConfigError(
                f"Merit Aktiva ({where}) answered 404 Not Found for {endpoint}.",
                hint="Check that the country is right; the endpoint does not exist on this service.",
                field="country")
        if status >= 400:
            raise TransientError(f"Merit Aktiva answered HTTP {status} for {endpoint}.",
                                 hint="The hub will try again later.")
        try:
            data = response.json()
            if isinstance(data, str) and data[:1] in "[{":  # pre-2020 replies: a JSON-encoded string
                data = json.loads(data)
        except ValueError:
            raise TransientError(
                f"Merit Aktiva answered {endpoint} with something that is not JSON (an error page).",
                hint="Merit answers this way when it cannot process a request; the hub will try again later. "
                     "If it keeps happening, contact Merit support.") from None
        return data

    # -- reads ---------------------------------------------------------------------------------
    def list_rows(self, endpoint: str, first: dt.date, last: dt.date, **extra: Any) -> list[dict]:
        """Every row of a period list endpoint over ``first..last``, one call per 3-month window."""
        rows: list[dict] = []
        for start, end in windows(first, last):
            data = self.call(endpoint, {"PeriodStart": ymd(start), "PeriodEnd": ymd(end), **extra})
            rows.extend(as_rows(data, endpoint))
        return rows

    def taxes(self) -> list[dict]:
        return as_rows(self.call("gettaxes", {}), "gettaxes")

    def items(self) -> list[dict]:
        return as_rows(self.call("getitems", {}), "getitems")


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


def bucket(rows: Iterable[dict], date_field: str = "DocumentDate") -> Iterable[tuple[dt.date, dict]]:
    for row in rows:
        day = parse_date(row.get(date_field))
        if day is not None:
            yield day, row
