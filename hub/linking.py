"""Linking a firm's clients to the vendor's client records: link, re-link, unlink (history kept), and suggested
links for a firm with hundreds of clients (one paged read of the vendor's client list, matched by registration
code, VAT number, then name; the admin confirms in bulk)."""

from __future__ import annotations

from typing import Any

from hub import audit, clients
from hub.errors import ConfigError
from hub.health import record_failure
from hub.jobs import Kind, register, wait_for
from hub.models import (
    CatalogItem,
    CatalogMapping,
    Client,
    ClientConnection,
    CredentialDraft,
    Integration,
    InvoiceExport,
    MonthlyImport,
    SyncRun,
    User,
    db,
    utcnow,
)
from hub.vendor_accounts import account_run, call_vendor, firm_account, vendor_of


# -- a client's link -------------------------------------------------------------------------------
def link_client(connection_or_none: ClientConnection | None, *, client_id: int, integration: Integration,
                vendor_client_id: str | None, vendor_client_name: str | None = None,
                vendor_client_reg_code: str | None = None, user: User | None = None,
                actor: str | None = None) -> ClientConnection:
    """Link a firm client to the vendor's client record (or re-link it to fix a wrong pick). Pointing the
    link at another record starts a new link (``linked_at``): what the old record imported may then be
    overwritten, also by 0. :func:`link_warnings` says whether the record looks like another company."""
    connection = connection_or_none or ClientConnection.query.filter_by(
        client_id=client_id, integration_id=integration.id).one_or_none()
    if connection is None:
        # no status copied from the integration: a link without credentials of its own shows the firm's (hub.health)
        connection = ClientConnection(client_id=client_id, integration_id=integration.id, linked_at=utcnow())
        db.session.add(connection)
    previous = connection.vendor_client_id
    if vendor_client_id != previous:
        connection.linked_at = utcnow()
    connection.vendor_client_id = vendor_client_id
    connection.vendor_client_name = vendor_client_name
    connection.vendor_client_reg_code = vendor_client_reg_code
    db.session.commit()
    audit.record(integration.firm_id, "client.linked", connection, user=user, actor=actor,
                 details={"vendor_client_id": vendor_client_id, "previous": previous,
                          "warnings": link_warnings(connection)})
    return connection


def link_warnings(connection: ClientConnection) -> list[str]:
    """Why the linked vendor record may be another company than the hub client (empty: nothing disagrees)."""
    client = db.session.get(Client, connection.client_id)
    if client is None or not connection.vendor_client_id:
        return []
    return clients.mismatches(client, name=connection.vendor_client_name, reg_code=connection.vendor_client_reg_code)


def unlink_client(connection: ClientConnection, *, user: User | None = None, actor: str | None = None) -> dict:
    """End a client's link (a client that left): syncing stops, history stays — summary tasks, exported
    invoices and finished runs are kept (runs keep the client's id in their params). Refused only while a
    job for the link is running. The client's own credentials and its account's catalog are deleted;
    invoices booked in that account keep their record but are no longer asked about (no credentials)."""
    running = SyncRun.query.filter(SyncRun.client_connection_id == connection.id,
                                   SyncRun.status.in_(("queued", "running", "retrying"))).count()
    if running:
        raise ConfigError(f"{running} job(s) for this link are still running.",
                          hint="Try again when they have finished.")
    integration = connection.integration
    details = {"vendor": integration.vendor, "vendor_client_id": connection.vendor_client_id,
               "vendor_client_name": connection.vendor_client_name,
               "own_credentials_deleted": connection.has_credentials}
    for run in SyncRun.query.filter_by(client_connection_id=connection.id):
        run.params = {**(run.params or {}), "client_id": connection.client_id}
        run.client_connection_id = None
    InvoiceExport.query.filter_by(account_connection_id=connection.id).update({"account_connection_id": None})
    CatalogMapping.query.filter_by(client_connection_id=connection.id).delete()
    CatalogItem.query.filter_by(client_connection_id=connection.id).delete()
    MonthlyImport.query.filter_by(client_connection_id=connection.id).delete()
    CredentialDraft.query.filter_by(client_connection_id=connection.id).delete()
    client = db.session.get(Client, connection.client_id)
    db.session.delete(connection)
    db.session.commit()
    audit.record(integration.firm_id, "client.unlinked", client, user=user, actor=actor, details=details)
    return details


# -- suggested links (a firm with hundreds of clients) -----------------------------------------
def unlinked_clients(integration: Integration) -> list[Client]:
    """The firm's clients with no link to this integration (no vendor record, no own account)."""
    linked = {c.client_id for c in ClientConnection.query.filter_by(integration_id=integration.id)
              if c.vendor_client_id or c.has_credentials}
    return [c for c in Client.query.filter_by(firm_id=integration.firm_id).order_by(Client.name) if c.id not in linked]


