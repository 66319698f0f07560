"""Linking clients at scale and the details exports need: suggested matches from one paged vendor lookup,
bulk confirm, unlinked clients, unlink (history kept), and a client's details (``hub.clients``)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from hub import clients, linking
from hub.api import auth
from hub.api.common import (
    accepted,
    api_wait,
    client_or_404,
    doc_errors,
    integration_or_404,
    make_blueprint,
    not_found,
    owned,
    patch_body_required,
    run_out,
    vendor_or_404,
)
from hub.api.schemas import RunSchema
from hub.errors import NotSupported
from hub.models import CUSTOMER_TYPES, ClientConnection, SyncRun

blp = make_blueprint("api-linking", "Linking a firm's clients to vendor records in bulk (suggested matches), "
                     "unlinking, and the client details exports need.")
VENDOR = {"in": "path", "name": "vendor", "example": "example", "description": "The vendor's slug."}
CLIENT = {"in": "path", "name": "client_id", "example": 1, "description": "A client of the firm.",
          "schema": {"type": "integer", "minimum": 0}}
RUN_LOCATION = {"Location": {"description": "The run to poll: `GET /api/v1/runs/{id}`.",
                             "schema": {"type": "string"}}}


class SuggestionSchema(Schema):
    client_id = fields.Integer(metadata={"example": 3})
    client_name = fields.String(metadata={"example": "Viljandi Veski OÜ"})
    match = fields.String(validate=validate.OneOf(("reg_code", "vat_no", "name")), metadata={
        "description": "What matched: the registration code, the VAT number or the normalised name."})
    vendor_client_id = fields.String(metadata={"example": "C-1001"})
    vendor_client_name = fields.String(allow_none=True, metadata={"example": "Viljandi Veski OÜ"})
    vendor_client_reg_code = fields.String(allow_none=True, metadata={"example": "12345678"})
    warnings = fields.List(fields.String(), metadata={
        "description": "Where the record disagrees with the hub client (e.g. the same code, another name)."})


class SuggestionsSchema(Schema):
    run = fields.Nested(RunSchema)
    vendor_records = fields.Integer(allow_none=True, metadata={"description": "Records in the vendor's list."})
    suggestions = fields.List(fields.Nested(SuggestionSchema), allow_none=True,
                              metadata={"description": "null while the run has not finished."})
    unmatched_client_ids = fields.List(fields.Integer(), allow_none=True,
                                       metadata={"description": "Unlinked clients with no suggestion."})


class BulkLinkBodySchema(Schema):
    run_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1),
                            metadata={"description": "The finished suggestions run.", "example": 42})
    client_ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)), required=True,
                             validate=validate.Length(min=1, max=5000),
                             metadata={"description": "Clients whose suggestion to confirm.", "example": [3, 4]})


class LinkedSchema(Schema):
    client_id = fields.Integer()
    vendor_client_id = fields.String(allow_none=True)
    vendor_client_name = fields.String(allow_none=True)
    warnings = fields.List(fields.String())


class BulkLinkedSchema(Schema):
    linked = fields.List(fields.Nested(LinkedSchema))


class UnlinkedClientSchema(Schema):
    id = fields.Integer(metadata={"example": 3})
    name = fields.String(metadata={"example": "Viljandi Veski OÜ"})
    reg_code = fields.String(allow_none=True)


class ClientDetailsOutSchema(Schema):
    id = fields.Integer(metadata={"example": 3})
    name = fields.String(metadata={"example": "Viljandi Veski OÜ"})
    customer_type = fields.String(validate=validate.OneOf(CUSTOMER_TYPES))
    reg_code = fields.String(allow_none=True)
    vat_no = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    address_street = fields.String(allow_none=True)
    address_city = fields.String(allow_none=True)
    address_postal_code = fields.String(allow_none=True)
    address_country = fields.String(allow_none=True)


def _lookup_vendor(vendor: str) -> Any:
    v = vendor_or_404(vendor)
    if not v.can("client_lookup"):
        raise NotSupported(f"{v.info.name} has no client list to match against.")
    return v


@blp.route("/integrations/<vendor:vendor>/link-suggestions", methods=["POST"], parameters=[VENDOR])
@auth.admin_required
@blp.response(200, SuggestionsSchema, description="The vendor's list was read and matched.")
@blp.alt_response(202, schema=SuggestionsSchema, headers=RUN_LOCATION,
                  description="The worker has not answered yet: poll the run (its `result.suggestions`).")
@doc_errors(blp, 403, 404, 409)
def suggest(vendor: str) -> Any:
    """Suggested matches for every unlinked client.

    One paged lookup of the vendor's whole client list, matched by registration code, VAT number, then
    normalised name; a record fitting several clients is not suggested. Confirm with
    `POST /integrations/{vendor}/connections/bulk`."""
    _lookup_vendor(vendor)
    run = linking.suggest_links(integration_or_404(vendor), wait=api_wait(), trigger="api")
    body = _suggestions_out(run)
    return accepted(run, body) if not run.finished else body


def _suggestions_out(run: SyncRun) -> dict[str, Any]:
    result = (run.result or {}) if run.status == "succeeded" else {}
    return {"run": run_out(run), "vendor_records": result.get("vendor_records"),
            "suggestions": result.get("suggestions"), "unmatched_client_ids": result.get("unmatched_client_ids")}


@blp.route("/integrations/<vendor:vendor>/connections/bulk", methods=["POST"], parameters=[VENDOR])
@auth.admin_required
@blp.arguments(BulkLinkBodySchema, example={"run_id": 42, "client_ids": [3, 4]})
@blp.response(200, BulkLinkedSchema)
@doc_errors(blp, 403, 404, 409)
def bulk_link(data: dict[str, Any], vendor: str) -> Any:
    """Confirm suggested matches in bulk (clients linked meanwhile are left as they are)."""
    _lookup_vendor(vendor)
    integration = integration_or_404(vendor)
    run = owned(SyncRun, data["run_id"], what="No such suggestions run.")
    for client_id in dict.fromkeys(data["client_ids"]):  # each id once: 5,000 copies of one id are one query
        client_or_404(client_id)
    linked = linking.link_suggested(integration, run, data["client_ids"])
    return {"linked": [{"client_id": c.client_id, "vendor_client_id": c.vendor_client_id,
                        "vendor_client_name": c.vendor_client_name, "warnings": linking.link_warnings(c)}
                       for c in linked]}


@blp.route("/integrations/<vendor:vendor>/unlinked-clients", methods=["GET"], parameters=[VENDOR])
@blp.response(200, UnlinkedClientSchema(many=True))
@doc_errors(blp, 404)
def unlinked(vendor: str) -> Any:
    """The firm's clients not linked to this integration (no vendor record, no own account)."""
    vendor_or_404(vendor)
    return linking.unlinked_clients(integration_or_404(vendor))


