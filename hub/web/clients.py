"""The client list with its Integration column, the client page (summary tasks, flags, exported
invoices), and linking a client to its vendor record (lookup, manual code, per-client credentials)."""

from __future__ import annotations

import math
from typing import Any

import marshmallow
from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy.orm import contains_eager

from hub import clients as client_details
from hub import connections, linking, statistics, vendor_accounts
from hub import exports as invoice_exports
from hub.client_list import CLIENT_STATUSES, client_query, unlinked_counts
from hub.errors import HubError
from hub.models import (
    Client,
    ClientConnection,
    CustomField,
    Integration,
    Invoice,
    InvoiceExport,
    SummaryTask,
    SummaryValue,
    SyncRun,
    db,
)
from hub.services import services
from hub.web import forms
from hub.web.base import (
    PER_PAGE,
    Page,
    admin_required,
    bp,
    client_or_404,
    login_required,
    paginate,
    require_plan,
    vendor_name,
)
from hub.web.history import live_exports
from hub.web.integrations import (
    catalog_form,
    catalog_sections,
    credentials_page_state,
    firm_run_or_404,
    handle_credentials_post,
    invoice_tab_available,
)
from hub.web.invoice_form import invoice_context


def enabled_integrations() -> list[Integration]:
    vendors = services().registry.vendors
    return [i for i in Integration.query.filter_by(firm_id=g.user.firm_id, enabled=True).order_by(Integration.vendor)
            if i.vendor in vendors]


def enabled_integration_or_404(slug: str | None) -> Integration:
    integration = next((i for i in enabled_integrations() if i.vendor == slug), None)
    if integration is None:
        abort(404)
    return integration


def connections_by_client(client_ids: list[int]) -> dict[int, list[ClientConnection]]:
    out: dict[int, list[ClientConnection]] = {cid: [] for cid in client_ids}
    if not client_ids:
        return out
    rows = ClientConnection.query.join(Integration).filter(
        Integration.firm_id == g.user.firm_id, ClientConnection.client_id.in_(client_ids)).order_by(Integration.vendor)
    for row in rows:
        out[row.client_id].append(row)
    return out


def can_reload(connection: ClientConnection) -> bool:
    """Reload data makes sense for this link: an enabled statistics vendor and a linked client."""
    vendor = services().registry.vendors.get(connection.integration.vendor)
    return bool(vendor is not None and vendor.can("statistics") and connection.integration.enabled
                and (connection.vendor_client_id or connection.has_credentials))


def unlink_blockers(connection: ClientConnection) -> dict[str, int]:
    """What came (or is coming) through a link. Only ``running`` jobs block removing it; imported months
    (``tasks``) and ``exports`` stay in the history when it is removed."""
    tasks = SummaryTask.query.filter_by(client_id=connection.client_id,
                                        integration_id=connection.integration_id).count()
    exported = InvoiceExport.query.join(Invoice).filter(Invoice.client_id == connection.client_id,
                                                        InvoiceExport.integration_id == connection.integration_id) \
        .count()
    running = SyncRun.query.filter(SyncRun.client_connection_id == connection.id,
                                   SyncRun.status.in_(("queued", "running", "retrying"))).count()
    return {k: v for k, v in (("tasks", tasks), ("exports", exported), ("running", running)) if v}


@bp.route("/clients")
@login_required
def client_list():  # noqa: ANN201
    """The client list at real firm sizes: search, filter by integration and status, ``PER_PAGE`` a page; a
    fixed number of queries per page (the clients, their links with integrations); a link shows the health of the
    account it uses (:mod:`hub.health`: its own, else the firm's)."""
    enabled = enabled_integrations()
    firm_integrations = {i.vendor: i for i in Integration.query.filter_by(firm_id=g.user.firm_id)}
    q = (request.args.get("q") or "").strip()[:200]
    slug = request.args.get("integration") or ""
    status = request.args.get("status") or ""
    status = status if status in CLIENT_STATUSES else ""
    integration = firm_integrations.get(slug)
    unlinked = unlinked_counts(g.user.firm_id, enabled)
    only = request.args.get("unlinked")
    if only in unlinked:  # "N not linked to X": this integration's clients without a link
        integration, slug, status = firm_integrations[only], "", "not_linked"
    else:
        only = None
    page = paginate(client_query(g.user.firm_id, q=q, integration=integration, status=status))
    ids = [c.id for c in page.items]
    links: dict[int, list[ClientConnection]] = {cid: [] for cid in ids}
    if ids:
        rows = ClientConnection.query.join(Integration).options(contains_eager(ClientConnection.integration)) \
            .filter(Integration.firm_id == g.user.firm_id, ClientConnection.client_id.in_(ids)) \
            .order_by(Integration.vendor)
        for row in rows:
            links[row.client_id].append(row)
    filters = {k: v for k, v in (("q", q), ("integration", slug if integration else ""), ("status", status)) if v}
    return render_template("clients.html", clients=page.items, page=page, links=links,
                           enabled=enabled, integrations=sorted(firm_integrations.values(), key=lambda i: i.vendor),
                           statuses=CLIENT_STATUSES, filters=filters, q=q, slug=slug, status=status,
                           unlinked=unlinked, only=only)