def suggest_links(integration: Integration, *, user: User | None = None, wait: float | None = None,
                  trigger: str = "user") -> SyncRun:
    """Read the vendor's whole client list once (one paged lookup, however many clients the firm has) and
    suggest a record for every unlinked client (:func:`match_clients`); the admin confirms in bulk
    (:func:`link_suggested`)."""
    if not vendor_of(integration).can("client_lookup"):
        raise ConfigError(f"{vendor_of(integration).info.name} has no client list to match against.")
    run = account_run("link_suggestions", firm_account(integration), trigger=trigger, user=user, at_front=True)
    return wait_for(run, wait) if wait else run


def _link_suggestions_action(run: SyncRun) -> dict:
    records = call_vendor(run, "hub_list_clients", query="")
    integration = db.session.get(Integration, run.integration_id)
    taken = {c.vendor_client_id for c in ClientConnection.query.filter_by(integration_id=integration.id)
             if c.vendor_client_id}
    pending = unlinked_clients(integration)
    suggestions = match_clients(pending, [r for r in records if r.id not in taken])
    matched = {s["client_id"] for s in suggestions}
    return {"vendor_records": len(records), "clients": len(pending), "suggestions": suggestions,
            "unmatched_client_ids": [c.id for c in pending if c.id not in matched]}


def match_clients(hub_clients: list[Client], records: list[Any]) -> list[dict[str, Any]]:
    """For each hub client the one vendor record with the same registration code, else the same VAT number,
    else the same normalised name. A key that fits several records, or a record that fits several clients,
    is no suggestion (the admin links those by hand)."""
    by_reg: dict[str, list] = {}
    by_vat: dict[str, list] = {}
    by_name: dict[str, list] = {}
    for record in records:
        if (code := clients.normalise_code(record.reg_code)):
            by_reg.setdefault(code, []).append(record)
        for key in clients.vat_keys(record.vat_no):
            by_vat.setdefault(key, []).append(record)
        if (name := clients.normalise_name(record.name)):
            by_name.setdefault(name, []).append(record)
    picks: list[dict[str, Any]] = []
    for client in hub_clients:
        for match, found in (("reg_code", by_reg.get(clients.normalise_code(client.reg_code)) or []),
                             ("vat_no", [r for k in clients.vat_keys(client.vat_no) for r in by_vat.get(k, [])]),
                             ("name", by_name.get(clients.normalise_name(client.name)) or [])):
            unique = {r.id: r for r in found}
            if len(unique) == 1:
                [record] = unique.values()
                picks.append({"client_id": client.id, "client_name": client.name, "match": match,
                              "vendor_client_id": record.id, "vendor_client_name": record.name,
                              "vendor_client_reg_code": record.reg_code,
                              "warnings": clients.mismatches(client, name=record.name, reg_code=record.reg_code)})
                break
            if unique:
                break  # ambiguous on the strongest key: do not fall back to a weaker one
    counts: dict[str, int] = {}
    for pick in picks:
        counts[pick["vendor_client_id"]] = counts.get(pick["vendor_client_id"], 0) + 1
    return [p for p in picks if counts[p["vendor_client_id"]] == 1]


def link_suggested(integration: Integration, run: SyncRun, client_ids: list[int], *, user: User | None = None,
                   actor: str | None = None) -> list[ClientConnection]:
    """Confirm suggestions of ``run`` (a finished :func:`suggest_links`) for ``client_ids`` in one go.
    Raises ``ConfigError`` naming clients without a suggestion; a client linked meanwhile is left as it is."""
    if run.kind != "link_suggestions" or run.integration_id != integration.id or run.status != "succeeded":
        raise ConfigError("These suggestions are not ready.", hint="Find suggested matches again.")
    by_client = {s["client_id"]: s for s in (run.result or {}).get("suggestions", [])}
    unknown = [cid for cid in client_ids if cid not in by_client]
    if unknown:
        raise ConfigError(f"No suggestion for client(s) {', '.join(map(str, unknown))}.",
                          hint="Link those clients one by one on their Integration page.")
    pending = {c.id for c in unlinked_clients(integration)}
    linked = []
    for cid in client_ids:
        if cid not in pending:
            continue
        pick = by_client[cid]
        linked.append(link_client(None, client_id=cid, integration=integration,
                                  vendor_client_id=pick["vendor_client_id"],
                                  vendor_client_name=pick["vendor_client_name"],
                                  vendor_client_reg_code=pick["vendor_client_reg_code"], user=user, actor=actor))
    return linked


register(Kind("link_suggestions", _link_suggestions_action, on_attention=record_failure))