@blp.route("/integrations/<vendor:vendor>/connections/<int:client_id>", methods=["DELETE"],
           parameters=[VENDOR, CLIENT])
@auth.admin_required
@blp.response(204, description="Unlinked: syncing stops; imported months, exports and runs are kept.")
@doc_errors(blp, 403, 404, 409)
def unlink(vendor: str, client_id: int) -> Any:
    """Unlink a client (also after imports).

    Its own credentials and its own account's catalog are deleted; history stays. Refused (409) while a
    job for the link is running."""
    vendor_or_404(vendor)
    client_or_404(client_id)
    integration = integration_or_404(vendor)
    connection = ClientConnection.query.filter_by(integration_id=integration.id, client_id=client_id).one_or_none()
    if connection is None:
        not_found("This client is not linked to the integration.")
    linking.unlink_client(connection)
    return None


@blp.route("/clients/<int:client_id>", methods=["GET"], parameters=[CLIENT])
@blp.response(200, ClientDetailsOutSchema)
@doc_errors(blp, 404)
def get_client(client_id: int) -> Any:
    """A client with the details exports need."""
    return client_or_404(client_id)


@blp.route("/clients/<int:client_id>", methods=["PATCH"], parameters=[CLIENT])
@auth.admin_required
@patch_body_required
@blp.arguments(clients.ClientDetailsSchema(partial=True),
               example={"reg_code": "12345678", "email": "books@acme.example", "customer_type": "company"})
@blp.response(200, ClientDetailsOutSchema)
@doc_errors(blp, 403, 404, 409, 422)
def patch_client(data: dict[str, Any], client_id: int) -> Any:
    """Change a client's details (registration code, e-mail, address, customer type); `null` or "" clears. A
    registration code another client of the firm has is a `409` (one company, one client)."""
    client = client_or_404(client_id)
    clients.update_details(client, data)
    return client

