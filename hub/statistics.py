"""Monthly summary statistics: settings and field mapping, the import of a client's months, Reload data.

* **Settings** per integration (``integration.settings["summary"]``): task title, topic, import day, and
  the field mapping ``{vendor field key: custom field id}``. Unmapped fields are not imported.
* **Import** (run kind ``import``, one job per client): fetch every requested month from the vendor in
  one hook call (the plugin uses the vendor's widest windows), then write every month's task and values
  in **one transaction** — a failure part way leaves nothing half-written. A value that would drop
  from a positive number to 0 is not written: it is flagged for the admin (``SummaryValue.flag``) — unless
  it came from another vendor record or account than the current link (imported before
  ``ClientConnection.linked_at``): a re-linked client's months are overwritten, also by 0.
* **Account**: every vendor call goes to the client's own account when it has one, else the firm's
  (``hub.vendor_accounts.account_for``).
* **Reload data** (run kind ``reload``): back-fills the last 12 months for every linked client (or one
  client), overwriting, as one ``import`` child run per client; the parent run counts progress
  (clients done / total) and notifies the admin when all children are final.

The schedule that enqueues imports when they are due lives in :mod:`hub.schedule`.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow
from marshmallow import fields, validate
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from hub import audit, webhooks
from hub.errors import ConfigError, HubError, NotDone, NotSupported
from hub.health import record_failure
from hub.jobs import Kind, enqueue_errors_deferred, register, start_batch, start_runs
from hub.models import (
    DISABLED,
    NEEDS_ATTENTION,
    Client,
    ClientConnection,
    CustomField,
    Integration,
    MonthlyImport,
    SummaryTask,
    SummaryValue,
    SyncRun,
    SyncRunItem,
    Topic,
    User,
    db,
    utcnow,
)
from hub.notify import notify
from hub.types import Period
from hub.vendor_accounts import account_for, account_run, call_vendor, run_account, vendor_of

log = logging.getLogger("hub.statistics")

RELOAD_MONTHS = 12
IMPORT_DAYS = ("last_work_day", "last_calendar_day")
DEFAULT_TITLE = "Monthly summary"
ZERO_FLAG = "dropped from {old} to 0: not written; accept it on the task if 0 is right"


class ImportDay(fields.Field):
    """``"last_work_day"``, ``"last_calendar_day"`` or a day 1–28 of the following month."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | int:
        if value in IMPORT_DAYS:
            return value
        try:
            day = int(value)
        except (TypeError, ValueError):
            raise marshmallow.ValidationError(
                "Choose the last work day, the last calendar day, or a day 1–28 of the following month.") from None
        if not 1 <= day <= 28:
            raise marshmallow.ValidationError("A day of the following month must be between 1 and 28.")
        return day

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class SummarySettingsSchema(marshmallow.Schema):
    """What an admin sets on the integration's Settings tab."""

    task_title = fields.String(load_default=DEFAULT_TITLE, validate=validate.Length(min=1, max=200),
                               metadata={"label": "Task title"})
    topic_id = fields.Integer(allow_none=True, load_default=None, metadata={"label": "Topic"})
    import_day = ImportDay(load_default="last_work_day", metadata={"label": "Import data"})
    mapping = fields.Dict(keys=fields.String(), values=fields.Integer(allow_none=True), load_default=dict,
                          metadata={"label": "Data fields"})


def summary_settings(integration: Integration) -> dict[str, Any]:
    return (integration.settings or {}).get("summary") or {}


def save_summary_settings(integration: Integration, data: dict[str, Any], *, user: User | None = None) -> bool:
    """Validate and store the summary settings; returns True when the field mapping changed (the page
    then offers Reload data)."""
    summary = check_summary_settings(integration, data)
    before = summary_settings(integration)
    integration.settings = {**(integration.settings or {}), "summary": summary}
    db.session.commit()
    audit.record(integration.firm_id, "summary_settings.saved", integration, user=user, details=summary)
    return before.get("mapping", {}) != summary["mapping"]


