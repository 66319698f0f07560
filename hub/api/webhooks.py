"""``/api/v1/webhook-endpoints``: where the hub delivers signed events (:mod:`hub.webhooks`), with their delivery
log and manual redelivery. A firm admin token manages its firm's endpoints; a service token manages the host
product's (every firm's events). Neither sees the other's."""

from __future__ import annotations

from typing import Any

from flask_smorest import abort
from marshmallow import fields, post_dump, validate

from hub import webhooks
from hub.api.common import doc_errors, not_found, patch_body_required
from hub.api.schemas import MAX_ID, JsonBoolean, Schema, UtcDateTime
from hub.api.service_auth import make_blueprint, scope_firm_id
from hub.models import WebhookDelivery, WebhookEndpoint, db

blp = make_blueprint("api-webhooks", "Webhook endpoints, delivery log and redelivery (firm admin or service "
                                     "tokens).", either=True)

ENDPOINT_ID_PARAM = {"in": "path", "name": "endpoint_id", "example": 1, "schema": {"type": "integer", "minimum": 0}}
DELIVERY_ID_PARAM = {"in": "path", "name": "delivery_id", "example": 1, "schema": {"type": "integer", "minimum": 0}}
#: An absolute http(s) URL of visible ASCII with a host name or IPv4 address (IDN hosts in their xn-- form).
#: A pattern rather than ``validate.URL``: the document states exactly the rule the API applies.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_NUMBERS = r"(?:0[xX][0-9A-Fa-f]*|[0-9]+)"
#: An absolute http(s) URL whose host is a name or a plain IPv4 address (four decimal numbers without leading
#: zeros): a host of numbers in another form (``0177.0.0.1``, ``0x7f.1``, ``2130706433``) is refused, as
#: :func:`hub.webhooks._check_url` does.
URL_PATTERN = (r"^https?://(?:[A-Za-z0-9._~%!$&'()*+,;=:-]+@)?"
               rf"(?:(?:{_OCTET}\.){{3}}{_OCTET}(?=[:/?#]|$)"
               rf"|(?!{_NUMBERS}(?:\.{_NUMBERS})*\.?(?:[:/?#]|$))[A-Za-z0-9._~-]+)"
               r"(?::[0-9]{1,5})?(?:[/?#][!-~]*)?$")
URL_RULES = [validate.Length(max=2000), validate.Regexp(
    URL_PATTERN, error="Enter an absolute http:// or https:// URL whose host is a name or an IPv4 address of four "
    "decimal numbers without leading zeros, e.g. https://host.example/hooks/hub.")]
EVENTS = fields.List(fields.String(validate=validate.OneOf(list(webhooks.EVENT_TYPES))),
                     validate=validate.Length(max=len(webhooks.EVENT_TYPES)),
                     metadata={"example": ["reload.finished", "export.failed"],
                               "description": "Event types to receive; empty: every event."})


class EndpointSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 1})
    url = fields.String(required=True, validate=URL_RULES, metadata={"example": "https://host.example/hooks/hub"})
    description = fields.String(load_default="", validate=validate.Length(max=200),
                                metadata={"example": "practice-management product"})
    events = EVENTS
    firm_id = fields.Integer(dump_only=True, allow_none=True,
                             metadata={"description": "NULL: the host product's endpoint (every firm)."})
    enabled = fields.Boolean(dump_only=True)
    disabled_reason = fields.String(dump_only=True, allow_none=True)
    consecutive_failures = fields.Integer(dump_only=True)
    paused_until = UtcDateTime(dump_only=True, allow_none=True, metadata={
        "description": "Nothing is sent before this: the endpoint failed and its retry is due then."})
    created_at = UtcDateTime(dump_only=True)

    @post_dump(pass_original=True)
    def _paused_until(self, data: dict[str, Any], endpoint: Any, **_kwargs: Any) -> dict[str, Any]:
        data["paused_until"] = self.fields["paused_until"].serialize(
            "paused_until", {"paused_until": webhooks.paused_until(endpoint)})
        return data


class NewEndpointSchema(EndpointSchema):
    secret = fields.String(dump_only=True, attribute="secret_shown_once", metadata={
        "description": "The signing secret (`whsec_…`). Shown only in this response: store it now.",
        "example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})


class EndpointPatchSchema(Schema):
    url = fields.String(validate=URL_RULES, metadata={"example": "https://host.example/hooks/hub"})
    description = fields.String(validate=validate.Length(max=200))
    events = EVENTS
    enabled = JsonBoolean(metadata={"description": "true re-enables a disabled endpoint: what waited is sent."})


class SecretSchema(Schema):
    secret = fields.String(metadata={"example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})


class DeliverySchema(Schema):
    id = fields.Integer(metadata={"example": 1})
    endpoint_id = fields.Integer(metadata={"example": 1})
    event_id = fields.String(metadata={"example": "evt_3f1c9a7e5b2d4c1e9f0a7d6e5c4b"})
    event_type = fields.String(metadata={"example": "reload.finished"})
    status = fields.String(metadata={"example": "delivered", "description": "pending retrying delivered failed"})
    attempts = fields.Integer()
    next_attempt_at = UtcDateTime(allow_none=True)
    last_attempt_at = UtcDateTime(allow_none=True)
    delivered_at = UtcDateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True, metadata={"example": 200})
    last_response = fields.String(allow_none=True, metadata={"description": "The first 1000 characters."})
    last_error = fields.String(allow_none=True)
    lag_ms = fields.Integer(allow_none=True)
    created_at = UtcDateTime()
    payload = fields.Dict(metadata={"description": "The event as it is sent."})


class DeliveryArgs(Schema):
    status = fields.String(validate=validate.OneOf(("pending", "retrying", "delivered", "failed")))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500), metadata={"example": 100})


class EventTypeSchema(Schema):
    type = fields.String(metadata={"example": "reload.finished"})
    description = fields.String()


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id) if 0 < endpoint_id <= MAX_ID else None
    if endpoint is None or endpoint.firm_id != scope_firm_id():
        not_found("No such webhook endpoint.")
    return endpoint


