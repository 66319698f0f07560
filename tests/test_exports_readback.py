"""Booked as issued: after the vendor accepts an invoice the export reads it back and compares it with what was issued
("Confirmed", "Booked with differences", "Confirmed (totals not verified)"); totals follow the vendor's VAT rounding."""

import dataclasses
from decimal import Decimal

import pytest

from hub import exports, webhooks
from hub.errors import ConfigError
from hub.models import Notification, SyncRun
from hub.services import services
from tests.test_exports import line, new_invoice, ready_to_export


@pytest.fixture
def exporter(example_integration, firm, hub_db, run_jobs, serve):
    from hub_example import sandbox

    app = sandbox.create_app()
    return ready_to_export(example_integration, firm, hub_db, run_jobs, serve(app)) | {"app": app}


@pytest.fixture
def events(monkeypatch):
    """The webhook events emitted, as (type, data)."""
    seen = []
    real = webhooks.emit

    def emit(firm_id, event_type, data, **kwargs):
        seen.append((event_type, data))
        return real(firm_id, event_type, data, **kwargs)

    monkeypatch.setattr(webhooks, "emit", emit)
    return seen


def export_of(exporter, run_jobs, hub_db, **kwargs):
    invoice = new_invoice(exporter, **kwargs)
    [export] = exports.issue_invoice(invoice)
    run_jobs()
    hub_db.session.refresh(export)
    return export


def test_booked_as_issued_is_confirmed(exporter, run_jobs, hub_db, events):
    lines = [line("Small", "1", "0.10", "24") for _ in range(7)] + [line("Exempt", "2", "10.004", "0"),
                                                                    line("Reduced", "3", "33.333", "9")]
    export = export_of(exporter, run_jobs, hub_db, lines=lines)
    assert export.status == "confirmed" and exports.state_label(export) == "Confirmed"
    assert export.booked["total"] == str(export.invoice.total) and export.differences is None
    assert [e for e, _ in events] == ["export.confirmed"]
    assert not Notification.query.count()


def test_booked_differently_lists_each_difference_notifies_and_emits(exporter, run_jobs, hub_db, events):
    exporter["app"].config["book_rates"] = {"T0": "24"}  # the vendor books its own VAT for the code
    export = export_of(exporter, run_jobs, hub_db, lines=[line("Exempt", "1", "400.00", "0")])
    assert export.status == "booked_with_differences"
    assert exports.state_label(export) == "Booked with differences"
    texts = [d["text"] for d in export.differences]
    assert "VAT at 24 %: issued 0.00, booked 96.00" in texts
    assert "Total (gross): issued 400.00, booked 496.00" in texts
    run = SyncRun.query.filter_by(kind="export").one()
    assert run.status == "succeeded", "the vendor has the invoice: the run did its work"
    [note] = Notification.query.all()
    assert "booked in Example Books with differences" in note.title and "booked 96.00" in note.body
    [(event, data)] = [(e, d) for e, d in events if e == "export.mismatch"]
    assert data["status"] == "booked_with_differences" and data["differences"] == export.differences
    assert "export.confirmed" not in [e for e, _ in events]
    with pytest.raises(ConfigError, match="already in the vendor's system"):
        exports.retry_export(export)
    run_jobs()
    assert len(exporter["app"].config["invoices"]) == 1, "never sent twice"


def test_a_plugin_that_reports_no_booked_figures_is_confirmed_unverified(exporter, run_jobs, hub_db):
    exporter["app"].config["report_booked"] = False
    export = export_of(exporter, run_jobs, hub_db)
    assert export.status == "confirmed" and export.booked is None
    assert exports.state_label(export) == "Confirmed (totals not verified)"


def test_find_before_retry_reads_back_too(exporter, run_jobs, hub_db):
    """An attempt that reached the vendor and was lost is found by the next attempt, which reads it back."""
    invoice = new_invoice(exporter)
    [export] = exports.issue_invoice(invoice)
    export.status = "uncertain"  # as after a crash once the vendor had it
    hub_db.session.commit()
    exporter["app"].config["invoices"].append({
        "reference": export.reference, "number": invoice.number, "customer": invoice.client.name, "id": 1,
        "company": "acme", "lines": [{"qty": "1", "price": "100.00", "tax": "T24"}]})  # one line of two
    run_jobs()
    hub_db.session.refresh(export)
    assert export.status == "booked_with_differences" and len(exporter["app"].config["invoices"]) == 1
    assert "Lines: issued 2, booked 1" in [d["text"] for d in export.differences]


def test_totals_follow_the_vendors_rounding_rule_when_issued(exporter, run_jobs, hub_db, monkeypatch):
    vendor = services().registry.vendors["example"]
    three = [line("Small", "1", "0.10", "22") for _ in range(3)]
    invoice = new_invoice(exporter, lines=three)
    assert (invoice.vat_rounding, invoice.total_vat) == ("rate", Decimal("0.07"))
    monkeypatch.setattr(vendor, "info", dataclasses.replace(vendor.info, vat_rounding="line"))
    exports.issue_invoice(invoice)  # a draft is totalled again, with the rule of the vendor it goes to now
    assert (invoice.vat_rounding, invoice.total_vat, invoice.total) == ("line", Decimal("0.06"), Decimal("0.36"))
