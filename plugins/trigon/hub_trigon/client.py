"""The Trigon API client, on ``ctx.http``.

Trigon has **no public API documentation**; everything here follows the assumed design in
``/work/shared/vendors/public-apis.md`` §6 (this project's own reference). Every wire-level assumption
lives in the constants and small functions of this module, so that when a partner confirms the real
API only this file (and the sandbox) need to change:

* hosts per environment (``HOSTS``), auth headers (``ID_TOKEN_HEADER``, ``API_KEY_HEADER``);
* paths (``/me``, ``/clients``, ``/clients/{id}/volumes``, ``/clients/{id}/volumes:refresh``,
  ``/refreshes/{id}``), paging (``page``/``perPage``/``hasMore``), month format ``YYYY-MM``;
* the widest volumes window (``MAX_WINDOW_MONTHS``, assumed) and the refresh poll schedule;
* the error body ``{"error": code, "message": text}`` and its codes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx

from hub.errors import AuthError, ConfigError, RateLimited, TransientError, VendorRejected
from hub.types import Address, Contact, Context, Period, VendorClient

#: environment → API base URL (§6 "hosts").
HOSTS = {
    "production": "https://api.trigon.ee/v1",
    "test": "https://api-test.trigon.ee/v1",
}
ENVIRONMENTS = tuple(HOSTS)
ID_TOKEN_HEADER = "X-Trigon-Id-Token"
API_KEY_HEADER = "X-Trigon-Api-Key"

#: ``perPage`` sent on the client list (§6 shows ``perPage=100``; the sandbox caps it there).
PER_PAGE = 100
#: A safety stop for a vendor that keeps saying ``hasMore`` (100 000 clients).
MAX_PAGES = 1000
#: Widest ``from``..``to`` window of one volumes read or refresh, in months. [ASSUMED] — §6 gives no
#: limit; 24 months covers a client-year (and a Reload's 12 months) in a single request.
MAX_WINDOW_MONTHS = 24

#: Refresh polling: wait this long before each status poll (the last value repeats) …
POLL_DELAYS = (0.5, 1.0, 1.0, 2.0, 2.0, 3.0, 5.0)
#: … until the refresh is ``done``, at most this many seconds in total …
REFRESH_TIMEOUT_S = 60.0
#: … and at most this many polls (also a stop when the clock does not move, e.g. in tests).
MAX_POLLS = 30

#: Statistic key → field of a ``periods[]`` entry of the volumes answer.
VOLUME_FIELDS = {
    "incoming_payments": "incomingPayments",
    "outgoing_payments": "outgoingPayments",
    "card_transactions": "cardTransactions",
    "documents": "documents",
}

class CredentialsRejected(AuthError):
    """Trigon answered ``invalid_credentials`` (wrong, revoked, or from the other environment)."""


class TokenExpired(AuthError):
    """Trigon answered ``token_expired``: the ID token must be regenerated."""


REGENERATE = ("Generate a new ID token in Trigon (API access section), paste it into the ID token field "
              "and click Test connection.")


def base_url(credentials: dict) -> str:
    return HOSTS[credentials.get("environment") or "production"]


def auth_headers(credentials: dict) -> dict[str, str]:
    return {ID_TOKEN_HEADER: credentials["id_token"], API_KEY_HEADER: credentials["api_key"],
            "Accept": "application/json"}


def month_windows(periods: list[Period]) -> list[tuple[Period, Period]]:
    """``periods`` (consecutive, oldest first) cut into windows of at most ``MAX_WINDOW_MONTHS``."""
    ordered = sorted(set(periods))
    return [(chunk[0], chunk[-1]) for chunk in
            (ordered[i:i + MAX_WINDOW_MONTHS] for i in range(0, len(ordered), MAX_WINDOW_MONTHS))]


class TrigonClient:
    """One Trigon account (ID token + API key + environment), all calls through ``ctx.http``."""

    def __init__(self, ctx: Context, credentials: dict) -> None:
        self.ctx = ctx
        self.credentials = credentials
        self.environment = credentials.get("environment") or "production"
        self.base = base_url(credentials)

    # -- transport -------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                expect: tuple[int, ...] = (200,)) -> dict:
        """Send one request and return the JSON object, or raise the matching ``hub.errors``."""
        response = self.ctx.http.request(method, f"{self.base}{path}", params=params, json=json,
                                         headers=auth_headers(self.credentials))
        if response.status_code in expect:
            return self._json_object(response)
        raise self._error(response)

    @staticmethod
    def _json_object(response: httpx.Response) -> dict:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise TransientError("Trigon answered with something that is not the expected JSON.",
                                 hint="This is usually a temporary fault on Trigon's side; the hub will try again.")
        return body

    def _error(self, response: httpx.Response) -> Exception:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        code = str(body.get("error") or "")
        text = str(body.get("message") or "").strip()
        env = self.environment
        if code == "token_expired":
            return TokenExpired("Trigon says the ID token has expired.", hint=REGENERATE)
        if code == "invalid_credentials" or status == 401:
            return CredentialsRejected(
                f"Trigon did not accept the ID token and API key ({env} environment).",
                hint="Copy both values again from Trigon's API access section (no extra characters), check that "
                     "the environment matches where they were generated (test credentials do not work in "
                     "production and vice versa), or regenerate them if they were revoked.")
        if status == 403:
            return AuthError("Trigon refused access with these credentials (HTTP 403).",
                             hint="Ask a Trigon administrator to give the API user access, then test again.")
        if code == "rate_limited":  # a rate-limit body with another status than 429
            return RateLimited("Trigon's rate limit (120 requests a minute) was reached.")
        if code == "validation_failed" or status in (400, 422):
            fields = body.get("fields") if isinstance(body.get("fields"), dict) else {}
            messages = {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in fields.items()}
            if not messages:
                messages = {"": [text or f"HTTP {status}"]}
            return VendorRejected(f"Trigon rejected the request: {text or 'validation failed'}.",
                                  field_messages=messages)
        if code == "not_found" or status == 404:
            return ConfigError(f"Trigon could not find it: {text or 'not found'}.",
                               hint="Check that the client is still linked to an existing Trigon client.")
        return TransientError(f"Trigon answered HTTP {status}{f' ({code})' if code else ''}.",
                              hint="The hub will try again later.")

    # -- calls -----------------------------------------------------------------------------------
    def me(self) -> dict:
        """``GET /me``: the organisation and the token's expiry."""
        body = self.request("GET", "/me")
        org = body.get("organisation")
        if not isinstance(org, dict) or not str(org.get("name") or "").strip():
            raise TransientError("Trigon's /me answer has no organisation name.",
                                 hint="The hub will try again later.")
        return body

    def iter_clients(self, query: str = "") -> Iterator[dict]:
        """``GET /clients`` page by page, to the end."""
        for page in range(1, MAX_PAGES + 1):
            params: dict[str, Any] = {"page": page, "perPage": PER_PAGE}
            if query:
                params["q"] = query
            body = self.request("GET", "/clients", params=params)
            items = body.get("items")
            if not isinstance(items, list):
                raise TransientError("Trigon's client list has no items.", hint="The hub will try again later.")
            yield from (item for item in items if isinstance(item, dict))
            if not body.get("hasMore") or not items:
                return
        raise TransientError("Trigon kept reporting more clients after 1000 pages.",
                             hint="The hub will try again later.")

    def volumes(self, client: str, first: Period, last: Period) -> list[dict]:
        """``GET /clients/{id}/volumes?from=YYYY-MM&to=YYYY-MM`` (served from Trigon's cache)."""
        body = self.request("GET", f"/clients/{quote(client, safe='')}/volumes",
                            params={"from": str(first), "to": str(last)})
        periods = body.get("periods")
        if not isinstance(periods, list):
            raise TransientError("Trigon's volumes answer has no periods.", hint="The hub will try again later.")
        return [p for p in periods if isinstance(p, dict)]

    def start_refresh(self, client: str, first: Period, last: Period) -> str:
        """``POST /clients/{id}/volumes:refresh`` → ``202 {"refreshId"}``."""
        body = self.request("POST", f"/clients/{quote(client, safe='')}/volumes:refresh",
                            json={"from": str(first), "to": str(last)}, expect=(200, 201, 202))
        refresh_id = body.get("refreshId")
        if not refresh_id:
            raise TransientError("Trigon accepted the refresh but sent no refreshId.",
                                 hint="Run Reload data again later.")
        return str(refresh_id)

    def refresh_status(self, refresh_id: str) -> str:
        """``GET /refreshes/{id}`` → ``pending`` | ``done`` | ``failed``."""
        body = self.request("GET", f"/refreshes/{quote(refresh_id, safe='')}")
        status = str(body.get("status") or "")
        if status not in ("pending", "done", "failed"):
            raise TransientError(f"Trigon reported an unknown refresh status {status[:20]!r}.",
                                 hint="Run Reload data again later.")
        return status

    def refresh_and_wait(self, client: str, first: Period, last: Period, *,
                         sleep: Callable[[float], None], clock: Callable[[], float] = time.monotonic) -> int:
        """Start a refresh and poll it until ``done`` (bounded). Returns the number of polls."""
        refresh_id = self.start_refresh(client, first, last)
        deadline = clock() + REFRESH_TIMEOUT_S
        waited = 0.0  # the planned waits count even if the clock did not move (bounded either way)
        for poll in range(1, MAX_POLLS + 1):
            delay = POLL_DELAYS[min(poll - 1, len(POLL_DELAYS) - 1)]
            if waited + delay > REFRESH_TIMEOUT_S or clock() + delay > deadline:
                break
            sleep(delay)
            waited += delay
            status = self.refresh_status(refresh_id)
            if status == "done":
                return poll
            if status == "failed":
                raise TransientError(f"Trigon could not refresh its cached volumes for {first}..{last}.",
                                     hint="The hub will try again; if it keeps failing, run Reload data later.")
        raise TransientError(f"Trigon did not finish refreshing its cached volumes for {first}..{last} within "
                             f"{REFRESH_TIMEOUT_S:.0f} s.", hint="The hub will try again later.")


