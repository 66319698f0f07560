"""A minimal OAuth 2.0 vendor used by the hub's tests (contract 1.2): nothing to paste, "Connect with OAuth Example".

The hub runs the authorisation-code flow (``VendorInfo.oauth``) and hands every hook a ``ctx.http`` that already
carries the access token; the plugin never sees a token. Its sandbox (:mod:`hub_oauthexample.sandbox`) is the
kit's authorisation server (:mod:`hub.testing.oauth_server`) plus three API routes.
"""

from __future__ import annotations

import marshmallow

from hub import hookimpl
from hub.errors import AuthError, TransientError, VendorRejected
from hub.types import (
    ConnectionInfo,
    ExportReceipt,
    Invoice,
    OAuthSpec,
    Period,
    StatisticField,
    VendorClient,
    VendorInfo,
)

API = "https://api.oauth-example.test/v1"
LOGIN = "https://login.oauth-example.test/oauth"


class Credentials(marshmallow.Schema):
    """Nothing to paste: the admin connects with OAuth."""


@hookimpl
def hub_vendor() -> VendorInfo:
    return VendorInfo(
        slug="oauthexample", name="OAuth Example", regions=("EE",), api_version="v1", requires_api="1.2",
        summary="A made-up vendor that authorises with OAuth 2.0, for the hub's tests.",
        setup_steps=("Click Connect with OAuth Example and allow access.",),
        statistic_fields=(StatisticField("documents", "Documents"),),
        docs_url="https://developer.oauth-example.test/",
        oauth=OAuthSpec(authorize_url=f"{LOGIN}/authorize", token_url=f"{LOGIN}/token",
                        scopes=("books.read", "invoices.write")),
    )


@hookimpl
def hub_credentials_schema() -> type[marshmallow.Schema]:
    return Credentials


def _json(response):  # noqa: ANN001, ANN202
    if response.status_code == 401:
        raise AuthError("OAuth Example refused the access token.",
                        hint="Click Reconnect on the Connect tab and allow access again.")
    try:
        return response.json()
    except ValueError:
        raise TransientError("OAuth Example answered with something that is not JSON.") from None


@hookimpl
def hub_test_connection(ctx, credentials: dict) -> ConnectionInfo:  # noqa: ANN001
    return ConnectionInfo(account_name=_json(ctx.http.get(f"{API}/me"))["company"])


@hookimpl
def hub_list_clients(ctx, credentials: dict, query: str) -> list[VendorClient]:  # noqa: ANN001
    body = _json(ctx.http.get(f"{API}/clients", params={"q": query}))
    return [VendorClient(id=str(c["id"]), name=c["name"]) for c in body["items"]]


@hookimpl
def hub_fetch_statistics(ctx, credentials: dict, client: str | None, periods: list[Period]) -> dict:  # noqa: ANN001
    body = _json(ctx.http.get(f"{API}/stats", params={"client": client or "", "start": str(periods[0]),
                                                       "end": str(periods[-1])}))
    return {p: {"documents": int(body["months"].get(str(p), 0))} for p in periods}


@hookimpl
def hub_export_invoice(ctx, credentials: dict, invoice: Invoice) -> ExportReceipt:  # noqa: ANN001
    response = ctx.http.post(f"{API}/invoices", json={"reference": invoice.reference, "number": invoice.number,
                                                      "total": str(invoice.total)})
    if response.status_code == 422:
        raise VendorRejected("OAuth Example refused the invoice.", field_messages=response.json()["errors"])
    body = _json(response)
    return ExportReceipt(vendor_invoice_id=str(body["id"]), number=body["number"],
                         already_existed=response.status_code == 200)


@hookimpl
def hub_find_invoice(ctx, credentials: dict, invoice: Invoice) -> ExportReceipt | None:  # noqa: ANN001
    found = _json(ctx.http.get(f"{API}/invoices", params={"reference": invoice.reference}))["items"]
    return ExportReceipt(vendor_invoice_id=str(found[0]["id"]), number=found[0]["number"], already_existed=True) \
        if found else None
