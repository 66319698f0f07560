"""Invoices out, exactly once: the invoice, the outbox and the export job.

State machine of an export (one ``InvoiceExport`` row per invoice × integration)::

    pending --attempt starts--> uncertain --vendor answered--> sent --read back by hub_find_invoice--> confirmed
                                    |  \\--vendor refused (VendorRejected / AuthError / ConfigError)--> failed
                                    |                                                     \\--> booked_with_differences
                                    \\--timeout, crash, 5xx: stays uncertain; the next attempt asks the vendor first

* The row is marked ``uncertain`` and committed **before** the vendor is called, so a crash between the
  vendor accepting and the hub recording leaves a trace; every later attempt calls ``hub_find_invoice``
  first and records what it finds instead of creating the invoice again.
* Every attempt is a run of the job layer (kind ``export``, subject ``export:<id>``): at most one run per export
  is live at a time, on any number of workers (the job layer's one claim; no lease of our own). A retry asked
  for while one is live joins it; a worker killed with ``kill -9`` is settled by the job layer, which runs the
  attempt again (it asks the vendor first). A run ends ``succeeded`` only when the invoice is in the vendor's
  system (:data:`IN_VENDOR`: ``sent``, ``confirmed`` or ``booked_with_differences``).
* **Read-back** (``hub.readback``): once the vendor has the invoice, ``hub_find_invoice`` reads it back and what
  it booked (``ExportReceipt.booked``) is compared with what was issued, to the cent. Equal → ``confirmed``;
  different → ``booked_with_differences``, each difference stored in words (``differences``), one notification and
  the ``export.mismatch`` event. A plugin that reports no booked figures → ``confirmed`` with ``booked`` NULL, shown
  "Confirmed (totals not verified)". A read-back that fails transiently leaves the row ``sent``; the job layer
  retries the run, which only asks.
* **Totals** are computed the way the vendor the invoice goes to books them (``VendorInfo.vat_rounding`` of the
  first of :func:`export_targets`): when the draft is created, and again when it is issued (the client's route may
  have changed since); the rule is stored on the invoice (``vat_rounding``). An invoice exported to two vendors
  with different rules is totalled with the first one's: the other's read-back may then show differences.
* Before anything is sent, every line's VAT rate (and product, where the vendor has products) must map
  to the vendor's own code (``hub.catalog``); a missing mapping fails the export with what to map.
* ``pending``/``uncertain`` exports with no live run (the job layer gave up retrying a vendor that stayed
  away) are asked again by the ``exports`` dispatcher every :data:`RETRY_UNCERTAIN_AFTER`.
* **Which books**: an export goes to the vendor account of the invoice's client — the client's own account
  when its connection has credentials, else the firm's (``hub.vendor_accounts.account_for``; the run records the
  client and its connection). The account is pinned on the row at the first attempt (``account``,
  ``account_connection_id``): find-invoice, retries and paid status ask that account and no other; if a
  client's own account is unlinked, they stop instead of asking the firm's. VAT and product codes come from
  that account's catalog.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from hub import audit, catalog, readback, redaction, webhooks
from hub import types as t
from hub.errors import ConfigError, HubError, NotDone, UnexpectedError, VendorRejected
from hub.health import record_failure
from hub.jobs import Kind, live_run, own_redis_failed, register
from hub.models import (
    Client,
    ClientConnection,
    Integration,
    Invoice,
    InvoiceExport,
    InvoiceLine,
    SyncRun,
    User,
    db,
    utcnow,
)
from hub.notify import notify
from hub.schedule import dispatcher
from hub.services import services
from hub.vendor_accounts import VendorAccount, account_for, account_run, call_vendor, pin, run_account, vendor_of

log = logging.getLogger("hub.exports")
RETRY_UNCERTAIN_AFTER = dt.timedelta(minutes=15)


#: Export states in which the vendor has the invoice (nothing is ever sent again).
IN_VENDOR = ("sent", "confirmed", "booked_with_differences")
#: Export states after the read-back (final).
READ_BACK = ("confirmed", "booked_with_differences")
money = readback.money


# -- invoices ----------------------------------------------------------------------------------
def vat_rounding(invoice: Invoice) -> str:
    """The VAT rounding rule of the vendor the invoice is exported to (the first of :func:`export_targets`;
    ``"rate"`` when none receives it yet)."""
    first = next(iter(export_targets(invoice)), None)
    return services().registry.vendors[first.vendor].info.vat_rounding if first is not None else "rate"


def total(invoice: Invoice) -> None:
    """(Re)compute the invoice's totals with the rounding rule of the vendor it goes to (a draft only)."""
    invoice.vat_rounding = vat_rounding(invoice)
    invoice.total_net, invoice.total_vat, invoice.total = readback.totals(invoice.lines, invoice.vat_rounding)


