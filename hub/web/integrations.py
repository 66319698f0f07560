"""The integration dialog: Overview / Connect / Settings tabs (one page each), Enable/Disable, Test
connection and Save, the summary-task settings with the data field mapping, and Reload data."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import httpx
import marshmallow
from flask import abort, current_app, flash, g, make_response, redirect, render_template, request, url_for

from hub import audit, catalog, connections, drafts, exports, health, oauth, statistics, vendor_accounts
from hub import credentials as creds
from hub.errors import ConfigError, HubError
from hub.models import (
    OK,
    CatalogItem,
    Client,
    ClientConnection,
    CredentialDraft,
    CustomField,
    Integration,
    Invoice,
    InvoiceLine,
    SyncRun,
    Topic,
    db,
)
from hub.plugins import Vendor
from hub.schedule import import_date
from hub.services import services
from hub.types import Period
from hub.web import forms, security
from hub.web.base import admin_required, bp, current_firm, login_required, require_plan

NEW_FIELD = "__new__"
IMPORT_DAY_CHOICES = [("last_work_day", "Last work day of the month"),
                      ("last_calendar_day", "Last calendar day of the month")] + \
                     [(str(d), f"Day {d} of the following month") for d in range(1, 29)]


# -- lookups (always scoped to the signed-in user's firm) ---------------------------------------------
def vendor_or_404(slug: str) -> Vendor:
    vendor = services().registry.vendors.get(slug)
    if vendor is None:
        abort(404)
    return vendor


def integration_of(slug: str) -> Integration | None:
    return Integration.query.filter_by(firm_id=g.user.firm_id, vendor=slug).one_or_none()


def firm_run_or_404(run_id: int | None, **expected: Any) -> SyncRun:
    run = db.session.get(SyncRun, run_id) if run_id else None
    if run is None or run.firm_id != g.user.firm_id or any(getattr(run, k) != v for k, v in expected.items()):
        abort(404)
    return run


def status_of(owner: Integration | ClientConnection | None) -> str:
    return owner.status if owner is not None else "not_configured"


@bp.app_template_global("clients_needing_attention")
def _clients_needing_attention(integration: Integration | None) -> int:
    """How many of the integration's clients need attention (one query per page, cached on ``g``)."""
    if integration is None or g.user is None:
        return 0
    if "attention_by_integration" not in g:
        g.attention_by_integration = health.attention_by_integration(g.user.firm_id)
    return len(g.attention_by_integration.get(integration.id, []))


@bp.app_template_global("account_owner")
def _account_owner(link: ClientConnection) -> Integration | ClientConnection:
    """Whose health a client's link shows: its own account's, else the firm's integration's."""
    return vendor_accounts.credentials_owner(link.integration, link)


@bp.app_template_global("expiry_state")
def _expiry_state(owner: Integration | ClientConnection | None) -> str | None:
    return health.expiry_state(owner)


# -- test results -----------------------------------------------------------------------------------
def test_result(run: SyncRun | None) -> dict[str, Any] | None:
    """What the page shows for a test-connection run (never the credentials)."""
    if run is None:
        return None
    saving = bool((run.params or {}).get("save"))
    if not run.finished:
        message = ("Testing the new credentials before saving them… the saved ones stay in use until the test "
                   "passes." if saving else "Testing the connection… the answer appears here in a moment.")
        return {"state": "pending", "run_id": run.id, "message": message, "saving": saving}
    if run.status == "succeeded":
        result = run.result or {}
        expires_on = result.get("expires_on")
        return {"state": "ok", "run_id": run.id, "account_name": result.get("account_name"),
                "expires_on": expires_on, "details": result.get("details") or {},
                "expiry_past": bool(expires_on and run.finished_at
                                    and dt.date.fromisoformat(expires_on) < run.finished_at.date()),
                "missing": result.get("missing") or [], "saved": bool(result.get("saved"))}
    error = run.error or {}
    return {"state": "failed", "run_id": run.id, "message": error.get("message") or "The test failed.",
            "hint": error.get("hint"), "field": error.get("field"), "saving": saving}


