"""Clients for Company Owners and Admins: a new client, and importing clients from a CSV file (editing one is
the client's Details page, ``clients.py``, with the same schema: :class:`hub.clients.ClientDetailsSchema`).

| page                                  | what                                                                  |
|---------------------------------------|-----------------------------------------------------------------------|
| ``GET/POST /clients/new``             | name, registration code, VAT number, e-mail, address, customer type   |
| ``GET /clients/import``               | the upload form, with the columns the file may have                   |
| ``POST /clients/import``              | a preview: what would be created, updated (which fields), unchanged   |
|                                       | and refused (row, line, field messages); nothing is written           |
| ``POST /clients/import/confirm``      | the import itself, then its report                                    |

The import is the CLI's and the bulk API's (:func:`hub.provisioning.parse_csv`,
:func:`hub.provisioning.import_clients`): every row validated on its own, rows matched by external id, then
registration code, then an unambiguous name, and all or nothing — a refused row means nothing is written.
Preview first, because an import also *changes* existing clients: the admin sees which clients and fields before
anything is written, and a file with a refused row cannot be confirmed at all (fix it and upload it again).
The uploaded text waits in Redis (``PREVIEW_TTL``, for the uploader only) between the preview and the confirm,
and the confirm validates everything again, so a client changed in between is judged as it is then.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import marshmallow
from flask import flash, g, redirect, render_template, request, url_for

from hub import clients as client_details
from hub import provisioning
from hub.models import Client
from hub.services import services
from hub.web import forms
from hub.web.base import admin_required, bp

PREVIEW_TTL = 3600
PREVIEW_KEY = "hub:client-import:{token}"
COLUMNS = [
    ("external_id", "your own id of the client (matches it on the next import)"),
    ("name", "needed for a new client"),
    ("reg_code", "registration code"),
    ("vat_no", "VAT number, with the country prefix"),
    ("email", "where the client's invoices go"),
    ("address_street", ""), ("address_city", ""), ("address_postal_code", ""),
    ("address_country", "two letters, e.g. EE"),
    ("customer_type", "company or private"),
]


def _errors(exc: marshmallow.ValidationError) -> dict[str, list[str]]:
    messages = exc.normalized_messages()
    return {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in messages.items()}


# -- a new client -------------------------------------------------------------------------------------------
@bp.route("/clients/new", methods=["GET", "POST"])
@admin_required
def client_new():  # noqa: ANN201
    """A new client of the firm (the fields of the client's Details page)."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {"customer_type": "company"}
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in client_details.DETAIL_FIELDS}
        try:
            client = client_details.create(g.user.firm_id, values)
        except marshmallow.ValidationError as exc:
            errors = _errors(exc)
        else:
            flash(f"{client.name} is added to the clients.", "success")
            return redirect(url_for("web.client_detail", client_id=client.id))
    fields = forms.form_fields(client_details.ClientDetailsSchema, values, errors=errors)
    for f in fields:
        f.required = f.name == "name"
    return render_template("client_new.html", fields=fields,
                           general=forms.general_errors(errors, client_details.ClientDetailsSchema)), \
        422 if errors else 200


# -- importing from a CSV file ------------------------------------------------------------------------------
def _upload_page(message: str | None = None, status: int = 200) -> Any:
    return render_template("client_import.html", columns=COLUMNS, error=message, report=None,
                           max_rows=provisioning.MAX_BULK_ROWS), status


def _entries(report: provisioning.ImportReport, rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The report's rows with what a person recognises them by (the file's name and codes, the hub's client)."""
    ids = {e["id"] for e in report.updated + report.unchanged + report.created if e.get("id")}
    known = {c.id: c for c in Client.query.filter(Client.firm_id == g.user.firm_id, Client.id.in_(ids))} if ids \
        else {}

    def shown(entry: dict[str, Any]) -> dict[str, Any]:
        row = rows[entry["row"] - 1] if entry.get("row") and entry["row"] <= len(rows) else {}
        client = known.get(entry.get("id"))
        return {**entry, "line": entry["row"] + 1 if entry.get("row") else None, "client": client,
                "name": (client.name if client else None) or row.get("name") or "",
                "reg_code": row.get("reg_code") or (client.reg_code if client else "") or "",
                "errors": entry.get("errors", {})}

    return {kind: [shown(e) for e in getattr(report, kind)]
            for kind in ("created", "updated", "unchanged", "refused")}


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise marshmallow.ValidationError({"file": ["The file is not UTF-8 text: save it as “CSV UTF-8” and upload "
                                                    "it again."]}) from None


def _report_page(report: provisioning.ImportReport, rows: list[dict[str, Any]], *, filename: str,
                 token: str | None) -> Any:
    counts = report.as_dict()["counts"]
    return render_template("client_import.html", columns=COLUMNS, error=None, report=report, counts=counts,
                           entries=_entries(report, rows), filename=filename, token=token,
                           max_rows=provisioning.MAX_BULK_ROWS), 422 if report.refused else 200


@bp.route("/clients/import", methods=["GET", "POST"])
@admin_required
def client_import():  # noqa: ANN201
    """GET: the upload form. POST: validate the uploaded file and show what importing it would do."""
    if request.method == "GET":
        return _upload_page()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _upload_page("Choose a CSV file to import.", 422)
    filename = upload.filename[:200]
    try:
        text = _decode(upload.read())
        rows = provisioning.parse_csv(text)
    except marshmallow.ValidationError as exc:
        return _upload_page(" ".join(m for ms in _errors(exc).values() for m in ms), 422)
    if not rows:
        return _upload_page(f"{filename} has no rows under its header: nothing to import.", 422)
    report = provisioning.import_clients(g.user.firm, rows, dry_run=True)
    token = None
    if not report.refused and (report.created or report.updated):
        token = secrets.token_urlsafe(24)
        services().redis.set(PREVIEW_KEY.format(token=token), json.dumps(
            {"firm_id": g.user.firm_id, "user_id": g.user.id, "filename": filename, "text": text}), ex=PREVIEW_TTL)
    return _report_page(report, rows, filename=filename, token=token)


@bp.route("/clients/import/confirm", methods=["POST"])
@admin_required
def client_import_confirm():  # noqa: ANN201
    """Import the previewed file: validated again, written in one transaction or not at all."""
    token = request.form.get("token", "")
    key = PREVIEW_KEY.format(token=token)
    raw = services().redis.get(key) if token else None
    staged = json.loads(raw) if raw else None
    if staged is None or staged.get("user_id") != g.user.id or staged.get("firm_id") != g.user.firm_id:
        flash("That preview has expired or is not yours: upload the file again.", "error")
        return redirect(url_for("web.client_import"))
    rows = provisioning.parse_csv(staged["text"])
    report = provisioning.import_clients(g.user.firm, rows)
    services().redis.delete(key)
    return _report_page(report, rows, filename=staged["filename"], token=None)


@bp.app_template_filter("field_label")
def _field_label(name: str) -> str:
    """A client field's label (the Details page's), else the column name as it was."""
    field = client_details.ClientDetailsSchema().fields.get(name)
    if field is not None and field.metadata.get("label"):
        return field.metadata["label"]
    return {"external_id": "External id", "_row": "Row", "_schema": "Row"}.get(name, name)
