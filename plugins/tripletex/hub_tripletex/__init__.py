"""Tripletex (Norway, API v2): test connection, client lookup, products, VAT types, invoice export.

The hooks are thin; the wire protocol lives in :mod:`hub_tripletex.client`, the emulator in
:mod:`hub_tripletex.sandbox`. Facts and their sources: ``shared/vendors/public-apis.md`` §1.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import marshmallow
from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from hub import hookimpl
from hub.errors import TransientError, VendorRejected
from hub.types import (
    Address,
    BookedInvoice,
    BookedLine,
    ConnectionInfo,
    Context,
    ExportReceipt,
    Invoice,
    InvoiceParty,
    Product,
    TaxRate,
    VendorClient,
    VendorInfo,
)
from hub_tripletex.client import TripletexClient

__version__ = "0.1.0"

#: Standard outgoing Norwegian VAT types used when a line has no mapped tax id
#: (3/31/32: public-apis.md §1, S5 [CODE] and S6; 0 % → 5 "no outgoing VAT, within the VAT act" [INF]).
DEFAULT_VAT_TYPES = {Decimal("25"): 3, Decimal("15"): 31, Decimal("12"): 32, Decimal("0"): 5}
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
        load_default="0",
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
                "test-"):
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
        docs_url="https://tripletex.no/v2-docs/",
        requires_api="1.2",
    )


@hookimpl
def hub_credentials_schema() -> type[marshmallow.Schema]:
    return Credentials


@hookimpl
def hub_test_connection(ctx: Context, credentials: dict) -> ConnectionInfo:
    client = TripletexClient(ctx, credentials)
    who = client.get_value("/token/session/>whoAmI",
                           {"fields": "companyId,company(id,name,organizationNumber),employee(id,firstName,lastName)"},
                           what="checking the connection")
    company = who.get("company") or {}
    employee = who.get("employee") or {}
    details = {"environment": client.environment}
    if company.get("organizationNumber"):
        details["organization_number"] = str(company["organizationNumber"])
    user = " ".join(str(employee.get(k) or "") for k in ("firstName", "lastName")).strip()
    if user:
        details["user"] = user
    return ConnectionInfo(account_name=str(company.get("name") or f"Tripletex company {who.get('companyId')}"),
                          account_id=str(who.get("companyId") or company.get("id") or ""), details=details)


CUSTOMER_FIELDS = ("id,name,organizationNumber,customerNumber,email,invoiceEmail,phoneNumber,"
                   "postalAddress(addressLine1,addressLine2,postalCode,city,country(isoAlpha2Code))")


def _client_from(row: dict) -> VendorClient:
    address = row.get("postalAddress") or {}
    addresses = ()
    street = ", ".join(x for x in (address.get("addressLine1"), address.get("addressLine2")) if x)
    if street or address.get("city"):
        addresses = (Address(street=street or None, city=address.get("city") or None,
                             postal_code=address.get("postalCode") or None,
                             country=(address.get("country") or {}).get("isoAlpha2Code") or None),)
    return VendorClient(id=str(row["id"]), name=str(row.get("name") or ""),
                        reg_code=str(row.get("organizationNumber") or "") or None,
                        email=row.get("invoiceEmail") or row.get("email") or None, addresses=addresses)


def _org_number(text: str | None) -> str | None:
    digits = re.sub(r"[\s.-]", "", text or "").upper().removeprefix("NO").removesuffix("MVA")
    return digits if len(digits) == 9 and digits.isdigit() else None


@hookimpl
def hub_list_clients(ctx: Context, credentials: dict, query: str) -> list[VendorClient]:
    client = TripletexClient(ctx, credentials)
    query = (query or "").strip()
    org = _org_number(query)
    params = {"fields": CUSTOMER_FIELDS}
    if org:  # the API filters by organisation number; it has no name filter, so names are matched here
        params["organizationNumber"] = org
    rows = client.iter_list("/customer", params, what="listing customers")
    needle = query.casefold()
    out = []
    for row in rows:
        if not org and needle and needle not in str(row.get("name") or "").casefold() \
                and needle != str(row.get("customerNumber") or "") \
                and needle not in str(row.get("organizationNumber") or ""):
            continue
        out.append(_client_from(row))
    return out


@hookimpl
def hub_list_products(ctx: Context, credentials: dict) -> list[Product]:
    client = TripletexClient(ctx, credentials)
    out = []
    for row in client.iter_list("/product", {"isInactive": "false", "fields":
                                "id,number,name,priceExcludingVatCurrency,vatType(id),productUnit(name)"},
                                what="listing products"):
        price = row.get("priceExcludingVatCurrency")
        out.append(Product(id=str(row["id"]), code=str(row.get("number") or row["id"]), name=str(row.get("name") or ""),
                           unit_price=Decimal(str(price)) if price is not None else None,
                           unit=(row.get("productUnit") or {}).get("name") or None,
                           tax_id=str((row.get("vatType") or {}).get("id")) if row.get("vatType") else None))
    return out


@hookimpl
def hub_list_tax_rates(ctx: Context, credentials: dict) -> list[TaxRate]:
    """The VAT types an outgoing (sales) invoice may carry: the spec's ``typeOfVat=OUTGOING`` filter of
    ``GET /ledger/vatType`` leaves out the purchase (input VAT deduction) types, valid today."""
    client = TripletexClient(ctx, credentials)
    return [TaxRate(id=str(row["id"]), code=str(row.get("number") or row["id"]), name=str(row.get("name") or ""),
                    rate=Decimal(str(row.get("percentage") or 0)))
            for row in client.iter_list("/ledger/vatType", {"typeOfVat": "OUTGOING",
                                                            "fields": "id,number,name,percentage"},
                                        what="listing VAT types")]


# -- invoices ---------------------------------------------------------------------------------------
#: What the lookup reads (fields of the spec's ``Invoice``, ``Order``, ``OrderLine``, ``VatType``, ``Customer`` and
#: ``Currency``): the order's reference to find the invoice, and what Tripletex booked, for the read-back.
FIND_FIELDS = ("id,invoiceNumber,invoiceDate,amountExcludingVatCurrency,amountCurrency,currency(code),"
               "customer(name,organizationNumber),orders(id,reference,orderLines(description,"
               "amountExcludingVatCurrency,amountIncludingVatCurrency,vatType(percentage)))")


def _find(client: TripletexClient, invoice: Invoice) -> ExportReceipt | None:
    """The invoice whose order carries ``invoice.reference`` (``Order.reference``), dated on its issue date, with
    what Tripletex booked (one request)."""
    params = {"invoiceDateFrom": invoice.issue_date.isoformat(),
              "invoiceDateTo": (invoice.issue_date + dt.timedelta(days=1)).isoformat(),  # "to" is exclusive
              "fields": FIND_FIELDS}
    for row in client.iter_list("/invoice", params, what="looking up the invoice"):
        if any((order or {}).get("reference") == invoice.reference for order in row.get("orders") or []):
            return ExportReceipt(vendor_invoice_id=str(row["id"]), number=str(row.get("invoiceNumber") or "") or None,
                                 already_existed=True, booked=_booked(row))
    return None


def _amount(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01")) if value is not None else None
    except InvalidOperation:
        return None


def _booked(row: dict) -> BookedInvoice | None:
    """What Tripletex booked (its own ``Invoice`` answer): ``amountExcludingVatCurrency`` (net), ``amountCurrency``
    (gross; VAT = gross − net), the currency's ``code``, the customer's ``name`` and ``organizationNumber``, and per
    order line its net and gross in the invoice currency and its VAT type's ``percentage``. ``None`` without
    totals. Field names per the OpenAPI spec (2.74); that ``amountCurrency`` holds no øre rounding
    (``amountRoundoffCurrency``) in the sandbox is the sandbox's choice."""
    net, gross = _amount(row.get("amountExcludingVatCurrency")), _amount(row.get("amountCurrency"))
    if net is None or gross is None:
        return None
    lines = []
    for order in row.get("orders") or []:
        for line in (order or {}).get("orderLines") or []:
            line_net, line_gross = _amount(line.get("amountExcludingVatCurrency")), \
                _amount(line.get("amountIncludingVatCurrency"))
            if line_net is None:
                continue
            percentage = (line.get("vatType") or {}).get("percentage")
            lines.append(BookedLine(net=line_net, vat=line_gross - line_net if line_gross is not None else None,
                                    vat_rate=Decimal(str(percentage)) if percentage is not None else None,
                                    description=line.get("description") or None))
    customer = row.get("customer") or {}
    return BookedInvoice(currency=str((row.get("currency") or {}).get("code") or ""), total_net=net,
                         total_vat=gross - net, total=gross, lines=tuple(lines),
                         buyer_code=customer.get("organizationNumber") or None, buyer_name=customer.get("name") or None)