def posted_int(name: str) -> int | None:
    value = request.form.get(name, "")
    return int(value) if value.isdigit() else None


def form_draft(integration: Integration, connection: ClientConnection | None, draft_id: int | None,
               run: SyncRun | None) -> CredentialDraft | None:
    """The draft the form is about: named by the form, else the one the shown test run tested."""
    draft = drafts.find_draft(integration, connection, draft_id)
    if draft is None and run is not None:
        draft = drafts.find_draft(integration, connection, (run.params or {}).get("draft_id"))
    return draft


def credentials_state(schema: type[marshmallow.Schema], owner: Integration | ClientConnection | None,
                      draft: CredentialDraft | None, *, values: dict[str, Any] | None = None,
                      errors: dict[str, Any] | None = None) -> dict[str, Any]:
    """Form fields: public values (the draft's when there is one), and per secret field whether a value is
    saved or newly entered (kept encrypted in the draft — never put into the page)."""
    typed = drafts.draft_credentials(draft)
    if values is None:
        values = dict(draft.public_credentials or {}) if draft is not None else \
            dict(owner.public_credentials or {}) if owner is not None else {}
    saved = vendor_accounts.stored_credentials(owner) if owner is not None and owner.secret_credentials else {}
    states = {name: secret_state(typed.get(name), saved.get(name)) for name in creds.secret_fields(schema)}
    return {"fields": forms.form_fields(schema, values, errors=errors, secret_states=states),
            "draft_id": draft.id if draft is not None else None,
            "rejected": draft_rejection(draft, owner)}


def secret_state(typed: Any, saved: Any) -> str:
    """How the form describes one secret field: "entered" only for a new value the admin typed; "kept" when the
    draft holds the saved value (the field was left blank, which means "keep the saved one"); "saved"; or ""."""
    if typed and typed != saved:
        return "entered"
    if typed:
        return "kept"
    return "saved" if saved else ""


def draft_rejection(draft: CredentialDraft | None, owner: Integration | ClientConnection | None) -> dict | None:
    if draft is None or draft.state != "rejected":
        return None
    error = draft.error or {}
    return {"message": error.get("message") or "The test failed.", "hint": error.get("hint"),
            "kept": bool(owner is not None and owner.has_credentials)}


def credentials_page_state(integration: Integration, connection: ClientConnection | None,
                           run_id: int | None) -> dict[str, Any]:
    """Fields and test result for a credentials form after GET (optionally showing a test run)."""
    vendor = vendor_accounts.vendor_of(integration)
    owner = connection if connection is not None else integration
    run = None
    if run_id:
        run = firm_run_or_404(run_id, kind="test_connection", integration_id=integration.id,
                              client_connection_id=connection.id if connection else None)
    draft = form_draft(integration, connection, None, run) if run is not None else \
        drafts.rejected_draft(integration, connection)
    result = test_result(run)
    errors = {}
    if result and result["state"] == "failed" and result.get("field"):
        errors[result["field"]] = [result["message"]]
    state = credentials_state(vendor.schema, owner, draft, errors=errors)
    if state["rejected"] and result and result["state"] == "failed":
        result = None  # the rejection box says it, with what to do next
    tested = run is not None and draft is not None and draft.state == "tested" and run.id == draft.run_id
    return {**state, "result": result, "test_run_id": run.id if tested else None}