#: The most an amount column holds (``Numeric(14, 2)``): each line's net and the invoice's totals stay within it.
MAX_AMOUNT = Decimal("999999999999.99")


def amount_problem(lines: list[dict[str, Any]]) -> str | None:
    """Why these invoice lines (``quantity``, ``unit_price``, ``vat_rate``) make an amount the hub cannot store, in
    words (``None`` when they do not): a line's net or the invoice's net, VAT or total beyond :data:`MAX_AMOUNT`."""
    rows = [InvoiceLine(quantity=Decimal(str(r["quantity"])), unit_price=Decimal(str(r["unit_price"])),
                        vat_rate=Decimal(str(r["vat_rate"]))) for r in lines]
    amounts = [money(r.quantity * r.unit_price) for r in rows] + list(readback.totals(rows))
    worst = max(amounts, key=abs, default=Decimal(0))
    if abs(worst) <= MAX_AMOUNT:
        return None
    return (f"The amounts come to {worst:,.2f}, beyond the {MAX_AMOUNT:,} a line or an invoice can hold; lower "
            "the quantities or prices, or split the invoice in several.")


def create_invoice(firm_id: int, client_id: int, *, number: str, issue_date: dt.date, due_date: dt.date,
                   currency: str = "EUR", lines: list[dict[str, Any]], notes: str = "",
                   user: User | None = None) -> Invoice:
    """A draft invoice with its lines; totals computed with ``Decimal``."""
    client = db.session.get(Client, client_id)
    if client is None or client.firm_id != firm_id:
        raise ConfigError("No such client.")
    if not lines:
        raise VendorRejected("An invoice needs at least one line.", field_messages={"lines": ["Add a line."]})
    if due_date < issue_date:
        raise VendorRejected("The due date is before the issue date.",
                             field_messages={"due_date": ["Must be on or after the issue date."]})
    if (too_big := amount_problem(lines)) is not None:
        raise VendorRejected(too_big, field_messages={"lines": [too_big]})
    invoice = Invoice(firm_id=firm_id, client_id=client_id, number=number.strip(), issue_date=issue_date,
                      due_date=due_date, currency=currency.upper(), notes=notes, status="draft")
    for i, line in enumerate(lines):
        invoice.lines.append(InvoiceLine(
            position=i, description=line["description"], product_code=line.get("product_code") or None,
            quantity=Decimal(str(line["quantity"])), unit_price=Decimal(str(line["unit_price"])),
            vat_rate=Decimal(str(line["vat_rate"]))))
    total(invoice)
    db.session.add(invoice)
    db.session.commit()
    audit.record(firm_id, "invoice.created", invoice, user=user, details={"number": invoice.number})
    return invoice


def export_targets(invoice: Invoice) -> list[Integration]:
    """The integrations an issued invoice goes to: enabled ones whose vendor can export and that either
    the client is connected to, or the firm keeps its own books in (``settings["export_invoices"]``)."""
    linked = {c.integration_id for c in ClientConnection.query.filter_by(client_id=invoice.client_id)}
    registry = services().registry
    return [i for i in Integration.query.filter_by(firm_id=invoice.firm_id, enabled=True).order_by(Integration.id)
            if i.vendor in registry.vendors and registry.vendors[i.vendor].can("invoice_export")
            and (i.id in linked or (i.settings or {}).get("export_invoices"))]


def set_export_invoices(integration: Integration, enabled: bool, *, user: User | None = None) -> None:
    """Export every issued invoice of the firm to this integration (the firm's own books), linked or not."""
    if enabled and not vendor_of(integration).can("invoice_export"):
        raise ConfigError(f"{vendor_of(integration).info.name} cannot receive invoices.")
    integration.settings = {**(integration.settings or {}), "export_invoices": bool(enabled)}
    db.session.commit()
    audit.record(integration.firm_id, "integration.export_invoices", integration, user=user,
                 details={"enabled": bool(enabled)})


