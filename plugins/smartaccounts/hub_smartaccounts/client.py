"""The SmartAccounts API client: signing, reads and writes, paging, error mapping (public-apis.md §4).

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
import hashlib
import hmac
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import httpx

from hub.errors import AuthError, NotSupported, TransientError, VendorRejected
from hub.types import Context

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
    documented; Konekt reads ``errors[].message``)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return [{"code": "", "message": text[:200], "field": ""}] if text and "<" not in text[:1] else []
    items: list[Any]
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        items = body["errors"]
    elif isinstance(body, dict) and isinstance(body.get("errors"), dict):
        items = [{"field": k, "message": m} for k, v in body["errors"].items() for m in (v if isinstance(v, list)
                                                                                          else [v])]
    elif isinstance(body, dict):
        items = [body]
    elif isinstance(body, list):
        items = body
    else:
        items = [str(body)]
    out = []
    for item in items:
        if isinstance(item, dict):
            message = item.get("message") or item.get("error") or item.get("description") or item.get("code") or ""
            out.append({"code": str(item.get("code") or item.get("errorCode") or ""), "message": str(message),
                        "field": str(item.get("field") or item.get("property") or "")})
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
        """The full URL: ``apikey``, ``timestamp``, the other parameters in order, then ``signature``."""
        pairs = [("apikey", self.api_key), ("timestamp", self.timestamp())]
        pairs += [(k, _param(v)) for k, v in (params or {}).items() if v is not None]
        query = urlencode(pairs, quote_via=quote, safe="")
        signature = hmac.new(self.api_secret.encode("utf-8"), (query + body).encode("utf-8"),
                             hashlib.sha256).hexdigest()
        return f"{BASE_URL}{endpoint}?{query}&signature={signature}"

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
        """A ``:get`` call. GET without a body; POST with ``{}`` if the API refuses GET (405)."""
        method = self.ctx.cache.get(READ_METHOD_CACHE_KEY) or "GET"
        response = self._send(method, endpoint, params, None if method == "GET" else {})
        if response.status_code == 405:
            method = "POST" if method == "GET" else "GET"
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
