"""Invoices on the client page: a new invoice (a draft with a few plain line rows), then **Issue**,
which exports it to every target integration (``hub.exports``); each export's status and the vendor's
field messages show on the client page."""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from sqlalchemy.exc import IntegrityError

from hub import exports
from hub.errors import HubError
from hub.models import Integration, Invoice, InvoiceExport, db
from hub.web.base import admin_required, bp, client_or_404, require_plan, vendor_name
from hub.web.clients import client_page
from hub.web.invoice_form import LINE_FIELDS, MAX_ROWS, MORE_ROWS, money, posted_form, validate


@bp.app_template_filter("export_state")
def _export_state(export: InvoiceExport) -> str:
    """The export's state in words ("Booked with differences", "Confirmed (totals not verified)")."""
    return exports.state_label(export)


# -- routes --------------------------------------------------------------------------------------------
@bp.route("/clients/<int:client_id>/invoices", methods=["POST"])
@admin_required
def invoice_create(client_id: int):  # noqa: ANN201
    client = client_or_404(client_id)
    require_plan()
    state = posted_form(request.form)
    if request.form.get("action") == "more_rows":  # without JavaScript: the same form, three rows more, nothing lost
        state["lines"] += [dict.fromkeys(LINE_FIELDS, "")
                           for _ in range(min(MORE_ROWS, MAX_ROWS - len(state["lines"])))]
        return client_page(client, invoice_form=state)
    data = validate(state, g.user.firm_id)
    if data is None:
        return client_page(client, status=422, invoice_form=state)
    try:
        invoice = exports.create_invoice(g.user.firm_id, client.id, **data)
    except IntegrityError:  # the same number, at the same moment
        db.session.rollback()
        state["errors"]["number"] = ["Another invoice has this number."]
        return client_page(client, status=422, invoice_form=state)
    except HubError as exc:
        db.session.rollback()
        for key, messages in (getattr(exc, "field_messages", None) or {"lines": [exc.message]}).items():
            state["errors"].setdefault(key or "lines", []).extend(messages)
        return client_page(client, status=422, invoice_form=state)
    flash(f"Invoice {invoice.number} saved as a draft ({money(invoice.total)} {invoice.currency}). "
          "Check it, then click Issue to export it.", "success")
    return redirect(url_for("web.client_detail", client_id=client.id, _anchor="invoices"))


@bp.route("/clients/<int:client_id>/invoices/<int:invoice_id>/issue", methods=["POST"])
@admin_required
def invoice_issue(client_id: int, invoice_id: int):  # noqa: ANN201
    client = client_or_404(client_id)
    require_plan()
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or invoice.client_id != client.id or invoice.firm_id != g.user.firm_id:
        abort(404)
    if invoice.status != "draft":
        flash(f"Invoice {invoice.number} is already issued.", "info")
        return redirect(url_for("web.client_detail", client_id=client.id, _anchor="invoices"))
    try:
        sent = exports.issue_invoice(invoice, user=g.user)
    except HubError as exc:
        flash(f"{exc.message} {exc.hint or ''}".strip(), "error")
        return redirect(url_for("web.client_detail", client_id=client.id, _anchor="invoices"))
    if sent:
        names = ", ".join(vendor_name(slug) for slug in _vendors(sent))
        flash(f"Invoice {invoice.number} issued. Exporting it to {names}; the status shows below.", "success")
    else:
        flash(f"Invoice {invoice.number} issued. No integration receives it: link {client.name} to an accounting "
              "integration that takes invoices, or switch on exporting all invoices on its Invoices tab.", "warn")
    return redirect(url_for("web.client_detail", client_id=client.id, _anchor="invoices"))


def _vendors(sent: list[InvoiceExport]) -> list[str]:
    ids = [e.integration_id for e in sent]
    return [i.vendor for i in Integration.query.filter(Integration.id.in_(ids)).order_by(Integration.vendor)]
