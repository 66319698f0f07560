"""The internal HTTP API, ``/api/v1`` (flask-smorest: marshmallow schemas → OpenAPI 3).

* **Auth**: ``Authorization: Bearer <API token>`` (:mod:`hub.api.auth`); ``401`` without a valid token,
  ``403`` when the token's role may not do it, ``404`` for other firms' objects.
* **Errors**: problem details (RFC 9457) with field-level messages (:mod:`hub.api.errors`).
* **Long work** (test connection, client lookup, Reload data, exports) runs on the workers: the API waits a
  few seconds where the page would, else answers ``202`` with the run to poll (``GET /api/v1/runs/{id}``).
* **Idempotency**: ``POST``\\ s that start vendor side effects accept an ``Idempotency-Key`` header.
* The document: ``GET /api/v1/openapi.json``; a plain browsable page at ``GET /api/v1/docs``.

Resource map (see the OpenAPI document for bodies and examples):

| path | what |
|---|---|
| ``/tokens``, ``/tokens/{id}`` | API tokens (admin) |
| ``/vendors``, ``/vendors/{slug}`` | installed plugins, capabilities, credentials JSON Schema |
| ``/integrations``, ``/integrations/{vendor}`` | status; ``PATCH`` enables/disables, ``export_invoices`` |
| ``/integrations/{vendor}/credentials`` | ``PUT`` credentials (write-only secrets) |
| ``/integrations/{vendor}/test-connection`` | ``POST``: ``200`` with the outcome or ``202`` + run |
| ``/integrations/{vendor}/connections[/{client_id}[/credentials]]`` | client links, per-client credentials |
| ``/integrations/{vendor}/connections/{client_id}/test-connection`` | test a client's own credentials |
| ``/integrations/{vendor}/client-lookup`` | search the vendor's clients |
| ``/integrations/{vendor}/link-suggestions`` | suggested matches for unlinked clients (one paged lookup) |
| ``/integrations/{vendor}/connections/bulk`` | confirm suggestions in bulk |
| ``/integrations/{vendor}/unlinked-clients`` | who is not linked yet |
| ``DELETE /integrations/{vendor}/connections/{client_id}`` | unlink (history kept) |
| ``/clients/{id}`` | ``GET``/``PATCH`` a client's details (reg. code, e-mail, address, customer type) |
| ``/integrations/{vendor}/summary-settings`` | summary task settings and field mapping |
| ``/integrations/{vendor}/reload`` | Reload data: ``202`` + run with progress |
| ``/clients``, ``/topics``, ``/custom-fields`` | firm data the settings refer to |
| ``/summary-tasks[/{id}]``, ``/summary-values/{id}/accept`` | imported numbers (paginated, filtered) |
| ``/runs[/{id}]`` | sync runs (paginated, filtered) |
| ``/invoices[/{id}]``, ``/invoices/{id}/issue`` | draft invoices; issue = export (``Idempotency-Key``) |
| ``/exports[/{id}]``, ``/exports/{id}/retry`` | export status and paid status (filtered); retry |
| ``/integrations/{vendor}/fetch-payments`` | paid status now: ``202`` + run (``payments`` vendors) |
| ``/integrations/{vendor}/{products,tax-rates}[/refresh,/mappings]`` | vendor catalog and mapping |
| ``/firms…`` (service tokens only) | the host product's upserts by external id, bulk clients, firm tokens |
| ``/webhook-endpoints[/{id}[/deliveries,/rotate-secret]]``, ``/webhook-deliveries/{id}/redeliver`` | webhooks |
"""

from __future__ import annotations

import base64
import hashlib
import html
from typing import Any

import flask
import marshmallow
from flask import Flask
from flask_smorest import Api
from marshmallow import fields
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from hub.api import accounts, billing, data, errors, integrations, service, tokens, vendors
from hub.api import webhooks as webhook_api
from hub.api.common import PLAN_GATED, examples_within_enums, expand_per_value
from hub.api.vendors import credentials_component_name, credentials_json_schema
from hub.statistics import IMPORT_DAYS, ImportDay