def check_summary_settings(integration: Integration, data: dict[str, Any]) -> dict[str, Any]:
    """The summary settings ``data`` as they would be stored; raises ``marshmallow.ValidationError`` (field
    messages) and writes nothing — a form that creates things on the way (a new custom field, a new topic)
    checks first, so a refused save creates nothing."""
    vendor = vendor_of(integration)
    if not vendor.can("statistics"):
        raise NotSupported(f"{vendor.info.name} has no statistics to import.")
    loaded = SummarySettingsSchema().load(data)
    keys = {f.key for f in vendor.info.statistic_fields}
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(loaded["mapping"]) - keys)
    if unknown:
        errors["mapping"] = [f"{vendor.info.name} has no field {', '.join(unknown)}."]
    mapping = {k: v for k, v in loaded["mapping"].items() if v is not None}
    own_fields = {f.id for f in CustomField.query.filter_by(firm_id=integration.firm_id)}
    if set(mapping.values()) - own_fields:
        errors.setdefault("mapping", []).append("Pick one of the firm's custom task fields.")
    if len(set(mapping.values())) != len(mapping):
        errors.setdefault("mapping", []).append("Map each custom task field to one vendor field only.")
    if loaded["topic_id"] is not None and not Topic.query.filter_by(id=loaded["topic_id"],
                                                                     firm_id=integration.firm_id).count():
        errors["topic_id"] = ["Pick one of the firm's topics."]
    if errors:
        raise marshmallow.ValidationError(errors)
    return {**loaded, "mapping": mapping}


def create_custom_field(firm_id: int, name: str) -> CustomField:
    """A new custom task field (or the existing one of that name) — "New custom field" in the mapping."""
    name = (name or "").strip()
    if not name:
        raise marshmallow.ValidationError({"name": ["Give the field a name."]})
    existing = CustomField.query.filter_by(firm_id=firm_id, name=name).one_or_none()
    if existing:
        return existing
    field = CustomField(firm_id=firm_id, name=name, kind="number")
    db.session.add(field)
    db.session.commit()
    return field


# -- importing ---------------------------------------------------------------------------------
def firm_today(integration: Integration) -> dt.date:
    return dt.datetime.now(ZoneInfo(integration.firm.timezone)).date()


def linked_connections(integration: Integration) -> list[ClientConnection]:
    """Client connections that can import: linked to a vendor record or with their own credentials."""
    rows = ClientConnection.query.filter_by(integration_id=integration.id).order_by(ClientConnection.id).all()
    return [c for c in rows if c.vendor_client_id or c.has_credentials]


def import_client(connection: ClientConnection, periods: list[Period], *, trigger: str = "user",
                  user: User | None = None, refresh: bool = False) -> SyncRun:
    """Enqueue the import of ``periods`` for one client (overwriting what is there)."""
    return account_run("import", account_for(connection.integration, connection=connection), trigger=trigger,
                       user=user, params={"periods": [str(p) for p in periods], "refresh": refresh})


def import_many(imports: list[tuple[int, int, int, list[str]]], *, trigger: str = "schedule") -> None:
    """Enqueue many imports at once, in the order given: ``(firm_id, integration_id, connection_id, periods)``
    each (the dispatcher's import day)."""
    start_runs("import", [{"firm_id": firm_id, "integration_id": integration_id, "client_connection_id": conn_id,
                           "params": {"periods": periods, "refresh": False}}
                          for firm_id, integration_id, conn_id, periods in imports], trigger=trigger)


