"""The Trigon API client, on ``ctx.http``.

Trigon has **no public API documentation**; everything here follows the assumed design in
``/work/shared/vendors/public-apis.md`` §6 (this project's own reference). What this module relies on about the
wire — hosts, auth headers, paths, paging keys, field names, month and date formats, the widest volumes window,
the error body and its codes and statuses — is read from :mod:`hub_trigon.wire` through ``fact()``, so that when a
partner confirms the real API only that table (and the sandbox, which reads the same table) needs to change.
The refresh poll schedule below is the client's own policy, not a fact about Trigon.
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

from .wire import fact

#: A safety stop for a vendor that keeps saying there are more clients (100 000 clients).
MAX_PAGES = 1000

#: Refresh polling: wait this long before each status poll (the last value repeats) …
POLL_DELAYS = (0.5, 1.0, 1.0, 2.0, 2.0, 3.0, 5.0)
#: … until the refresh is done, at most this many seconds in total …
REFRESH_TIMEOUT_S = 60.0
#: … and at most this many polls (also a stop when the clock does not move, e.g. in tests).
MAX_POLLS = 30


class CredentialsRejected(AuthError):
    """Trigon answered ``invalid_credentials`` (wrong, revoked, or from the other environment)."""


class TokenExpired(AuthError):
    """Trigon answered ``token_expired``: the ID token must be regenerated."""


REGENERATE = ("Generate a new ID token in Trigon (API access section), paste it into the ID token field "
              "and click Test connection.")


def base_url(credentials: dict) -> str:
    return fact("hosts")[credentials.get("environment") or "production"]


def auth_headers(credentials: dict) -> dict[str, str]:
    return {fact("id_token_header"): credentials["id_token"], fact("api_key_header"): credentials["api_key"],
            "Accept": "application/json"}


def month(period: Period) -> str:
    """``period`` as Trigon writes a month (``from``, ``to``, ``period``)."""
    return period.first_day.strftime(fact("month_format"))


def month_windows(periods: list[Period]) -> list[tuple[Period, Period]]:
    """``periods`` (consecutive, oldest first) cut into windows of at most ``fact("max_window_months")``."""
    ordered = sorted(set(periods))
    size = fact("max_window_months")
    return [(chunk[0], chunk[-1]) for chunk in (ordered[i:i + size] for i in range(0, len(ordered), size))]


def _window(first: Period, last: Period) -> dict[str, str]:
    """The ``from``/``to`` pair of a volumes read or refresh (query or body)."""
    start, end = fact("window_params")
    return {start: month(first), end: month(last)}


def _path(template: str, ident: str) -> str:
    """The path ``template`` (a ``path_*`` fact) with its ``{id}`` filled in (escaped)."""
    return template.format(id=quote(ident, safe=""))


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
        error_key, message_key = fact("error_keys")
        code = str(body.get(error_key) or "")
        text = str(body.get(message_key) or "").strip()
        env = self.environment
        if code == fact("code_token_expired"):
            return TokenExpired("Trigon says the ID token has expired.", hint=REGENERATE)
        if code == fact("code_invalid_credentials") or status == fact("auth_status"):
            return CredentialsRejected(
                f"Trigon did not accept the ID token and API key ({env} environment).",
                hint="Copy both values again from Trigon's API access section (no extra characters), check that "
                     "the environment matches where they were generated (test credentials do not work in "
                     "production and vice versa), or regenerate them if they were revoked.")
        if status == fact("forbidden_status"):
            return AuthError(f"Trigon refused access with these credentials (HTTP {status}).",
                             hint="Ask a Trigon administrator to give the API user access, then test again.")
        if code == fact("code_rate_limited"):  # a rate-limit body with another status than 429
            requests, seconds = fact("rate_limit")
            per = "a minute" if seconds == 60 else f"per {seconds} s"
            return RateLimited(f"Trigon's rate limit ({requests} requests {per}) was reached.")
        if code == fact("code_validation_failed") or status in fact("validation_statuses"):
            fields = body.get(fact("error_fields"))
            fields = fields if isinstance(fields, dict) else {}
            messages = {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in fields.items()}
            if not messages:
                messages = {"": [text or f"HTTP {status}"]}
            return VendorRejected(f"Trigon rejected the request: {text or 'validation failed'}.",
                                  field_messages=messages)
        if code == fact("code_not_found") or status == fact("not_found_status"):
            return ConfigError(f"Trigon could not find it: {text or 'not found'}.",
                               hint="Check that the client is still linked to an existing Trigon client.")
        return TransientError(f"Trigon answered HTTP {status}{f' ({code})' if code else ''}.",
                              hint="The hub will try again later.")

    # -- calls -----------------------------------------------------------------------------------
    def me(self) -> dict:
        """``GET /me``: the organisation and the token's expiry, as ``{"id", "name", "reg_code",
        "token_expires"}`` (the values as Trigon sent them; the name is never empty)."""
        body = self.request("GET", fact("path_me"))
        org = body.get(fact("me_organisation"))
        names = fact("organisation_fields")
        if not isinstance(org, dict) or not str(org.get(names["name"]) or "").strip():
            raise TransientError("Trigon's /me answer has no organisation name.",
                                 hint="The hub will try again later.")
        return {**{key: org.get(name) for key, name in names.items()},
                "token_expires": body.get(fact("me_token_expires"))}

    def iter_clients(self, query: str = "") -> Iterator[dict]:
        """``GET /clients`` page by page, to the end."""
        first = fact("first_page")
        for page in range(first, first + MAX_PAGES):
            params: dict[str, Any] = {fact("page_key"): page, fact("per_page_param"): fact("per_page_max")}
            if query:
                params[fact("query_param")] = query
            body = self.request("GET", fact("path_clients"), params=params)
            items = body.get(fact("clients_items"))
            if not isinstance(items, list):
                raise TransientError("Trigon's client list has no items.", hint="The hub will try again later.")
            yield from (item for item in items if isinstance(item, dict))
            if not body.get(fact("clients_has_more")) or not items:
                return
        raise TransientError(f"Trigon kept reporting more clients after {MAX_PAGES} pages.",
                             hint="The hub will try again later.")

    def volumes(self, client: str, first: Period, last: Period) -> list[dict]:
        """``GET /clients/{id}/volumes?from=YYYY-MM&to=YYYY-MM`` (served from Trigon's cache)."""
        body = self.request("GET", _path(fact("path_volumes"), client), params=_window(first, last))
        periods = body.get(fact("volumes_periods"))
        if not isinstance(periods, list):
            raise TransientError("Trigon's volumes answer has no periods.", hint="The hub will try again later.")
        return [p for p in periods if isinstance(p, dict)]

    def start_refresh(self, client: str, first: Period, last: Period) -> str:
        """``POST /clients/{id}/volumes:refresh`` → ``202 {"refreshId"}``."""
        body = self.request("POST", _path(fact("path_refresh"), client), json=_window(first, last),
                            expect=(200, 201, fact("refresh_started_status")))
        refresh_id = body.get(fact("refresh_id_key"))
        if not refresh_id:
            raise TransientError(f"Trigon accepted the refresh but sent no {fact('refresh_id_key')}.",
                                 hint="Run Reload data again later.")
        return str(refresh_id)

    def refresh_status(self, refresh_id: str) -> str:
        """``GET /refreshes/{id}`` → ``pending`` | ``done`` | ``failed``."""
        body = self.request("GET", _path(fact("path_refresh_status"), refresh_id))
        status = str(body.get(fact("refresh_status_key")) or "")
        if status not in fact("refresh_statuses"):
            raise TransientError(f"Trigon reported an unknown refresh status {status[:20]!r}.",
                                 hint="Run Reload data again later.")
        return status

    def refresh_and_wait(self, client: str, first: Period, last: Period, *,
                         sleep: Callable[[float], None], clock: Callable[[], float] = time.monotonic) -> int:
        """Start a refresh and poll it until ``done`` (bounded). Returns the number of polls."""
        _pending, done, failed = fact("refresh_statuses")
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
            if status == done:
                return poll
            if status == failed:
                raise TransientError(f"Trigon could not refresh its cached volumes for {first}..{last}.",
                                     hint="The hub will try again; if it keeps failing, run Reload data later.")
        raise TransientError(f"Trigon did not finish refreshing its cached volumes for {first}..{last} within "
                             f"{REFRESH_TIMEOUT_S:.0f} s.", hint="The hub will try again later.")


# -- mapping --------------------------------------------------------------------------------------
def parse_date(value: Any) -> dt.date | None:
    if not value:
        return None
    try:  # a date-time is cut to its date
        return dt.datetime.strptime(str(value)[:10], fact("date_format")).date()
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def to_vendor_client(item: dict) -> VendorClient:
    f, a_, c_ = fact("client_fields"), fact("address_fields"), fact("contact_fields")
    contacts = tuple(
        Contact(name=_text(c.get(c_["name"])) or "", email=_text(c.get(c_["email"])), phone=_text(c.get(c_["phone"])),
                role=_text(c.get(c_["role"])))
        for c in item.get(f["contacts"]) or [] if isinstance(c, dict))
    addresses = tuple(
        Address(street=_text(a.get(a_["street"])), city=_text(a.get(a_["city"])),
                postal_code=_text(a.get(a_["postal_code"])),
                country=(_text(a.get(a_["country"])) or "").upper() or None)
        for a in item.get(f["addresses"]) or [] if isinstance(a, dict))
    email = next((c.email for c in contacts if c.email), None)
    ident = item.get(f["id"])
    return VendorClient(id=str(ident), name=_text(item.get(f["name"])) or f"Client {ident}",
                        reg_code=_text(item.get(f["reg_code"])), vat_no=_text(item.get(f["vat_no"])), email=email,
                        contacts=contacts, addresses=addresses)


def entry_month(entry: dict) -> str:
    """The month (as :func:`month` writes it) of one ``periods[]`` entry of the volumes answer; a date or
    date-time there is cut to its month."""
    return str(entry.get(fact("volume_period")) or "")[:len(month(Period(2000, 1)))]


def to_counts(entry: dict) -> dict[str, int]:
    """One ``periods[]`` entry of the volumes answer as ``{statistic key: count}``."""
    return {key: count(entry.get(name)) for key, name in fact("volume_fields").items()}


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