@hookimpl
def hub_find_invoice(ctx: Context, credentials: dict, invoice: Invoice) -> ExportReceipt | None:
    return _find(TripletexClient(ctx, credentials), invoice)


def _same_name(a: str | None, b: str | None) -> bool:
    return " ".join(str(a or "").split()).casefold() == " ".join(str(b or "").split()).casefold()


def _existing_customer(client: TripletexClient, party: InvoiceParty, org: str | None) -> int | None:
    """The Tripletex customer that already is ``party``, active or not, or ``None``.

    ``GET /customer`` answers only active customers unless ``isInactive=true`` (its default is false), so
    each lookup is made for active customers first and then for inactive ones: a customer someone
    deactivated in Tripletex is reused rather than created again. By organisation number
    (``organizationNumber``, "Equals"), then by name (``customerName``; whether Tripletex matches it
    exactly or as a part of the name the spec does not say, so the name is compared here too). A name
    match whose organisation number differs is another company and is not taken."""
    fields = "id,name,organizationNumber,isInactive"
    lookups: list[dict[str, str]] = []
    if org:
        lookups.append({"organizationNumber": org})
    name = " ".join(party.name.split())
    if name:
        lookups.append({"customerName": name})
    for params in lookups:
        for inactive in ("false", "true"):
            for row in client.iter_list("/customer", {**params, "isInactive": inactive, "fields": fields},
                                        what="looking up the customer"):
                row_org = str(row.get("organizationNumber") or "")
                if "organizationNumber" in params:
                    if row_org == org:
                        return int(row["id"])
                elif _same_name(row.get("name"), party.name) and (not org or not row_org or row_org == org):
                    return int(row["id"])
    return None