def _import_action(run: SyncRun) -> dict:
    # the connection and its integration in one read (run_account then finds both in the session)
    connection = db.session.get(ClientConnection, run.client_connection_id,
                                options=[joinedload(ClientConnection.integration)])
    integration = connection.integration
    periods = [Period.parse(p) for p in run.params["periods"]]
    settings = summary_settings(integration)
    mapping: dict[str, int] = settings.get("mapping") or {}
    if not mapping:
        raise NotDone("No data fields are mapped, so there is nothing to import.",
                          hint="Map the vendor's fields to custom task fields on the Settings tab.")
    if not integration.enabled:
        raise NotDone(f"The {integration.vendor} integration is disabled.", hint="Enable it on the Overview tab.")
    account = run_account(run)  # the client's own account, else the firm's
    owner = account.owner
    if owner.status in (NEEDS_ATTENTION, DISABLED):
        reason = (owner.last_error or {}).get("message") or "the connection needs attention"
        # no vendor call: the owner keeps the vendor's own reason for needing attention
        raise NotDone(f"Not imported: {reason}",
                                       hint="Paste fresh credentials and click Test connection.")
    if run.params.get("refresh") and vendor_of(integration).can("statistics_refresh"):
        call_vendor(run, "hub_refresh_statistics", account=account, client=account.client_ref, periods=periods)
    stats = call_vendor(run, "hub_fetch_statistics", account=account, client=account.client_ref, periods=periods)
    missing = [str(p) for p in periods if p not in stats]
    if missing:
        raise HubError(f"The {integration.vendor} plugin returned no numbers for {', '.join(missing)}.")
    flagged = write_months(run, connection, stats, periods, mapping, settings)  # committed with the run's success
    return {"periods": [str(p) for p in periods], "flagged": flagged}


def write_months(run: SyncRun, connection: ClientConnection, stats: dict, periods: list[Period],
                 mapping: dict[str, int], settings: dict[str, Any]) -> int:
    """Write every month's task and values in one transaction; returns how many values were flagged. Not committed
    here: the job layer commits them with the run's success (the months and the outcome in one commit — a failure
    or a crash before it leaves neither).

    In bulk, whatever the number of months and fields: one upsert of the tasks, one read of the positive values
    a 0 would overwrite (only when a 0 came), one upsert of the values, one insert of the run's items and one
    update of the scheduled months."""
    integration = connection.integration
    source = f"{integration.vendor}: {connection.vendor_client_name or connection.account_name or 'client account'}"
    now = utcnow()
    names = [str(p) for p in periods]
    title = settings.get("task_title") or DEFAULT_TITLE
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if postgres:  # one short statement of arrays (a multi-row VALUES is compiled and parsed anew each time)
        task_ids: dict[str, int] = dict(db.session.execute(_PG_TASKS, {
            "firm_id": integration.firm_id, "client_id": connection.client_id, "integration_id": integration.id,
            "topic_id": settings.get("topic_id"), "now": now, "periods": names,
            "titles": [f"{title} {name}" for name in names]}).all())
    else:
        task_rows = [{"firm_id": integration.firm_id, "client_id": connection.client_id,
                      "integration_id": integration.id, "period": name, "title": f"{title} {name}",
                      "topic_id": settings.get("topic_id"), "created_at": now, "updated_at": now} for name in names]
        tasks, values = _upserts()
        task_ids = dict(db.session.execute(tasks, task_rows).all())
    new_values = {(name, field_id): int(stats[period].get(key, 0))
                  for period, name in zip(periods, names, strict=True) for key, field_id in mapping.items()}
    positive: dict[tuple[int, int], int] = {}
    if 0 in new_values.values():
        positive = {(task_id, field_id): value for task_id, field_id, value, imported_at in db.session.execute(
            select(SummaryValue.task_id, SummaryValue.field_id, SummaryValue.value, SummaryValue.imported_at).where(
                SummaryValue.task_id.in_(task_ids.values()), SummaryValue.value > 0))
            if _same_link(connection, imported_at)}
    keys = {field_id: key for key, field_id in mapping.items()}
    rows = []
    flagged = 0
    for (name, field_id), new in new_values.items():
        task_id = task_ids[name]
        old = positive.get((task_id, field_id))  # a positive value imported through the current link
        row = {"task_id": task_id, "field_id": field_id, "vendor_field": keys[field_id], "source": source,
               "imported_at": now, "sync_run_id": run.id, "value": new, "flag": None, "pending_value": None}
        if old is not None and new == 0:  # a drop to 0 waits for the admin; the old number stays
            row.update(value=old, flag=ZERO_FLAG.format(old=old), pending_value=0)
            flagged += 1
        rows.append(row)
    if postgres:  # one statement: not an executemany (psycopg would send — and the server plan and run — one
        # INSERT per row), and the values, the run's items and the scheduled months in one round trip
        db.session.execute(_PG_WRITE, {
            "source": source, "now": now, "run_id": run.id, "client_id": connection.client_id,
            "connection_id": connection.id, "periods": names, **{
                f"{c}s": [r[c] for r in rows] for c in ("task_id", "field_id", "vendor_field", "value", "flag",
                                                        "pending_value")}})
    else:  # SQLite's executemany runs in C: as cheap as it gets there
        if rows:
            db.session.execute(values, rows)
        db.session.execute(insert(SyncRunItem.__table__), [
            {"run_id": run.id, "client_id": connection.client_id, "period": name, "outcome": "imported",
             "created_at": now} for name in names])
        monthly = MonthlyImport.__table__  # a Core update: no ORM session synchronisation to evaluate
        db.session.execute(update(monthly).where(
            monthly.c.client_connection_id == connection.id, monthly.c.period.in_(names)
        ).values(status="done", run_id=run.id, updated_at=now))
    webhooks.months_imported(run, connection, periods)  # in the same transaction: the events are an outbox
    return flagged


