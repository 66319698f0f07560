"""Invoices out (create a draft, issue = export to every target vendor, export status and retry) and the
vendors' products and tax rates (cached lists, refresh, mapping to the hub's codes)."""

from __future__ import annotations

import copy
import re
from typing import Any

from flask import url_for
from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub import catalog, exports
from hub.api import auth
from hub.api.common import (
    accepted,
    api_wait,
    doc_errors,
    document_per_value,
    integration_or_404,
    make_blueprint,
    owned,
    run_out,
    vendor_or_404,
)
from hub.api.data import _page
from hub.api.idempotency import documented as idempotency_documented
from hub.api.idempotency import idempotent
from hub.api.integrations import RUN_LOCATION, VENDOR
from hub.api.schemas import (
    PERCENT_TEXT,
    CatalogSchema,
    CatalogScopeSchema,
    ExportArgsSchema,
    ExportPageSchema,
    ExportSchema,
    InvoiceArgsSchema,
    InvoicePageSchema,
    InvoiceSchema,
    MappingBodySchema,
    RunSchema,
)
from hub.errors import ConfigError, NotSupported
from hub.models import Client, ClientConnection, Integration, Invoice, InvoiceExport, db

blp = make_blueprint("api-invoices", "Invoices and their exports to the vendors (exactly once per vendor).")
catalog_blp = make_blueprint("api-catalog", "The vendors' products and tax rates, and their mapping to the hub's "
                             "product codes and VAT rates.")
ID = {"schema": {"type": "integer", "minimum": 0}, "example": 1}
INVOICE_EXAMPLE = {"client_id": 1, "number": "2026-0012", "issue_date": "2026-02-01", "due_date": "2026-02-15",
                   "currency": "EUR", "notes": "",
                   "lines": [{"description": "Bookkeeping, January", "quantity": "1", "unit_price": "150.00",
                              "vat_rate": "22", "product_code": None}]}


def export_out(export: InvoiceExport, vendors: dict[int, str] | None = None) -> dict[str, Any]:
    vendor = (vendors or {}).get(export.integration_id) or db.session.get(Integration, export.integration_id).vendor
    return {"id": export.id, "url": url_for("api-invoices.get_export", export_id=export.id),
            "invoice_id": export.invoice_id, "vendor": vendor, "reference": export.reference, "status": export.status,
            "attempts": export.attempts, "vendor_invoice_id": export.vendor_invoice_id,
            "vendor_number": export.vendor_number, "last_error": export.last_error,
            "state": exports.state_label(export), "booked": export.booked, "differences": export.differences,
            "paid_amount": export.paid_amount, "paid_on": export.paid_on, "created_at": export.created_at,
            "updated_at": export.updated_at}


def invoice_out(invoice: Invoice) -> dict[str, Any]:
    rows = InvoiceExport.query.filter_by(invoice_id=invoice.id).order_by(InvoiceExport.id).all()
    vendors = {i.id: i.vendor for i in Integration.query.filter_by(firm_id=invoice.firm_id)}
    return {"id": invoice.id, "client_id": invoice.client_id, "number": invoice.number,
            "issue_date": invoice.issue_date, "due_date": invoice.due_date, "currency": invoice.currency,
            "notes": invoice.notes, "status": invoice.status, "total_net": invoice.total_net,
            "total_vat": invoice.total_vat, "total": invoice.total,
            "lines": [{"description": line.description, "quantity": line.quantity, "unit_price": line.unit_price,
                       "vat_rate": line.vat_rate, "product_code": line.product_code} for line in invoice.lines],
            "exports": [export_out(e, vendors) for e in rows]}


# -- invoices ---------------------------------------------------------------------------------------------
@blp.route("/invoices", methods=["GET"])
@blp.arguments(InvoiceArgsSchema, location="query")
@blp.response(200, InvoicePageSchema)
@doc_errors(blp)
def list_invoices(args: dict[str, Any]) -> Any:
    """The firm's invoices with their export status, newest first."""
    query = select(Invoice).where(Invoice.firm_id == auth.firm_id())
    if args.get("client_id"):
        query = query.where(Invoice.client_id == args["client_id"])
    if args.get("status"):
        query = query.where(Invoice.status == args["status"])
    items, meta = _page(query.order_by(Invoice.id.desc()), args)
    return {"items": [invoice_out(i) for i in items], **meta}