API_DESCRIPTION = """The Integration Hub's internal API: everything the admin pages can do, scripted.

Authenticate with `Authorization: Bearer <token>`; firm admins create tokens (`POST /api/v1/tokens`, or
`flask hub api-token create`). Tokens have a role: `admin` may change things, `member` only reads.
Errors are problem details (RFC 9457, `application/problem+json`) with field-level messages in `errors`.
Work that talks to a vendor runs in the background: such requests answer `202 Accepted` with a
`Location` to poll (`GET /api/v1/runs/{id}`) when the worker has not answered within a few seconds.
"""


class HubApi(Api):
    """flask-smorest's Api with problem-details errors, scoped to ``/api/v1`` (pages keep their own)."""

    ERROR_SCHEMA = errors.ProblemSchema

    def _register_error_handlers(self) -> None:
        app = self._app
        app.register_error_handler(HTTPException, errors.handle_http_exception)
        # Handlers the pages registered for one status code (e.g. their 404 page) win over a class
        # handler in Flask: chain them so API paths still get problem details.
        for code, handlers in list(app.error_handler_spec[None].items()):
            if code is None:
                continue
            for exc_class, previous in list(handlers.items()):
                app.register_error_handler(exc_class, _api_first(previous))

    def _register_responses(self) -> None:
        saved = self.DEFAULT_RESPONSE_CONTENT_TYPE
        self.DEFAULT_RESPONSE_CONTENT_TYPE = errors.PROBLEM_JSON
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = saved


class VendorSlugConverter(BaseConverter):
    """A vendor slug in a path (a plain string; the OpenAPI document lists the installed ones)."""


def _vendor_param_schema(app: Flask) -> Any:
    registry = app.extensions["hub"].registry
    slugs = sorted(set(registry.vendors) | set(registry.failures))

    def schema(_converter: BaseConverter) -> dict[str, Any]:
        return {"type": "string", "enum": slugs} if slugs else {"type": "string"}

    return schema


def _api_first(previous: Any) -> Any:
    def handler(error: HTTPException) -> Any:
        return errors.handle_http_exception(error) if errors.is_api_request() else previous(error)

    handler.__name__ = getattr(previous, "__name__", "handler")
    return handler


def _import_day_schema(self: Any, field: marshmallow.fields.Field, **kwargs: Any) -> dict[str, Any]:
    if isinstance(field, ImportDay):
        return {"oneOf": [{"type": "string", "enum": list(IMPORT_DAYS)},
                          {"type": "integer", "minimum": 1, "maximum": 28}],
                "description": "The last work day or the last calendar day of the month, or a day 1–28 of the "
                               "following month.", "example": "last_work_day"}
    return {}


def _raw_dict_values(self: Any, field: marshmallow.fields.Field, **kwargs: Any) -> dict[str, Any]:
    """``fields.Dict`` without a value field means any JSON value (apispec would say nothing)."""
    if isinstance(field, fields.Dict) and field.value_field is None:
        return {"additionalProperties": {}}
    return {}


def _blank_or_format(self: Any, field: marshmallow.fields.Field, ret: dict[str, Any], **kwargs: Any) -> dict:
    """A field whose metadata gives ``anyOf`` (e.g. an e-mail address, or blank to clear it) keeps its format
    only inside the branches."""
    if "anyOf" in ret and isinstance(field, fields.Email):
        ret.pop("format", None)
    return {}


def init_app(app: Flask) -> Api:
    """Register the API on ``app``."""
    app.config.setdefault("API_TITLE", "Integration Hub API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", errors.API_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": API_DESCRIPTION},
        "servers": [{"url": "/", "description": "This hub"}],
        "security": [{"bearerAuth": []}],
        "components": {"securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer", "description": "An API token (`hub_…`) of the firm."}}},
    })
    app.url_map.converters["vendor"] = VendorSlugConverter
    api = HubApi(app)
    api.register_converter(VendorSlugConverter, _vendor_param_schema(app))
    api.ma_plugin.converter.add_attribute_function(_import_day_schema)
    api.ma_plugin.converter.add_attribute_function(_raw_dict_values)
    api.ma_plugin.converter.add_attribute_function(_blank_or_format)

    blueprints = [tokens.blp, vendors.blp, integrations.blp, data.blp, data.runs_blp, billing.blp,
                  billing.catalog_blp, accounts.blp, service.blp, webhook_api.blp]
    for blp in blueprints:
        api.register_blueprint(blp)
    _register_credential_components(api)
    # marshmallow cannot say "at least one of the optional fields" (the schema checks it): the document does
    api.spec.components.schemas["IntegrationPatch"]["minProperties"] = 1
    with app.app_context():  # bodies that depend on the vendor (or another path value): one path per value
        expand_per_value(api.spec._paths, api.spec.components.schemas)
    examples_within_enums(api.spec._paths)
    _document_request_limits(api.spec._paths)
    _exempt_from_csrf(app, blueprints)
    app.add_url_rule(f"{errors.API_PREFIX}/docs", "api_docs", lambda: _docs_page(api))
    return api