#: :func:`write_months` on PostgreSQL: the same upserts and insert as :func:`_upserts` builds, with the rows as
#: arrays — a few short statements psycopg prepares once, whatever the number of months and fields.
_PG_TASKS = text("""
INSERT INTO summary_task (firm_id, client_id, integration_id, period, title, topic_id, created_at, updated_at)
SELECT CAST(:firm_id AS integer), CAST(:client_id AS integer), CAST(:integration_id AS integer), t.period, t.title,
       CAST(:topic_id AS integer), CAST(:now AS timestamp), CAST(:now AS timestamp)
FROM unnest(CAST(:periods AS varchar[]), CAST(:titles AS varchar[])) AS t(period, title)
ON CONFLICT (client_id, integration_id, period)
DO UPDATE SET title = excluded.title, topic_id = excluded.topic_id, updated_at = excluded.updated_at
RETURNING period, id""")
_PG_WRITE = text("""
WITH v AS (
  INSERT INTO summary_value (task_id, field_id, vendor_field, value, source, imported_at, sync_run_id, flag,
                             pending_value)
  SELECT v.task_id, v.field_id, v.vendor_field, v.value, CAST(:source AS varchar), CAST(:now AS timestamp),
         CAST(:run_id AS integer), v.flag, v.pending_value
  FROM unnest(CAST(:task_ids AS integer[]), CAST(:field_ids AS integer[]), CAST(:vendor_fields AS varchar[]),
              CAST(:values AS integer[]), CAST(:flags AS varchar[]), CAST(:pending_values AS integer[]))
       AS v(task_id, field_id, vendor_field, value, flag, pending_value)
  ON CONFLICT (task_id, field_id)
  DO UPDATE SET vendor_field = excluded.vendor_field, source = excluded.source, imported_at = excluded.imported_at,
                sync_run_id = excluded.sync_run_id, value = excluded.value, flag = excluded.flag,
                pending_value = excluded.pending_value
), i AS (
  INSERT INTO sync_run_item (run_id, client_id, period, outcome, created_at)
  SELECT CAST(:run_id AS integer), CAST(:client_id AS integer), p.period, 'imported', CAST(:now AS timestamp)
  FROM unnest(CAST(:periods AS varchar[])) AS p(period)
)
UPDATE monthly_import SET status = 'done', run_id = CAST(:run_id AS integer), updated_at = CAST(:now AS timestamp)
WHERE client_connection_id = CAST(:connection_id AS integer) AND period = ANY(CAST(:periods AS varchar[]))""")
_UPSERTS: dict[str, tuple[Any, Any]] = {}


