"""Scoro (Estonia, UK, global; API v2): test connection, tax rates, invoice export, find-invoice.

Outbound only: no client lookup and no statistics (the hub offers neither for Scoro). The wire
protocol lives in :mod:`hub_scoro.client`, the emulator in :mod:`hub_scoro.sandbox`.
"""

from __future__ import annotations

import re

import marshmallow
from marshmallow import fields, validate, validates

from hub import hookimpl
from hub.types import ConnectionInfo, Context, ExportReceipt, Invoice, RateLimit, TaxRate, VendorInfo
from hub_scoro.client import DEFAULT_DOMAIN, DOMAINS, LANGUAGES, ScoroClient

__version__ = "0.1.0"

#: One DNS label: what may stand before ``.scoro.com``. Nothing else can reach the URL's host.
LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
#: A validator, not a check method: the API document then states the rule (``pattern``).
_ACCOUNT_ID_RULE = validate.Regexp(ACCOUNT_ID, error="Paste the company account ID exactly as Scoro shows it under "
                                   "Settings → API (letters, digits, '-', '_' or '.', no spaces).")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def _prefix_from_address(text: str) -> tuple[str, str] | None:
    """``("acme", "scoro.com")`` when ``text`` is a Scoro address such as ``https://acme.scoro.com/…``."""
    rest = _SCHEME.sub("", text.strip()).split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    hostname = rest.rsplit("@", 1)[-1].split(":", 1)[0].lower().rstrip(".")
    for domain in DOMAINS:
        if hostname.endswith("." + domain):
            prefix = hostname[: -len(domain) - 1]
            if LABEL.match(prefix) and prefix != "www":
                return prefix, domain
    return None


class Credentials(marshmallow.Schema):
    company_account_id = fields.String(required=True, validate=_ACCOUNT_ID_RULE, metadata={
        "label": "Company account ID",
        "help": "Scoro → Settings → API: the company account ID (often the same as your subdomain).",
        "placeholder": "acme",
    })
    api_key = fields.String(required=True, metadata={
        "label": "API key", "secret": True,
        "help": "Scoro → Settings → API: the company API key. Copy it exactly.",
    })
    subdomain = fields.String(required=True, metadata={
        "label": "Subdomain",
        "help": "Only the prefix of your Scoro address: for https://acme.scoro.com enter acme.",
        "placeholder": "acme",
        "pattern": LABEL.pattern,  # the check below, with a message for each way to get it wrong
    })
    domain = fields.String(load_default=DEFAULT_DOMAIN, validate=validate.OneOf(DOMAINS), metadata={
        "label": "Scoro address ends in",
        "help": "scoro.com for most accounts; older Estonian accounts use scoro.ee.",
    })
    language = fields.String(
        load_default="eng", validate=validate.OneOf(list(LANGUAGES), labels=list(LANGUAGES.values())),
        metadata={"label": "Invoice language", "help": "The language Scoro uses for the invoices the hub exports."})

    @validates("subdomain")
    def _subdomain(self, value: str, **kwargs: object) -> None:
        if LABEL.match(value):
            return
        if LABEL.match(value.lower()):
            raise marshmallow.ValidationError(f"Use lower-case letters: {value.lower()}.")
        found = _prefix_from_address(value)
        if found is not None:
            prefix, domain = found
            extra = f" and choose {domain} under “Scoro address ends in”" if domain != DEFAULT_DOMAIN else ""
            raise marshmallow.ValidationError(
                f"Enter only the prefix of your Scoro address, not the full address: use {prefix}{extra}.")
        raise marshmallow.ValidationError(
            "Enter only the prefix of your Scoro address (the part before .scoro.com, e.g. acme): "
            "letters, digits and hyphens, at most 63 characters.")


@hookimpl
def hub_vendor() -> VendorInfo:
    return VendorInfo(
        slug="scoro",
        name="Scoro",
        regions=("EE", "GB", "Global"),
        api_version="v2",
        summary="Pushes invoices into Scoro in Estonian or English and reads Scoro's tax rates. Outbound only: "
                "clients are not imported and Scoro gives no summary statistics.",
        syncs=("Tax rates: Scoro → Integration Hub", "Invoices: Integration Hub → Scoro"),
        setup_steps=(
            "Sign in to Scoro and go to Settings → API.",
            "Copy your company account ID, API key, and subdomain (the part of your Scoro URL before .scoro.com).",
            "In the hub, paste all three values into the integration dialog (older Estonian accounts whose address "
            "ends in .scoro.ee: choose scoro.ee).",
            "Choose the language (Estonian, English) used for invoice exports.",
            "Click Test connection then Save.",
        ),
        gotchas=(
            "The subdomain is just the prefix (e.g. acme), not the full URL. Pasting the full URL is refused with "
            "the prefix to use.",
            "Clients are not imported from Scoro: an exported invoice's client is matched to a Scoro company by "
            "registry code (or VAT number, or name) and created in Scoro when missing.",
            "Scoro allows 500 API requests per day per account by default; the hub counts its calls against it.",
        ),
        rate_limits=(RateLimit(500, 86400),),
        docs_url="https://api.scoro.com/api",
        requires_api="1.2",
    )


@hookimpl
def hub_credentials_schema() -> type[marshmallow.Schema]:
    return Credentials


@hookimpl
def hub_test_connection(ctx: Context, credentials: dict) -> ConnectionInfo:
    return ScoroClient(ctx, credentials).connection_info()


@hookimpl
def hub_list_tax_rates(ctx: Context, credentials: dict) -> list[TaxRate]:
    return ScoroClient(ctx, credentials).tax_rates()


@hookimpl
def hub_export_invoice(ctx: Context, credentials: dict, invoice: Invoice) -> ExportReceipt:
    return ScoroClient(ctx, credentials).export_invoice(invoice)


@hookimpl
def hub_find_invoice(ctx: Context, credentials: dict, invoice: Invoice) -> ExportReceipt | None:
    return ScoroClient(ctx, credentials).find_invoice(invoice)