def client_page(client: Client, *, status: int = 200, invoice_form: dict[str, Any] | None = None):  # noqa: ANN201
    """The client page; ``invoice_form`` re-shows a new-invoice form with its field messages."""
    tasks = SummaryTask.query.filter_by(client_id=client.id, firm_id=g.user.firm_id) \
        .order_by(SummaryTask.period.desc(), SummaryTask.integration_id).all()
    names = {f.id: f.name for f in CustomField.query.filter_by(firm_id=g.user.firm_id)}
    integrations = {i.id: i.vendor for i in Integration.query.filter_by(firm_id=g.user.firm_id)}
    exports = InvoiceExport.query.join(Invoice).filter(Invoice.client_id == client.id,
                                                       Invoice.firm_id == g.user.firm_id) \
        .order_by(Invoice.issue_date.desc(), InvoiceExport.id.desc()).all()
    columns = sorted({names.get(v.field_id, "?") for t in tasks for v in t.values})
    links = connections_by_client([client.id])[client.id]
    return render_template("client.html", client=client, tasks=tasks, names=names, columns=columns,
                           integrations=integrations, exports=exports, retry_available=True,
                           live=live_exports(exports),
                           links=links, reloadable={link.id for link in links if can_reload(link)},
                           **invoice_context(client, exports, invoice_form)), status


@bp.route("/clients/<int:client_id>")
@login_required
def client_detail(client_id: int):  # noqa: ANN201
    return client_page(client_or_404(client_id))


@bp.route("/clients/<int:client_id>/values/<int:value_id>/accept", methods=["POST"])
@admin_required
def accept_value(client_id: int, value_id: int):  # noqa: ANN201
    client = client_or_404(client_id)
    value = db.session.get(SummaryValue, value_id)
    if value is None or value.task.client_id != client.id or value.task.firm_id != g.user.firm_id:
        abort(404)
    statistics.accept_flagged(value)
    flash(f"Accepted: {value.task.period} is now {value.value}.", "success")
    return redirect(url_for("web.client_detail", client_id=client.id))


@bp.route("/clients/<int:client_id>/exports/<int:export_id>/retry", methods=["POST"])
@admin_required
def retry_export(client_id: int, export_id: int):  # noqa: ANN201
    client = client_or_404(client_id)
    export = db.session.get(InvoiceExport, export_id)
    if export is None or export.invoice.client_id != client.id:
        abort(404)
    live = invoice_exports.live_attempt(export)
    try:
        run = invoice_exports.retry_export(export, user=g.user)
    except HubError as exc:
        flash(f"{exc.message} {exc.hint or ''}".strip(), "error")
        return redirect(url_for("web.client_detail", client_id=client.id))
    if live is not None and live.id == run.id:
        flash(f"Invoice {export.invoice.number} is being exported already: this is that attempt. "
              "No second one is started.", "info")
    else:
        flash(f"Export of invoice {export.invoice.number} queued again.", "success")
    return redirect(url_for("web.run_detail", run_id=run.id))