def _upserts() -> tuple[Any, Any]:
    """The upserts of :func:`write_months` (tasks, returning their ids; values), built once per dialect: building
    them (``excluded``, the conflict clause) cost more than executing them."""
    name = db.session.get_bind().dialect.name
    if name not in _UPSERTS:
        upsert = dialect_insert()
        tasks = upsert(SummaryTask.__table__)  # executemany (not a multi-row VALUES): compiled once, then cached
        tasks = tasks.on_conflict_do_update(
            index_elements=["client_id", "integration_id", "period"],
            set_={c: tasks.excluded[c] for c in ("title", "topic_id", "updated_at")},
        ).returning(SummaryTask.__table__.c.period, SummaryTask.__table__.c.id)
        values = upsert(SummaryValue.__table__)
        values = values.on_conflict_do_update(
            index_elements=["task_id", "field_id"],
            set_={c: values.excluded[c] for c in ("vendor_field", "source", "imported_at", "sync_run_id", "value",
                                                  "flag", "pending_value")})
        _UPSERTS[name] = (tasks, values)
    return _UPSERTS[name]


def _same_link(connection: ClientConnection, imported_at: dt.datetime | None) -> bool:
    """A value imported at ``imported_at`` came through the current link (not from a vendor record or account it
    pointed to before ``linked_at``): only then is a drop to 0 held back."""
    return connection.linked_at is None or imported_at is None or imported_at >= connection.linked_at