# -- mapping --------------------------------------------------------------------------------------
def parse_date(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def to_vendor_client(item: dict) -> VendorClient:
    contacts = tuple(
        Contact(name=_text(c.get("name")) or "", email=_text(c.get("email")), phone=_text(c.get("phone")),
                role=_text(c.get("role")))
        for c in item.get("contacts") or [] if isinstance(c, dict))
    addresses = tuple(
        Address(street=_text(a.get("line1")), city=_text(a.get("city")), postal_code=_text(a.get("postalCode")),
                country=(_text(a.get("country")) or "").upper() or None)
        for a in item.get("addresses") or [] if isinstance(a, dict))
    email = next((c.email for c in contacts if c.email), None)
    return VendorClient(id=str(item.get("id")), name=_text(item.get("name")) or f"Client {item.get('id')}",
                        reg_code=_text(item.get("regCode")), vat_no=_text(item.get("vatNumber")), email=email,
                        contacts=contacts, addresses=addresses)


def count(value: Any) -> int:
    """A volume as a non-negative int (``12``, ``"12"``, ``12.0``); anything else is a bad answer."""
    if value is None:
        return 0
    number = -1
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number < 0:
        raise TransientError("Trigon's volumes answer has a value that is not a count.",
                             hint="The hub will try again later.")
    return number
