"""Tripletex (Norway, API v2): test connection, client lookup, products, VAT types, invoice export.

The hooks are thin; the wire protocol and the mapping to hub types live in :mod:`hub_tripletex.client`, what it
relies on about the wire in :mod:`hub_tripletex.wire` (each fact with its source), the emulator in
:mod:`hub_tripletex.sandbox`.
"""

from __future__ import annotations

import re
from typing import Any

import marshmallow
from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from hub import hookimpl
from hub.types import ConnectionInfo, Context, ExportReceipt, Invoice, Product, TaxRate, VendorClient, VendorInfo
from hub_tripletex import client as wire_client
from hub_tripletex.client import TripletexClient
from hub_tripletex.wire import fact

__version__ = "0.1.0"

ENVIRONMENTS = ("production", "test")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9._~+/=:-]{8,512}$")
#: Tripletex company ids are int64 (its OpenAPI document: ``Company.id``); 0 is the token owner's company.
_COMPANY_ID_RE = re.compile(r"^[0-9]{1,19}$")
_TOKEN_ERROR = "This does not look like a Tripletex employee token: paste the token itself, without spaces or quotes."
_COMPANY_ID_ERROR = "Enter the numeric Tripletex company id, or 0 for the token owner's company."
_INT64_MAX = 2**63 - 1


class CompanyId(fields.Field):
    """A Tripletex company id: digits as text or a whole number (stored as text); blank or ``null`` is 0.

    Declared with its JSON Schema (``anyOf`` text/number), so the hub's API document says what is accepted."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"anyOf": [{"type": "string", "pattern": _COMPANY_ID_RE.pattern + "|^$", "nullable": True},
                              {"type": "integer", "minimum": 0, "maximum": _INT64_MAX}],
                    **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _INT64_MAX:
            return str(value)
        if isinstance(value, str) and _COMPANY_ID_RE.match(value):
            return value
        raise ValidationError(_COMPANY_ID_ERROR)


class Credentials(marshmallow.Schema):
    employee_token = fields.String(required=True, validate=validate.Regexp(_TOKEN_RE, error=_TOKEN_ERROR), metadata={
        "label": "Employee token",
        "help": "In Tripletex go to Company → API access (Selskap → API-tilgang), generate an employee token for "
                "the user that should sync data and paste it here. Tokens expire: when sync stops, generate a "
                "new one and paste it again.",
        "secret": True,
        "placeholder": "eyJ0b2tlbklkIjoxMjM0LCJ0b2tlbiI6Ii4uLiJ9",
    })
    environment = fields.String(
        load_default="production",
        validate=validate.OneOf(ENVIRONMENTS, labels=("Production", "Test"),
                                error="Choose production or test."),
        metadata={"label": "Environment",
                  "help": "Production (tripletex.no) for real companies; Test (api-test.tripletex.tech) for a "
                          "Tripletex test account. Test tokens start with \"test-\"."})
    company_id = CompanyId(
        load_default=fact("own_company_id"),
        metadata={"label": "Client company id (accountants only)",
                  "help": "Leave 0 to sync the token owner's own company. An accounting firm can enter the "
                          "Tripletex company id of a client it has login access to.",
                  "placeholder": "0"})

    @pre_load
    def normalise(self, data: dict, **kwargs: Any) -> dict:
        data = dict(data or {})
        if isinstance(data.get("environment"), str):
            data["environment"] = data["environment"].strip().lower() or "production"
        if data.get("company_id") in ("", None):
            data.pop("company_id", None)
        return data

    @validates_schema
    def check_environment(self, data: dict, **kwargs: Any) -> None:
        if data.get("environment", "production") == "production" and str(data.get("employee_token", "")).startswith(
                fact("test_token_prefix")):
            raise ValidationError("This token starts with \"test-\", so it belongs to the Tripletex test "
                                  "environment: choose Test.", field_name="environment")


@hookimpl
def hub_vendor() -> VendorInfo:
    return VendorInfo(
        slug="tripletex", name="Tripletex", regions=("NO",), api_version="v2",
        summary="Norwegian accounting system. Clients, products and tax rates are read from Tripletex; invoices "
                "are exported to Tripletex (never sent to the customer by Tripletex).",
        syncs=("Clients (customers): Tripletex → Integration Hub", "Products: Tripletex → Integration Hub",
               "Tax rates: Tripletex → Integration Hub", "Invoices: Integration Hub → Tripletex"),
        setup_steps=(
            "Sign in to Tripletex and go to Company → API access (Selskap → API-tilgang).",
            "Generate an employee token linked to the user account that should sync data.",
            "The hub already holds the consumer token as the integrating partner — you do not need to provide it.",
            "Paste the employee token and choose Production (or Test if you are connecting a test account).",
            "Click Test connection, then Save.",
        ),
        gotchas=(
            "Employee tokens have an expiration date. If sync stops, regenerate the token in Tripletex and paste "
            "the new value.",
            "Test and production tokens are not interchangeable: test tokens start with \"test-\".",
            "Tripletex needs a bank account registered on the company before invoices can be created.",
        ),
        rate_limits=(),  # Tripletex counts per employee and API consumer but publishes no number
        docs_url=fact("docs_link"),
        requires_api="1.2",
    )


@hookimpl
def hub_credentials_schema() -> type[marshmallow.Schema]:
    return Credentials


@hookimpl
def hub_test_connection(ctx: Context, credentials: dict) -> ConnectionInfo:
    return wire_client.connection_info(TripletexClient(ctx, credentials))


@hookimpl
def hub_list_clients(ctx: Context, credentials: dict, query: str) -> list[VendorClient]:
    return wire_client.list_clients(TripletexClient(ctx, credentials), query)


@hookimpl
def hub_list_products(ctx: Context, credentials: dict) -> list[Product]:
    return wire_client.list_products(TripletexClient(ctx, credentials))


@hookimpl
def hub_list_tax_rates(ctx: Context, credentials: dict) -> list[TaxRate]:
    return wire_client.list_tax_rates(TripletexClient(ctx, credentials))


@hookimpl
def hub_find_invoice(ctx: Context, credentials: dict, invoice: Invoice) -> ExportReceipt | None:
    return wire_client.find_invoice(TripletexClient(ctx, credentials), invoice)


@hookimpl
def hub_export_invoice(ctx: Context, credentials: dict, invoice: Invoice) -> ExportReceipt:
    return wire_client.export_invoice(TripletexClient(ctx, credentials), invoice)