@blp.route("/webhook-events", methods=["GET"])
@blp.response(200, EventTypeSchema(many=True))
@doc_errors(blp, 403)
def list_event_types() -> Any:
    """The event catalogue."""
    return [{"type": k, "description": v} for k, v in webhooks.EVENT_TYPES.items()]


@blp.route("/webhook-endpoints", methods=["GET"])
@blp.response(200, EndpointSchema(many=True))
@doc_errors(blp, 403)
def list_endpoints() -> Any:
    """The endpoints of this token's firm (or the host product's, with a service token)."""
    firm_id = scope_firm_id()
    query = WebhookEndpoint.query.filter(WebhookEndpoint.firm_id.is_(None) if firm_id is None
                                         else WebhookEndpoint.firm_id == firm_id)
    return query.order_by(WebhookEndpoint.id).all()


@blp.route("/webhook-endpoints", methods=["POST"])
@blp.arguments(EndpointSchema, example={"url": "https://host.example/hooks/hub", "events": []})
@blp.response(201, NewEndpointSchema)
@doc_errors(blp, 403, 422)
def create_endpoint(data: dict[str, Any]) -> Any:
    """Register an endpoint. The signing secret is in this response only."""
    try:
        endpoint, secret = webhooks.create_endpoint(scope_firm_id(), data["url"], events=data.get("events"),
                                                    description=data["description"])
    except ValueError as exc:
        abort(422, message=str(exc), errors={"url": [str(exc)]})
    endpoint.secret_shown_once = secret  # dumped by NewEndpointSchema as `secret` (never stored in clear)
    return endpoint


@blp.route("/webhook-endpoints/<int:endpoint_id>", methods=["GET"], parameters=[ENDPOINT_ID_PARAM])
@blp.response(200, EndpointSchema)
@doc_errors(blp, 403, 404)
def get_endpoint(endpoint_id: int) -> Any:
    """One endpoint (never its secret)."""
    return _endpoint(endpoint_id)


@blp.route("/webhook-endpoints/<int:endpoint_id>", methods=["PATCH"], parameters=[ENDPOINT_ID_PARAM])
@patch_body_required
@blp.arguments(EndpointPatchSchema, example={"enabled": True})
@blp.response(200, EndpointSchema)
@doc_errors(blp, 403, 404, 422)
def patch_endpoint(data: dict[str, Any], endpoint_id: int) -> Any:
    """Change the URL, events or description; enable or disable."""
    endpoint = _endpoint(endpoint_id)
    try:
        webhooks.update_endpoint(endpoint, **data)
    except ValueError as exc:
        abort(422, message=str(exc), errors={"url": [str(exc)]})
    return endpoint


@blp.route("/webhook-endpoints/<int:endpoint_id>", methods=["DELETE"], parameters=[ENDPOINT_ID_PARAM])
@blp.response(204)
@doc_errors(blp, 403, 404)
def delete_endpoint(endpoint_id: int) -> Any:
    """Remove an endpoint and its delivery log."""
    webhooks.delete_endpoint(_endpoint(endpoint_id))
    return None


@blp.route("/webhook-endpoints/<int:endpoint_id>/rotate-secret", methods=["POST"], parameters=[ENDPOINT_ID_PARAM])
@blp.response(200, SecretSchema)
@doc_errors(blp, 403, 404)
def rotate_secret(endpoint_id: int) -> Any:
    """A new signing secret, shown in this response only; the old one stops at once."""
    return {"secret": webhooks.rotate_secret(_endpoint(endpoint_id))}


@blp.route("/webhook-endpoints/<int:endpoint_id>/deliveries", methods=["GET"], parameters=[ENDPOINT_ID_PARAM])
@blp.arguments(DeliveryArgs, location="query")
@blp.response(200, DeliverySchema(many=True))
@doc_errors(blp, 403, 404)
def list_deliveries(args: dict[str, Any], endpoint_id: int) -> Any:
    """The endpoint's delivery log, newest first: status, attempts, the last response."""
    endpoint = _endpoint(endpoint_id)
    query = WebhookDelivery.query.filter_by(endpoint_id=endpoint.id)
    if args.get("status"):
        query = query.filter_by(status=args["status"])
    return query.order_by(WebhookDelivery.id.desc()).limit(args["limit"]).all()


@blp.route("/webhook-deliveries/<int:delivery_id>/redeliver", methods=["POST"], parameters=[DELIVERY_ID_PARAM])
@blp.response(202, DeliverySchema)
@doc_errors(blp, 403, 404)
def redeliver(delivery_id: int) -> Any:
    """Send a delivery again (same event id, fresh signature) as soon as a worker is free."""
    delivery = db.session.get(WebhookDelivery, delivery_id) if 0 < delivery_id <= MAX_ID else None
    if delivery is None:
        not_found("No such delivery.")
    _endpoint(delivery.endpoint_id)
    webhooks.redeliver(delivery)
    return delivery

