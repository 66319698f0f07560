"""Helpers shared by the API's blueprints: blueprint factory, firm-scoped lookups, documented errors."""

from __future__ import annotations

import copy
import http
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import marshmallow
from flask import current_app, request, url_for
from flask_smorest import Blueprint, abort

from hub import credentials as creds
from hub import provisioning
from hub.api import auth, errors
from hub.clients import CodeTaken
from hub.connections import get_or_create_integration
from hub.errors import HubError
from hub.jobs import quota_wait
from hub.models import Client, ClientConnection, Firm, Integration, SyncRun, db
from hub.plugins import Vendor
from hub.services import services

M = TypeVar("M")
MAX_ID = 2**31 - 1


def make_blueprint(name: str, description: str) -> Blueprint:
    """An API blueprint: bearer-token auth, request text checks, problem details for flow errors."""
    blp = Blueprint(name, __name__, url_prefix=errors.API_PREFIX, description=description)
    blp.before_request(auth.authenticate)
    blp.before_request(_reject_unstorable_text)
    blp.before_request(_plan_gate)
    blp.register_error_handler(marshmallow.ValidationError, errors.handle_validation_error)
    blp.register_error_handler(CodeTaken, errors.handle_conflict)
    blp.register_error_handler(HubError, errors.handle_hub_error)
    return blp


#: Paths whose changes configure or run an integration, link clients or issue invoices: the plan's gate
#: (:func:`hub.provisioning.require_integrations`, the pages' and the CLI's rule too). Reading is not gated.
PLAN_GATED = (errors.API_PREFIX + "/integrations/", errors.API_PREFIX + "/invoices", errors.API_PREFIX + "/exports/")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _plan_gate() -> None:
    """A ``409`` problem (kind ``config``, with the hint) when the firm's plan has no integrations. ``PATCH
    /integrations/{vendor}`` checks it itself: disabling, or not exporting, stays possible."""
    if request.method in SAFE_METHODS or not request.path.startswith(PLAN_GATED):
        return
    if request.method == "PATCH" and request.url_rule is not None and request.url_rule.rule.endswith("<vendor:vendor>"):
        return  # enabling is refused by the flow itself (hub.connections.set_enabled, the same plan rule)
    provisioning.require_integrations(db.session.get(Firm, auth.firm_id()))  # the blueprint answers its error


def _bad_text(value: Any) -> bool:
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates from a JSON "\ud800" escape
            return True
        return False
    if isinstance(value, dict):
        return any(_bad_text(k) or _bad_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_bad_text(v) for v in value)
    return False


def _reject_unstorable_text() -> None:
    """NUL characters and lone surrogates cannot be stored (PostgreSQL refuses them): a ``422``, not a
    ``500`` deep inside a flow. A member calling an admin-only operation gets its ``403`` first."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "hub_admin_only", False) and auth.current_token().role != "admin":
        return
    body = request.get_json(silent=True) if request.is_json else None
    if _bad_text(list(request.args.values())) or _bad_text(body):
        abort(422, message="Text may not contain NUL characters or unpaired surrogates.",
              errors={"_request": ["Text may not contain NUL characters or unpaired surrogates."]})


def json_body_required(message: str, detail: str) -> Callable[[Callable], Callable]:
    """The operation's body is required (as the document says): no body is a ``422`` saying so, where the
    schema would otherwise load nothing as ``{}`` and answer as if something was sent. Put it under
    ``admin_required`` (a member gets its ``403`` first)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not request.get_data(cache=True).strip():
                abort(422, message=message, errors={"_body": [detail]})
            return view(*args, **kwargs)

        return wrapped

    return decorator


#: Settings bodies: every field of the schema has a default, so an empty body would quietly reset them.
body_required = json_body_required(
    "Send the settings as a JSON body.", "A JSON body is required; send every setting (GET returns the current ones).")
#: ``PATCH`` bodies: name the fields to change.
patch_body_required = json_body_required(
    "Send the fields to change as a JSON body.", "A JSON body is required: an object with the fields to change.")


def doc_errors(blp: Blueprint, *codes: int) -> Callable:
    """Document the problem responses ``codes`` of an operation (401 is added to every one)."""

    def decorator(func: Callable) -> Callable:
        for code in sorted({401, *codes}, reverse=True):
            func = blp.alt_response(code, response=http.HTTPStatus(code).name)(func)
        return func

    return decorator


#: An operation's mark: document it once per value of a path parameter (removed from the published document).
PER_VALUE = "x-hub-per-value"


BodyFor = Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any]]


def document_per_value(blp: Blueprint, param: str, body: BodyFor | None = None) -> Callable:
    """Document the operation's path once per value of path parameter ``param`` (its ``enum``).

    For an operation whose accepted body depends on the path (a vendor's credentials, a vendor's statistic
    fields, a tax rate vs. a product code): OpenAPI cannot tie a body to a path parameter's value, so the
    document lists ``/integrations/merit/credentials``, ``/integrations/scoro/credentials``, ... each with its
    exact body. ``body(value, content, schemas)`` turns the operation's generic ``application/json`` request
    content (``{"schema": ..., "example": ...}``) into that value's, given the document's component schemas.
    :func:`expand_per_value` (called once the blueprints are registered) does the rewriting."""

    def decorator(func: Callable) -> Callable:
        return blp.doc(**{PER_VALUE: {"param": param, "body": body}})(func)

    return decorator