def _customer_id(client: TripletexClient, party: InvoiceParty) -> int:
    if party.vendor_client_id:
        try:
            return int(party.vendor_client_id)
        except ValueError:
            raise VendorRejected("The linked Tripletex customer id is not a number.",
                                 field_messages={"client": ["Link the client to a Tripletex customer again."]})
    org = _org_number(party.reg_code)
    existing = _existing_customer(client, party, org)
    if existing is not None:
        return existing
    body: dict[str, Any] = {"name": party.name.strip(), "isPrivateIndividual": org is None and not party.reg_code}
    if org:
        body["organizationNumber"] = org
    if party.email:
        body["email"] = party.email
        body["invoiceEmail"] = party.email
    if party.address:
        body["postalAddress"] = {k: v for k, v in {"addressLine1": party.address.street,
                                                   "postalCode": party.address.postal_code,
                                                   "city": party.address.city}.items() if v}
    response = client.request("POST", "/customer", body=body)
    if response.status_code != 201:
        client._raise_for(response, "creating the customer")
    return int(client._json(response)["value"]["id"])


def _vat_type(line_no: int, tax_id: str | None, rate: Decimal) -> int:
    if tax_id:
        try:
            return int(tax_id)
        except ValueError:
            pass
        raise VendorRejected("A line's VAT type is not a Tripletex VAT type id.",
                             field_messages={f"lines[{line_no}].tax_id": [f"{tax_id!r} is not a Tripletex VAT type "
                                                                          "id; map the tax rate again."]})
    try:
        vat = DEFAULT_VAT_TYPES.get(Decimal(rate).normalize())
    except InvalidOperation:
        vat = None
    if vat is None:
        raise VendorRejected(f"No Tripletex VAT type is mapped for {rate}% VAT.",
                             field_messages={f"lines[{line_no}].tax_id": ["Map this tax rate to a Tripletex VAT type "
                                                                          "in the integration settings."]})
    return vat


