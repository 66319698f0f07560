"""The audit trail page: the firm's ``AuditEvent`` rows, newest first, for Company Owners / Admins.

Each event is shown as a sentence for an admin ("Reload started for Directo (3 clients)"), with the person's
name as who did it — not the recorded action code and target id (``reload.started``, ``integration #1``).
The names are read for the whole page at once (one query per kind of target, never one per row).

``details`` never hold a secret (``hub.audit`` says so to every caller); the page still passes each
value through :func:`hub.redaction.mask`, so a secret the process knows could not show even if one did.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import g, render_template

from hub.models import (
    ApiToken,
    AuditEvent,
    Client,
    ClientConnection,
    CustomField,
    Integration,
    Invoice,
    InvoiceExport,
    ServiceToken,
    SummaryTask,
    SummaryValue,
    Topic,
    User,
)
from hub.redaction import mask
from hub.services import services
from hub.web.base import admin_required, bp, paginate, vendor_name
from hub.web.integrations import IMPORT_DAY_CHOICES

ROLES = {"owner": "Company Owner", "admin": "Company Admin", "member": "Member"}
PLANS = {"free": "Free", "basic": "Basic", "team": "Team", "elite": "Elite"}

#: What each recorded action says, in words. ``{target}`` is the named target ("Directo", "Client 1",
#: "invoice 2026-100", "Mari Maasikas"), ``{vendor}`` the integration of a client link; other fields come from
#: the event's details. An action missing here is shown as its code with the dots and underscores turned to
#: spaces, so a new one is never hidden.
SENTENCES: dict[str, str] = {
    "reload.started": "Reload started for {target}",
    "integration.enabled": "{target} enabled",
    "integration.disabled": "{target} disabled",
    "integration.export_invoices": "Exporting every issued invoice to {target} {export_state}",
    "credentials.saved": "Credentials saved for {target}",
    "credentials.replaced_anyway": "Credentials replaced for {target} although the test failed",
    "credentials.draft_discarded": "New credentials discarded for {target} (the saved ones stay)",
    "catalog.mapped": "{kind} mapping changed for {target}",
    "summary_settings.saved": "Summary task settings saved for {target}",
    "summary_value.accepted": "Changed value accepted for {target}",
    "custom_field.created": "Custom task field “{name}” created",
    "topic.created": "Topic “{name}” created",
    "client.linked": "{target} linked to {vendor}",
    "client.unlinked": "{target} unlinked from {vendor}",
    "client.created": "Client {target} added",
    "client.updated": "Client {target} updated",
    "client.details_changed": "Details of {target} changed",
    "clients.imported": "Clients imported",
    "invoice.created": "Invoice {number} saved as a draft",
    "invoice.issued": "Invoice {target_plain} issued",
    "export.retried": "Export of {target} retried",
    "user.signed_in": "{target} signed in",
    "user.password_changed": "{target} changed their password",
    "user.password_set": "{target} chose a password",
    "user.signed_out_everywhere": "{target} signed out everywhere",
    "user.created": "User {target} added",
    "user.updated": "User {target} updated",
    "user.invited": "{target} invited",
    "user.activated": "{target} activated",
    "user.deactivated": "{target} deactivated",
    "user.role_changed": "Role of {target} changed from {from_role} to {to_role}",
    "notification.read": "A notification marked as read",
    "notification.read_all": "All notifications marked as read",
    "firm.created": "Firm {target} created",
    "firm.updated": "Firm {target} updated",
    "firm.plan_changed": "Plan changed from {from_plan} to {to_plan}",
    "firm.activated": "Firm {target} activated",
    "firm.deactivated": "Firm {target} deactivated",
    "api_token.created": "API token “{name}” created",
    "api_token.revoked": "API token “{name}” revoked",
    "webhook_endpoint.created": "Webhook to {url} added",
    "webhook_endpoint.updated": "Webhook to {url} changed",
    "webhook_endpoint.deleted": "Webhook to {url} removed",
    "webhook_endpoint.secret_rotated": "Webhook signing secret renewed",
}

#: Details already said by the sentence (or only internal ids): not repeated under it.
SAID = {"run_id", "number", "name", "url", "from", "to", "kind", "vendor", "enabled", "exports", "count",
        "vendor_client_id", "account", "hub_key", "vendor_code", "prefix", "role", "email"}
DETAIL_LABELS = {"clients": "Clients", "changed_fields": "Changed", "secret_fields_changed": "Secrets changed",
                 "sessions": "Sessions ended", "previous": "Previous link", "created": "Added",
                 "updated": "Updated", "unchanged": "Unchanged", "mapping": "Data fields",
                 "task_title": "Task title", "topic_id": "Topic", "import_day": "Import day",
                 "vendor_client_name": "Name in the accounting software", "changed": "Changed"}
CATALOG_KINDS = {"tax_rate": "Tax rate", "product": "Product"}
TRIGGERS = {"cli": "Command line", "system": "Integration Hub"}


def detail_text(value: Any) -> str:
    """A details value as plain text: lists joined with commas, mappings as ``key: value``."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {detail_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(detail_text(v).replace("_", " ") for v in value) if value else "—"
    return mask(str(value))