@blp.route("/invoices", methods=["POST"])
@idempotency_documented(blp)  # this operation's own header, not the path's (GET has none)
@auth.admin_required
@idempotent
@blp.arguments(InvoiceSchema, example=INVOICE_EXAMPLE)
@blp.response(201, InvoiceSchema)
@doc_errors(blp, 403, 409)
def create_invoice(data: dict[str, Any]) -> Any:
    """Create a draft invoice (totals computed by the hub)."""
    fid = auth.firm_id()
    if Client.query.filter_by(id=data["client_id"], firm_id=fid).one_or_none() is None:
        abort(422, errors={"client_id": ["No such client."]})
    number = data["number"].strip()
    if Invoice.query.filter_by(firm_id=fid, number=number).count():  # the firm's state, not the request: 409
        abort(409, message="Another invoice has this number.", errors={"number": ["Another invoice has this number."]})
    lines = [{**line, "product_code": (line.get("product_code") or "").strip() or None} for line in data["lines"]]
    try:
        invoice = exports.create_invoice(fid, data["client_id"], number=number, issue_date=data["issue_date"],
                                         due_date=data["due_date"], currency=data["currency"], lines=lines,
                                         notes=data["notes"])
    except IntegrityError:  # the same number, at the same moment
        db.session.rollback()
        abort(409, message="Another invoice has this number.", errors={"number": ["Another invoice has this number."]})
    return invoice_out(invoice), 201


@blp.route("/invoices/<int:invoice_id>", methods=["GET"], parameters=[{"in": "path", "name": "invoice_id", **ID}])
@blp.response(200, InvoiceSchema)
@doc_errors(blp, 404)
def get_invoice(invoice_id: int) -> Any:
    """One invoice with the status of each of its exports."""
    return invoice_out(owned(Invoice, invoice_id, what="No such invoice."))


@blp.route("/invoices/<int:invoice_id>/issue", methods=["POST"],
           parameters=[{"in": "path", "name": "invoice_id", **ID}])
@idempotency_documented(blp)
@auth.admin_required
@idempotent
@blp.response(202, InvoiceSchema, description="Issued: one export per target vendor is queued; poll "
                                             "`exports[].url`.")
@doc_errors(blp, 403, 404)
def issue_invoice(invoice_id: int) -> Any:
    """Issue the invoice: export it to every enabled vendor that receives it.

    Exactly once per vendor, however often this is called; send an ``Idempotency-Key`` to get the first
    answer back on a repeat."""
    invoice = owned(Invoice, invoice_id, what="No such invoice.")
    exports.issue_invoice(invoice)
    return invoice_out(invoice), 202


@blp.route("/exports", methods=["GET"])
@blp.arguments(ExportArgsSchema, location="query")
@blp.response(200, ExportPageSchema)
@doc_errors(blp)
def list_exports(args: dict[str, Any]) -> Any:
    """Invoice exports of the firm, newest first.

    Filter by vendor, status (e.g. every ``failed`` one), paid or unpaid, client or invoice."""
    fid = auth.firm_id()
    query = select(InvoiceExport).join(Invoice, Invoice.id == InvoiceExport.invoice_id) \
        .join(Integration, Integration.id == InvoiceExport.integration_id).where(Invoice.firm_id == fid)
    if args.get("vendor"):
        query = query.where(Integration.vendor == args["vendor"])
    if args.get("status"):
        query = query.where(InvoiceExport.status == args["status"])
    if args.get("paid") is not None:
        query = query.where(InvoiceExport.paid_on.isnot(None) if args["paid"] else InvoiceExport.paid_on.is_(None))
    if args.get("client_id"):
        query = query.where(Invoice.client_id == args["client_id"])
    if args.get("invoice_id"):
        query = query.where(InvoiceExport.invoice_id == args["invoice_id"])
    items, meta = _page(query.order_by(InvoiceExport.id.desc()), args)
    vendors = {i.id: i.vendor for i in Integration.query.filter_by(firm_id=fid)}
    return {"items": [export_out(e, vendors) for e in items], **meta}


