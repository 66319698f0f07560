"""The errors plugins raise. The class decides what the hub does next.

| error            | retried?                      | what happens to the connection           |
|------------------|-------------------------------|------------------------------------------|
| AuthError        | never                         | needs attention (fresh credentials)      |
| ConfigError      | never                         | needs attention (fix a setting)          |
| RateLimited      | yes, after ``retry_after``;   | unchanged                                |
|                  | a quota (``until``): waits    |                                          |
|                  | for its reset, uncounted      |                                          |
| TransientError   | yes, with backoff             | unchanged                                |
| VendorRejected   | never (the data must change)  | unchanged; field messages shown          |
| NotSupported     | never                         | unchanged                                |
| NotDone (core)   | never                         | unchanged (e.g. nothing mapped yet)      |

Any other exception is reported as :class:`UnexpectedError` with the traceback kept in the job
record and a generic message shown to the admin.

Every message is meant for a firm admin: say what is wrong and how to fix it. Never include a
credential value (the core masks known secrets anyway).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Mapping


class HubError(Exception):
    """Base class. ``message`` is shown to the admin; ``hint`` says how to fix it."""

    retryable = False
    needs_attention = False
    kind = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message

    def as_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message, "hint": self.hint}


class AuthError(HubError):
    """Credentials are wrong, expired or revoked. Never retried."""

    needs_attention = True
    kind = "auth"


class ConfigError(HubError):
    """A setting is wrong (country, subdomain, database, licence). Never retried.

    ``field`` names the credentials field to fix, when one is to blame.
    """

    needs_attention = True
    kind = "config"

    def __init__(self, message: str, *, hint: str | None = None, field: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.field = field

    def as_dict(self) -> dict:
        return {**super().as_dict(), "field": self.field}


class RateLimited(HubError):
    """The vendor said "too many requests". Retried after ``retry_after`` seconds (when known).

    A quota that resets at a known time (contract 1.2, e.g. Scoro's daily requests, reset at midnight UTC): give
    ``until`` (when it resets, an aware datetime or naive UTC) and ``quota`` (which one, in words: ``"daily"``).
    The work then waits until that time (up to a month), without counting the attempt (it would otherwise fail after
    the kind's attempts), and the run shows "waiting for <Vendor>'s daily quota until 00:00 UTC". A reset already
    past is an ordinary, counted retry. When ``ctx.http`` raises it for a 429, ``headers`` holds the vendor's answer
    headers (e.g. a daily-quota header), so the plugin can tell a burst limit from a used-up quota.
    """

    retryable = True
    kind = "rate_limited"

    def __init__(self, message: str = "The vendor's rate limit was reached.", *,
                 retry_after: float | None = None, hint: str | None = None, until: dt.datetime | None = None,
                 quota: str | None = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after
        #: The vendor's answer headers when ``ctx.http`` raised it for a 429 (an ``httpx.Headers``: names in any
        #: case), so a plugin can read the vendor's own quota headers; ``None`` otherwise.
        self.headers = headers
        if until is not None and until.tzinfo is not None:
            until = until.astimezone(dt.UTC).replace(tzinfo=None)
        self.until = until
        self.quota = quota

    def as_dict(self) -> dict:
        if self.until is None:
            return super().as_dict()
        return {**super().as_dict(), "until": self.until.isoformat(timespec="seconds") + "Z", "quota": self.quota}


class TransientError(HubError):
    """A timeout, a dropped connection, a 5xx or an unreadable answer. Retried with backoff.

    ``retry_after`` may carry the vendor's own advice (e.g. Directo asks for 60 s or more).
    """

    retryable = True
    kind = "transient"

    def __init__(self, message: str, *, hint: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class VendorRejected(HubError):
    """The vendor refused the data. ``field_messages`` maps a field (or ``""``) to its messages."""

    kind = "rejected"

    def __init__(self, message: str, *, field_messages: dict[str, list[str]] | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.field_messages = field_messages or {}

    def as_dict(self) -> dict:
        return {**super().as_dict(), "field_messages": self.field_messages}


class NotSupported(HubError):
    """The vendor (or this account's plan) cannot do what was asked."""

    kind = "not_supported"


class NotDone(HubError):
    """Raised by the core when a run cannot do its work for a reason that is not the vendor's or the
    credentials' (nothing mapped yet, integration disabled, credentials already known to be broken). Not
    retried; the connection's state is left as it is. Plugins do not raise it; it shows in run records and the
    API as the error kind ``not_done``. ``link``: the hub page where the cause is fixed (e.g. where a VAT rate is
    mapped)."""

    kind = "not_done"

    def __init__(self, message: str, *, hint: str | None = None, link: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.link = link

    def as_dict(self) -> dict:
        return {**super().as_dict(), **({"link": self.link} if self.link else {})}


class UnexpectedError(HubError):
    """Raised by the core when a plugin fails with something that is not a :class:`HubError`."""

    kind = "unexpected"


__all__ = [
    "HubError", "AuthError", "ConfigError", "RateLimited", "TransientError",
    "VendorRejected", "NotSupported", "NotDone", "UnexpectedError",
]


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); ``None`` if absent or unreadable — for
    ``RateLimited(retry_after=parse_retry_after(response.headers.get("Retry-After")))``."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
