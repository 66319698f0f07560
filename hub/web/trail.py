"""The audit trail page: the firm's ``AuditEvent`` rows, newest first, for Company Owners / Admins.

``details`` never hold a secret (``hub.audit`` says so to every caller); the page still passes each
value through :func:`hub.redaction.mask`, so a secret the process knows could not show even if one did.
"""

from __future__ import annotations

from typing import Any

from flask import g, render_template

from hub.models import AuditEvent, User
from hub.redaction import mask
from hub.web.base import admin_required, bp, paginate


def detail_text(value: Any) -> str:
    """A details value as plain text: lists joined with commas, mappings as ``key: value``."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {detail_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(detail_text(v) for v in value) if value else "—"
    return mask(str(value))


def detail_rows(details: dict[str, Any] | None) -> list[tuple[str, str]]:
    return [(str(key), detail_text(value)) for key, value in (details or {}).items()]


@bp.route("/settings/audit")
@admin_required
def audit_trail():  # noqa: ANN201
    page = paginate(AuditEvent.query.filter_by(firm_id=g.user.firm_id)
                    .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()))
    users = {u.id: u for u in User.query.filter_by(firm_id=g.user.firm_id)}
    rows = [{"event": e, "who": users[e.user_id].email if e.user_id in users else e.actor,
             "details": detail_rows(e.details)} for e in page.items]
    return render_template("audit.html", page=page, rows=rows)
