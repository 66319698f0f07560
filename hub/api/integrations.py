"""``/api/v1/integrations/{vendor}``: enable/disable, credentials (write-only), test connection, client
connections and vendor client lookup, summary settings and field mapping, Reload data."""

from __future__ import annotations

import copy
from typing import Any

import marshmallow
from flask_smorest import abort

from hub import connections, exports, linking, statistics, vendor_accounts
from hub import credentials as creds
from hub.api import auth
from hub.api.common import (
    MAX_ID,
    accepted,
    api_wait,
    body_required,
    client_or_404,
    describe_credentials,
    doc_errors,
    document_per_value,
    integration_or_404,
    integration_row,
    make_blueprint,
    not_found,
    owned,
    run_out,
    vendor_or_404,
)
from hub.api.schemas import (
    CREDENTIALS_DESCRIPTION,
    ConnectionSchema,
    CredentialsBodySchema,
    IntegrationPatchSchema,
    IntegrationSchema,
    LinkBodySchema,
    LookupBodySchema,
    LookupSchema,
    ReloadBodySchema,
    RunSchema,
    SummarySettingsBodySchema,
    SummarySettingsOutSchema,
    TestConnectionBodySchema,
)
from hub.api.vendors import credentials_component_name
from hub.clients import WHITESPACE
from hub.errors import ConfigError, NotSupported
from hub.models import NOT_CONFIGURED, ClientConnection, Integration, SyncRun
from hub.plugins import Vendor
from hub.services import services

blp = make_blueprint("api-integrations", "The firm's integrations: credentials, test connection, client "
                     "connections, summary settings and field mapping, Reload data.")
VENDOR = {"in": "path", "name": "vendor", "example": "example", "description": "The vendor's slug."}
CLIENT = {"in": "path", "name": "client_id", "example": 1, "description": "A client of the firm.",
          "schema": {"type": "integer", "minimum": 0}}
RUN_LOCATION = {"Location": {"description": "The run to poll: `GET /api/v1/runs/{id}`.",
                             "schema": {"type": "string"}}}


def integration_out(vendor: Vendor, row: Integration | None) -> dict[str, Any]:
    base = {"id": None, "vendor": vendor.slug, "vendor_name": vendor.info.name, "enabled": False,
            "status": NOT_CONFIGURED, "account_name": None, "expires_on": None, "last_checked_at": None,
            "last_success_at": None, "last_error": None, "credentials": creds.describe(vendor.schema, {}, {}),
            "export_invoices": False}
    if row is None:
        return base
    return {**base, "id": row.id, "enabled": row.enabled, "status": row.status, "account_name": row.account_name,
            "expires_on": row.expires_on, "last_checked_at": row.last_checked_at,
            "last_success_at": row.last_success_at, "last_error": row.last_error,
            "credentials": describe_credentials(vendor, row),
            "export_invoices": bool((row.settings or {}).get("export_invoices"))}


def connection_out(vendor: Vendor, conn: ClientConnection) -> dict[str, Any]:
    account = vendor_accounts.credentials_owner(conn.integration, conn)  # its own account, else the firm's
    return {"id": conn.id, "client_id": conn.client_id, "client_name": conn.client.name, "vendor": vendor.slug,
            "vendor_client_id": conn.vendor_client_id, "vendor_client_name": conn.vendor_client_name,
            "vendor_client_reg_code": conn.vendor_client_reg_code, "warnings": linking.link_warnings(conn),
            "status": account.status, "own_credentials": conn.has_credentials,
            "credentials": describe_credentials(vendor, conn) if conn.has_credentials else None,
            "account_name": account.account_name, "last_checked_at": account.last_checked_at,
            "last_error": account.last_error}


# -- the document: bodies that depend on the vendor, one path per vendor (see common.document_per_value) --
def _example_value(name: str, prop: dict[str, Any]) -> Any:
    if prop.get("enum"):
        return prop["enum"][0]
    return f"your-{name}".ljust(prop.get("minLength", 0), "0")