def handle_credentials_post(integration: Integration, connection: ClientConnection | None) -> tuple[str, Any]:
    """Test connection, Save, Replace anyway or Discard for the posted credentials form. Returns
    ``("redirect", run_id_or_None)`` or ``("errors", state)`` for re-rendering with field messages.

    Save tests first: the values are stored only once the vendor accepts them (or the admin chose Replace
    anyway after a refusal). A secret typed into a form with an error elsewhere is kept in the draft."""
    vendor = vendor_accounts.vendor_of(integration)
    schema = vendor.schema
    owner = connection if connection is not None else integration
    data = forms.submitted(schema, request.form)
    tested_run = None
    if posted_int("test_run_id"):
        tested_run = firm_run_or_404(posted_int("test_run_id"), kind="test_connection",
                                     integration_id=integration.id,
                                     client_connection_id=connection.id if connection else None)
    draft = form_draft(integration, connection, posted_int("draft_id"), tested_run)
    action = request.form.get("action")
    if action in ("replace", "discard"):
        if draft is None:
            flash("These new credentials are no longer kept: paste them again.", "error")
            return "redirect", None
        if action == "discard":
            drafts.discard_draft(draft)
            flash("The new credentials were discarded; the saved ones are unchanged.", "success")
        else:
            drafts.replace_anyway(draft)
            flash(f"Replaced. {vendor.info.name} refused these credentials, so the connection needs attention "
                  "until they are fixed.", "warn")
        return "redirect", None
    merged = drafts.with_draft_secrets(schema, data, draft)
    wait = current_app.config.get("HUB_TEST_CONNECTION_WAIT", 8.0)
    try:
        if action == "test":
            run = connections.test_connection(integration, merged, connection=connection, user=g.user, wait=wait,
                                              draft=draft)
            return "redirect", run.id
        if connections.passed_test_of(tested_run, integration, merged, connection):
            owner = connections.save_credentials(integration, merged, connection=connection, user=g.user,
                                                 tested_run=tested_run)
            flash(f"Saved. Connected to {owner.account_name or vendor.info.name}.", "success")
            return "redirect", None
        run = connections.test_connection(integration, merged, connection=connection, user=g.user, wait=wait,
                                          draft=draft, save=True)
    except marshmallow.ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        draft = drafts.keep_typed(integration, data, connection=connection, draft=draft, user=g.user)
        public, _secrets = creds.split(schema, data)  # redisplay only the public values
        state = credentials_state(schema, owner, draft, values=public, errors=messages)
        return "errors", {**state, "general_errors": forms.general_errors(messages, schema), "result": None,
                          "test_run_id": None}
    if run.status == "succeeded":
        flash(f"Saved. Connected to {(run.result or {}).get('account_name') or vendor.info.name}.", "success")
    return "redirect", run.id


# -- "Why is no data showing?" -------------------------------------------------------------------------
def next_import_on(integration: Integration, import_day: str | int) -> dt.date:
    today = statistics.firm_today(integration)
    current = Period.of(today)
    dates = [import_date(p, import_day, integration.firm.country)
             for p in (current.previous(), current, current.next())]
    return min(d for d in dates if d >= today)