def detail_rows(details: dict[str, Any] | None) -> list[tuple[str, str]]:
    return [(DETAIL_LABELS.get(str(key), str(key).replace("_", " ").capitalize()), detail_text(value))
            for key, value in (details or {}).items() if key not in SAID]


def _vendor_words(slug: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """A vendor's statistic field labels and credential field labels (empty for an unknown vendor)."""
    vendor = services().registry.vendors.get(slug or "")
    if vendor is None:
        return {}, {}
    fields = {f.key: f.label for f in vendor.info.statistic_fields}
    labels = {name: f.metadata.get("label") or name.replace("_", " ")
              for name, f in vendor.schema().fields.items()} if vendor.schema is not None else {}
    return fields, labels


def readable_details(e: AuditEvent, names: _Names) -> dict[str, Any]:
    """The details of settings and credential changes with names instead of keys and ids."""
    details = dict(e.details or {})
    slug = names.slugs.get(e.target_id) if e.target_type == "integration" else \
        names.link_slugs.get(e.target_id) if e.target_type == "client_connection" else None
    fields, labels = _vendor_words(slug)
    if e.action == "summary_settings.saved":
        mapping = details.get("mapping")
        if isinstance(mapping, dict):
            details["mapping"] = ", ".join(
                f"{fields.get(k, k)} → {names.custom_fields.get(v, 'a removed field')}"
                for k, v in mapping.items() if v is not None) or "none"
        if "topic_id" in details:
            details["topic_id"] = names.topics.get(details["topic_id"], "—") if details["topic_id"] else "—"
        if "import_day" in details:
            details["import_day"] = dict(IMPORT_DAY_CHOICES).get(str(details["import_day"]), details["import_day"])
    for key in ("changed_fields", "secret_fields_changed"):
        if isinstance(details.get(key), list) and e.action.startswith("credentials."):
            details[key] = [labels.get(str(v), str(v)) for v in details[key]]
    return details


class _Names:
    """The names an audit page needs, read once per kind for the page's events."""

    def __init__(self, events: list[AuditEvent], firm_id: int, firm_name: str) -> None:
        ids: dict[str, set[int]] = defaultdict(set)
        for e in events:
            if e.target_id is not None:
                ids[e.target_type].add(e.target_id)
        self.firm_name = firm_name
        self.users = {u.id: u.name or u.email for u in User.query.filter_by(firm_id=firm_id)}
        integrations = Integration.query.filter_by(firm_id=firm_id).all()
        self.integrations = {i.id: vendor_name(i.vendor) for i in integrations}
        self.slugs = {i.id: i.vendor for i in integrations}
        self.link_slugs: dict[int, str] = {}
        actions = {e.action for e in events}
        self.custom_fields = dict(CustomField.query.filter_by(firm_id=firm_id)
                                  .with_entities(CustomField.id, CustomField.name)) \
            if "summary_settings.saved" in actions else {}
        self.topics = dict(Topic.query.filter_by(firm_id=firm_id).with_entities(Topic.id, Topic.name)) \
            if "summary_settings.saved" in actions else {}
        want_clients = set(ids.get("client", ()))
        self.links: dict[int, tuple[int, str]] = {}
        if ids.get("client_connection"):
            for c in ClientConnection.query.filter(ClientConnection.id.in_(ids["client_connection"])):
                self.links[c.id] = (c.client_id, self.integrations.get(c.integration_id, ""))
                self.link_slugs[c.id] = self.slugs.get(c.integration_id, "")
                want_clients.add(c.client_id)
        self.values: dict[int, tuple[int, str]] = {}
        if ids.get("summary_value"):
            for value_id, client_id, period in (SummaryValue.query.join(SummaryTask)
                                                .filter(SummaryValue.id.in_(ids["summary_value"]),
                                                        SummaryTask.firm_id == firm_id)
                                                .with_entities(SummaryValue.id, SummaryTask.client_id,
                                                               SummaryTask.period)):
                self.values[value_id] = (client_id, period)
                want_clients.add(client_id)
        self.clients = dict(Client.query.filter(Client.id.in_(want_clients), Client.firm_id == firm_id)
                            .with_entities(Client.id, Client.name)) if want_clients else {}
        invoice_ids = set(ids.get("invoice", ()))
        self.exports: dict[int, int] = {}
        if ids.get("invoice_export"):
            self.exports = dict(InvoiceExport.query.filter(InvoiceExport.id.in_(ids["invoice_export"]))
                                .with_entities(InvoiceExport.id, InvoiceExport.invoice_id))
            invoice_ids |= set(self.exports.values())
        self.invoices = dict(Invoice.query.filter(Invoice.id.in_(invoice_ids), Invoice.firm_id == firm_id)
                             .with_entities(Invoice.id, Invoice.number)) if invoice_ids else {}
        actors = [e.actor for e in events if e.user_id is None and e.actor]
        api_ids = {int(a.split(":", 1)[1]) for a in actors if a.startswith("api-token:") and a[10:].isdigit()}
        service_ids = {int(a.split(":", 1)[1]) for a in actors if a.startswith("service-token:") and a[14:].isdigit()}
        self.api_tokens = dict(ApiToken.query.filter(ApiToken.id.in_(api_ids), ApiToken.firm_id == firm_id)
                               .with_entities(ApiToken.id, ApiToken.name)) if api_ids else {}
        self.service_tokens = dict(ServiceToken.query.filter(ServiceToken.id.in_(service_ids))
                                   .with_entities(ServiceToken.id, ServiceToken.name)) if service_ids else {}

    def who(self, e: AuditEvent) -> str:
        """The person's name (or e-mail); else what acted: an API token, the host system, the command line."""
        if e.user_id in self.users:
            return self.users[e.user_id]
        actor = e.actor or "system"
        kind, _, ident = actor.partition(":")
        if kind == "user":
            return self.users.get(int(ident), "A former user") if ident.isdigit() else "A user"
        if kind == "api-token":
            name = self.api_tokens.get(int(ident)) if ident.isdigit() else None
            return f"API token “{name}”" if name else "An API token"
        if kind == "service-token":
            name = self.service_tokens.get(int(ident)) if ident.isdigit() else None
            return f"The host system (service token “{name}”)" if name else "The host system"
        return TRIGGERS.get(actor, actor.replace("_", " ").capitalize())

    def target(self, e: AuditEvent) -> tuple[str, str]:
        """(the target named in words, the vendor of a client link)."""
        tid = e.target_id
        kind = e.target_type
        if kind == "integration":
            return self.integrations.get(tid, "an integration that was removed"), ""
        if kind == "client_connection":
            client_id, vendor = self.links.get(tid, (None, ""))
            name = self.clients.get(client_id, "a client")
            return (f"{name} ({vendor})" if vendor and e.action != "client.linked" else name), vendor
        if kind == "client":
            slug = (e.details or {}).get("vendor")
            return self.clients.get(tid, "a removed client"), vendor_name(str(slug)) if slug else ""
        if kind == "user_account":
            return self.users.get(tid, "a former user"), ""
        if kind == "invoice":
            return f"invoice {self.invoices.get(tid, '')}".strip(), ""
        if kind == "invoice_export":
            number = self.invoices.get(self.exports.get(tid), "")
            return f"invoice {number}".strip(), ""
        if kind == "summary_value":
            client_id, period = self.values.get(tid, (None, ""))
            return " ".join(x for x in (self.clients.get(client_id, "a client"), period) if x), ""
        if kind == "firm":
            return self.firm_name, ""
        return kind.replace("_", " "), ""


def sentence(e: AuditEvent, names: _Names) -> str:
    """What happened, in words for an admin."""
    details = e.details or {}
    target, vendor = names.target(e)
    template = SENTENCES.get(e.action)
    if template is None:
        return e.action.replace(".", " ").replace("_", " ").capitalize()
    values = {
        "target": target, "vendor": vendor or "the accounting software",
        "target_plain": target.removeprefix("invoice "),
        "export_state": "turned on" if details.get("enabled") else "turned off",
        "kind": CATALOG_KINDS.get(str(details.get("kind")), "Catalog"),
        "name": detail_text(details.get("name")), "url": detail_text(details.get("url")),
        "number": detail_text(details.get("number")),
        "from_role": ROLES.get(str(details.get("from")), str(details.get("from"))),
        "to_role": ROLES.get(str(details.get("to")), str(details.get("to"))),
        "from_plan": PLANS.get(str(details.get("from")), str(details.get("from"))),
        "to_plan": PLANS.get(str(details.get("to")), str(details.get("to"))),
    }
    text = template.format(**values)
    if e.action == "reload.started" and isinstance(details.get("clients"), int):
        count = details["clients"]
        text += f" ({count} client{'s' if count != 1 else ''})"
    return text[:1].upper() + text[1:]


@bp.route("/settings/audit")
@admin_required
def audit_trail():  # noqa: ANN201
    page = paginate(AuditEvent.query.filter_by(firm_id=g.user.firm_id)
                    .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()))
    names = _Names(page.items, g.user.firm_id, g.user.firm.name)
    rows = []
    for e in page.items:
        details = detail_rows(readable_details(e, names))
        if e.action == "reload.started":
            details = [(k, v) for k, v in details if k != "Clients"]
        run_id = (e.details or {}).get("run_id") if e.action == "reload.started" else None
        rows.append({"event": e, "who": names.who(e), "what": sentence(e, names), "details": details,
                     "run_id": run_id if isinstance(run_id, int) else None})
    return render_template("audit.html", page=page, rows=rows)