def issue_invoice(invoice: Invoice, *, user: User | None = None) -> list[InvoiceExport]:
    """Issue the invoice and enqueue one export per target integration (idempotent: an invoice is
    exported once per integration however often this is called). A draft is totalled again first, with the rule
    of the vendor it goes to now."""
    if invoice.status == "draft":
        total(invoice)
    invoice.status = "issued"
    db.session.commit()
    exports = []
    for integration in export_targets(invoice):
        export = InvoiceExport.query.filter_by(invoice_id=invoice.id, integration_id=integration.id).one_or_none()
        if export is None:
            export = InvoiceExport(invoice_id=invoice.id, integration_id=integration.id, status="pending",
                                   reference=f"HUB-{invoice.id}-{integration.id}")
            db.session.add(export)
            db.session.commit()
            _enqueue(export, user=user)
        exports.append(export)
    audit.record(invoice.firm_id, "invoice.issued", invoice, user=user,
                 details={"exports": [e.id for e in exports]})
    return exports


def retry_export(export: InvoiceExport, *, user: User | None = None) -> SyncRun:
    """Try again after the cause was fixed (a failed, pending or uncertain export; sent/confirmed are done).
    While an attempt is live (queued, running or waiting to retry) no second one starts: that run is returned
    (its id is the one already shown), and the caller can say so."""
    if export.status in IN_VENDOR:
        raise ConfigError("This invoice is already in the vendor's system.")
    live = live_attempt(export)
    if live is not None:
        return live
    run = _enqueue(export, user=user)
    audit.record(export.invoice.firm_id, "export.retried", export, user=user, details={"run_id": run.id})
    return run


def live_attempt(export: InvoiceExport) -> SyncRun | None:
    """The export's attempt that is queued, running or waiting to retry, if there is one."""
    return live_run("export", subject(export))


def subject(export: InvoiceExport) -> str:
    """The unit of work of an export's runs (at most one live run per export: :func:`hub.jobs.start_run`)."""
    return f"export:{export.id}"


def export_account(export: InvoiceExport) -> VendorAccount:
    """The vendor account of an export: the one pinned on the row, else where its client's calls go."""
    integration = db.session.get(Integration, export.integration_id)
    if export.account == "client":
        connection = db.session.get(ClientConnection, export.account_connection_id) \
            if export.account_connection_id else None
        if connection is None or not connection.has_credentials:
            raise ConfigError(f"Invoice {export.invoice.number} was sent to the client's own account, which is no "
                              "longer connected.", hint="Connect the client's own account again; nothing is sent "
                                                        "to the firm's account instead.")
        return account_for(integration, connection=connection)
    return pin(account_for(integration, client_id=export.invoice.client_id), export.account)


def _enqueue(export: InvoiceExport, *, user: User | None = None, trigger: str = "user") -> SyncRun:
    account = export_account(export)
    params = {"export_id": export.id, **({"account": export.account} if export.account else {})}
    return account_run("export", account, trigger=trigger, user=user, params=params, subject=subject(export))


# -- the export job ----------------------------------------------------------------------------
def contract_invoice(invoice: Invoice, export: InvoiceExport, account: VendorAccount) -> t.Invoice:
    """The invoice as the plugin contract carries it, with the product and tax codes of the vendor account it
    goes to. Raises ``NotDone`` naming what to map when a code is missing."""
    integration = account.integration
    vendor = vendor_of(integration)
    client = invoice.client
    lines, missing = [], []
    for line in invoice.lines:
        tax_id = catalog.vendor_code(account, "tax_rate", line.vat_rate) if vendor.can("tax_rates") else None
        if vendor.can("tax_rates") and tax_id is None:
            missing.append(f"VAT {catalog.rate_key(line.vat_rate)} %")
        product = line.product_code
        if product and vendor.can("products"):
            product = catalog.vendor_code(account, "product", product)
            if product is None:
                missing.append(f"product {line.product_code}")
        lines.append(t.InvoiceLine(description=line.description, quantity=Decimal(line.quantity),
                                   unit_price=Decimal(line.unit_price), vat_rate=Decimal(line.vat_rate),
                                   product_code=product, tax_id=tax_id))
    if missing:
        where = (f"the client's own {vendor.info.name} account ({account.owner.account_name or client.name})"
                 if account.own else vendor.info.name)
        if account.own:
            hint = (f"Open {client.name}'s Integration page ({vendor.info.name} section \"Products and tax rates of "
                    "its own account\"), refresh them and set the mapping; then retry the export.")
        else:
            hint = (f"Open Settings & Apps → {vendor.info.name} → Invoices, refresh the products and tax rates and "
                    "set the mapping; then retry the export.")
        raise NotDone(f"Map {', '.join(sorted(set(missing)))} to {where}'s codes before exporting.", hint=hint,
                      link=mapping_link(account))
    address = None
    if any((client.address_street, client.address_city, client.address_postal_code, client.address_country)):
        address = t.Address(street=client.address_street, city=client.address_city,
                            postal_code=client.address_postal_code, country=client.address_country)
    party = t.InvoiceParty(name=client.name, reg_code=client.reg_code, vat_no=client.vat_no, email=client.email,
                           address=address, vendor_client_id=account.client_ref,
                           private_person=client.customer_type == "private")
    return t.Invoice(reference=export.reference, number=invoice.number, client=party, issue_date=invoice.issue_date,
                     due_date=invoice.due_date, currency=invoice.currency, lines=tuple(lines),
                     total_net=Decimal(invoice.total_net), total_vat=Decimal(invoice.total_vat),
                     total=Decimal(invoice.total), notes=invoice.notes)


