"""Booked as issued on the pages: the export's state and differences in words, a missing mapping that links to the
page where it is mapped (a client's own account: its Integration page), and a run waiting for a vendor's quota."""

import datetime as dt
import html
import re

from tests.web.test_pages import configure_and_link, map_tax_rates


def issue(in_app, client_id, number, lines):
    from hub import exports
    from hub.models import Client

    with in_app():
        client = Client.query.filter_by(id=client_id).one()
        invoice = exports.create_invoice(client.firm_id, client_id, number=number, issue_date=dt.date(2026, 11, 1),
                                         due_date=dt.date(2026, 11, 15),
                                         lines=[{"description": d, "quantity": q, "unit_price": p, "vat_rate": r}
                                                for d, q, p, r in lines])
        exports.issue_invoice(invoice)


def test_booked_with_differences_and_confirmed_on_the_client_page(owner, serve, monkeypatch, hub_app, run_jobs,
                                                                   in_app):
    from hub_example import sandbox as example

    app = example.create_app()
    app.config["book_rates"] = {"T9": "24"}
    monkeypatch.setenv("HUB_EXAMPLE_ORIGIN", serve(app))
    monkeypatch.setitem(hub_app.config, "HUB_TEST_CONNECTION_WAIT", 0)
    client_id = configure_and_link(owner, run_jobs, in_app)
    map_tax_rates(owner, run_jobs)
    issue(in_app, client_id, "2026-101", [("Bookkeeping", "1", "100", "24")])
    issue(in_app, client_id, "2026-102", [("Books", "1", "100", "9")])
    run_jobs()
    page = html.unescape(owner.text(f"/clients/{client_id}"))
    second, first = page.split("2026-102", 1)[1].split("2026-101", 1)  # newest first
    assert "Confirmed" in first and "Booked with differences" not in first
    assert "Booked with differences" in second and "VAT at 24 %: issued 0.00, booked 24.00" in second
    assert "Retry export" not in second, "the vendor has it: nothing is sent again"
    history = html.unescape(owner.text("/history"))
    assert "Booked with differences" in history and "Total VAT: issued 9.00, booked 24.00" in history
    notes = html.unescape(owner.text("/notifications"))
    assert "Invoice 2026-102 was booked in Example Books with differences" in notes


def test_a_clients_own_account_is_mapped_on_its_integration_page_then_the_export_goes_through(
        owner, serve, monkeypatch, hub_app, run_jobs, in_app):
    from hub_merit import sandbox as merit

    from hub import connections, linking
    from hub.models import CatalogItem, Client, InvoiceExport

    monkeypatch.setenv("HUB_MERIT_ORIGIN", serve(merit.create_app()))
    monkeypatch.setenv("HUB_MERIT_RATE_LIMITS", "off")
    monkeypatch.setitem(hub_app.config, "HUB_TEST_CONNECTION_WAIT", 0)
    owner.post("/settings/apps/merit/enable")
    with in_app() as db:
        client = Client.query.order_by(Client.id).first()
        client_id = client.id
        integration = connections.get_or_create_integration(client.firm_id, "merit")
        connections.save_credentials(integration, dict(merit.DEMO_CREDENTIALS))
        connection = linking.link_client(None, client_id=client.id, integration=integration, vendor_client_id=None)
        connections.save_credentials(integration, dict(merit.DEMO_CLIENT_CREDENTIALS[0]), connection=connection)
        db.session.commit()
    run_jobs()
    # Estonia has two tax rates at 0 % ("0%" and "exempt"): 0 % must be mapped in the client's own company
    issue(in_app, client_id, "2026-201", [("Export service", "2", "200", "0")])
    run_jobs()
    page = html.unescape(owner.text(f"/clients/{client_id}"))
    assert "Failed" in page and "Map VAT 0 %" in page and "client's own Merit" in page
    link = re.search(r'<a class="small" href="([^"]+)">Map it now</a>', page).group(1)
    assert link == f"/clients/{client_id}/integration?vendor=merit#catalog"
    section = html.unescape(owner.text(link))
    assert "Products and tax rates of its own account" in section and "needs a mapping before export" in section
    response = owner.post(f"/clients/{client_id}/integration/catalog", {"vendor": "merit", "what": "refresh",
                                                                        "kind": "tax_rate"}, token_from=link)
    assert response.status_code == 302 and response.headers["Location"].endswith("#catalog")
    run_jobs()
    with in_app():
        [zero] = [c.vendor_id for c in CatalogItem.query.filter(CatalogItem.client_connection_id.isnot(None),
                                                                CatalogItem.kind == "tax_rate")
                  if c.rate == 0 and c.code == "0%"]
        firm_items = CatalogItem.query.filter(CatalogItem.client_connection_id.is_(None)).count()
    assert firm_items == 0, "the client's own account's list, not the firm's"
    response = owner.post(f"/clients/{client_id}/integration/catalog",
                          {"vendor": "merit", "what": "mapping", "kind": "tax_rate", "key": "0", "code_0": zero},
                          token_from=link)
    assert response.status_code == 302
    with in_app():
        export_id = InvoiceExport.query.one().id
    owner.post(f"/clients/{client_id}/exports/{export_id}/retry", token_from=f"/clients/{client_id}")
    run_jobs()
    with in_app():
        export = InvoiceExport.query.one()
        assert export.status == "confirmed" and export.account == "client", export.last_error
    page = html.unescape(owner.text(f"/clients/{client_id}"))
    assert "Confirmed" in page and "Map VAT 0 %" not in page


def test_a_run_waiting_for_a_quota_says_so(owner, in_app):
    from hub import connections
    from hub.models import Firm, SyncRun

    with in_app() as db:
        firm_id = Firm.query.one().id
        integration = connections.get_or_create_integration(firm_id, "example")
        tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(tzinfo=None, hour=0, minute=0, second=0,
                                                                              microsecond=0)
        run = SyncRun(kind="export", firm_id=firm_id, integration_id=integration.id, status="retrying", attempts=1,
                      quota_waits=1, next_attempt_at=tomorrow,
                      error={"kind": "rate_limited", "message": "Daily quota used up.", "quota": "daily",
                             "until": tomorrow.isoformat() + "Z"})
        db.session.add(run)
        db.session.commit()
        run_id = run.id
    text = "waiting for Example Books's daily quota until 00:00 UTC"
    assert text in html.unescape(owner.text(f"/history/runs/{run_id}"))
    assert text in html.unescape(owner.text("/history"))