def checklist(vendor: Vendor, integration: Integration | None) -> list[dict[str, Any]]:
    """The setup checklist from the real state: the causes the product docs' troubleshooting lists."""
    items: list[dict[str, Any]] = []

    def add(done: bool, title: str, detail: str = "", warn: bool = False) -> None:
        items.append({"done": done, "title": title, "detail": detail, "warn": warn and not done})

    enabled = bool(integration and integration.enabled)
    add(enabled, "Integration enabled", "" if enabled else "Click Enable on the Overview tab.")
    if vendor.info.oauth is not None and (integration is None or oauth.grant_of(integration) is None):
        add(False, "Credentials saved and tested", f"Click Connect with {vendor.info.name} on the Connect tab.")
    elif integration is None or not (integration.has_credentials or vendor.info.oauth is not None):
        add(False, "Credentials saved and tested", "Paste the credentials on the Connect tab, Test connection, Save.")
    elif integration.status == OK:
        when = integration.last_success_at.strftime("%Y-%m-%d %H:%M") if integration.last_success_at else ""
        add(True, "Credentials saved and tested",
            f"Connected to {integration.account_name or vendor.info.name}" + (f" (checked {when} UTC)" if when else ""))
    elif integration.status == "needs_attention":
        error = integration.last_error or {}
        reason = f"{error.get('message', '')} {error.get('hint') or ''}".strip()
        add(False, "Credentials saved and tested", f"Needs attention: {reason}", warn=True)
    else:
        add(False, "Credentials saved and tested", "Saved but not tested yet: click Test connection.")
    if not vendor.can("statistics"):
        return items
    summary = statistics.summary_settings(integration) if integration else {}
    add(bool(summary), "Summary task settings saved",
        "" if summary else "Set the task title, topic and import day on the Settings tab.")
    mapping = summary.get("mapping") or {}
    unmapped = [f.label for f in vendor.info.statistic_fields if f.key not in mapping]
    add(bool(mapping), "Data fields mapped",
        f"{len(mapping)} mapped" + (f"; not imported: {', '.join(unmapped)}" if unmapped else "")
        if mapping else "Map at least one field under Configure data fields; unmapped fields are not imported.")
    total = Client.query.filter_by(firm_id=current_firm().id).count()
    linked = len(statistics.linked_connections(integration)) if integration else 0
    add(linked > 0, "Clients linked", f"{linked} of {total} clients linked"
        + ("" if linked else f": set the Integration column to {vendor.info.name} in the client list."))
    if integration is not None and summary:
        add(True, "Next scheduled import", next_import_on(integration, summary.get("import_day", "last_work_day"))
            .isoformat())
    last = None
    if integration is not None:
        last = SyncRun.query.filter_by(integration_id=integration.id, kind="import", status="succeeded") \
            .order_by(SyncRun.finished_at.desc()).first()
    add(last is not None, "Last successful import",
        f"{last.finished_at:%Y-%m-%d %H:%M} UTC" if last else "None yet: wait for the import day or click Reload data.")
    return items


# -- pages -------------------------------------------------------------------------------------------
def dialog(slug: str, tab: str, status: int = 200, **context: Any):  # noqa: ANN201
    vendor = vendor_or_404(slug)
    integration = integration_of(slug)
    return render_template(f"integration_{tab}.html", vendor=vendor, integration=integration, tab=tab,
                           status=status_of(integration), **context), status


@bp.route("/settings/apps/<slug>")
@login_required
def integration_overview(slug: str):  # noqa: ANN201
    vendor = vendor_or_404(slug)
    return dialog(slug, "overview", checklist=checklist(vendor, integration_of(slug)))


@bp.route("/settings/apps/<slug>/enable", methods=["POST"])
@admin_required
def integration_enable(slug: str):  # noqa: ANN201
    vendor_or_404(slug)
    require_plan()
    integration = connections.get_or_create_integration(g.user.firm_id, slug)
    connections.set_enabled(integration, True)
    flash(f"{vendor_accounts.vendor_of(integration).info.name} is enabled. Next: paste the credentials on the "
          "Connect tab.", "success")
    return redirect(url_for("web.integration_overview", slug=slug))


@bp.route("/settings/apps/<slug>/disable", methods=["POST"])
@admin_required
def integration_disable(slug: str):  # noqa: ANN201
    vendor = vendor_or_404(slug)
    integration = integration_of(slug)
    if integration is not None:
        connections.set_enabled(integration, False)
    flash(f"{vendor.info.name} is disabled. Nothing already imported was removed.", "success")
    return redirect(url_for("web.integration_overview", slug=slug))