def mapping_link(account: VendorAccount) -> str:
    """Where the account's products and tax rates are mapped: the client's Integration page for a client's own
    account, else the integration's Invoices tab (Settings & Apps)."""
    slug = account.integration.vendor
    if account.own:
        return f"/clients/{account.connection.client_id}/integration?vendor={slug}#catalog"
    return f"/settings/apps/{slug}/invoices"


def _record(export: InvoiceExport, receipt: t.ExportReceipt, status: str) -> None:
    export.status = status
    export.vendor_invoice_id = receipt.vendor_invoice_id
    export.vendor_number = receipt.number or export.vendor_number
    export.last_error = None
    export.updated_at = utcnow()
    db.session.commit()


def _read_back(export: InvoiceExport, found: t.ExportReceipt, invoice: t.Invoice) -> None:
    """Record what ``hub_find_invoice`` found: compared with what was issued (``hub.readback``), ``confirmed`` or
    ``booked_with_differences`` (notification and ``export.mismatch``); ``confirmed`` without ``booked`` when the
    plugin reports no figures."""
    differences: list[dict[str, Any]] | None = None
    if found.booked is not None:
        issued = readback.issued_from(invoice, export.invoice.vat_rounding or "rate")
        differences = [d.as_dict() for d in readback.compare(issued, found.booked)]
    export.booked = readback.booked_as_dict(found.booked) if found.booked is not None else None
    export.differences = differences or None
    mismatch = readback.mismatched(differences)
    _record(export, found, "booked_with_differences" if mismatch else "confirmed")
    if not mismatch:
        webhooks.export_confirmed(export)
        return
    integration = db.session.get(Integration, export.integration_id)
    name = vendor_of(integration).info.name
    notify(integration.firm_id, f"Invoice {export.invoice.number} was booked in {name} with differences",
           level="error", link=f"/clients/{export.invoice.client_id}#invoices",
           body="; ".join(d["text"] for d in differences or () if not d.get("accepted")) + ". Correct it in "
           f"{name} (or credit it and issue it again); the hub does not send it again.")
    webhooks.export_mismatch(export)


def state_label(export: InvoiceExport) -> str:
    """The export's state in words, derived from what was recorded (``booked``: were totals read back?)."""
    if export.status == "confirmed":
        if export.booked is None:
            return "Confirmed (totals not verified)"
        if export.differences:  # only an accepted rounding line is kept on a confirmed export
            return "Confirmed (with the vendor's rounding line)"
        return "Confirmed"
    return STATE_LABELS.get(export.status, export.status.capitalize())


STATE_LABELS = {"pending": "Waiting to be exported", "uncertain": "Not yet confirmed", "sent": "Sent",
                "booked_with_differences": "Booked with differences", "failed": "Failed"}


def _confirm(run: SyncRun, export: InvoiceExport, account: VendorAccount, invoice: t.Invoice | None = None) -> None:
    """Ask the vendor for a sent invoice (``hub_find_invoice``) and record the read-back (:func:`_read_back`).

    The vendor has the invoice, so a failed confirmation leaves the row ``sent``, never ``failed``, and nothing
    is sent again. A transient failure (timeout, 5xx, 429, the hub's own Redis away) is raised: the job layer
    retries the run, and the retry only asks (the ``sent`` branch of the action). A permanent one is logged.
    """
    if invoice is None:
        invoice = contract_invoice(export.invoice, export, account)
    try:
        found = call_vendor(run, "hub_find_invoice", account=account, invoice=invoice)
    except HubError as exc:
        if exc.retryable or own_redis_failed(exc):
            raise
        log.warning("export %s sent but not confirmed: %s", export.id, exc)
        return
    if found is not None:
        _read_back(export, found, invoice)