@blp.route("/exports/<int:export_id>", methods=["GET"], parameters=[{"in": "path", "name": "export_id", **ID}])
@blp.response(200, ExportSchema)
@doc_errors(blp, 404)
def get_export(export_id: int) -> Any:
    """The status of one export.

    pending, sent, confirmed (read back: what the vendor booked equals what was issued — or, without `booked`,
    "Confirmed (totals not verified)"), booked_with_differences (each difference in words in `differences`),
    failed (with the vendor's field messages; a missing mapping links to where it is mapped) or uncertain (the hub
    asks the vendor again before any retry)."""
    return export_out(_export(export_id))


def _export(export_id: int) -> InvoiceExport:
    export = db.session.get(InvoiceExport, export_id) if 0 < export_id <= 2**31 - 1 else None
    if export is None or export.invoice.firm_id != auth.firm_id():
        abort(404, message="No such export.")
    return export


@blp.route("/exports/<int:export_id>/retry", methods=["POST"],
           parameters=[{"in": "path", "name": "export_id", **ID}])
@idempotency_documented(blp)
@auth.admin_required
@idempotent
@blp.response(202, RunSchema, headers=RUN_LOCATION, description="The retry is queued: poll the run.")
@doc_errors(blp, 403, 404, 409)
def retry_export(export_id: int) -> Any:
    """Try a failed or uncertain export again (after fixing the cause); never creates the invoice twice.

    While an attempt of the export is queued, running or waiting to retry, no second one starts: that attempt's run
    is the answer (the same ``id``)."""
    run = exports.retry_export(_export(export_id))
    return accepted(run)


@blp.route("/integrations/<vendor:vendor>/fetch-payments", methods=["POST"], parameters=[VENDOR])
@auth.admin_required
@blp.response(202, RunSchema, headers=RUN_LOCATION, description="Started: poll the run; its `result` counts the "
              "exports updated. Then `paid_amount` / `paid_on` of the exports show the paid status.")
@doc_errors(blp, 403, 404, 409)
def fetch_payments(vendor: str) -> Any:
    """Fetch the paid status of the invoices exported to this vendor now.

    The hub does this daily by itself; only vendors with the ``payments`` capability report payments
    (others: ``409``). The integration must be enabled and have credentials."""
    v = vendor_or_404(vendor)
    if not v.can("payments"):
        raise NotSupported(f"{v.info.name} does not report payments.")
    integration = integration_or_404(vendor)
    if not integration.enabled:
        raise ConfigError("The integration is disabled.", hint="PATCH /api/v1/integrations/{vendor} "
                                                               "with enabled: true first.")
    if not integration.has_credentials:
        raise ConfigError("No credentials are saved yet.", hint="PUT /api/v1/integrations/{vendor}/credentials first.")
    return accepted(exports.fetch_payments(integration, trigger="api"))


# -- products and tax rates ---------------------------------------------------------------------------------
KIND_PARAM = {"in": "path", "name": "kind", "example": "tax-rates", "description": "`products` or `tax-rates`.",
              "schema": {"type": "string", "enum": ["products", "tax-rates"]}}
KIND_PATH = '/integrations/<vendor:vendor>/<any(products, "tax-rates"):kind>'


#: A VAT rate in percent, 0–100 with at most two decimals (the document's pattern and the check, alike).
VAT_RATE_TEXT = PERCENT_TEXT