@bp.route("/settings/apps/<slug>/connect", methods=["GET", "POST"])
@login_required
def integration_connect(slug: str):  # noqa: ANN201
    vendor_or_404(slug)
    integration = integration_of(slug)
    if request.method == "POST":
        if not g.user.is_admin:
            abort(403)
        require_plan()
        if integration is None or not integration.enabled:
            flash("Enable the integration on the Overview tab first.", "error")
            return redirect(url_for("web.integration_overview", slug=slug))
        outcome, value = handle_credentials_post(integration, None)
        if outcome == "errors":
            return dialog(slug, "connect", status=422, oauth=oauth_state(vendor_or_404(slug), integration), **value)
        return redirect(url_for("web.integration_connect", slug=slug, test_run=value) if value
                        else url_for("web.integration_connect", slug=slug))
    if integration is None:
        state = {"fields": forms.form_fields(vendor_or_404(slug).schema), "result": None, "test_run_id": None}
    else:
        state = credentials_page_state(integration, None, request.args.get("test_run", type=int))
    vendor = vendor_or_404(slug)
    page, status = dialog(slug, "connect", oauth=oauth_state(vendor, integration), **state)
    response = make_response(page, status)
    if vendor.info.oauth is not None and integration is not None:
        # Connect with … posts to oauth/start, which redirects to the vendor: the form-action must allow it
        origin = vendor_accounts.vendor_origin(integration)
        target = httpx.URL(oauth.to_origin(vendor.info.oauth.authorize_url, origin))
        response.headers["Content-Security-Policy"] = security.CSP.replace(
            "form-action 'self'", f"form-action 'self' {target.scheme}://{target.netloc.decode('ascii')}")
    return response


def oauth_state(vendor: Vendor, integration: Integration | None) -> dict[str, Any] | None:
    """What the Connect tab shows of an OAuth vendor: whether the operator configured the app, whether a grant is
    held (and live), and who connected it when."""
    if vendor.info.oauth is None:
        return None
    grant = oauth.grant_of(integration) if integration is not None else None
    return {"configured": oauth.configured(vendor.info), "grant": grant,
            "live": grant is not None and grant.revoked_at is None}


@bp.route("/settings/apps/<slug>/oauth/start", methods=["POST"])
@admin_required
def integration_oauth_start(slug: str):  # noqa: ANN201
    """Connect with <vendor> (or Reconnect): off to the vendor's authorisation page."""
    vendor = vendor_or_404(slug)
    require_plan()
    integration = integration_of(slug)
    if integration is None or not integration.enabled:
        flash("Enable the integration on the Overview tab first.", "error")
        return redirect(url_for("web.integration_overview", slug=slug))
    try:
        url = oauth.begin(integration, vendor.info, g.user,
                          url_for("web.integration_oauth_callback", slug=slug, _external=True),
                          vendor_accounts.vendor_origin(integration))
    except HubError as exc:
        flash(f"{exc.message} {exc.hint or ''}".strip(), "error")
        return redirect(url_for("web.integration_connect", slug=slug))
    audit.record(integration.firm_id, "integration.oauth_started", integration)
    db.session.commit()
    return redirect(url)


@bp.route("/settings/apps/<slug>/oauth/callback")
@admin_required
def integration_oauth_callback(slug: str):  # noqa: ANN201
    """The vendor sends the admin back here: the grant is stored, then tested like saved credentials."""
    vendor = vendor_or_404(slug)
    integration = integration_of(slug)
    try:
        if integration is None:
            raise ConfigError("This integration is not enabled.", hint="Enable it on the Overview tab first.")
        oauth.complete(vendor.info, g.user, request.args.to_dict(), vendor_accounts.vendor_origin(integration))
    except HubError as exc:
        flash(f"{exc.message} {exc.hint or ''}".strip(), "error")
        return redirect(url_for("web.integration_connect", slug=slug))
    audit.record(integration.firm_id, "integration.oauth_connected", integration)
    db.session.commit()
    wait = current_app.config.get("HUB_TEST_CONNECTION_WAIT", 8.0)
    run = connections.test_connection(integration, user=g.user, wait=wait)
    if run.status == "succeeded":
        flash(f"Connected to {(run.result or {}).get('account_name') or vendor.info.name}.", "success")
    return redirect(url_for("web.integration_connect", slug=slug, test_run=run.id))


