"""A minimal vendor used by the hub's core tests: an API key, a company, clients and statistics."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import marshmallow
from marshmallow import fields, validate

from hub import hookimpl
from hub.errors import AuthError, ConfigError, TransientError, VendorRejected
from hub.types import (
    BookedInvoice,
    BookedLine,
    ConnectionInfo,
    ExportReceipt,
    Invoice,
    Period,
    RateLimit,
    StatisticField,
    TaxRate,
    VendorClient,
    VendorInfo,
)

API = "https://api.example-vendor.test/v1"


class Credentials(marshmallow.Schema):
    api_key = fields.String(required=True, metadata={"label": "API key", "secret": True,
                                                     "help": "Settings → API in Example."})
    company = fields.String(required=True, validate=validate.Regexp(
        r"^[!-~]+$", error="The company code has no spaces: copy it again from Example."),
        metadata={"label": "Company code", "placeholder": "acme"})


@hookimpl
def hub_vendor() -> VendorInfo:
    return VendorInfo(
        slug="example", name="Example Books", regions=("EE",), api_version="v1",
        summary="A made-up vendor for the hub's tests.",
        setup_steps=("Open Settings → API in Example.", "Copy the API key and the company code."),
        statistic_fields=(StatisticField("documents", "Documents"),
                          StatisticField("entries", "Entries"),
                          StatisticField("payments", "Payments", advanced=True)),
        rate_limits=(RateLimit(600, 60),), requires_api="1.2",
    )


@hookimpl
def hub_credentials_schema() -> type[marshmallow.Schema]:
    return Credentials


def _get(ctx, credentials: dict, path: str, **params):  # noqa: ANN001, ANN202
    response = ctx.http.get(f"{API}/{credentials['company']}{path}", params=params,
                            headers={"X-Api-Key": credentials["api_key"]})
    if response.status_code == 401:
        raise AuthError("Example rejected the API key.", hint="Generate a new key in Example and paste it.")
    if response.status_code == 404:
        raise ConfigError(f"Example has no company {credentials['company']!r}.", field="company",
                          hint="Check the company code.")
    try:
        return response.json()
    except ValueError:
        raise TransientError("Example answered with something that is not JSON.") from None


@hookimpl
def hub_test_connection(ctx, credentials: dict) -> ConnectionInfo:  # noqa: ANN001
    body = _get(ctx, credentials, "/whoami")
    return ConnectionInfo(account_name=body["company_name"],
                          expires_on=dt.date.fromisoformat(body["expires"]) if body.get("expires") else None)


@hookimpl
def hub_list_clients(ctx, credentials: dict, query: str) -> list[VendorClient]:  # noqa: ANN001
    out, page = [], 1
    while True:
        body = _get(ctx, credentials, "/clients", q=query, page=page)
        out += [VendorClient(id=str(c["id"]), name=c["name"], reg_code=c.get("reg")) for c in body["items"]]
        if not body["more"]:
            return out
        page += 1


@hookimpl
def hub_fetch_statistics(ctx, credentials: dict, client: str | None, periods: list[Period]) -> dict:  # noqa: ANN001
    body = _get(ctx, credentials, "/stats", client=client or "", start=str(periods[0]), end=str(periods[-1]))
    months = body["months"]
    return {p: {k: int(months.get(str(p), {}).get(k, 0)) for k in ("documents", "entries", "payments")}
            for p in periods}


@hookimpl
def hub_list_tax_rates(ctx, credentials: dict) -> list[TaxRate]:  # noqa: ANN001
    return [TaxRate(id=r["id"], code=r["code"], name=r["name"], rate=Decimal(r["rate"]))
            for r in _get(ctx, credentials, "/taxes")["items"]]


def _receipt(body: dict, existed: bool) -> ExportReceipt:
    return ExportReceipt(vendor_invoice_id=str(body["id"]), number=body["number"], already_existed=existed,
                         booked=_booked(body.get("booked")))


def _booked(booked: dict | None) -> BookedInvoice | None:
    """What Example booked, from its own answer (contract 1.2): its figures, never the hub's."""
    if booked is None:
        return None
    return BookedInvoice(currency=booked["currency"], total_net=Decimal(booked["net"]),
                         total_vat=Decimal(booked["vat"]), total=Decimal(booked["total"]),
                         buyer_name=booked["customer"],
                         lines=tuple(BookedLine(net=Decimal(x["net"]), vat_rate=Decimal(x["rate"]))
                                     for x in booked["lines"]))


@hookimpl
def hub_export_invoice(ctx, credentials: dict, invoice: Invoice) -> ExportReceipt:  # noqa: ANN001
    payload = {"reference": invoice.reference, "number": invoice.number, "customer": invoice.client.name,
               "total": str(invoice.total), "vat": str(invoice.total_vat),
               "lines": [{"text": line.description, "qty": str(line.quantity), "price": str(line.unit_price),
                          "tax": line.tax_id} for line in invoice.lines]}
    response = ctx.http.post(f"{API}/{credentials['company']}/invoices", json=payload,
                             headers={"X-Api-Key": credentials["api_key"]})
    if response.status_code == 422:
        raise VendorRejected("Example refused the invoice.", field_messages=response.json()["errors"])
    if response.status_code == 401:
        raise AuthError("Example rejected the API key.", hint="Generate a new key in Example and paste it.")
    return _receipt(response.json(), existed=response.status_code == 409)


@hookimpl
def hub_find_invoice(ctx, credentials: dict, invoice: Invoice) -> ExportReceipt | None:  # noqa: ANN001
    found = _get(ctx, credentials, "/invoices", reference=invoice.reference)["items"]
    return _receipt(found[0], existed=True) if found else None
