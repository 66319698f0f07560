"""Firm data the integrations work with: clients, topics, custom task fields, summary tasks with their
imported values, and sync runs (every background job, with its progress and outcome)."""

from __future__ import annotations

from typing import Any

from flask_smorest import abort
from marshmallow import fields, validate
from sqlalchemy import select

from hub import statistics
from hub.api import auth
from hub.api.common import doc_errors, make_blueprint, owned, run_out
from hub.api.schemas import (
    ClientSchema,
    CustomFieldSchema,
    RunArgsSchema,
    RunDetailSchema,
    RunPageSchema,
    Schema,
    SummaryTaskArgsSchema,
    SummaryTaskPageSchema,
    SummaryTaskSchema,
    SummaryValueSchema,
    TopicSchema,
)
from hub.client_list import CLIENT_STATUSES, client_query
from hub.models import CustomField, Integration, SummaryTask, SummaryValue, SyncRun, Topic, db

blp = make_blueprint("api-data", "Clients, topics and custom task fields of the firm; imported summary tasks.")
runs_blp = make_blueprint("api-runs", "Sync runs: every background job with its progress, outcome and error.")
ID = {"schema": {"type": "integer", "minimum": 0}, "example": 1}


def _page(query: Any, args: dict[str, Any]) -> tuple[list[Any], dict[str, int]]:
    total = db.session.scalar(select(db.func.count()).select_from(query.order_by(None).subquery()))
    page, per_page = args["page"], args["per_page"]
    items = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return items, {"page": page, "per_page": per_page, "total": total or 0}


# -- clients, topics, custom fields -----------------------------------------------------------------------
class ClientArgsSchema(Schema):
    """Filters of the client list (all optional; without ``per_page`` every match is returned)."""

    q = fields.String(validate=validate.Length(max=200), metadata={
        "description": "Part of the name, registration or VAT number, or e-mail (case-insensitive)."})
    integration = fields.String(validate=validate.Length(max=50), metadata={
        "description": "Only clients linked to this vendor's integration.", "example": "merit"})
    status = fields.String(validate=validate.OneOf(tuple(CLIENT_STATUSES)), metadata={
        "description": "attention (a link needs attention), linked, not_linked."})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(validate=validate.Range(min=1, max=1000))


@blp.route("/clients", methods=["GET"])
@blp.arguments(ClientArgsSchema, location="query")
@blp.response(200, ClientSchema(many=True))
@doc_errors(blp)
def list_clients(args: dict[str, Any]) -> Any:
    """The firm's clients (ids to link with vendor records), by name; filter with ``q``, ``integration`` and
    ``status``, page with ``page`` and ``per_page``."""
    integration = None
    if args.get("integration"):
        integration = Integration.query.filter_by(firm_id=auth.firm_id(), vendor=args["integration"]).one_or_none()
        if integration is None:
            return []
    query = client_query(auth.firm_id(), q=args.get("q", ""), integration=integration, status=args.get("status", ""))
    if args.get("per_page"):
        query = query.limit(args["per_page"]).offset((args["page"] - 1) * args["per_page"])
    return query.all()


@blp.route("/topics", methods=["GET"])
@blp.response(200, TopicSchema(many=True))
@doc_errors(blp)
def list_topics() -> Any:
    """The firm's task topics (``topic_id`` of the summary settings)."""
    return Topic.query.filter_by(firm_id=auth.firm_id()).order_by(Topic.name).all()


@blp.route("/custom-fields", methods=["GET"])
@blp.response(200, CustomFieldSchema(many=True))
@doc_errors(blp)
def list_custom_fields() -> Any:
    """The firm's custom task fields (targets of the field mapping)."""
    return CustomField.query.filter_by(firm_id=auth.firm_id()).order_by(CustomField.name).all()


@blp.route("/custom-fields", methods=["POST"])
@auth.admin_required
@blp.arguments(CustomFieldSchema, example={"name": "Sale entries"})
@blp.response(201, CustomFieldSchema, description="Created.")
@blp.alt_response(200, schema=CustomFieldSchema, description="A field of that name already exists: it is returned.")
@doc_errors(blp, 403)
def create_custom_field(data: dict[str, Any]) -> Any:
    """New custom task field.

    As offered in the field mapping; an existing field of the same name is returned."""
    name = data["name"].strip()
    existing = CustomField.query.filter_by(firm_id=auth.firm_id(), name=name).one_or_none()
    if existing is not None:
        return existing, 200
    return statistics.create_custom_field(auth.firm_id(), name), 201


