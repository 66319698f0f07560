"""SmartAccounts (Estonia): VAT types, monthly statistics and invoice export over the signed SmartAccounts API.

Each firm client is its own SmartAccounts company with its own API key pair (per-client credentials).
The wire protocol and its mapping to and from hub types live in :mod:`hub_smartaccounts.client`, the facts it
relies on in :mod:`hub_smartaccounts.wire`, the emulator in :mod:`hub_smartaccounts.sandbox`. See README.md.
"""

from __future__ import annotations

from typing import Any

import marshmallow
from marshmallow import fields, validate, validates_schema

from hub import hookimpl
from hub.types import (
    ConnectionInfo,
    Context,
    ExportReceipt,
    Invoice,
    Period,
    Product,
    RateLimit,
    Statistics,
    TaxRate,
    VendorInfo,
)

from .client import (
    STATISTIC_FIELDS,
    SmartAccountsApi,
    export_invoice,
    fetch_statistics,
    find_invoice,
    products,
    tax_rates,
)
from .wire import fact

SLUG = "smartaccounts"


#: Visible ASCII but ``&``, ``=``, ``?``, ``#`` and ``/`` (no spaces, line breaks or URL parts).
_PLAIN = r"^[!\x22$%'-.0-<>@-~]*$"


def _rules(what: str) -> list[validate.Validator]:
    """Validators, not check methods: the API document then states the rules (``minLength``, ``pattern``)."""
    return [validate.Length(min=8, error=f"This is too short to be a SmartAccounts {what}; copy it again in full."),
            validate.Regexp(_PLAIN, error=f"Paste only the {what} itself, exactly as SmartAccounts shows it (no "
                            "spaces, line breaks, '&', '=' or URL parts).")]


class Credentials(marshmallow.Schema):
    api_key = fields.String(required=True, validate=_rules("API key"), metadata={
        "label": "API key", "secret": True, "placeholder": "the public API key",
        "help": "In SmartAccounts: Settings → API (the company's API access). Generate a key pair and copy the "
                "API key (the public key).",
    })
    api_secret = fields.String(required=True, validate=_rules("API secret"), metadata={
        "label": "API secret", "secret": True, "placeholder": "the API secret (private key)",
        "help": "SmartAccounts shows the secret only once, when the key pair is generated. If you have lost it, "
                "generate a new key pair in SmartAccounts and paste both the new key and the new secret here.",
    })

    @validates_schema
    def _check_pair(self, data: dict, **kwargs: Any) -> None:
        if data.get("api_key") and data.get("api_key") == data.get("api_secret"):
            raise marshmallow.ValidationError(
                "The API key and the API secret are two different values: paste the key in the first field and "
                "the secret in the second.", field_name="api_secret")


@hookimpl
def hub_vendor() -> VendorInfo:
    return VendorInfo(
        slug=SLUG,
        name="SmartAccounts",
        regions=("EE",),
        api_version="api (sa.smartaccounts.eu/api)",
        summary="Estonian online accounting. Each client is its own SmartAccounts company with its own API key "
                "pair: tax rates and monthly statistics come in, invoices go out.",
        syncs=(
            "Tax rates: SmartAccounts → Integration Hub",
            "Articles (products): SmartAccounts → Integration Hub, for the product mapping",
            "Monthly statistics (sale, purchase and bank entries, documents): SmartAccounts → Integration Hub",
            "Invoices: Integration Hub → SmartAccounts (the buyer is found or created as a SmartAccounts client)",
        ),
        setup_steps=(
            "Sign in to SmartAccounts with the client's company and open the Settings area for API access.",
            "Generate an API key and API secret. Copy the secret right away: it is shown only once.",
            "In Integration Hub, paste both values on the Connect tab (or the client's own credentials).",
            "Click Test connection, then Save.",
        ),
        gotchas=(
            "The API secret is shown only once when it is generated. If you lose it, regenerate the pair in "
            "SmartAccounts and paste both the new key and the new secret into Integration Hub again.",
            "Each client is its own SmartAccounts company: connect each client with that company's own key pair.",
            "SmartAccounts keys do not expire, but they stop working when an admin regenerates or revokes them.",
            "Every SmartAccounts invoice row needs an article: map the hub's products to SmartAccounts articles; "
            "lines without a product are booked on the article UKU, which the hub creates the first time.",
            "SmartAccounts allows 60 requests a minute and 1000 a day per key; a 12-month reload takes 4 requests "
            "(one more per extra 100 documents of a kind).",
        ),
        statistic_fields=STATISTIC_FIELDS,
        rate_limits=tuple(RateLimit(n, seconds) for n, seconds in fact("rate_limits")),
        per_client_credentials=True,
        docs_url="https://www.smartaccounts.eu/",
        requires_api="1.2",
        vat_rounding="line" if fact("vat_per_row") else "rate",  # VAT per row, each rounded (taxCents per row)
    )


@hookimpl
def hub_credentials_schema() -> type[marshmallow.Schema]:
    return Credentials


def _api(ctx: Context, credentials: dict) -> SmartAccountsApi:
    return SmartAccountsApi(ctx, credentials)


@hookimpl
def hub_test_connection(ctx: Context, credentials: dict) -> ConnectionInfo:
    """Loads the VAT types (``settings/vatpcs:get``): a 200 means the key pair and the signature are good.
    SmartAccounts has no known "who am I" endpoint, so the account is named by the key's first characters."""
    rates = tax_rates(_api(ctx, credentials))
    key = credentials["api_key"]
    return ConnectionInfo(account_name=f"SmartAccounts company (API key {key[:4]}…)",
                          details={"vat_types": str(len(rates))})


@hookimpl
def hub_list_products(ctx: Context, credentials: dict) -> list[Product]:
    """The company's sales articles: the hub maps its product codes to them, so exported rows carry them."""
    return products(_api(ctx, credentials))


@hookimpl
def hub_list_tax_rates(ctx: Context, credentials: dict) -> list[TaxRate]:
    return tax_rates(_api(ctx, credentials))


@hookimpl
def hub_fetch_statistics(ctx: Context, credentials: dict, client: str | None,
                         periods: list[Period]) -> Statistics:
    """``client`` is ignored: the credentials are the client's own SmartAccounts company."""
    return fetch_statistics(_api(ctx, credentials), list(periods))


@hookimpl
def hub_export_invoice(ctx: Context, credentials: dict, invoice: Invoice) -> ExportReceipt:
    return export_invoice(_api(ctx, credentials), invoice)


@hookimpl
def hub_find_invoice(ctx: Context, credentials: dict, invoice: Invoice) -> ExportReceipt | None:
    return find_invoice(_api(ctx, credentials), invoice)
