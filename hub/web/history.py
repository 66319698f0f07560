"""History: sync runs with outcomes and errors (and their progress), and notifications."""

from __future__ import annotations

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for

from hub import audit
from hub import exports as invoice_exports
from hub.exports import STATE_LABELS
from hub.jobs import quota_wait
from hub.models import (
    LIVE,
    Client,
    ClientConnection,
    Integration,
    Invoice,
    InvoiceExport,
    Notification,
    SyncRun,
    User,
    db,
    utcnow,
)
from hub.web.base import bp, login_required, paginate
from hub.web.integrations import firm_run_or_404

RUN_KINDS = {"test_connection": "Test connection", "list_clients": "Client lookup", "import": "Import",
             "reload": "Reload data", "export": "Invoice export", "payments": "Paid status",
             "catalog": "Products / tax rates", "link_suggestions": "Suggested links",
             "webhooks": "Webhook deliveries"}


RUN_STATUSES = {"queued": "Queued", "running": "Running", "retrying": "Retrying", "finishing": "Finishing",
                "succeeded": "Succeeded", "partial": "Completed with failures", "failed": "Failed"}
TRIGGERS = {"schedule": "Schedule", "api": "API", "cli": "Command line", "save": "Save", "user": "A user"}


@bp.app_template_filter("run_status")
def _run_status(status: str) -> str:
    return RUN_STATUSES.get(status, status.capitalize())


EXPORT_STATUSES = {**STATE_LABELS, "confirmed": "Confirmed"}  # by status alone; the pages use ``export_state``
ITEM_OUTCOMES = {"imported": "Imported", "failed": "Failed"}


@bp.app_template_filter("quota_wait")
def _quota_wait(run: SyncRun) -> str | None:
    """"waiting for Scoro's daily quota until 00:00 UTC" while the run waits for a vendor quota's reset."""
    return quota_wait(run)


@bp.app_template_filter("export_status")
def _export_status(status: str) -> str:
    return EXPORT_STATUSES.get(status, status.capitalize())


def live_exports(exports: list[InvoiceExport]) -> dict[int, SyncRun]:
    """Each export's live attempt (queued, running or waiting to retry), by export id, in one query."""
    subjects = {invoice_exports.subject(e): e.id for e in exports}
    runs = SyncRun.query.filter(SyncRun.kind == "export", SyncRun.subject.in_(list(subjects) or [""]),
                                SyncRun.status.in_(LIVE))
    return {subjects[r.subject]: r for r in runs}


@bp.app_template_filter("live_export_state")
def live_export_state(run: SyncRun) -> str:
    """A live export attempt in words: "Waiting to be exported" (queued), "Exporting…" (running), or "Waiting to
    retry at 2026-12-07 16:05 UTC"."""
    if run.status == "retrying":
        wait = quota_wait(run)
        if wait:
            return wait[0].upper() + wait[1:]
        at = run.next_attempt_at
        return f"Waiting to retry at {at:%Y-%m-%d %H:%M} UTC" if at else "Waiting to retry"
    return "Waiting to be exported" if run.status == "queued" else "Exporting…"


@bp.app_template_filter("error_texts")
def error_texts(error: dict | None) -> list[tuple[str, str]]:
    """An export's recorded error as ``(label, text)`` rows, each distinct text once: the message, then the
    field messages (labelled with their field) and the hint, leaving out texts already shown."""
    if not error:
        return []
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(label: str, text: str | None) -> None:
        text = (text or "").strip()
        if text and text not in seen:
            seen.add(text)
            rows.append((label, text))

    add("message", error.get("message"))
    for field, messages in (error.get("field_messages") or {}).items():
        for text in messages if isinstance(messages, list) else [messages]:
            add(field or "invoice", str(text))
    add("hint", error.get("hint"))
    return rows


@bp.app_template_filter("item_outcome")
def _item_outcome(outcome: str) -> str:
    return ITEM_OUTCOMES.get(outcome, outcome.capitalize())


@bp.app_template_filter("run_kind")
def _run_kind(kind: str) -> str:
    return RUN_KINDS.get(kind, kind.replace("_", " ").capitalize())


def _names() -> tuple[dict[int, str], dict[int, str]]:
    integrations = {i.id: i.vendor for i in Integration.query.filter_by(firm_id=g.user.firm_id)}
    clients = {c.id: c.name for c in Client.query.filter_by(firm_id=g.user.firm_id)}
    return integrations, clients