# -- the Integration column: pick the vendor, then the vendor's client ---------------------------------
def link_page(client: Client, integration: Integration | None, *, status: int = 200, **extra: Any):  # noqa: ANN201
    connection = None
    context: dict[str, Any] = {"lookup": None, "credentials": None}
    if integration is not None:
        vendor = vendor_accounts.vendor_of(integration)
        connection = ClientConnection.query.filter_by(client_id=client.id, integration_id=integration.id) \
            .one_or_none()
        lookup_id = request.args.get("lookup", type=int)
        if lookup_id:
            run = firm_run_or_404(lookup_id, kind="list_clients", integration_id=integration.id)
            context["lookup"] = {"run": run, "query": (run.params or {}).get("query", ""),
                                 "clients": (run.result or {}).get("clients", []) if run.status == "succeeded"
                                 else [], "error": run.error if run.status == "failed" else None}
        if vendor.info.per_client_credentials and "credentials" not in extra:
            context["credentials"] = credentials_page_state(integration, connection,
                                                            request.args.get("test_run", type=int)) \
                if connection is not None else {"fields": forms.form_fields(vendor.schema), "result": None,
                                                "test_run_id": None}
        context["vendor"] = vendor
    context.update(extra)
    if connection is not None:
        context["blockers"] = unlink_blockers(connection)
        context["reloadable"] = can_reload(connection)
        context["link_warnings"] = linking.link_warnings(connection)
        if connection.has_credentials and invoice_tab_available(context["vendor"]):  # the client's own account
            context["sections"] = catalog_sections(connection, context["vendor"], client_id=client.id)
    return render_template("client_integration.html", client=client, integration=integration,
                           connection=connection, enabled=enabled_integrations(), **context), status


@bp.route("/clients/<int:client_id>/integration")
@login_required
def client_integration(client_id: int):  # noqa: ANN201
    client = client_or_404(client_id)
    slug = request.args.get("vendor")
    integration = enabled_integration_or_404(slug) if slug else None
    if integration is None:
        existing = connections_by_client([client.id])[client.id]
        if len(existing) == 1 and existing[0].integration.enabled:
            integration = existing[0].integration
    return link_page(client, integration)


@bp.route("/clients/<int:client_id>/integration/lookup", methods=["POST"])
@admin_required
def client_lookup(client_id: int):  # noqa: ANN201
    client = client_or_404(client_id)
    require_plan()
    integration = enabled_integration_or_404(request.form.get("vendor"))
    if not vendor_accounts.vendor_of(integration).can("client_lookup"):
        abort(404)
    run = connections.lookup_clients(integration, request.form.get("q", ""), user=g.user,
                                     wait=current_app.config.get("HUB_TEST_CONNECTION_WAIT", 8.0))
    return redirect(url_for("web.client_integration", client_id=client.id, vendor=integration.vendor, lookup=run.id))


@bp.route("/clients/<int:client_id>/integration/link", methods=["POST"])
@admin_required
def client_link(client_id: int):  # noqa: ANN201
    client = client_or_404(client_id)
    require_plan()
    integration = enabled_integration_or_404(request.form.get("vendor"))
    vendor_client_id = (request.form.get("vendor_client_id") or "").strip()
    name = (request.form.get("vendor_client_name") or "").strip() or None
    reg_code = (request.form.get("vendor_client_reg_code") or "").strip() or None
    if request.form.get("lookup_run", "").isdigit():  # a pick from the lookup: take the name from the vendor's answer
        run = firm_run_or_404(int(request.form["lookup_run"]), kind="list_clients", integration_id=integration.id)
        found = next((c for c in (run.result or {}).get("clients", []) if str(c.get("id")) == vendor_client_id), None)
        if found is None:
            flash("Pick one of the clients found.", "error")
            return redirect(url_for("web.client_integration", client_id=client.id, vendor=integration.vendor,
                                    lookup=run.id))
        name = found.get("name")
        reg_code = found.get("reg_code")
    if not vendor_client_id:
        flash(f"Pick the {vendor_name(integration.vendor)} client (or enter its code).", "error")
        return redirect(url_for("web.client_integration", client_id=client.id, vendor=integration.vendor))
    previous = ClientConnection.query.filter_by(client_id=client.id, integration_id=integration.id).one_or_none()
    relinked = previous is not None and previous.vendor_client_id not in (None, vendor_client_id)
    connection = linking.link_client(None, client_id=client.id, integration=integration,
                                     vendor_client_id=vendor_client_id, vendor_client_name=name,
                                     vendor_client_reg_code=reg_code)
    vendor = vendor_accounts.vendor_of(integration)
    if not vendor.can("statistics"):  # say only what this vendor does through a link
        then = f"Its issued invoices are exported to {vendor.info.name}." if vendor.can("invoice_export") else ""
    elif relinked:
        then = "Reload data for it to replace the months imported from the previous record (also by 0)."
    else:
        then = "From the next import day its statistics are imported; Reload data back-fills the last 12 months."
    flash(f"{client.name} is linked to {vendor.info.name} client {name or vendor_client_id}. {then}".strip(),
          "success")
    warnings = linking.link_warnings(connection)
    if warnings:  # also shown on the client's Integration page for as long as the link disagrees
        flash(f"Check the link of {client.name}: {'; '.join(warnings)}. If this is another company, pick the "
              "right one.", "warning")
    return redirect(url_for("web.client_list"))


