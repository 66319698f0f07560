"""Words on the pages that must not mislead: a live export attempt is not offered a retry, and an export's error
shows each distinct text once."""

import datetime as dt
import html

import pytest

from tests.web.test_pages import configure_and_link, sandbox  # noqa: F401  (a fixture, used by name)
from tests.web.test_readback_pages import issue


def failed_export(owner, run_jobs, in_app) -> tuple[int, int]:
    """An invoice whose export failed (its VAT rate is not mapped): (client id, export id)."""
    from hub.models import InvoiceExport

    client_id = configure_and_link(owner, run_jobs, in_app)
    issue(in_app, client_id, "2026-001", [("Bookkeeping", 1, "100", "24")])
    run_jobs()
    with in_app():
        export = InvoiceExport.query.one()
        assert export.status == "failed"
        return client_id, export.id


@pytest.mark.usefixtures("sandbox")
def test_a_live_export_attempt_says_so_and_offers_no_retry(owner, run_jobs, in_app):
    from hub import exports
    from hub.models import InvoiceExport, SyncRun, db

    client_id, export_id = failed_export(owner, run_jobs, in_app)
    assert "Retry export" in owner.text(f"/clients/{client_id}")
    with in_app():
        run = exports.retry_export(db.session.get(InvoiceExport, export_id))  # queued, not run yet
        run_id = run.id
    page = html.unescape(owner.text(f"/clients/{client_id}"))
    assert "Waiting to be exported" in page and "Retry export" not in page
    assert "Failed" not in page.split("2026-001", 1)[1]
    with in_app():
        run = db.session.get(SyncRun, run_id)
        run.status = "running"  # as a worker has it
        db.session.commit()
    page = html.unescape(owner.text(f"/clients/{client_id}"))
    assert "Exporting…" in page and "Retry export" not in page
    assert "Exporting…" in html.unescape(owner.text("/history"))
    with in_app():
        run = db.session.get(SyncRun, run_id)
        run.status, run.next_attempt_at = "retrying", dt.datetime(2026, 12, 7, 16, 5)
        db.session.commit()
    page = html.unescape(owner.text(f"/clients/{client_id}"))
    assert "Waiting to retry at 2026-12-07 16:05 UTC" in page and "Retry export" not in page
    run_jobs()
    page = html.unescape(owner.text(f"/clients/{client_id}"))
    assert "Exporting…" not in page and "Waiting to" not in page and "Retry export" in page


@pytest.mark.usefixtures("sandbox")
def test_an_export_error_shows_each_distinct_text_once(owner, run_jobs, in_app):
    from hub.models import InvoiceExport, db

    client_id, export_id = failed_export(owner, run_jobs, in_app)
    said = "Directo refused the invoice: the customer is unknown."
    with in_app():
        export = db.session.get(InvoiceExport, export_id)
        export.last_error = {"kind": "rejected", "message": said, "hint": said,
                             "field_messages": {"": [said], "customer": [said, "Directo says: no such customer"]}}
        db.session.commit()
    for path in (f"/clients/{client_id}", "/history"):
        page = html.unescape(owner.text(path))
        assert page.count(said) == 1, path
        assert "customer: Directo says: no such customer" in page, path


@pytest.mark.usefixtures("sandbox")
def test_an_automatic_tax_rate_is_named_and_one_save_is_one_audit_entry_naming_the_changes(
        owner, run_jobs, in_app):
    from hub.models import AuditEvent

    failed_export(owner, run_jobs, in_app)  # the firm's invoices use VAT 24 %
    owner.post("/settings/apps/example/invoices", {"what": "refresh", "kind": "tax_rate"})
    run_jobs()
    tab = html.unescape(owner.text("/settings/apps/example/invoices"))
    assert "automatic: 24% · Standard (24 %)" in tab and "automatic: T24" not in tab
    with in_app():
        before = AuditEvent.query.filter_by(action="catalog.mapped").count()
    owner.post("/settings/apps/example/invoices", {"what": "mapping", "kind": "tax_rate", "key": "24",
                                                   "code_24": "T24", "new_key": "9", "new_code": "T9"})
    with in_app():
        events = AuditEvent.query.filter_by(action="catalog.mapped").order_by(AuditEvent.id).all()[before:]
        assert len(events) == 1
        assert events[0].details["changes"] == ("VAT 24 %: not mapped → Example Books 24% · Standard (24 %); "
                                                "VAT 9 %: not mapped → Example Books 9% · Reduced (9 %)")
    owner.post("/settings/apps/example/invoices", {"what": "mapping", "kind": "tax_rate", "key": ["24", "9"],
                                                   "code_24": "T24", "code_9": "T0"})
    with in_app():
        events = AuditEvent.query.filter_by(action="catalog.mapped").order_by(AuditEvent.id).all()[before:]
        assert len(events) == 2, "the unchanged 24 % is not recorded again"
        assert events[1].details["changes"] == ("VAT 9 %: Example Books 9% · Reduced (9 %) → "
                                                "Example Books 0% · Exempt (0 %)")
    trail = html.unescape(owner.text("/settings/audit"))
    assert "VAT 9 %: Example Books 9% · Reduced (9 %) → Example Books 0% · Exempt (0 %)" in trail