def _export_action(run: SyncRun) -> dict:
    """One attempt. The job layer runs at most one attempt per export at a time (the run's subject), so no lock."""
    export = db.session.get(InvoiceExport, run.params["export_id"])
    try:
        if export.status in READ_BACK:
            return {"export_id": export.id, "status": export.status, "vendor_invoice_id": export.vendor_invoice_id}
        if export.status == "sent":  # a retry after the vendor took it: only ask whether it is there, never send
            _confirm(run, export, export_account(export))
            return {"export_id": export.id, "status": export.status, "vendor_invoice_id": export.vendor_invoice_id}
        account = run_account(run)  # the client's own account, else the firm's; pinned after the first attempt
        if export.account:
            account = export_account(export)
        invoice = contract_invoice(export.invoice, export, account)  # nothing is sent without the mapping
        if export.status != "pending":  # an earlier attempt may have reached the vendor: ask first
            found = call_vendor(run, "hub_find_invoice", account=account, invoice=invoice)
            if found is not None:
                _read_back(export, found, invoice)
                return {"export_id": export.id, "status": export.status, "found_before_retry": True,
                        "vendor_invoice_id": found.vendor_invoice_id}
        export.status, export.attempts, export.updated_at = "uncertain", export.attempts + 1, utcnow()
        export.account = account.kind  # from now on this export lives in this account
        export.account_connection_id = account.connection.id if account.own else None
        run.params = {**run.params, "account": account.kind}
        db.session.commit()
        receipt = call_vendor(run, "hub_export_invoice", account=account, invoice=invoice)
        _record(export, receipt, "sent")  # already there or new: the vendor has it, now read it back
        _confirm(run, export, account, invoice)
        return {"export_id": export.id, "status": export.status, "vendor_invoice_id": export.vendor_invoice_id,
                "vendor_number": export.vendor_number}
    except HubError as exc:
        db.session.rollback()
        export = db.session.get(InvoiceExport, run.params["export_id"])
        export.last_error = redaction.mask_structure(exc.as_dict())
        if not exc.retryable and not isinstance(exc, UnexpectedError) and export.status not in IN_VENDOR:
            export.status = "failed"  # the vendor refused (or we could not even ask): nothing was created
        # retryable or a plugin bug: the vendor may have it, so the row stays "uncertain" and the next attempt
        # (the job layer's retry, or the exports dispatcher) asks the vendor first
        export.updated_at = utcnow()
        db.session.commit()
        raise


def _export_finished(run: SyncRun) -> None:
    """An export run ended failed (the job layer gave up retrying, or the vendor refused): tell the admin, and the
    ``export.failed`` event when nothing reached the vendor."""
    if run.status != "failed":
        return
    export = db.session.get(InvoiceExport, run.params["export_id"])
    integration = db.session.get(Integration, export.integration_id)
    name = vendor_of(integration).info.name
    error = run.error or {}
    messages = "; ".join(f"{k or 'invoice'}: {' '.join(v)}" for k, v in (error.get("field_messages") or {}).items())
    if export.status == "sent":  # the vendor took it; only its confirmation failed
        title = f"Invoice {export.invoice.number} was sent to {name} but {name} did not confirm it yet"
    elif export.status == "uncertain":  # the vendor may have it: the exports dispatcher asks it again later
        title = f"Invoice {export.invoice.number}: not yet confirmed by {name}; the hub will check again"
    else:
        title = f"Invoice {export.invoice.number} was not exported to {name}"
    notify(integration.firm_id, title, level="error", link=f"/clients/{export.invoice.client_id}",
           user_id=run.requested_by_id,
           body=" ".join(dict.fromkeys(filter(None, [error.get("message"), messages, error.get("hint")]))))
    if export.status == "failed":
        webhooks.export_failed(export, run, commit=False)
    db.session.commit()


register(Kind("export", _export_action, queue="exports", on_finish=_export_finished, on_attention=record_failure))