def settings_context(vendor: Vendor, integration: Integration | None, form: dict | None = None,
                     errors: dict | None = None) -> dict[str, Any]:
    summary = statistics.summary_settings(integration) if integration else {}
    fields_ = CustomField.query.filter_by(firm_id=g.user.firm_id).order_by(CustomField.name).all()
    topics = Topic.query.filter_by(firm_id=g.user.firm_id).order_by(Topic.name).all()
    mapping = summary.get("mapping") or {}
    if form is not None:
        values = {"task_title": form.get("task_title", ""), "topic_id": form.get("topic_id", ""),
                  "import_day": form.get("import_day", "last_work_day")}
        chosen = {f.key: form.get(f"map_{f.key}", "") for f in vendor.info.statistic_fields}
        new_names = {f.key: form.get(f"new_{f.key}", "") for f in vendor.info.statistic_fields}
    else:
        values = {"task_title": summary.get("task_title", statistics.DEFAULT_TITLE),
                  "topic_id": str(summary.get("topic_id") or ""), "import_day": str(summary.get("import_day",
                                                                                              "last_work_day"))}
        chosen = {k: str(v) for k, v in mapping.items()}
        new_names = {}
    rows = [{"field": f, "chosen": chosen.get(f.key, ""), "new_name": new_names.get(f.key, "")}
            for f in vendor.info.statistic_fields]
    linked = len(statistics.linked_connections(integration)) if integration else 0
    return {"values": values, "rows_common": [r for r in rows if not r["field"].advanced],
            "rows_advanced": [r for r in rows if r["field"].advanced],
            "advanced_open": any(r["chosen"] for r in rows if r["field"].advanced),
            "custom_fields": fields_, "topics": topics, "import_days": IMPORT_DAY_CHOICES,
            "errors": errors or {}, "new_field": NEW_FIELD, "linked": linked,
            "last_reload": SyncRun.query.filter_by(integration_id=integration.id, kind="reload")
            .order_by(SyncRun.id.desc()).first() if integration else None}


@bp.route("/settings/apps/<slug>/settings", methods=["GET", "POST"])
@login_required
def integration_settings(slug: str):  # noqa: ANN201
    vendor = vendor_or_404(slug)
    if not vendor.can("statistics"):
        abort(404)
    integration = integration_of(slug)
    if request.method == "GET":
        return dialog(slug, "settings", **settings_context(vendor, integration))
    if not g.user.is_admin:
        abort(403)
    require_plan()
    if integration is None or not integration.enabled:
        flash("Enable the integration on the Overview tab first.", "error")
        return redirect(url_for("web.integration_overview", slug=slug))
    form = request.form
    errors: dict[str, list[str]] = {}
    mapping: dict[str, int | None] = {}
    new_fields: dict[str, str] = {}  # created only once the whole form is valid: a refused save creates nothing
    for f in vendor.info.statistic_fields:
        choice = form.get(f"map_{f.key}", "")
        if choice == NEW_FIELD:
            new_fields[f.key] = form.get(f"new_{f.key}", "").strip()
            if not new_fields[f.key]:
                errors[f"map_{f.key}"] = ["Give the new custom field a name."]
            elif len(new_fields[f.key]) > CustomField.name.type.length:
                errors[f"map_{f.key}"] = [f"Use at most {CustomField.name.type.length} characters for its name."]
        elif choice.isdigit():
            mapping[f.key] = int(choice)
    topic_id: int | None = None
    new_topic = form.get("new_topic", "").strip() if form.get("topic_id") == NEW_FIELD else None
    if new_topic == "":
        errors["topic_id"] = ["Give the new topic a name."]
    elif new_topic and len(new_topic) > Topic.name.type.length:
        errors["topic_id"] = [f"Use at most {Topic.name.type.length} characters for the topic's name."]
    elif new_topic is None and form.get("topic_id", "").isdigit():
        topic_id = int(form["topic_id"])
    changed = False
    if not errors:
        settings = {"task_title": form.get("task_title", "").strip(), "topic_id": topic_id,
                    "import_day": form.get("import_day", "last_work_day"), "mapping": mapping}
        try:
            statistics.check_summary_settings(integration, settings)  # before anything is created
            for key, name in new_fields.items():
                created = statistics.create_custom_field(g.user.firm_id, name)
                audit.record(g.user.firm_id, "custom_field.created", created, details={"name": name})
                mapping[key] = created.id
            if new_topic:
                topic = Topic.query.filter_by(firm_id=g.user.firm_id, name=new_topic).one_or_none()
                if topic is None:
                    topic = Topic(firm_id=g.user.firm_id, name=new_topic)
                    db.session.add(topic)
                    db.session.commit()
                    audit.record(g.user.firm_id, "topic.created", topic, details={"name": new_topic})
                settings["topic_id"] = topic_id = topic.id
            changed = statistics.save_summary_settings(integration, settings)
        except marshmallow.ValidationError as exc:
            errors = forms.messages_in_words(statistics.SummarySettingsSchema, exc.normalized_messages(),
                                             {"task_title": form.get("task_title", "")})
    if errors:
        form_values = dict(form)
        for key, field_id in mapping.items():  # fields created on the spot stay chosen
            form_values[f"map_{key}"] = str(field_id)
        if topic_id:
            form_values["topic_id"] = str(topic_id)
        return dialog(slug, "settings", status=422, **settings_context(vendor, integration, form_values, errors))
    if changed:
        flash("Saved. The data field mapping changed: click Reload data to back-fill the last 12 months "
              "with the new mapping.", "success")
    else:
        flash("Saved.", "success")
    return redirect(url_for("web.integration_settings", slug=slug))