def expand_per_value(paths: dict[str, dict[str, Any]], schemas: dict[str, Any]) -> None:
    """Rewrite ``paths`` (the spec's) in place: every path with an operation marked by
    :func:`document_per_value` becomes one path per value of the marked parameter (all its operations)."""
    for path in list(paths):
        item = paths[path]
        marks = [op.get(PER_VALUE) for method, op in item.items() if method != "parameters" and PER_VALUE in op]
        if not marks:
            continue
        name = marks[0]["param"]
        shared = item.get("parameters", [])
        param = next(p for p in shared if p["name"] == name)
        expanded: dict[str, dict[str, Any]] = {}
        for value in param["schema"].get("enum", []):
            new_item: dict[str, Any] = {}
            rest = [copy.deepcopy(p) for p in shared if p["name"] != name]
            if rest:
                new_item["parameters"] = rest
            for method, op in item.items():
                if method == "parameters":
                    continue
                mark = op.get(PER_VALUE) or {}
                new_op = copy.deepcopy({k: v for k, v in op.items() if k != PER_VALUE})
                if mark.get("body") and "requestBody" in new_op:
                    content = new_op["requestBody"]["content"]
                    content["application/json"] = mark["body"](value, content["application/json"], schemas)
                new_item[method] = new_op
            expanded[path.replace("{" + name + "}", value)] = new_item
        position = list(paths).index(path)
        items = list(paths.items())
        paths.clear()
        paths.update(items[:position] + list(expanded.items()) + items[position + 1:])


def examples_within_enums(paths: dict[str, dict[str, Any]]) -> None:
    """A parameter's ``example`` must be one of its ``enum`` (e.g. the vendor slug ``example`` where that
    plugin is not installed): else the first value is the example."""
    for item in paths.values():
        params = list(item.get("parameters", []))
        for method, op in item.items():
            if method != "parameters":
                params += op.get("parameters", [])
        for param in params:
            enum = (param.get("schema") or {}).get("enum")
            if enum and param.get("example") not in enum:
                param["example"] = enum[0]


def api_wait() -> float:
    """How long a request waits for an interactive job (test connection, client lookup)."""
    config = current_app.config
    return float(config.get("HUB_API_WAIT", min(float(config.get("HUB_TEST_CONNECTION_WAIT", 8)), 5.0)))


# -- firm-scoped lookups: another firm's object is exactly as missing as a missing one ------------------
def not_found(what: str = "Not found.") -> None:
    abort(404, message=what)


def vendor_or_404(slug: str) -> Vendor:
    vendor = services().registry.vendors.get(slug)
    if vendor is None:
        not_found("No such vendor plugin is installed.")
    return vendor


def integration_row(slug: str, *, create: bool = False) -> Integration | None:
    """The firm's integration with vendor ``slug`` (404 for an unknown vendor); created if asked."""
    vendor_or_404(slug)
    row = Integration.query.filter_by(firm_id=auth.firm_id(), vendor=slug).one_or_none()
    if row is None and create:

        row = get_or_create_integration(auth.firm_id(), slug)
    return row


def integration_or_404(slug: str) -> Integration:
    row = integration_row(slug)
    if row is None:
        not_found("This integration is not set up yet.")
    return row


def client_or_404(client_id: int) -> Client:
    client = Client.query.filter_by(id=client_id, firm_id=auth.firm_id()).one_or_none() \
        if 0 < client_id <= MAX_ID else None
    if client is None:
        not_found("No such client.")
    return client


def owned(model: type[M], object_id: int, *, what: str = "Not found.") -> M:
    """``model`` row ``object_id`` if it belongs to the token's firm (``firm_id`` column), else 404."""
    row = db.session.get(model, object_id) if 0 < object_id <= MAX_ID else None
    if row is None or getattr(row, "firm_id", None) != auth.firm_id():
        not_found(what)
    return row


# -- output helpers -------------------------------------------------------------------------------
def describe_credentials(vendor: Vendor, owner: Integration | ClientConnection) -> dict[str, Any]:
    """Public values, and for each secret only whether it is set."""
    if not owner.has_credentials:
        return creds.describe(vendor.schema, {}, {})
    secret = services().vault.decrypt(owner.secret_credentials)
    return creds.describe(vendor.schema, owner.public_credentials or {}, secret)


def run_out(run: SyncRun) -> dict[str, Any]:
    result = dict(run.result or {})
    result.pop("fingerprint", None)  # a hash of the tested credentials: not for clients
    integration = db.session.get(Integration, run.integration_id) if run.integration_id else None
    return {
        "id": run.id, "url": url_for("api-runs.get_run", run_id=run.id), "kind": run.kind, "status": run.status,
        "finished": run.finished, "trigger": run.trigger, "vendor": integration.vendor if integration else None,
        "client_connection_id": run.client_connection_id, "attempts": run.attempts,
        "progress_done": run.progress_done, "progress_total": run.progress_total,
        "result": result if run.result is not None else None, "error": run.error, "created_at": run.created_at,
        "started_at": run.started_at, "finished_at": run.finished_at, "next_attempt_at": run.next_attempt_at,
        "waiting": quota_wait(run),
    }


def accepted(run: SyncRun, body: Any = None) -> tuple[Any, int, dict[str, str]]:
    """``202 Accepted`` with the run to poll in ``Location``."""
    return (run_out(run) if body is None else body), 202, {"Location": url_for("api-runs.get_run", run_id=run.id)}

