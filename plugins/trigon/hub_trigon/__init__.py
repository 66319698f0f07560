"""Trigon (Estonia) vendor plugin: client lookup with contacts and addresses, monthly transaction
volumes, and the vendor-side volume cache refresh that Reload data triggers.

Trigon publishes no API; this plugin speaks the **assumed** API of ``public-apis.md`` §6 (``wire.py`` holds every
wire-level assumption, ``client.py`` speaks it). The hooks here stay thin.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import marshmallow
from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from hub import hookimpl
from hub.errors import ConfigError, HubError
from hub.types import (
    ConnectionInfo,
    Context,
    Period,
    RateLimit,
    StatisticField,
    Statistics,
    VendorClient,
    VendorInfo,
)

from . import client as api
from .wire import fact

__version__ = "0.1.0"

#: Warn when the ID token expires within this many days.
EXPIRY_WARNING_DAYS = 14
TRIGON_TZ = "Europe/Tallinn"

STATISTIC_FIELDS = (
    StatisticField("incoming_payments", "Incoming payments",
                   "Incoming payment transactions booked on the client's accounts in the month."),
    StatisticField("outgoing_payments", "Outgoing payments",
                   "Outgoing payment transactions in the month."),
    StatisticField("card_transactions", "Card transactions",
                   "Card transactions in the month."),
    StatisticField("documents", "Documents",
                   "Documents (payment files, statements, receipts) registered in the month."),
)

#: One value without spaces or line breaks (a validator, so the API document states it as ``pattern``).
_NO_SPACES = re.compile(r"^[!-~]+$")  # visible ASCII (``\S`` differs between regex engines)
_HEADER_PREFIX = re.compile(
    rf"^(({'|'.join(re.escape(fact(h)) for h in ('id_token_header', 'api_key_header'))})\s*:\s*|bearer\s+)",
    re.IGNORECASE)


class Credentials(marshmallow.Schema):
    """Trigon credentials: ID token + API key + environment (product docs, api-key-integrations.txt)."""

    id_token = fields.String(required=True, validate=[validate.Length(min=8, max=4096), validate.Regexp(
        _NO_SPACES, error="The ID token contains spaces or line breaks: copy only the token itself.")], metadata={
        "label": "ID token",
        "help": "In Trigon, open the API access section and generate or copy the ID token (also called "
                "identity token). It expires: when it does, generate a new one and paste it here.",
        "secret": True,
        "placeholder": "paste the ID token",
    })
    api_key = fields.String(required=True, validate=[validate.Length(min=8, max=512), validate.Regexp(
        _NO_SPACES, error="The API key contains spaces or line breaks: copy only the key itself.")], metadata={
        "label": "API key",
        "help": "The API key shown next to the ID token in Trigon's API access section.",
        "secret": True,
        "placeholder": "paste the API key",
    })
    environment = fields.String(
        load_default="production",
        validate=validate.OneOf(tuple(fact("hosts")), error="Choose production or test."),
        metadata={"label": "Environment",
                  "help": "Production unless you are connecting Trigon's test environment. Test credentials "
                          "do not work in production and vice versa."})

    @pre_load
    def normalise(self, data: dict, **kwargs: object) -> dict:
        data = dict(data or {})
        for name in ("id_token", "api_key"):
            value = data.get(name)
            if isinstance(value, str):  # a pasted header line or "Bearer …": keep only the value
                data[name] = _HEADER_PREFIX.sub("", value.strip()).strip().strip('"').strip()
        env = data.get("environment")
        if isinstance(env, str):
            env = env.strip().lower()
            data["environment"] = {"prod": "production", "live": "production", "": "production",
                                   "testing": "test", "sandbox": "test"}.get(env, env)
        return data

    @validates_schema
    def _different(self, data: dict, **kwargs: object) -> None:
        if data.get("id_token") and data.get("id_token") == data.get("api_key"):
            raise ValidationError("The ID token and the API key are two different values in Trigon: paste each "
                                  "into its own field.", field_name="api_key")


@hookimpl
def hub_vendor() -> VendorInfo:
    return VendorInfo(
        slug="trigon",
        name="Trigon",
        regions=("EE",),
        api_version="v1 (assumed API)",
        summary="Trigon Bank (Estonia): client lookup with contacts and addresses, and monthly transaction "
                "volumes for summary tasks. Built on an assumed API: Trigon publishes no API documentation.",
        syncs=(
            "Clients, contacts, addresses: Trigon → Integration Hub (client lookup, read-only)",
            "Transaction volumes (monthly statistics): Trigon → Integration Hub",
            "Recount of the volumes: Integration Hub → Trigon (on Reload data, before they are read)",
        ),
        setup_steps=(
            "Sign in to Trigon and go to the API access section.",
            "Generate or retrieve the ID token (sometimes called identity token) and the API key.",
            "Paste both values and select the environment (production unless you are testing).",
            "Click Test connection (it shows the organisation and when the ID token expires), then Save.",
        ),
        gotchas=(
            "Trigon caches transaction volumes per period. If a client looks like it is missing entries, run "
            "Reload data from the integration Settings tab to refresh the cache.",
            "ID tokens expire. The hub shows the expiry date and warns before it passes; when it has "
            "passed, regenerate the token in Trigon and paste the new value.",
            "Test and production are separate: credentials from one do not work in the other.",
        ),
        statistic_fields=STATISTIC_FIELDS,
        rate_limits=(RateLimit(*fact("rate_limit")),),
        per_client_credentials=False,
    )


@hookimpl
def hub_credentials_schema() -> type[marshmallow.Schema]:
    return Credentials


def _today(ctx: Context) -> dt.date:
    try:
        return ctx.now().astimezone(ZoneInfo(TRIGON_TZ)).date()
    except ZoneInfoNotFoundError:  # pragma: no cover - no tz database on the host
        return ctx.now().date()


@hookimpl
def hub_test_connection(ctx: Context, credentials: dict) -> ConnectionInfo:
    trigon = api.TrigonClient(ctx, credentials)
    try:
        org = trigon.me()
    except api.CredentialsRejected as rejected:
        other = next(env for env in fact("hosts") if env != trigon.environment)
        if _works_in(ctx, credentials, other):
            raise ConfigError(
                f"These credentials belong to Trigon's {other} environment, but {trigon.environment} is selected.",
                field="environment", hint=f"Select {other} as the environment and test again.") from None
        raise rejected
    expires_on = api.parse_date(org["token_expires"])
    details = {"environment": trigon.environment}
    if org["id"] is not None:
        details["organisation_id"] = str(org["id"])
    if org["reg_code"]:
        details["reg_code"] = str(org["reg_code"])
    if expires_on is not None:  # the hub shows ConnectionInfo.expires_on itself; no day count (it goes stale)
        days = (expires_on - _today(ctx)).days
        if days < 0:  # Trigon answered, yet reports an expiry date in the past
            details["warning"] = (f"Trigon reports that the ID token expired on {expires_on.isoformat()}, yet it "
                                  "still accepted it: generate a new one in Trigon's API access section and paste "
                                  "it now, before Trigon stops accepting it.")
            ctx.log.warning("trigon ID token accepted although it expired on %s", expires_on.isoformat())
        elif days <= EXPIRY_WARNING_DAYS:
            details["warning"] = (f"The Trigon ID token expires on {expires_on.isoformat()}: generate a new one in "
                                  "Trigon's API access section and paste it before then.")
            ctx.log.warning("trigon ID token expires on %s (in %d days)", expires_on.isoformat(), days)
    return ConnectionInfo(account_name=str(org["name"]).strip(),
                          account_id=str(org["id"]) if org["id"] is not None else None,
                          expires_on=expires_on, details=details)


def _works_in(ctx: Context, credentials: dict, environment: str) -> bool:
    """Whether Trigon's other environment knows these credentials (only asked after a rejection)."""
    try:
        api.TrigonClient(ctx, {**credentials, "environment": environment}).me()
    except api.TokenExpired:
        return True
    except HubError:
        return False
    return True