@bp.route("/settings/apps/<slug>/reload", methods=["GET", "POST"])
@admin_required
def integration_reload(slug: str):  # noqa: ANN201
    vendor = vendor_or_404(slug)
    require_plan()
    integration = integration_of(slug)
    if integration is None or not vendor.can("statistics"):
        abort(404)
    if request.method == "GET":
        return dialog(slug, "reload", linked=len(statistics.linked_connections(integration)),
                      months=statistics.RELOAD_MONTHS)
    try:
        run = statistics.reload(integration, user=g.user)
    except HubError as exc:
        flash(f"{exc.message} {exc.hint or ''}".strip(), "error")
        return redirect(url_for("web.integration_settings", slug=slug))
    flash(f"Reload data started for {run.progress_total} clients. You will get a notification when it is ready.",
          "success")
    return redirect(url_for("web.run_detail", run_id=run.id))


# -- Invoices: export switch, products and tax rates (hub.catalog) ------------------------------------
CATALOG_KINDS = (("tax_rate", "tax_rates", "Tax rates"), ("product", "products", "Products"))


@bp.app_template_filter("vat")
def _vat(rate: Any) -> str:
    return catalog.rate_key(rate)


def invoice_tab_available(vendor: Vendor) -> bool:
    return any(vendor.can(c) for c in ("invoice_export", "tax_rates", "products"))


def catalog_sections(integration: catalog.Scope | None, vendor: Vendor, *,
                     client_id: int | None = None) -> list[dict[str, Any]]:
    """The products and tax rates of a vendor account (the firm integration's, or a client's own connection) with
    the hub's codes to map: those the firm's invoices use (``client_id``: that client's)."""
    sections = []
    for kind, capability, title in CATALOG_KINDS:
        if not vendor.can(capability):
            continue
        items = catalog.items(integration, kind) if integration else []
        value_of = catalog_value(kind)
        mapped = catalog.mappings(integration, kind) if integration else {}
        lines = InvoiceLine.query.join(Invoice).filter(Invoice.firm_id == g.user.firm_id)
        if client_id is not None:
            lines = lines.filter(Invoice.client_id == client_id)
        if kind == "tax_rate":
            used = {catalog.rate_key(r) for (r,) in lines.with_entities(InvoiceLine.vat_rate).distinct()}
        else:
            used = {c for (c,) in lines.with_entities(InvoiceLine.product_code).distinct() if c}
        keys = sorted(used | set(mapped), key=lambda k: (len(k), k))
        rows = []
        for key in keys:
            automatic = catalog.vendor_code(integration, kind, key) if integration and key not in mapped else None
            if automatic is not None:  # the vendor's rate or product in words, never its id
                item = next((i for i in items if value_of(i) == automatic), None)
                automatic = catalog.item_label(item) if item is not None else automatic
            rows.append({"key": key, "chosen": mapped.get(key, ""), "automatic": automatic})
        fetched = max((i.fetched_at for i in items), default=None)
        sections.append({"kind": kind, "title": title, "entries": items, "rows": rows, "fetched": fetched,
                         "value_of": value_of})
    return sections