# -- summary tasks ----------------------------------------------------------------------------------------
def task_out(task: SummaryTask, names: dict[int, str], vendors: dict[int, str]) -> dict[str, Any]:
    values = sorted(task.values, key=lambda v: (names.get(v.field_id) or "", v.id))
    return {"id": task.id, "client_id": task.client_id, "vendor": vendors.get(task.integration_id),
            "period": task.period, "title": task.title, "topic_id": task.topic_id, "updated_at": task.updated_at,
            "values": [value_out(v, names) for v in values]}


def value_out(value: SummaryValue, names: dict[int, str]) -> dict[str, Any]:
    return {"id": value.id, "field_id": value.field_id, "field": names.get(value.field_id),
            "vendor_field": value.vendor_field, "value": value.value, "source": value.source,
            "imported_at": value.imported_at, "flag": value.flag, "pending_value": value.pending_value}


def _names() -> tuple[dict[int, str], dict[int, str]]:
    fid = auth.firm_id()
    return ({f.id: f.name for f in CustomField.query.filter_by(firm_id=fid)},
            {i.id: i.vendor for i in Integration.query.filter_by(firm_id=fid)})


@blp.route("/summary-tasks", methods=["GET"])
@blp.arguments(SummaryTaskArgsSchema, location="query")
@blp.response(200, SummaryTaskPageSchema)
@doc_errors(blp)
def list_summary_tasks(args: dict[str, Any]) -> Any:
    """Monthly summary tasks with their imported values.

    Newest month first; filter by client, vendor and month range (``from``/``to``, inclusive; ``from`` after
    ``to`` matches no month)."""
    query = select(SummaryTask).where(SummaryTask.firm_id == auth.firm_id())
    if args.get("client_id"):
        query = query.where(SummaryTask.client_id == args["client_id"])
    if args.get("vendor"):
        query = query.join(Integration, Integration.id == SummaryTask.integration_id) \
            .where(Integration.vendor == args["vendor"])
    if args.get("from_"):
        query = query.where(SummaryTask.period >= args["from_"])
    if args.get("to"):
        query = query.where(SummaryTask.period <= args["to"])
    items, meta = _page(query.order_by(SummaryTask.period.desc(), SummaryTask.client_id, SummaryTask.id), args)
    names, vendors = _names()
    return {"items": [task_out(t, names, vendors) for t in items], **meta}


@blp.route("/summary-tasks/<int:task_id>", methods=["GET"], parameters=[{"in": "path", "name": "task_id", **ID}])
@blp.response(200, SummaryTaskSchema)
@doc_errors(blp, 404)
def get_summary_task(task_id: int) -> Any:
    """One summary task with its values (where and when each came from, and any flag)."""
    task = owned(SummaryTask, task_id, what="No such summary task.")
    names, vendors = _names()
    return task_out(task, names, vendors)


@blp.route("/summary-values/<int:value_id>/accept", methods=["POST"],
           parameters=[{"in": "path", "name": "value_id", **ID}])
@auth.admin_required
@blp.response(200, SummaryValueSchema)
@doc_errors(blp, 403, 404)
def accept_value(value_id: int) -> Any:
    """Accept a flagged value.

    A month that dropped to 0 is flagged, not written; accepting writes it. Unflagged values: a no-op."""
    value = db.session.get(SummaryValue, value_id) if value_id <= 2**31 - 1 else None
    if value is None or value.task.firm_id != auth.firm_id():
        abort(404, message="No such summary value.")
    statistics.accept_flagged(value)
    return value_out(value, _names()[0])


# -- runs -----------------------------------------------------------------------------------------------
@runs_blp.route("/runs", methods=["GET"])
@runs_blp.arguments(RunArgsSchema, location="query")
@runs_blp.response(200, RunPageSchema)
@doc_errors(runs_blp)
def list_runs(args: dict[str, Any]) -> Any:
    """Sync runs of the firm, newest first; filter by vendor, kind and status."""
    query = select(SyncRun).where(SyncRun.firm_id == auth.firm_id())
    if args.get("vendor"):
        query = query.join(Integration, Integration.id == SyncRun.integration_id) \
            .where(Integration.vendor == args["vendor"])
    if args.get("kind"):
        query = query.where(SyncRun.kind == args["kind"])
    if args.get("status"):
        query = query.where(SyncRun.status == args["status"])
    items, meta = _page(query.order_by(SyncRun.id.desc()), args)
    return {"items": [run_out(r) for r in items], **meta}


@runs_blp.route("/runs/<int:run_id>", methods=["GET"], parameters=[{"in": "path", "name": "run_id", **ID}])
@runs_blp.response(200, RunDetailSchema)
@doc_errors(runs_blp, 404)
def get_run(run_id: int) -> Any:
    """One run: status, attempts, result or error, progress, and per-client outcomes."""
    run = owned(SyncRun, run_id, what="No such run.")
    return {**run_out(run), "items": [{"client_id": i.client_id, "period": i.period, "outcome": i.outcome,
                                       "error": i.error} for i in run.items]}