@bp.route("/clients/<int:client_id>/integration/credentials", methods=["POST"])
@admin_required
def client_credentials(client_id: int):  # noqa: ANN201
    client = client_or_404(client_id)
    require_plan()
    integration = enabled_integration_or_404(request.form.get("vendor"))
    if not vendor_accounts.vendor_of(integration).info.per_client_credentials:
        abort(404)
    connection = ClientConnection.query.filter_by(client_id=client.id, integration_id=integration.id).one_or_none()
    if connection is None:
        connection = linking.link_client(None, client_id=client.id, integration=integration,
                                         vendor_client_id=None)
    outcome, value = handle_credentials_post(integration, connection)
    if outcome == "errors":
        return link_page(client, integration, status=422, credentials=value)
    return redirect(url_for("web.client_integration", client_id=client.id, vendor=integration.vendor,
                            **({"test_run": value} if value else {})))


# -- one client's link: Reload data for it, or remove it ------------------------------------------------
def linked_connection_or_404(client: Client, integration: Integration) -> ClientConnection:
    connection = ClientConnection.query.filter_by(client_id=client.id, integration_id=integration.id).one_or_none()
    if connection is None:
        abort(404)
    return connection


@bp.route("/clients/<int:client_id>/integration/catalog", methods=["POST"])
@admin_required
def client_catalog(client_id: int):  # noqa: ANN201
    """The products and tax rates of the client's own vendor account: refresh them, map them."""
    client = client_or_404(client_id)
    require_plan()
    integration = enabled_integration_or_404(request.form.get("vendor"))
    connection = linked_connection_or_404(client, integration)
    if not connection.has_credentials:  # no account of its own: the firm's is mapped on the Invoices tab
        abort(404)
    try:
        catalog_form(connection, vendor_accounts.vendor_of(integration))
    except HubError as exc:
        flash(f"{exc.message} {exc.hint or ''}".strip(), "error")
    return redirect(url_for("web.client_integration", client_id=client.id, vendor=integration.vendor,
                            _anchor="catalog"))


@bp.route("/clients/<int:client_id>/integration/reload", methods=["GET", "POST"])
@admin_required
def client_reload(client_id: int):  # noqa: ANN201
    """Reload data for this client only: the integration-level confirmation, for one client."""
    client = client_or_404(client_id)
    require_plan()
    integration = enabled_integration_or_404(request.values.get("vendor"))
    connection = linked_connection_or_404(client, integration)
    if not can_reload(connection):
        abort(404)
    vendor = vendor_accounts.vendor_of(integration)
    if request.method == "GET":
        return render_template("client_reload.html", client=client, integration=integration, vendor=vendor,
                               months=statistics.RELOAD_MONTHS)
    try:
        run = statistics.reload(integration, connection=connection, user=g.user)
    except HubError as exc:
        flash(f"{exc.message} {exc.hint or ''}".strip(), "error")
        return redirect(url_for("web.client_integration", client_id=client.id, vendor=integration.vendor))
    flash(f"Reload data started for {client.name}. You will get a notification when it is ready.", "success")
    return redirect(url_for("web.run_detail", run_id=run.id))


@bp.route("/clients/<int:client_id>/integration/unlink", methods=["POST"])
@admin_required
def client_unlink(client_id: int):  # noqa: ANN201
    """Remove the client's link to the integration (a client that left): syncing stops; imported months,
    exported invoices and finished runs stay. Refused only while a job for it is running."""
    client = client_or_404(client_id)
    require_plan()
    integration = enabled_integration_or_404(request.form.get("vendor"))
    connection = linked_connection_or_404(client, integration)
    name = vendor_name(integration.vendor)
    try:
        linking.unlink_client(connection)
    except HubError as exc:
        flash(f"The link of {client.name} to {name} cannot be removed now: {exc.message} {exc.hint or ''}".strip(),
              "error")
        return redirect(url_for("web.client_integration", client_id=client.id, vendor=integration.vendor))
    flash(f"{client.name} is no longer linked to {name}. Its imported months and invoices stay.", "success")
    return redirect(url_for("web.client_integration", client_id=client.id, vendor=integration.vendor))


def unlink_reason(blockers: dict[str, int]) -> str:
    parts = []
    if blockers.get("tasks"):
        parts.append(f"{blockers['tasks']} monthly summary task(s) were imported through it")
    if blockers.get("exports"):
        parts.append(f"{blockers['exports']} invoice export(s) went through it")
    if blockers.get("running"):
        parts.append(f"{blockers['running']} job(s) for it are still running")
    return "; ".join(parts) + "."


