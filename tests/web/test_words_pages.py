"""Words on the pages that must not mislead: a live export attempt is not offered a retry, and an export's error
shows each distinct text once."""

import datetime as dt
import html

from tests.web.test_pages import configure_and_link, sandbox  # noqa: F401  (a fixture)


def failed_export(owner, run_jobs, in_app) -> tuple[int, int]:
    """An invoice whose export failed (its VAT rate is not mapped): (client id, export id)."""
    from hub import exports
    from hub.models import Integration, InvoiceExport

    client_id = configure_and_link(owner, run_jobs, in_app)
    with in_app():
        invoice = exports.create_invoice(
            Integration.query.one().firm_id, client_id, number="2026-001", issue_date=dt.date(2026, 11, 1),
            due_date=dt.date(2026, 11, 15), lines=[{"description": "Bookkeeping", "quantity": 1,
                                                    "unit_price": "100", "vat_rate": "24"}])
        exports.issue_invoice(invoice)
    run_jobs()
    with in_app():
        export = InvoiceExport.query.one()
        assert export.status == "failed"
        return client_id, export.id


def test_a_live_export_attempt_says_so_and_offers_no_retry(owner, sandbox, run_jobs, in_app):
    from hub import exports
    from hub.models import InvoiceExport, SyncRun, db

    client_id, export_id = failed_export(owner, run_jobs, in_app)
    assert "Retry export" in owner.text(f"/clients/{client_id}")
    with in_app():
        run = exports.retry_export(db.session.get(InvoiceExport, export_id))  # queued, not run yet
        run_id = run.id
    page = html.unescape(owner.text(f"/clients/{client_id}"))
    assert "Exporting…" in page and "Retry export" not in page and "Failed" not in page.split("2026-001", 1)[1]
    assert "Exporting…" in html.unescape(owner.text("/history"))
    with in_app():
        run = db.session.get(SyncRun, run_id)
        run.status, run.next_attempt_at = "retrying", dt.datetime(2026, 12, 7, 16, 5)
        db.session.commit()
    page = html.unescape(owner.text(f"/clients/{client_id}"))
    assert "Waiting to retry at 2026-12-07 16:05 UTC" in page and "Retry export" not in page
    run_jobs()
    page = html.unescape(owner.text(f"/clients/{client_id}"))
    assert "Exporting…" not in page and "Waiting to retry" not in page and "Retry export" in page


def test_an_export_error_shows_each_distinct_text_once(owner, sandbox, run_jobs, in_app):
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