def catalog_value(kind: str) -> Callable[[CatalogItem], str]:
    """What a mapping stores of a cached item: a tax rate's vendor id, a product's code."""
    return (lambda i: i.vendor_id) if kind == "tax_rate" else (lambda i: i.code)


@bp.route("/settings/apps/<slug>/invoices", methods=["GET", "POST"])
@login_required
def integration_invoices(slug: str):  # noqa: ANN201
    vendor = vendor_or_404(slug)
    if not invoice_tab_available(vendor):
        abort(404)
    integration = integration_of(slug)
    if request.method == "GET":
        return dialog(slug, "invoices", sections=catalog_sections(integration, vendor),
                      export_all=bool((integration.settings or {}).get("export_invoices")) if integration else False)
    if not g.user.is_admin:
        abort(403)
    require_plan()
    if integration is None or not integration.enabled:
        flash("Enable the integration on the Overview tab first.", "error")
        return redirect(url_for("web.integration_overview", slug=slug))
    try:
        if request.form.get("what") == "export_all" and vendor.can("invoice_export"):
            exports.set_export_invoices(integration, request.form.get("export_invoices") == "on")
            flash("Saved.", "success")
        else:
            catalog_form(integration, vendor)
    except HubError as exc:
        flash(f"{exc.message} {exc.hint or ''}".strip(), "error")
    return redirect(url_for("web.integration_invoices", slug=slug))


def catalog_form(scope: catalog.Scope, vendor: Vendor) -> None:
    """A posted catalog form of a vendor account (the firm's Invoices tab, a client's own account on its
    Integration page): ``what=refresh`` reads the products or tax rates again, ``what=mapping`` saves the mapping.
    Flashes the outcome; raises ``HubError`` for a wrong choice, 400 for a form it does not know."""
    what, kind = request.form.get("what"), request.form.get("kind")
    if kind not in ("tax_rate", "product") or what not in ("refresh", "mapping"):
        abort(400)
    if what == "refresh":
        run = catalog.refresh(scope, kind, user=g.user, wait=current_app.config.get("HUB_TEST_CONNECTION_WAIT", 8.0))
        if run.status == "succeeded":
            flash(f"Read {run.result.get('count', 0)} from {vendor.info.name}.", "success")
        elif run.status == "failed":
            flash(f"{vendor.info.name} could not be read: {(run.error or {}).get('message', '')}", "error")
        else:
            flash(f"Reading from {vendor.info.name}… reload this page in a moment.", "info")
        return
    chosen: dict[str, str | None] = {key: request.form.get(f"code_{key}", "") or None
                                     for key in request.form.getlist("key")}
    new_key = request.form.get("new_key", "").strip().rstrip("%").strip()
    if kind == "tax_rate" and new_key and not re.fullmatch(r"\d{1,2}(\.\d{1,2})?", new_key):
        raise ConfigError("Enter a VAT rate as a number, e.g. 24 or 9.5.")
    if new_key and request.form.get("new_code"):
        chosen[new_key] = request.form["new_code"]
    changes = catalog.set_mappings(scope, kind, chosen, user=g.user)
    flash(f"Saved: {'; '.join(changes)}." if changes else "Saved (nothing changed).", "success")