@hookimpl
def hub_list_clients(ctx: Context, credentials: dict, query: str) -> list[VendorClient]:
    trigon = api.TrigonClient(ctx, credentials)
    return [api.to_vendor_client(item) for item in trigon.iter_clients((query or "").strip())]


def _require_client(client: str | None) -> str:
    if not client:
        raise ConfigError("This client is not linked to a Trigon client.",
                          hint="Link the client to its Trigon client (client lookup) and try again.")
    return str(client)


@hookimpl
def hub_fetch_statistics(ctx: Context, credentials: dict, client: str | None,
                         periods: list[Period]) -> Statistics:
    client_id = _require_client(client)
    trigon = api.TrigonClient(ctx, credentials)
    wanted = {api.month(p): p for p in periods}
    out: Statistics = {p: dict.fromkeys(fact("volume_fields"), 0) for p in periods}
    for first, last in api.month_windows(periods):
        for entry in trigon.volumes(client_id, first, last):
            period = wanted.get(api.entry_month(entry))
            if period is None:
                continue
            out[period] = api.to_counts(entry)
    return out


@hookimpl
def hub_refresh_statistics(ctx: Context, credentials: dict, client: str | None,
                           periods: list[Period]) -> None:
    client_id = _require_client(client)
    if not periods:
        return
    trigon = api.TrigonClient(ctx, credentials)
    sleep = getattr(ctx.http, "sleep", time.sleep)
    for first, last in api.month_windows(periods):
        polls = trigon.refresh_and_wait(client_id, first, last, sleep=sleep)
        ctx.log.info("trigon volume cache refreshed for %s..%s after %d status polls", first, last, polls)


__all__ = ["Credentials", "STATISTIC_FIELDS", "EXPIRY_WARNING_DAYS"]
