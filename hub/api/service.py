"""The service API for the host product (service tokens only, :mod:`hub.api.service_auth`): idempotent upserts
of firms, users and clients by the host's external ids, bulk client import, set-password links and firm API
tokens. Every ``PUT …/by-external-id/{external_id}`` can be replayed: the first creates (``201``), repeats update
or leave alone (``200``)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import abort
from marshmallow import fields, validate

from hub import provisioning
from hub.api import auth
from hub.api.accounts import ClientDetailsOutSchema
from hub.api.common import doc_errors, not_found
from hub.api.schemas import MAX_ID, JsonBoolean, NewTokenSchema, Schema, TokenSchema, UtcDateTime
from hub.api.service_auth import make_blueprint
from hub.models import Client, Firm, User, db

blp = make_blueprint("api-service", "The host product's service API: firms, users, clients (service tokens only).")

EXTERNAL_ID_PARAM = {"in": "path", "name": "external_id", "example": "host-firm-42",
                     "schema": {"type": "string", "pattern": "^[!-~]{1,100}$"},
                     "description": "The host product's id (1–100 visible ASCII characters)."}
FIRM_ID_PARAM = {"in": "path", "name": "firm_id", "example": 1, "schema": {"type": "integer", "minimum": 0}}
USER_ID_PARAM = {"in": "path", "name": "user_id", "example": 1, "schema": {"type": "integer", "minimum": 0}}


class FirmInSchema(provisioning.FirmSchema, Schema):
    """A firm as the host product has it. ``timezone`` and ``plan`` keep their value when omitted (new firms:
    Europe/Tallinn, team); ``active: false`` deactivates (integrations disabled, users and tokens stopped)."""

    active = JsonBoolean(load_default=None, metadata={"example": True})


class FirmOutSchema(Schema):
    id = fields.Integer(metadata={"example": 1})
    external_id = fields.String(allow_none=True, metadata={"example": "host-firm-42"})
    name = fields.String(metadata={"example": "Acme Books OÜ"})
    country = fields.String(metadata={"example": "EE"})
    timezone = fields.String(metadata={"example": "Europe/Tallinn"})
    plan = fields.String(metadata={"example": "team"})
    active = fields.Boolean(metadata={"example": True})
    created_at = UtcDateTime()


class FirmListArgs(Schema):
    external_id = fields.String(validate=validate.Length(min=1, max=100), metadata={"example": "host-firm-42"})


class UserInSchema(provisioning.UserSchema, Schema):
    """A user of the firm. ``role`` (new users: member), ``name`` and ``active`` keep their value when omitted."""

    active = JsonBoolean(load_default=None, metadata={"example": True})


class UserOutSchema(Schema):
    id = fields.Integer(metadata={"example": 3})
    firm_id = fields.Integer(metadata={"example": 1})
    external_id = fields.String(allow_none=True, metadata={"example": "host-user-7"})
    email = fields.String(metadata={"example": "mari@acme.example"})
    name = fields.String(metadata={"example": "Mari Maasikas"})
    role = fields.String(metadata={"example": "admin"})
    active = fields.Boolean(metadata={"example": True})
    has_password = fields.Boolean(metadata={"description": "False until the user followed a set-password link."})
    created_at = UtcDateTime()


class InviteSchema(Schema):
    set_password_url = fields.String(metadata={"example": "https://hub.example/set-password/eyJ1Ijo…",
                                               "description": "Send it to the user; it works once."})
    expires_at = UtcDateTime()


class ClientInSchema(provisioning.ClientSchema, Schema):
    """A client's details; omitted fields keep their value, blank strings clear them; a new client needs
    ``name``."""

    active = JsonBoolean(load_default=None, metadata={"example": True})  # null: keep (as for firms and users)


class ClientOutSchema(ClientDetailsOutSchema):
    """A client's details (as ``GET /clients/{id}`` shows them) with what the host product keeps: its
    ``external_id``, whether it is active, and when it was created."""

    external_id = fields.String(allow_none=True, metadata={"example": "cust-0001"})
    active = fields.Boolean()
    created_at = UtcDateTime()


class BulkClientsSchema(Schema):
    clients = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1,
                          max=provisioning.MAX_BULK_ROWS), metadata={
        "description": "Rows with the fields of a client and preferably `external_id`; each row is validated on "
                       "its own.", "items": {"type": "object", "additionalProperties": {}}})
    partial = JsonBoolean(load_default=False, metadata={
        "description": "Write the valid rows even if some are refused (default: nothing is written then)."})
    dry_run = JsonBoolean(load_default=False, metadata={"description": "Validate and report; write nothing."})


class ReportRowSchema(Schema):
    row = fields.Integer(allow_none=True, metadata={"example": 1})
    external_id = fields.String(allow_none=True, metadata={"example": "cust-0001"})
    id = fields.Integer(allow_none=True, metadata={"example": 12})
    changed_fields = fields.List(fields.String())
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class ImportReportSchema(Schema):
    applied = fields.Boolean(metadata={"description": "False: nothing was written (a row was refused, or a dry "
                                                      "run); created/updated then say what would have been."})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"example": {"created": 300, "updated": 0, "unchanged": 0, "refused": 0}})
    created = fields.List(fields.Nested(ReportRowSchema))
    updated = fields.List(fields.Nested(ReportRowSchema))
    unchanged = fields.List(fields.Nested(ReportRowSchema))
    refused = fields.List(fields.Nested(ReportRowSchema))


def _firm(firm_id: int) -> Firm:
    firm = db.session.get(Firm, firm_id) if 0 < firm_id <= MAX_ID else None
    if firm is None:
        not_found("No such firm.")
    return firm


def _check_external_id(external_id: str) -> None:
    provisioning.EXTERNAL_ID(external_id)


# -- firms ----------------------------------------------------------------------------------------
@blp.route("/firms", methods=["GET"])
@blp.arguments(FirmListArgs, location="query")
@blp.response(200, FirmOutSchema(many=True))
@doc_errors(blp, 403)
def list_firms(args: dict[str, Any]) -> Any:
    """Every firm (filter by the host's `external_id`)."""
    query = Firm.query.order_by(Firm.id)
    if args.get("external_id"):
        query = query.filter_by(external_id=args["external_id"])
    return [provisioning.firm_out(f) for f in query]


@blp.route("/firms/by-external-id/<external_id>", methods=["PUT"], parameters=[EXTERNAL_ID_PARAM])
@blp.arguments(FirmInSchema, example={"name": "Acme Books OÜ", "country": "EE", "timezone": "Europe/Tallinn",
                                      "plan": "team"})
@blp.response(200, FirmOutSchema)
@blp.alt_response(201, schema=FirmOutSchema, description="Created")
@doc_errors(blp, 403, 404, 422)
def put_firm(data: dict[str, Any], external_id: str) -> Any:
    """Create or update the firm with this external id (replay-safe)."""
    _check_external_id(external_id)
    firm, created = provisioning.upsert_firm(external_id, request.get_json())
    return provisioning.firm_out(firm), 201 if created else 200


@blp.route("/firms/by-external-id/<external_id>", methods=["GET"], parameters=[EXTERNAL_ID_PARAM])
@blp.response(200, FirmOutSchema)
@doc_errors(blp, 403, 404)
def get_firm_by_external_id(external_id: str) -> Any:
    """The firm with this external id."""
    firm = Firm.query.filter_by(external_id=external_id).one_or_none()
    if firm is None:
        not_found("No firm has this external id.")
    return provisioning.firm_out(firm)


@blp.route("/firms/<int:firm_id>", methods=["GET"], parameters=[FIRM_ID_PARAM])
@blp.response(200, FirmOutSchema)
@doc_errors(blp, 403, 404)
def get_firm(firm_id: int) -> Any:
    """One firm by the hub's id."""
    return provisioning.firm_out(_firm(firm_id))


# -- users ----------------------------------------------------------------------------------------
@blp.route("/firms/<int:firm_id>/users", methods=["GET"], parameters=[FIRM_ID_PARAM])
@blp.response(200, UserOutSchema(many=True))
@doc_errors(blp, 403, 404)
def list_users(firm_id: int) -> Any:
    """The firm's users (never a password)."""
    firm = _firm(firm_id)
    return [provisioning.user_out(u) for u in User.query.filter_by(firm_id=firm.id).order_by(User.id)]


@blp.route("/firms/<int:firm_id>/users/by-external-id/<external_id>", methods=["PUT"],
           parameters=[FIRM_ID_PARAM, {**EXTERNAL_ID_PARAM, "example": "host-user-7"}])
@blp.arguments(UserInSchema, example={"email": "mari@acme.example", "name": "Mari Maasikas", "role": "owner"})
@blp.response(200, UserOutSchema)
@blp.alt_response(201, schema=UserOutSchema, description="Created")
@doc_errors(blp, 403, 404, 409, 422)
def put_user(data: dict[str, Any], firm_id: int, external_id: str) -> Any:
    """Create or update a user by external id (replay-safe); `active: false` deactivates. A new user has no
    password: get them a set-password link with `POST …/users/{user_id}/invite`."""
    firm = _firm(firm_id)
    _check_external_id(external_id)
    body = request.get_json()
    try:
        user, created = provisioning.upsert_user(firm, external_id, body)
    except provisioning.EmailTaken as exc:
        abort(409, message="Another user has this e-mail address already.", errors=exc.messages)
    except provisioning.LastOwner as exc:
        abort(409, message=" ".join(m for ms in exc.messages.values() for m in ms), errors=exc.messages)
    if data.get("active") is not None:
        provisioning.set_user_active(user, data["active"])
    return provisioning.user_out(user), 201 if created else 200


@blp.route("/firms/<int:firm_id>/users/<int:user_id>/invite", methods=["POST"],
           parameters=[FIRM_ID_PARAM, USER_ID_PARAM])
@blp.response(200, InviteSchema)
@doc_errors(blp, 403, 404, 422)
def invite_user(firm_id: int, user_id: int) -> Any:
    """A set-password link for the user (an invitation, or a reset): valid for `HUB_INVITE_MAX_AGE` (7 days),
    once. The hub sends no e-mail: the host product does."""
    firm = _firm(firm_id)
    user = db.session.get(User, user_id) if 0 < user_id <= MAX_ID else None
    if user is None or user.firm_id != firm.id:
        not_found("No such user in this firm.")
    invite = provisioning.invite_link(user)
    return {"set_password_url": invite.url, "expires_at": invite.expires_at}


# -- clients --------------------------------------------------------------------------------------
@blp.route("/firms/<int:firm_id>/clients", methods=["GET"], parameters=[FIRM_ID_PARAM])
@blp.response(200, ClientOutSchema(many=True))
@doc_errors(blp, 403, 404)
def list_firm_clients(firm_id: int) -> Any:
    """The firm's clients with their external ids."""
    firm = _firm(firm_id)
    return [provisioning.client_out(c) for c in Client.query.filter_by(firm_id=firm.id).order_by(Client.id)]


@blp.route("/firms/<int:firm_id>/clients/by-external-id/<external_id>", methods=["PUT"],
           parameters=[FIRM_ID_PARAM, {**EXTERNAL_ID_PARAM, "example": "cust-0001"}])
@blp.arguments(ClientInSchema, example={"name": "Viljandi Veski OÜ", "reg_code": "10123456",
                                        "vat_no": "EE101234567", "customer_type": "company"})
@blp.response(200, ClientOutSchema)
@blp.alt_response(201, schema=ClientOutSchema, description="Created")
@doc_errors(blp, 403, 404, 409, 422)
def put_client(data: dict[str, Any], firm_id: int, external_id: str) -> Any:
    """Create or update a client by external id (replay-safe); `active: false` deactivates. A registration code
    another client of the firm has is a `409` (one company, one client: update that client instead)."""
    firm = _firm(firm_id)
    _check_external_id(external_id)
    client, created = provisioning.upsert_client(firm, external_id, request.get_json())
    return provisioning.client_out(client), 201 if created else 200


@blp.route("/firms/<int:firm_id>/clients/bulk", methods=["POST"], parameters=[FIRM_ID_PARAM])
@blp.arguments(BulkClientsSchema, example={"clients": [
    {"external_id": "cust-0001", "name": "Viljandi Veski OÜ", "reg_code": "10123456"},
    {"external_id": "cust-0002", "name": "Mari Maasikas", "customer_type": "private"}]})
@blp.response(200, ImportReportSchema)
@doc_errors(blp, 403, 404, 422)
def bulk_clients(data: dict[str, Any], firm_id: int) -> Any:
    """Upsert many clients in one call (up to 5000), validated row by row: the report lists what was created,
    updated, unchanged and refused. Nothing is written if a row is refused, unless `partial`."""
    firm = _firm(firm_id)
    report = provisioning.import_clients(firm, data["clients"], partial=data["partial"], dry_run=data["dry_run"])
    return report.as_dict()


# -- firm API tokens ------------------------------------------------------------------------------
@blp.route("/firms/<int:firm_id>/tokens", methods=["POST"], parameters=[FIRM_ID_PARAM])
@blp.arguments(TokenSchema, example={"name": "host product", "role": "admin"})
@blp.response(201, NewTokenSchema)
@doc_errors(blp, 403, 404)
def create_firm_token(data: dict[str, Any], firm_id: int) -> Any:
    """An API token of the firm (for the firm API: integrations, links, reloads). Shown in this response only."""
    firm = _firm(firm_id)
    new = auth.create_token(firm.id, name=data["name"], role=data["role"])
    row = new.token
    return {"id": row.id, "name": row.name, "role": row.role, "prefix": row.prefix, "created_at": row.created_at,
            "last_used_at": row.last_used_at, "revoked_at": row.revoked_at, "token": new.secret}
