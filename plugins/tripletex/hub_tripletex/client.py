"""The Tripletex API v2 client, on ``ctx.http`` (public-apis.md §1).

* Hosts: production ``https://tripletex.no/v2``, test ``https://api-test.tripletex.tech/v2``.
* Auth: ``POST /token/session/:create`` with ``{"consumerToken", "employeeToken", "expirationDate"}``
  (no auth header; the spec's preferred form, the ``PUT`` + query form is deprecated) → ``201 {value.token}``;
  then HTTP Basic ``<companyId>:<sessionToken>`` (``0`` = the token owner's own company). The session token
  is cached in ``ctx.cache`` until it lapses (midnight Europe/Oslo at the start of ``expirationDate``)
  and re-created once on a 401.
* Envelopes: ``{"value": …}`` and ``{"fullResultSize", "from", "count", "versionDigest", "values"}``;
  paging with ``from``/``count`` until a page comes back shorter than ``count``.
* Errors: ``{"status", "code", "message", "developerMessage", "validationMessages", "requestId"}``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from hub.errors import AuthError, ConfigError, RateLimited, TransientError, VendorRejected
from hub.types import Context

OSLO = ZoneInfo("Europe/Oslo")
BASE_URLS = {"production": "https://tripletex.no/v2", "test": "https://api-test.tripletex.tech/v2"}
ENV_LABEL = {"production": "Production", "test": "Test"}
#: The API's default and our page size for every list call (``count``).
PAGE_SIZE = 1000
#: Sessions are asked to expire this many days ahead (at midnight Europe/Oslo).
SESSION_DAYS = 2
#: A cached session is dropped this long before it lapses.
SESSION_MARGIN = dt.timedelta(minutes=10)
REGENERATE_HINT = ("Generate a new employee token in Tripletex (Company → API access / Selskap → API-tilgang), "
                   "paste it into the integration and click Test connection.")


class TripletexClient:
    """One Tripletex account (an employee token in one environment, acting for one company)."""

    def __init__(self, ctx: Context, credentials: dict, *, page_size: int = PAGE_SIZE) -> None:
        self.ctx = ctx
        self.environment = credentials.get("environment") or "production"
        if self.environment not in BASE_URLS:
            raise ConfigError(f"Unknown Tripletex environment {self.environment!r}.", field="environment",
                              hint="Choose Production or Test.")
        self.base = BASE_URLS[self.environment]
        self.employee_token = credentials["employee_token"]
        self.company_id = str(credentials.get("company_id") or "0")
        self.page_size = page_size
        digest = hashlib.sha256(f"{self.environment}\0{self.employee_token}".encode()).hexdigest()[:24]
        self.cache_key = f"tripletex-session:{digest}"
        #: (X-Rate-Limit-Reset seconds, X-Rate-Limit-Remaining, monotonic time) of the last answer
        self._rate: tuple[float, int | None, float] | None = None

    # -- session tokens ------------------------------------------------------------------------------
    def consumer_token(self) -> str:
        token = (self.ctx.settings or {}).get(f"consumer_token_{self.environment}")
        if not token:
            raise ConfigError(
                f"The hub has no Tripletex consumer token for the {ENV_LABEL[self.environment].lower()} environment.",
                hint=f"Operator: set HUB_TRIPLETEX_CONSUMER_TOKEN_{self.environment.upper()} (the partner token "
                     "Tripletex issued to the hub) and restart the hub and its workers.")
        return str(token)

    def session_token(self, *, fresh: bool = False) -> str:
        if not fresh:
            cached = self.ctx.cache.get(self.cache_key)
            if isinstance(cached, dict) and cached.get("token"):
                return cached["token"]
        self.ctx.cache.delete(self.cache_key)
        token, lapses = self._create_session()
        ttl = (lapses - self.ctx.now() - SESSION_MARGIN).total_seconds()
        if ttl > 0:
            self.ctx.cache.set(self.cache_key, {"token": token, "lapses": lapses.isoformat()}, ttl)
        return token

    def _create_session(self) -> tuple[str, dt.datetime]:
        today = self.ctx.now().astimezone(OSLO).date()
        expiration = today + dt.timedelta(days=SESSION_DAYS)
        # POST with the tokens in a JSON body: the spec (2.74) marks the PUT-with-query-parameters form
        # deprecated, and tokens in a URL end up in access logs.
        body = {"consumerToken": self.consumer_token(), "employeeToken": self.employee_token,
                "expirationDate": expiration.isoformat()}
        response = self._send("POST", f"{self.base}/token/session/:create",
                              content=json.dumps(body).encode("utf-8"),
                              headers={"Accept": "application/json", "Content-Type": "application/json"})
        if response.status_code == 401:
            raise self._auth_failure(response)
        if response.status_code not in (200, 201):
            self._raise_for(response, "creating a Tripletex session")
        value = self._json(response).get("value")
        token = value.get("token") if isinstance(value, dict) else None
        if not isinstance(token, str) or not token:
            raise TransientError("Tripletex created a session but sent no session token.",
                                 hint="The hub will try again later.")
        try:
            lapses_on = dt.date.fromisoformat(str(value.get("expirationDate") or expiration.isoformat()))
        except ValueError:
            lapses_on = expiration
        return token, dt.datetime.combine(lapses_on, dt.time(0, 0), tzinfo=OSLO)

    def _auth_failure(self, response: httpx.Response) -> Exception:
        """A 401 from session creation: a token for the other environment, or a dead token."""
        is_test_token = self.employee_token.startswith("test-")
        if self.environment == "production" and is_test_token:
            return ConfigError("This employee token is for the Tripletex test environment (it starts with "
                               "\"test-\") but the integration is set to Production.", field="environment",
                               hint="Choose Test as the environment, or paste a production employee token.")
        if self.environment == "test" and not is_test_token:
            return ConfigError("This employee token looks like a production token (Tripletex test tokens start "
                               "with \"test-\") but the integration is set to Test.", field="environment",
                               hint="Choose Production as the environment, or paste a test employee token.")
        return AuthError("Tripletex did not accept the employee token: it is wrong, has expired or was revoked.",
                         hint=REGENERATE_HINT + self._request_id_note(response))

    def _basic(self, token: str) -> str:
        return "Basic " + base64.b64encode(f"{self.company_id}:{token}".encode()).decode("ascii")

    # -- requests ------------------------------------------------------------------------------------
    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.ctx.http.request(method, url, **kwargs)
        except RateLimited as exc:
            # Tripletex sends X-Rate-Limit-Reset (seconds left in the period), not Retry-After. The core
            # does not hand us the 429 itself, so when the previous answer said the budget was (nearly)
            # spent, the period's end is the best estimate of when requests are accepted again.
            if exc.retry_after is None and self._rate is not None:
                reset, remaining, seen = self._rate
                if remaining is not None and remaining <= 1:
                    exc.retry_after = max(1.0, reset - (time.monotonic() - seen))
            exc.hint = exc.hint or ("Tripletex limits requests per employee token and API consumer; the hub "
                                    "will try again when the period resets.")
            raise
        try:
            reset = float(response.headers["X-Rate-Limit-Reset"])
        except (KeyError, ValueError):
            return response
        try:
            remaining: int | None = int(response.headers["X-Rate-Limit-Remaining"])
        except (KeyError, ValueError):
            remaining = None
        self._rate = (reset, remaining, time.monotonic())
        return response

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                body: Any = None) -> httpx.Response:
        """An authenticated call; a 401 re-creates the session once (it may have lapsed early)."""
        kwargs: dict[str, Any] = {"params": params or {}}
        headers = {"Accept": "application/json"}
        if body is not None:
            kwargs["content"] = json.dumps(body, default=_json_default, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        for attempt in (1, 2):
            token = self.session_token(fresh=attempt == 2)
            auth = {**headers, "Authorization": self._basic(token)}
            response = self._send(method, f"{self.base}{path}", headers=auth, **kwargs)
            if response.status_code != 401:
                return response
            self.ctx.cache.delete(self.cache_key)
        raise AuthError("Tripletex no longer accepts the employee token (it has expired or was revoked).",
                        hint=REGENERATE_HINT + self._request_id_note(response))

    def get_value(self, path: str, params: dict[str, Any] | None = None, *, what: str) -> dict[str, Any]:
        response = self.request("GET", path, params=params)
        if response.status_code != 200:
            self._raise_for(response, what)
        value = self._json(response).get("value")
        if not isinstance(value, dict):
            raise TransientError(f"Tripletex answered {what} without a value.", hint="The hub will try again later.")
        return value

    def iter_list(self, path: str, params: dict[str, Any] | None = None, *, what: str) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, paging with ``from``/``count`` to the end."""
        start = 0
        while True:
            response = self.request("GET", path, params={**(params or {}), "from": start, "count": self.page_size})
            if response.status_code != 200:
                self._raise_for(response, what)
            values = self._json(response).get("values")
            if not isinstance(values, list):
                raise TransientError(f"Tripletex answered {what} without a list of values.",
                                     hint="The hub will try again later.")
            yield from values
            if len(values) < self.page_size:
                return
            start += len(values)

    # -- answers ---------------------------------------------------------------------------------------
    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise TransientError("Tripletex answered with something that is not the expected JSON "
                                 f"(HTTP {response.status_code}).", hint="The hub will try again later.")
        return body

    @staticmethod
    def _error_body(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def _request_id_note(self, response: httpx.Response) -> str:
        request_id = self._error_body(response).get("requestId") or response.headers.get("x-tlx-request-id")
        return f" (Tripletex request id {request_id}.)" if request_id else ""

    def _raise_for(self, response: httpx.Response, what: str) -> None:
        """Map a non-success answer (other than 429/5xx, which ``ctx.http`` handles) onto hub errors."""
        status = response.status_code
        body = self._error_body(response)
        message = str(body.get("message") or "").strip().rstrip(".")
        note = self._request_id_note(response)
        if status == 401:
            raise AuthError("Tripletex did not accept the employee token.", hint=REGENERATE_HINT + note)
        if status == 403:
            if self.company_id != "0":
                raise ConfigError(f"The Tripletex user behind this token has no access to company {self.company_id}.",
                                  field="company_id",
                                  hint="Check the client company id, or leave it at 0 for the token owner's own "
                                       "company." + note)
            raise AuthError(f"The Tripletex user behind this token is not allowed {what}.",
                            hint="Give the user access to this area in Tripletex, or generate the employee token "
                                 "for a user who has it." + note)
        if status == 404:
            raise ConfigError(f"Tripletex could not find what the hub asked for while {what}.", field="environment",
                              hint="Check that the environment (Production/Test) is the one the token belongs "
                                   "to." + note)
        if status in (400, 409, 422) or 400 <= status < 500:
            field_messages: dict[str, list[str]] = {}
            for item in body.get("validationMessages") or []:
                if isinstance(item, dict) and item.get("message"):
                    field_messages.setdefault(str(item.get("field") or ""), []).append(str(item["message"]))
            if not field_messages and message:
                field_messages[""] = [message]
            if status == 409:
                reason = message or "the object already exists or changed"
                text = f"Tripletex reported a conflict while {what}: {reason}."
            else:
                text = f"Tripletex refused the request while {what}: {message or f'HTTP {status}'}."
            raise VendorRejected(text, field_messages=field_messages, hint=note.strip() or None)
        raise TransientError(f"Tripletex answered HTTP {status} while {what}.", hint="The hub will try again later.")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
