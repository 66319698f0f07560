"""Errors as problem details (RFC 9457, ``application/problem+json``).

Every error the API returns has this shape::

    {"type": "urn:hub:problem:validation", "title": "Unprocessable Content", "status": 422,
     "detail": "The request has invalid fields.", "instance": "/api/v1/custom-fields",
     "errors": {"name": ["Give the field a name."]}}

``errors`` (field → messages) appears on validation problems; ``hint`` (how to fix it) and ``kind`` (the
hub's error class) on problems raised by the hub's flows. A problem never carries a stack trace or a
credential value: unexpected errors are logged and answered with a generic 500.
"""

from __future__ import annotations

import http
import logging
from typing import Any

import marshmallow
from flask import Response, current_app, json, request
from marshmallow import fields
from werkzeug.exceptions import HTTPException

from hub import redaction
from hub.errors import HubError, NotSupported

log = logging.getLogger("hub.api")
PROBLEM_JSON = "application/problem+json"
API_PREFIX = "/api/v1"


class ProblemSchema(marshmallow.Schema):
    """Problem details (RFC 9457). Documentation only: problems are built by :func:`problem`."""

    type = fields.String(required=True, metadata={
        "description": "A URI reference naming the problem type; `about:blank` for plain HTTP errors.",
        "example": "urn:hub:problem:validation"})
    title = fields.String(required=True, metadata={"example": "Unprocessable Content"})
    status = fields.Integer(required=True, metadata={"example": 422})
    detail = fields.String(metadata={"example": "The request has invalid fields."})
    instance = fields.String(metadata={"example": "/api/v1/custom-fields"})
    errors = fields.Dict(keys=fields.String(), values=fields.Raw(), metadata={
        "description": "Field-level messages: field name → list of messages (nested for nested fields).",
        "example": {"name": ["Give the field a name."]}})
    hint = fields.String(allow_none=True, metadata={"description": "How to fix it, when the hub knows."})
    kind = fields.String(metadata={"description": "The hub's error class (auth, config, not_supported, ...)."})


def problem(status: int, detail: str | None = None, *, type_: str = "about:blank", errors: dict | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> Response:
    """A ``application/problem+json`` response."""
    body: dict[str, Any] = {"type": type_, "title": http.HTTPStatus(status).phrase, "status": status}
    if detail:
        body["detail"] = redaction.mask(detail)
    body["instance"] = request.path
    if errors:
        body["errors"] = errors
    body.update({k: v for k, v in extra.items() if v is not None})
    response = current_app.response_class(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _flatten_webargs(messages: dict) -> dict:
    """webargs nests messages by location (``{"json": {...}, "query": {...}}``); clients want fields."""
    out: dict[str, Any] = {}
    for location, fields_ in messages.items():
        if isinstance(fields_, dict):
            out.update(fields_)
        else:
            out[location] = fields_
    return out


def is_api_request() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def handle_http_exception(error: HTTPException) -> Response | HTTPException:
    """API paths get problem details; every other path keeps Flask's own error pages."""
    if not is_api_request():
        return error
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if code == 405 and error.valid_methods:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
    if code >= 500:
        original = getattr(error, "original_exception", None)
        if original is not None:
            log.error("API request %s %s failed", request.method, request.path, exc_info=original)
        return problem(500, "Something went wrong on our side; it has been logged.")
    messages = data.get("errors") or data.get("messages")
    if messages and code in (400, 422):
        return problem(422, "The request has invalid fields.", type_="urn:hub:problem:validation",
                       errors=_flatten_webargs(messages) if "errors" not in data else messages, headers=headers)
    detail = data.get("message") or (error.description if code != 404 else "Not found.")
    return problem(code, detail, headers=headers, errors=data.get("errors"))


def handle_validation_error(error: marshmallow.ValidationError) -> Response:
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    return problem(422, "The request has invalid fields.", type_="urn:hub:problem:validation", errors=messages)


def handle_conflict(error: marshmallow.ValidationError) -> Response:
    """Valid fields the firm's current state refuses (another client has the registration code): ``409``."""
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    detail = next((m for ms in messages.values() for m in (ms if isinstance(ms, list) else [ms])), None)
    return problem(409, str(detail or "The request conflicts with the firm's data."),
                   type_="urn:hub:problem:conflict", errors=messages)


def handle_hub_error(error: HubError) -> Response:
    """An error raised by a flow: a conflict with the resource's state (``409``)."""
    extra: dict[str, Any] = {"kind": error.kind, "hint": error.hint}
    errors = None
    if getattr(error, "field", None):
        errors = {error.field: [error.message]}  # type: ignore[attr-defined]
    if getattr(error, "field_messages", None):
        errors = error.field_messages  # type: ignore[attr-defined]
    type_ = "urn:hub:problem:not-supported" if isinstance(error, NotSupported) else f"urn:hub:problem:{error.kind}"
    return problem(409, error.message, type_=type_, errors=errors, **extra)