def started_by(runs: list[SyncRun]) -> dict[int, str]:
    """Who started each run, in words: the person's name (or e-mail), else what did (Schedule, API…)."""
    ids = {r.requested_by_id for r in runs if r.requested_by_id}
    users = User.query.filter(User.id.in_(ids or [0]), User.firm_id == g.user.firm_id)
    people = {u.id: u.name or u.email for u in users}
    return {r.id: people.get(r.requested_by_id) or TRIGGERS.get(r.trigger, r.trigger.capitalize()) for r in runs}


@bp.route("/history")
@login_required
def history():  # noqa: ANN201
    query = SyncRun.query.filter_by(firm_id=g.user.firm_id)
    kind = request.args.get("kind")
    if kind:
        query = query.filter_by(kind=kind)
    status = request.args.get("status")
    if status:
        query = query.filter_by(status=status)
    page = paginate(query.order_by(SyncRun.id.desc()))
    runs = page.items
    integrations, clients = _names()
    connection_clients = {c.id: c.client_id for c in ClientConnection.query.filter(
        ClientConnection.id.in_([r.client_connection_id for r in runs if r.client_connection_id] or [0]))}
    notes = Notification.query.filter_by(firm_id=g.user.firm_id).order_by(Notification.id.desc()).limit(20).all()
    exports = InvoiceExport.query.join(Invoice).filter(Invoice.firm_id == g.user.firm_id) \
        .order_by(InvoiceExport.updated_at.desc(), InvoiceExport.id.desc()).limit(100).all()
    return render_template("history.html", runs=runs, integrations=integrations, clients=clients,
                           live=live_exports(exports),
                           started_by=started_by(runs), statuses=RUN_STATUSES,
                           connection_clients=connection_clients, notifications=notes, kinds=RUN_KINDS,
                           exports=exports, page=page, filters={k: v for k, v in (("kind", kind), ("status", status))
                                                                if v},
                           kind=kind or "", status=status or "")


@bp.route("/history/runs/<int:run_id>")
@login_required
def run_detail(run_id: int):  # noqa: ANN201
    run = firm_run_or_404(run_id)
    integrations, clients = _names()
    children = SyncRun.query.filter_by(firm_id=g.user.firm_id, parent_run_id=run.id).order_by(SyncRun.id).all()
    note = None
    if run.finished and children:
        note = Notification.query.filter_by(firm_id=g.user.firm_id, link=f"/history/runs/{run.id}").first()
    failed_items = [i for i in run.items if i.outcome == "failed"]
    return render_template("run.html", run=run, integrations=integrations, clients=clients, children=children,
                           note=note, failed_items=failed_items, started_by=started_by([run])[run.id])


@bp.route("/history/runs/<int:run_id>.json")
@login_required
def run_status(run_id: int):  # noqa: ANN201
    """For the pages' small progress poller: state and progress only."""
    run = firm_run_or_404(run_id)
    return jsonify(id=run.id, kind=run.kind, status=run.status, label=_run_status(run.status), finished=run.finished,
                   progress_done=run.progress_done, progress_total=run.progress_total)


@bp.route("/notifications")
@login_required
def notifications():  # noqa: ANN201
    notes = Notification.query.filter(Notification.firm_id == g.user.firm_id,
                                      (Notification.user_id == g.user.id) | Notification.user_id.is_(None)) \
        .order_by(Notification.id.desc()).limit(100).all()
    return render_template("notifications.html", notifications=notes)


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def notifications_read_all():  # noqa: ANN201
    mine = Notification.query.filter(Notification.firm_id == g.user.firm_id, Notification.read_at.is_(None),
                                     (Notification.user_id == g.user.id) | Notification.user_id.is_(None))
    count = mine.update({Notification.read_at: utcnow()}, synchronize_session=False)
    db.session.commit()
    if count:
        audit.record(g.user.firm_id, "notification.read_all", g.user, details={"count": count})
    flash(f"{count} notification{'s' if count != 1 else ''} marked as read.", "success")
    return redirect(url_for("web.notifications"))


@bp.route("/notifications/<int:note_id>/read", methods=["POST"])
@login_required
def notification_read(note_id: int):  # noqa: ANN201
    note = db.session.get(Notification, note_id)
    if note is None or note.firm_id != g.user.firm_id or note.user_id not in (None, g.user.id):
        abort(404)
    note.read_at = note.read_at or utcnow()
    db.session.commit()
    audit.record(g.user.firm_id, "notification.read", note)
    return redirect(url_for("web.notifications"))