def mapping_content(kind: str, content: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """The mapping body of ``kind``: a tax rate's ``hub_key`` is a VAT rate, a product's any code."""
    body = copy.deepcopy(schemas[content["schema"]["$ref"].rsplit("/", 1)[-1]])
    if kind == "tax-rates":
        body["properties"]["hub_key"].update(pattern=VAT_RATE_TEXT, description="A VAT rate in percent.")
        return {"schema": body, "example": {"hub_key": "22", "vendor_code": "T22"}}
    body["properties"]["hub_key"]["description"] = "A hub product code."
    return {"schema": body, "example": {"hub_key": "BK-01", "vendor_code": "P-100"}}


def _kind(path_kind: str) -> str:
    return {"products": "product", "tax-rates": "tax_rate"}[path_kind]


def _catalog_integration(vendor: str, kind: str) -> Integration:
    v = vendor_or_404(vendor)
    capability = catalog.KINDS[kind][0]
    if not v.can(capability):
        raise NotSupported(f"{v.info.name} has no {kind.replace('_', ' ')}s to read.")
    return integration_or_404(vendor)


def _catalog_scope(vendor: str, kind: str, client_id: int | None) -> catalog.Scope:
    """The vendor account whose catalog is meant: the firm's, or a linked client's own (``client_id``)."""
    integration = _catalog_integration(vendor, kind)
    if client_id is None:
        return integration
    connection = ClientConnection.query.filter_by(integration_id=integration.id, client_id=client_id).one_or_none()
    if connection is None:
        abort(404, message=f"Client {client_id} is not linked to this integration.")
    return catalog.account_of(connection)  # ConfigError when the client has no account of its own


def catalog_out(scope: catalog.Scope, kind: str) -> dict[str, Any]:
    return {"kind": kind, "items": catalog.items(scope, kind), "mappings": catalog.mappings(scope, kind)}


@catalog_blp.route(KIND_PATH, methods=["GET"], parameters=[VENDOR, KIND_PARAM])
@catalog_blp.arguments(CatalogScopeSchema, location="query", as_kwargs=True)
@catalog_blp.response(200, CatalogSchema)
@doc_errors(catalog_blp, 404, 409)
def get_catalog(vendor: str, kind: str, client_id: int | None = None) -> Any:
    """The vendor's products or tax rates as last fetched, and the mapping from the hub's codes — the firm's
    account's, or with ``client_id`` those of a client with its own vendor account (its own VAT codes)."""
    k = _kind(kind)
    return catalog_out(_catalog_scope(vendor, k, client_id), k)


@catalog_blp.route(KIND_PATH + "/refresh", methods=["POST"], parameters=[VENDOR, KIND_PARAM])
@auth.admin_required
@catalog_blp.arguments(CatalogScopeSchema, location="query", as_kwargs=True)
@catalog_blp.response(200, RunSchema, description="Refreshed in time: see the run's result.")
@catalog_blp.alt_response(202, schema=RunSchema, headers=RUN_LOCATION, description="Still running: poll the run.")
@doc_errors(catalog_blp, 403, 404, 409)
def refresh_catalog(vendor: str, kind: str, client_id: int | None = None) -> Any:
    """Fetch the vendor's products or tax rates again (of a client's own account with ``client_id``)."""
    k = _kind(kind)
    run = catalog.refresh(_catalog_scope(vendor, k, client_id), k, wait=api_wait(), trigger="api")
    return run_out(run) if run.finished else accepted(run)


@catalog_blp.route(KIND_PATH + "/mappings", methods=["PUT"], parameters=[VENDOR, KIND_PARAM])
@document_per_value(catalog_blp, "kind", mapping_content)
@auth.admin_required
@catalog_blp.arguments(MappingBodySchema, example={"hub_key": "22", "vendor_code": "T22"})
@catalog_blp.arguments(CatalogScopeSchema, location="query", as_kwargs=True)
@catalog_blp.response(200, CatalogSchema)
@doc_errors(catalog_blp, 403, 404, 409)
def put_mapping(data: dict[str, Any], vendor: str, kind: str, client_id: int | None = None) -> Any:
    """Map a hub product code or VAT rate to the vendor's code (``null`` removes the mapping) — in the firm's
    account, or with ``client_id`` in a client's own account (e.g. a Finnish client company's 24 %)."""
    k = _kind(kind)
    scope = _catalog_scope(vendor, k, client_id)
    hub_key = data["hub_key"] if k == "tax_rate" else data["hub_key"].strip()
    if k == "tax_rate" and not re.match(VAT_RATE_TEXT, hub_key):
        abort(422, errors={"hub_key": ["A VAT rate in percent, 0 to 100, e.g. 22 or 9.5."]})
    catalog.set_mapping(scope, k, hub_key, data["vendor_code"])
    return catalog_out(scope, k)