@dispatcher("exports")
def dispatch_exports(now: dt.datetime | None = None) -> int:
    """Ask again about exports left ``pending`` or ``uncertain`` with no live run — the job layer gave up retrying
    a vendor that stayed away, or Redis lost the work: the vendor may have the invoice, so the next attempt asks it
    first. A dead attempt is the job layer's (its reconciler re-runs it), not this dispatcher's."""
    now = (now or dt.datetime.now(dt.UTC)).replace(tzinfo=None)
    cutoff = now - RETRY_UNCERTAIN_AFTER
    count = 0
    for export in InvoiceExport.query.filter(InvoiceExport.status.in_(("pending", "uncertain")),
                                             InvoiceExport.updated_at < cutoff):
        if live_attempt(export) is not None:
            continue
        try:
            _enqueue(export, trigger="schedule")
        except HubError as exc:  # its account is gone (an unlinked own account): say so, ask nobody else
            export.last_error = exc.as_dict()
        export.updated_at = utcnow()
        db.session.commit()
        count += 1
    return count


# -- paid status back --------------------------------------------------------------------------
def _open_exports(account: VendorAccount):  # noqa: ANN202
    """Exported, not yet paid invoices booked in ``account``."""
    query = InvoiceExport.query.filter(InvoiceExport.integration_id == account.integration.id,
                                       InvoiceExport.status.in_(IN_VENDOR), InvoiceExport.paid_on.is_(None))
    if account.own:
        return query.filter(InvoiceExport.account == "client",
                            InvoiceExport.account_connection_id == account.connection.id)
    return query.filter(InvoiceExport.account == "firm")


def fetch_payments(integration: Integration, *, user: User | None = None, trigger: str = "user") -> SyncRun:
    """Paid status back, per vendor account: one run for the firm's account (returned) and one for each
    client's own account with unpaid invoices in it (``result["account_runs"]`` of the firm's run)."""
    own = []
    for connection in ClientConnection.query.filter_by(integration_id=integration.id).order_by(ClientConnection.id):
        account = account_for(integration, connection=connection)
        if account.own and _open_exports(account).count():
            own.append(account_run("payments", account, trigger=trigger, user=user, params={"account": "client"}))
    return account_run("payments", account_for(integration), trigger=trigger, user=user,
                       params={"account_runs": [r.id for r in own]})


def _payments_action(run: SyncRun) -> dict:
    account = run_account(run)
    open_exports = _open_exports(account).all()
    if not open_exports:
        return {"updated": 0, "account": account.kind}
    since = min(e.invoice.issue_date for e in open_exports)
    payments = call_vendor(run, "hub_fetch_payments", account=account, since=since)
    by_id = {e.vendor_invoice_id: e for e in open_exports}
    by_number = {e.vendor_number or e.invoice.number: e for e in open_exports}
    # ``since`` reaches back to the oldest open invoice, so every payment of an open invoice is in the
    # answer: the paid amount is recomputed from them, never accumulated across runs.
    matched: dict[int, list[t.Payment]] = {}
    for payment in payments:
        export = by_id.get(payment.vendor_invoice_id) or by_number.get(payment.invoice_number or "")
        if export is not None:
            matched.setdefault(export.id, []).append(payment)
    for export in open_exports:
        found = matched.get(export.id)
        if not found:
            continue
        export.paid_amount = money(sum((p.paid_amount for p in found), Decimal("0")))
        if any(p.fully_paid for p in found) or export.paid_amount >= money(Decimal(export.invoice.total)):
            export.paid_on = max((p.paid_on for p in found if p.paid_on), default=None) or dt.date.today()
    db.session.commit()
    return {"updated": len(matched), "payments_seen": len(payments), "account": account.kind}


register(Kind("payments", _payments_action, queue="imports", on_attention=record_failure))


@dispatcher("payments")
def dispatch_payments(now: dt.datetime | None = None) -> int:
    """Once a day per integration that reports payments and has unpaid exported invoices (in any of its
    accounts: :func:`fetch_payments` asks each)."""
    registry = services().registry
    day_ago = (now or dt.datetime.now(dt.UTC)).replace(tzinfo=None) - dt.timedelta(days=1)
    count = 0
    for integration in Integration.query.filter_by(enabled=True):
        vendor = registry.vendors.get(integration.vendor)
        if vendor is None or not vendor.can("payments"):
            continue
        recent = SyncRun.query.filter(SyncRun.integration_id == integration.id, SyncRun.kind == "payments",
                                      SyncRun.created_at > day_ago).count()
        unpaid = InvoiceExport.query.filter(InvoiceExport.integration_id == integration.id,
                                            InvoiceExport.status.in_(IN_VENDOR),
                                            InvoiceExport.paid_on.is_(None)).count()
        if unpaid and not recent:
            fetch_payments(integration, trigger="schedule")
            count += 1
    return count