URI_TOO_LONG = {
    "description": "The request target (path and query) is longer than 4094 bytes: send fewer or shorter query "
                   "values. Past 8190 bytes the web server (gunicorn) answers with its own plain page.",
    "content": {errors.PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}},
                "text/html": {"schema": {"type": "string"}}}}
BAD_JSON = {
    "description": "The JSON body cannot be read by any parser of the hub: arrays and objects nested deeper than "
                   "64 levels, or a number longer than 4300 digits.",
    "content": {errors.PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


PLAN_CONFLICT = {
    "description": "The firm's plan has no integrations (Team plan and above): nothing was changed or run.",
    "content": {errors.PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _document_request_limits(paths: dict[str, Any]) -> None:
    """Every operation may answer ``414`` (a request target too long) and, with a body, ``400`` (a JSON body no
    parser reads): :mod:`hub.web.security` answers them before any view. Changes under the plan's gate
    (:data:`hub.api.common.PLAN_GATED`) may answer ``409``."""
    for path, item in paths.items():
        for method, operation in item.items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault("414", URI_TOO_LONG)
            if method in ("post", "put", "patch", "delete") and path.startswith(PLAN_GATED):
                responses.setdefault("409", PLAN_CONFLICT)
            if "requestBody" in operation:
                responses.setdefault("400", BAD_JSON)


def _register_credential_components(api: Api) -> None:
    """Each installed vendor's credentials as a named schema (documentation; the API validates with the
    vendor's marshmallow schema)."""
    for slug, vendor in sorted(api._app.extensions["hub"].registry.vendors.items()):
        name = credentials_component_name(slug)
        schema = credentials_json_schema(vendor.schema)
        schema["description"] = f"{vendor.info.name} credentials (secrets are writeOnly)."
        api.spec.components.schema(name, schema)


def _exempt_from_csrf(app: Flask, blueprints: list) -> None:
    """The API authenticates with bearer tokens, never with the session cookie: no CSRF token needed."""
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        for blp in blueprints:
            csrf.exempt(blp)


DOCS_STYLE = ("body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}td{padding:.2rem .6rem;"
              "vertical-align:top;border-bottom:1px solid #ddd}code{font-size:.9em}")


def _docs_page(api: Api) -> flask.Response:
    """A plain, self-contained page listing every operation (no CDN, works offline)."""
    spec = api.spec.to_dict()
    rows = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            codes = ", ".join(sorted(op.get("responses", {})))
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(op.get('summary', ''))}</td><td>{html.escape(codes)}</td></tr>")
    body = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(spec['info']['title'])}</title>
<style>{DOCS_STYLE}</style></head><body>
<h1>{html.escape(spec['info']['title'])} <small>{html.escape(spec['info']['version'])}</small></h1>
<p>{html.escape(API_DESCRIPTION)}</p>
<p>The full document: <a href="{errors.API_PREFIX}/openapi.json">openapi.json</a> (OpenAPI
{html.escape(spec['openapi'])}).</p>
<table><tr><th>method</th><th>path</th><th>what</th><th>responses</th></tr>{''.join(rows)}</table>
</body></html>"""
    response = flask.Response(body, mimetype="text/html")
    # the hub's policy, with this page's one inline style allowed by its hash (hub.web.security sets the rest)
    style_hash = base64.b64encode(hashlib.sha256(DOCS_STYLE.encode()).digest()).decode()
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'sha256-" + style_hash + "'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'")
    return response