@bp.app_template_filter("unlink_reason")
def _unlink_reason_filter(blockers: dict[str, int]) -> str:
    return unlink_reason(blockers)


# -- linking many clients at once: suggested matches ----------------------------------------------------
@bp.route("/clients/links")
@admin_required
def client_links():  # noqa: ANN201
    """Suggested matches for the unlinked clients of one integration, confirmed in bulk."""
    require_plan()
    lookup_capable = [i for i in enabled_integrations() if vendor_accounts.vendor_of(i).can("client_lookup")]
    slug = request.args.get("vendor") or (lookup_capable[0].vendor if lookup_capable else None)
    integration = next((i for i in lookup_capable if i.vendor == slug), None)
    run = None
    if integration is not None and request.args.get("run", type=int):
        run = firm_run_or_404(request.args.get("run", type=int), kind="link_suggestions",
                              integration_id=integration.id)
    unlinked = linking.unlinked_clients(integration) if integration else []
    names = {c.id: c for c in unlinked}
    # the clients the suggestions found nothing for, still unlinked, in pages (a firm may have a thousand)
    unmatched = [names[cid] for cid in ((run.result or {}).get("unmatched_client_ids") or []) if cid in names] \
        if run is not None and run.finished else []
    pages = max(1, math.ceil(len(unmatched) / PER_PAGE))
    number = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    page = Page(items=unmatched[(number - 1) * PER_PAGE:number * PER_PAGE], page=number, pages=pages,
                total=len(unmatched))
    return render_template("client_links.html", integrations=lookup_capable, integration=integration, run=run,
                           unlinked=unlinked, unmatched=page)


@bp.route("/clients/links/suggest", methods=["POST"])
@admin_required
def client_links_suggest():  # noqa: ANN201
    require_plan()
    integration = enabled_integration_or_404(request.form.get("vendor"))
    try:
        run = linking.suggest_links(integration, user=g.user,
                                    wait=current_app.config.get("HUB_TEST_CONNECTION_WAIT", 8.0))
    except HubError as exc:
        flash(f"{exc.message} {exc.hint or ''}".strip(), "error")
        return redirect(url_for("web.client_links", vendor=integration.vendor))
    return redirect(url_for("web.client_links", vendor=integration.vendor, run=run.id))


@bp.route("/clients/links/confirm", methods=["POST"])
@admin_required
def client_links_confirm():  # noqa: ANN201
    require_plan()
    integration = enabled_integration_or_404(request.form.get("vendor"))
    run = firm_run_or_404(request.form.get("run", type=int) or 0, kind="link_suggestions",
                          integration_id=integration.id)
    picked = [int(v) for v in request.form.getlist("client_id") if v.isdigit()]
    if not picked:
        flash("Tick the suggestions to link.", "error")
        return redirect(url_for("web.client_links", vendor=integration.vendor, run=run.id))
    try:
        linked = linking.link_suggested(integration, run, picked)
    except HubError as exc:
        flash(f"{exc.message} {exc.hint or ''}".strip(), "error")
        return redirect(url_for("web.client_links", vendor=integration.vendor, run=run.id))
    flash(f"{len(linked)} client(s) linked to {vendor_name(integration.vendor)}.", "success")
    return redirect(url_for("web.client_list", unlinked=integration.vendor))


# -- client details -----------------------------------------------------------------------------------------
@bp.route("/clients/<int:client_id>/details", methods=["GET", "POST"])
@login_required
def client_details_page(client_id: int):  # noqa: ANN201
    """The details exports need (registration code, e-mail, address, customer type)."""
    client = client_or_404(client_id)
    errors: dict[str, Any] = {}
    values = client_details.details(client)
    if request.method == "POST":
        if not g.user.is_admin:
            abort(403)
        submitted = {k: request.form.get(k, "") for k in client_details.DETAIL_FIELDS}
        try:
            client_details.update_details(client, submitted)
        except marshmallow.ValidationError as exc:
            errors = exc.normalized_messages() if isinstance(exc.messages, dict) else {"_schema": exc.messages}
            values = submitted
        else:
            flash(f"Details of {client.name} saved.", "success")
            return redirect(url_for("web.client_detail", client_id=client.id))
    fields = forms.form_fields(client_details.ClientDetailsSchema, values, errors=errors)
    return render_template("client_details.html", client=client, fields=fields,
                           can_edit=g.user.is_admin), 422 if errors else 200