def dialect_insert() -> Any:
    """The dialect's ``insert`` (PostgreSQL's and SQLite's both have ``on_conflict_do_update``)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


def accept_flagged(value: SummaryValue, *, user: User | None = None) -> None:
    """The admin confirms a flagged 0: write it."""
    if value.flag is None:
        return
    value.value, value.flag, value.pending_value = value.pending_value, None, None
    db.session.commit()
    audit.record(value.task.firm_id, "summary_value.accepted", value, user=user)


# -- Reload data -------------------------------------------------------------------------------
def reload(integration: Integration, *, connection: ClientConnection | None = None, user: User | None = None,
           trigger: str = "user") -> SyncRun:
    """Back-fill the last 12 months for every linked client (or one), overwriting. Returns the parent
    run; its ``progress_done/progress_total`` count clients."""
    vendor = vendor_of(integration)
    if not vendor.can("statistics"):
        raise NotSupported(f"{vendor.info.name} has no statistics to reload.")
    if not summary_settings(integration).get("mapping"):
        raise ConfigError("Map at least one data field before reloading.",
                          hint="Configure data fields on the Settings tab.")
    connection_ids = [c.id for c in ([connection] if connection else linked_connections(integration))]
    periods = [str(p) for p in Period.last_n(RELOAD_MONTHS, Period.of(firm_today(integration)))]
    firm_id, integration_id = integration.firm_id, integration.id
    refresh = vendor.can("statistics_refresh")
    # the parent and every child in one transaction, the children in one insert and one Redis pipeline: the start
    # costs the same for 3 clients or 10,000; with Redis away every child is still recorded (the reconciler's outbox
    # enqueues them)
    with enqueue_errors_deferred():
        parent = start_batch("reload", "import", [
            {"firm_id": firm_id, "integration_id": integration_id, "client_connection_id": connection_id,
             "params": {"periods": periods, "refresh": refresh}} for connection_id in connection_ids],
            firm_id=firm_id, integration_id=integration_id, trigger=trigger, user_id=user.id if user else None,
            params={"periods": periods, "connection_ids": connection_ids})
    audit.record(firm_id, "reload.started", integration, user=user,
                 details={"run_id": parent.id, "clients": len(connection_ids)})
    return parent


def _reload_finished(parent: SyncRun) -> None:
    """A Reload's last client ended (the job layer made the parent final): its per-client outcomes, read from the
    children's own records, one notification and the ``reload.finished`` event — in the transaction that makes the
    parent final."""
    children = db.session.execute(
        select(SyncRun.status, SyncRun.error, ClientConnection.client_id)
        .outerjoin(ClientConnection, ClientConnection.id == SyncRun.client_connection_id)
        .where(SyncRun.parent_run_id == parent.id).order_by(SyncRun.id)).all()
    db.session.execute(delete(SyncRunItem).where(SyncRunItem.run_id == parent.id))  # finished again: no duplicates
    for status, error, client_id in children:
        parent.items.append(SyncRunItem(client_id=client_id, outcome="imported" if status == "succeeded" else "failed",
                                        error=None if status == "succeeded" else error))
    for _ in range(parent.progress_total - len(children)):
        parent.items.append(SyncRunItem(outcome="failed", error=NEVER_QUEUED))
    failed = [i for i in parent.items if i.outcome == "failed"]
    if failed:
        parent.error = {"kind": "partial", "message": f"{len(failed)} of {parent.progress_total} clients failed."}
    parent.result = {"clients": parent.progress_total, "failed": len(failed)}
    integration = db.session.get(Integration, parent.integration_id)
    name = vendor_of(integration).info.name
    names = dict(db.session.execute(select(Client.id, Client.name).where(
        Client.id.in_([i.client_id for i in failed if i.client_id]))).all()) if failed else {}
    lines = [f"{names.get(i.client_id, 'a client')}: {(i.error or {}).get('message', 'unknown error')}" for i in failed]
    body = f"{parent.progress_total - len(failed)} of {parent.progress_total} clients imported for the last " \
           f"{RELOAD_MONTHS} months." + ("\nFailed:\n" + "\n".join(lines) if lines else "")
    outcome = {"succeeded": "finished", "partial": "completed with failures", "failed": "failed"}[parent.status]
    notify(parent.firm_id, f"Reload data {outcome} for {name}", body=body, link=f"/history/runs/{parent.id}",
           level="info" if not failed else "warning" if parent.status == "partial" else "error",
           user_id=parent.requested_by_id)
    webhooks.reload_finished(parent, commit=False)


#: A child counted by the job layer that was never recorded (a batch interrupted while it was being started).
NEVER_QUEUED = {"kind": "abandoned", "message": "This client's import was never queued (the Reload was "
                "interrupted while it was being started).", "hint": "Run Reload data again for it."}


def _import_finished(run: SyncRun) -> None:
    """A failed import leaves its scheduled months ``failed`` (retried by the dispatcher later, once the
    connection is healthy again); nothing already imported is touched."""
    if run.status == "failed":
        db.session.execute(update(MonthlyImport).where(
            MonthlyImport.client_connection_id == run.client_connection_id,
            MonthlyImport.period.in_(run.params.get("periods", [])), MonthlyImport.status == "queued",
        ).values(status="failed", run_id=run.id, updated_at=utcnow()))
        connection = db.session.get(ClientConnection, run.client_connection_id)
        run.items.append(SyncRunItem(client_id=connection.client_id if connection else None, outcome="failed",
                                     error=run.error))
        db.session.commit()


register(Kind("import", _import_action, queue="imports", timeout=900, on_finish=_import_finished,
              on_attention=record_failure))
register(Kind("reload", None, queue="imports", timeout=3600, on_finish=_reload_finished))


def summary_rows(client_id: int) -> list[dict[str, Any]]:
    """A client's summary tasks with values, newest month first (for the CLI and pages)."""
    out = []
    tasks = SummaryTask.query.filter_by(client_id=client_id).order_by(SummaryTask.period.desc()).all()
    names = {f.id: f.name for f in CustomField.query.filter(CustomField.id.in_(
        [v.field_id for t in tasks for v in t.values] or [0]))}
    for task in tasks:
        out.append({"period": task.period, "title": task.title, "values": [
            {"field": names.get(v.field_id), "vendor_field": v.vendor_field, "value": v.value, "source": v.source,
             "imported_at": v.imported_at.isoformat(timespec="seconds"), "flag": v.flag}
            for v in sorted(task.values, key=lambda v: names.get(v.field_id) or "")]})
    return out