def _invoice_body(client: TripletexClient, invoice: Invoice, customer_id: int) -> dict[str, Any]:
    products: dict[str, int] = {}
    if any(line.product_code for line in invoice.lines):
        for row in client.iter_list("/product", {"fields": "id,number"}, what="looking up products"):
            if row.get("number"):
                products[str(row["number"])] = int(row["id"])
    lines = []
    for no, line in enumerate(invoice.lines):
        item: dict[str, Any] = {"description": line.description, "count": line.quantity,
                                "unitPriceExcludingVatCurrency": line.unit_price,
                                "vatType": {"id": _vat_type(no, line.tax_id, line.vat_rate)}}
        if line.product_code:
            if line.product_code not in products:
                raise VendorRejected(f"Tripletex has no product number {line.product_code!r}.",
                                     field_messages={f"lines[{no}].product_code": [
                                         "Map the line to an existing Tripletex product number."]})
            item["product"] = {"id": products[line.product_code]}
        lines.append(item)
    order: dict[str, Any] = {"customer": {"id": customer_id}, "orderDate": invoice.issue_date,
                             "deliveryDate": invoice.issue_date, "reference": invoice.reference,
                             "isPrioritizeAmountsIncludingVat": False, "orderLines": lines}
    if invoice.notes:
        order["invoiceComment"] = invoice.notes
    currency = (invoice.currency or "NOK").upper()
    if currency != "NOK":
        found = next(iter(client.iter_list("/currency", {"code": currency, "fields": "id,code"},
                                           what="looking up the currency")), None)
        if found is None:
            raise VendorRejected(f"Tripletex does not know the currency {currency}.",
                                 field_messages={"currency": [f"{currency} is not a Tripletex currency."]})
        order["currency"] = {"id": int(found["id"])}
    return {"invoiceDate": invoice.issue_date, "invoiceDueDate": invoice.due_date,
            "customer": {"id": customer_id}, "orders": [order]}


@hookimpl
def hub_export_invoice(ctx: Context, credentials: dict, invoice: Invoice) -> ExportReceipt:
    client = TripletexClient(ctx, credentials)
    existing = _find(client, invoice)  # lookup-before-create: an earlier attempt may have got through
    if existing is not None:
        return existing
    body = _invoice_body(client, invoice, _customer_id(client, invoice.client))
    # sendToCustomer defaults to true in Tripletex: always say false, the hub never has Tripletex e-mail it.
    response = client.request("POST", "/invoice", params={"sendToCustomer": "false"}, body=body)
    if response.status_code == 409:
        existing = _find(client, invoice)
        if existing is not None:
            return existing
    if response.status_code not in (200, 201):
        client._raise_for(response, "creating the invoice")
    value = client._json(response).get("value") or {}
    if not value.get("id"):
        existing = _find(client, invoice)
        if existing is not None:
            return existing
        raise TransientError("Tripletex answered the invoice export without the new invoice's id.",
                             hint="The hub will look the invoice up and try again later.")
    return ExportReceipt(vendor_invoice_id=str(value["id"]), number=str(value.get("invoiceNumber") or "") or None)