def credentials_content(slug: str, content: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """A credentials body (``CredentialsBody``, ``TestConnectionBody``) with vendor ``slug``'s fields."""
    name = credentials_component_name(slug)
    if name not in schemas:  # a plugin that failed to load: its operations answer 404
        return content
    body = copy.deepcopy(schemas[content["schema"]["$ref"].rsplit("/", 1)[-1]])
    fields = {k: v for k, v in copy.deepcopy(schemas[name]).items() if k not in ("required", "description")}
    generic = body["properties"]["credentials"]
    required = schemas[name].get("required", [])
    for prop in fields.get("properties", {}).values():
        if prop.get("writeOnly"):  # a secret: null or blank (only whitespace) keeps the saved one
            prop["nullable"] = True
            rules = {k: prop.pop(k) for k in ("pattern", "minLength", "maxLength") if k in prop}
            if rules:
                prop["anyOf"] = [{"type": "string", **rules}, {"type": "string", "pattern": f"^{WHITESPACE}*$"}]
    body["properties"]["credentials"] = {
        **fields, **{k: v for k, v in generic.items() if k in ("nullable",)},
        "description": f"{schemas[name].get('description', '')} {CREDENTIALS_DESCRIPTION} Required when nothing "
                       f"is saved: {', '.join(f'`{r}`' for r in required) or 'none'}."}
    example = {k: _example_value(k, fields["properties"][k]) for k in required}
    return {"schema": body, "example": {"credentials": example}}


def _missing_required(vendor: Vendor, owner: Integration | ClientConnection | None,
                      submitted: dict[str, Any]) -> None:
    """Fields are optional (a field left out keeps the saved value), so a required one that is neither sent
    nor saved is a conflict with what is saved (``409``), not a malformed request."""
    stored = vendor_accounts.stored_credentials(owner) if owner is not None and owner.has_credentials else {}
    merged = creds.merge_for_edit(vendor.schema, submitted, stored)
    missing = [name for name, field in vendor.schema().fields.items()
               if field.required and field.load_default is marshmallow.missing and merged.get(name) is None]
    if missing:
        abort(409, message="Required credentials are neither sent nor saved.",
              errors={name: ["Required: nothing is saved for this field yet."] for name in missing})


def summary_settings_content(slug: str, content: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """The summary settings body with vendor ``slug``'s statistic fields as the mapping's keys."""
    vendor = services().registry.vendors.get(slug)
    if vendor is None:
        return content
    body = copy.deepcopy(schemas[content["schema"]["$ref"].rsplit("/", 1)[-1]])
    keys = [f.key for f in vendor.info.statistic_fields]
    body["properties"]["mapping"] = {
        "type": "object", "additionalProperties": False,
        "properties": {key: {"type": "integer", "nullable": True, "minimum": 1, "maximum": MAX_ID} for key in keys},
        "description": "Vendor field → the id of one of the firm's custom task fields (`GET /custom-fields`), "
                       "each field at most once; `null` or left out: not imported. An id of no field of the "
                       "firm, or one field twice, is a 422."}
    example = {**content.get("example", {}), "mapping": {keys[0]: 1} if keys else {}}
    return {"schema": body, "example": example}


def _needs_credentials(integration: Integration) -> None:
    if not integration.has_credentials:
        raise ConfigError("No credentials are saved yet.",
                          hint="PUT /api/v1/integrations/{vendor}/credentials first.")


# -- integrations ----------------------------------------------------------------------------------
@blp.route("/integrations", methods=["GET"])
@blp.response(200, IntegrationSchema(many=True))
@doc_errors(blp)
def list_integrations() -> Any:
    """One entry per installed vendor (the Settings & Apps cards), set up or not."""
    rows = {i.vendor: i for i in Integration.query.filter_by(firm_id=auth.firm_id())}
    return [integration_out(v, rows.get(slug)) for slug, v in sorted(services().registry.vendors.items())]


@blp.route("/integrations/<vendor:vendor>", methods=["GET"], parameters=[VENDOR])
@blp.response(200, IntegrationSchema)
@doc_errors(blp, 404)
def get_integration(vendor: str) -> Any:
    """The firm's integration with one vendor: status, last error, credentials (secrets only as set / not set)."""
    return integration_out(vendor_or_404(vendor), integration_row(vendor))


@blp.route("/integrations/<vendor:vendor>", methods=["PATCH"], parameters=[VENDOR])
@auth.admin_required
@blp.arguments(IntegrationPatchSchema, example={"enabled": True, "export_invoices": True})
@blp.response(200, IntegrationSchema)
@doc_errors(blp, 403, 404, 409)
def patch_integration(data: dict[str, Any], vendor: str) -> Any:
    """Enable or disable the integration; export every issued invoice to it.

    ``enabled`` is Enable/Disable on the Settings & Apps card; ``export_invoices`` is "Export every issued
    invoice here" on the Invoices tab (a vendor without the ``invoice_export`` capability: ``409``)."""
    v = vendor_or_404(vendor)
    if data.get("export_invoices") and not v.can("invoice_export"):
        raise NotSupported(f"{v.info.name} cannot receive invoices.")
    row = integration_row(vendor, create=True)
    if "enabled" in data:
        connections.set_enabled(row, data["enabled"])
    if "export_invoices" in data:
        exports.set_export_invoices(row, data["export_invoices"])
    return integration_out(v, row)


@blp.route("/integrations/<vendor:vendor>/credentials", methods=["PUT"], parameters=[VENDOR])
@document_per_value(blp, "vendor", credentials_content)
@auth.admin_required
@blp.arguments(CredentialsBodySchema, example={"credentials": {"company": "acme", "api_key": "ex-key-123"}})
@blp.response(200, IntegrationSchema)
@doc_errors(blp, 403, 404, 409)
def put_credentials(data: dict[str, Any], vendor: str) -> Any:
    """Save the credentials (Save).

    Validated by the vendor's schema; a blank secret keeps the saved one. Unless ``tested_run_id`` names a
    passing test of exactly these values, a test connection is queued."""
    row = integration_row(vendor, create=True)
    _missing_required(vendor_or_404(vendor), row, data["credentials"])
    tested = None
    if data.get("tested_run_id"):
        tested = owned(SyncRun, data["tested_run_id"], what="No such run.")
    connections.save_credentials(row, data["credentials"], tested_run=tested)
    return integration_out(vendor_or_404(vendor), row)


@blp.route("/integrations/<vendor:vendor>/test-connection", methods=["POST"], parameters=[VENDOR])
@document_per_value(blp, "vendor", credentials_content)
@auth.admin_required
@blp.arguments(TestConnectionBodySchema, required=False,
               example={"credentials": {"company": "acme", "api_key": "ex-key-123"}})
@blp.response(200, RunSchema, description="The test finished in time: see `status`, `result` and `error`.")
@blp.alt_response(202, schema=RunSchema, headers=RUN_LOCATION,
                  description="The worker has not answered yet: poll the run.")
@doc_errors(blp, 403, 404, 409)
def test_connection(data: dict[str, Any], vendor: str) -> Any:
    """Test connection.

    Tests the saved credentials, or unsaved ones merged with them (before Save). Waits a few seconds for
    the worker's answer, else answers ``202`` with the run to poll."""
    row = integration_row(vendor, create=True)
    if data.get("credentials") is not None:
        _missing_required(vendor_or_404(vendor), row, data["credentials"])
    run = connections.test_connection(row, data.get("credentials"), wait=api_wait(), trigger="api")
    return run_out(run) if run.finished else accepted(run)


# -- client connections ------------------------------------------------------------------------------
@blp.route("/integrations/<vendor:vendor>/connections", methods=["GET"], parameters=[VENDOR])
@blp.response(200, ConnectionSchema(many=True))
@doc_errors(blp, 404)
def list_connections(vendor: str) -> Any:
    """The firm's clients linked to this integration."""
    v = vendor_or_404(vendor)
    row = integration_row(vendor)
    if row is None:
        return []
    rows = ClientConnection.query.filter_by(integration_id=row.id).order_by(ClientConnection.id).all()
    return [connection_out(v, c) for c in rows]


def _connection(row: Integration | None, client_id: int) -> ClientConnection | None:
    if row is None:
        return None
    return ClientConnection.query.filter_by(integration_id=row.id, client_id=client_id).one_or_none()


@blp.route("/integrations/<vendor:vendor>/connections/<int:client_id>", methods=["GET"], parameters=[VENDOR, CLIENT])
@blp.response(200, ConnectionSchema)
@doc_errors(blp, 404)
def get_connection(vendor: str, client_id: int) -> Any:
    """How one client is connected."""
    v = vendor_or_404(vendor)
    client_or_404(client_id)
    conn = _connection(integration_row(vendor), client_id)
    if conn is None:
        not_found("This client is not linked to the integration.")
    return connection_out(v, conn)


@blp.route("/integrations/<vendor:vendor>/connections/<int:client_id>", methods=["PUT"], parameters=[VENDOR, CLIENT])
@auth.admin_required
@blp.arguments(LinkBodySchema, example={"vendor_client_id": "C-1001", "vendor_client_name": "Acme OÜ"})
@blp.response(200, ConnectionSchema)
@doc_errors(blp, 403, 404)
def link_client(data: dict[str, Any], vendor: str, client_id: int) -> Any:
    """Link the client to the vendor's client record (or re-link it; ``null`` unlinks)."""
    v = vendor_or_404(vendor)
    client_or_404(client_id)
    row = integration_row(vendor, create=True)
    conn = linking.link_client(_connection(row, client_id), client_id=client_id, integration=row,
                               vendor_client_id=data["vendor_client_id"],
                               vendor_client_name=data.get("vendor_client_name"),
                               vendor_client_reg_code=data.get("vendor_client_reg_code"))
    return connection_out(v, conn)


@blp.route("/integrations/<vendor:vendor>/connections/<int:client_id>/credentials", methods=["PUT"],
           parameters=[VENDOR, CLIENT])
@document_per_value(blp, "vendor", credentials_content)
@auth.admin_required
@blp.arguments(CredentialsBodySchema, example={"credentials": {"company": "acme-client", "api_key": "ex-key-9"}})
@blp.response(200, ConnectionSchema)
@doc_errors(blp, 403, 404, 409)
def put_connection_credentials(data: dict[str, Any], vendor: str, client_id: int) -> Any:
    """The client's own credentials (the client is its own vendor account, e.g. another database)."""
    v = vendor_or_404(vendor)
    client_or_404(client_id)
    row = integration_row(vendor, create=True)
    conn = _connection(row, client_id) or linking.link_client(
        None, client_id=client_id, integration=row, vendor_client_id=None)
    _missing_required(v, conn, data["credentials"])
    tested = owned(SyncRun, data["tested_run_id"], what="No such run.") if data.get("tested_run_id") else None
    connections.save_credentials(row, data["credentials"], connection=conn, tested_run=tested)
    return connection_out(v, conn)


@blp.route("/integrations/<vendor:vendor>/connections/<int:client_id>/test-connection", methods=["POST"],
           parameters=[VENDOR, CLIENT])
@document_per_value(blp, "vendor", credentials_content)
@auth.admin_required
@blp.arguments(TestConnectionBodySchema, required=False,
               example={"credentials": {"company": "acme-client", "api_key": "ex-key-9"}})
@blp.response(200, RunSchema, description="The test finished in time: see `status`, `result` and `error`.")
@blp.alt_response(202, schema=RunSchema, headers=RUN_LOCATION,
                  description="The worker has not answered yet: poll the run.")
@doc_errors(blp, 403, 404, 409)
def test_connection_credentials(data: dict[str, Any], vendor: str, client_id: int) -> Any:
    """Test the client's own credentials.

    The saved ones, or unsaved ones merged with them (then save with ``tested_run_id``). A client without
    credentials of its own uses the firm's: test those with ``POST .../test-connection`` (``409``)."""
    v = vendor_or_404(vendor)
    client_or_404(client_id)
    row = integration_row(vendor)
    conn = _connection(row, client_id)
    if row is None or conn is None:
        not_found("This client is not linked to the integration.")
    if data.get("credentials") is not None:
        _missing_required(v, conn, data["credentials"])
    if data.get("credentials") is None and not conn.has_credentials:
        raise ConfigError("This client has no credentials of its own.",
                          hint="PUT them on .../connections/{client_id}/credentials, or send `credentials`.")
    run = connections.test_connection(row, data.get("credentials"), connection=conn, wait=api_wait(),
                                      trigger="api")
    return run_out(run) if run.finished else accepted(run)


@blp.route("/integrations/<vendor:vendor>/client-lookup", methods=["POST"], parameters=[VENDOR])
@auth.admin_required
@blp.arguments(LookupBodySchema, required=False, example={"query": "acme"})
@blp.response(200, LookupSchema, description="The lookup finished in time.")
@blp.alt_response(202, schema=LookupSchema, headers=RUN_LOCATION,
                  description="The worker has not answered yet: poll the run (its `result.clients`).")
@doc_errors(blp, 403, 404, 409)
def client_lookup(data: dict[str, Any], vendor: str) -> Any:
    """Search the vendor's client records (to pick the one to link)."""
    v = vendor_or_404(vendor)
    if not v.can("client_lookup"):
        raise NotSupported(f"{v.info.name} has no client lookup.")
    row = integration_or_404(vendor)
    _needs_credentials(row)
    run = connections.lookup_clients(row, data["query"], wait=api_wait())
    if not run.finished:
        return accepted(run, {"run": run_out(run), "clients": None})
    clients = (run.result or {}).get("clients") if run.status == "succeeded" else None
    return {"run": run_out(run), "clients": clients}


# -- summary settings and Reload data ----------------------------------------------------------------
def _settings_out(vendor: Vendor, row: Integration | None, mapping_changed: bool | None = None) -> dict[str, Any]:
    stored = statistics.summary_settings(row) if row is not None else {}
    out = {"task_title": statistics.DEFAULT_TITLE, "topic_id": None, "import_day": "last_work_day", "mapping": {},
           **stored,
           "statistic_fields": [{"key": f.key, "label": f.label, "description": f.description,
                                 "advanced": f.advanced} for f in vendor.info.statistic_fields]}
    if mapping_changed is not None:
        out["mapping_changed"] = mapping_changed
    return out


def _statistics_vendor(vendor: str) -> Vendor:
    v = vendor_or_404(vendor)
    if not v.can("statistics"):
        raise NotSupported(f"{v.info.name} has no statistics to import.")
    return v


@blp.route("/integrations/<vendor:vendor>/summary-settings", methods=["GET"], parameters=[VENDOR])
@document_per_value(blp, "vendor")
@blp.response(200, SummarySettingsOutSchema)
@doc_errors(blp, 404, 409)
def get_summary_settings(vendor: str) -> Any:
    """The monthly summary task settings and the field mapping (vendor field → custom task field id)."""
    v = _statistics_vendor(vendor)
    return _settings_out(v, integration_row(vendor))


@blp.route("/integrations/<vendor:vendor>/summary-settings", methods=["PUT"], parameters=[VENDOR])
@document_per_value(blp, "vendor", summary_settings_content)
@auth.admin_required
@body_required
@blp.arguments(SummarySettingsBodySchema, example={
    "task_title": "Monthly summary", "topic_id": None, "import_day": "last_work_day",
    "mapping": {"documents": 1}})
@blp.response(200, SummarySettingsOutSchema)
@doc_errors(blp, 403, 404, 409)
def put_summary_settings(data: dict[str, Any], vendor: str) -> Any:
    """Save the summary settings and field mapping.

    Vendor fields left out of the mapping (or ``null``) are not imported; ``mapping_changed`` says whether
    to offer Reload data."""
    v = _statistics_vendor(vendor)
    row = integration_row(vendor, create=True)
    changed = statistics.save_summary_settings(row, data)
    return _settings_out(v, row, changed)


@blp.route("/integrations/<vendor:vendor>/reload", methods=["POST"], parameters=[VENDOR])
@auth.admin_required
@blp.arguments(ReloadBodySchema, required=False, example={})
@blp.response(202, RunSchema, headers=RUN_LOCATION,
              description="Reload started: poll the run for progress (`progress_done` of `progress_total`).")
@doc_errors(blp, 403, 404, 409)
def reload(data: dict[str, Any], vendor: str) -> Any:
    """Reload data.

    Back-fills the last 12 months for every linked client (or one), overwriting."""
    _statistics_vendor(vendor)
    row = integration_or_404(vendor)
    conn = None
    if data.get("client_id"):
        client_or_404(data["client_id"])
        conn = _connection(row, data["client_id"])
        if conn is None:
            not_found("This client is not linked to the integration.")
    run = statistics.reload(row, connection=conn, trigger="api")
    return accepted(run)
