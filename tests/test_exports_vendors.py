"""Against each exporting vendor's sandbox over loopback HTTP: an issued invoice appears in the vendor exactly
once with the vendor's codes and totals (checked in the sandbox's recorded requests); Merit's paid status
flows back."""

import datetime as dt
from decimal import Decimal
from importlib import metadata

import pytest

from hub import catalog, connections, exports, linking, vendor_accounts
from hub.models import Client, InvoiceExport

D = dt.date
SANDBOXES = {ep.name: ep for ep in metadata.entry_points(group="hub.sandboxes")}


def field(record, name):
    return record[name] if isinstance(record, dict) else getattr(record, name)


CREATES = {  # the request that creates an invoice, per vendor's wire protocol
    "tripletex": lambda r: field(r, "method") == "POST" and field(r, "path").endswith("/v2/invoice"),
    "scoro": lambda r: field(r, "path").endswith("/invoices/modify"),
    "merit": lambda r: "sendinvoice" in field(r, "path"),
    "smartaccounts": lambda r: "clientinvoices:add" in field(r, "path"),
    "directo": lambda r: b"put=1" in field(r, "body") and b"what=invoice" in field(r, "body"),
}


def installed(slug):
    return pytest.param(slug, marks=pytest.mark.skipif(slug not in SANDBOXES, reason=f"{slug} not installed"))


@pytest.fixture
def vendor_export(request, firm, hub_db, run_jobs, serve, monkeypatch, hub_registry):
    slug = request.param
    module = SANDBOXES[slug].load()
    for key, value in (getattr(module, "DEMO_SETTINGS", None) or {}).items():
        monkeypatch.setenv(f"HUB_{slug.upper()}_{key.upper()}", str(value))
    monkeypatch.setenv(f"HUB_{slug.upper()}_RATE_LIMITS", "off")  # the budget has its own tests: no waiting here
    app = module.create_app()
    integration = connections.get_or_create_integration(firm.id, slug)
    integration.settings = {"origin": serve(app)}
    hub_db.session.commit()
    connections.set_enabled(integration, True)
    connections.save_credentials(integration, dict(module.DEMO_CREDENTIALS))
    run_jobs()
    assert integration.status == "ok", integration.last_error
    vendor = hub_registry.get(slug)
    client = Client.query.filter_by(firm_id=firm.id).order_by(Client.id).first()
    vendor_client = None
    if vendor.can("client_lookup"):
        run = connections.lookup_clients(integration, "")
        run_jobs()
        hub_db.session.refresh(run)
        vendor_client = run.result["clients"][0]
        client.name, client.reg_code = vendor_client["name"], vendor_client["reg_code"]
        hub_db.session.commit()
    linking.link_client(None, client_id=client.id, integration=integration,
                        vendor_client_id=vendor_client["id"] if vendor_client else None)
    rate, product, tax_id = Decimal("24"), None, None
    if vendor.can("tax_rates"):
        catalog.refresh(integration, "tax_rate")
        run_jobs()
        rates = [c for c in catalog.items(integration, "tax_rate") if c.rate and c.rate > 0]
        preferred = {"tripletex": "3"}.get(slug)
        chosen = next((c for c in rates if c.vendor_id == preferred), None) or max(rates, key=lambda c: c.rate)
        rate = Decimal(chosen.rate)
        catalog.set_mapping(integration, "tax_rate", str(rate), chosen.vendor_id)
        tax_id = chosen.vendor_id
    if vendor.can("products"):
        catalog.refresh(integration, "product")
        run_jobs()
        product = catalog.items(integration, "product")[0].code
    invoice = exports.create_invoice(
        firm.id, client.id, number=f"HUB-{slug[:3].upper()}-0042", issue_date=D(2026, 11, 20),
        due_date=D(2026, 12, 4), currency="NOK" if slug == "tripletex" else "EUR",
        lines=[{"description": "Monthly bookkeeping", "quantity": "1", "unit_price": "250.00",
                "vat_rate": str(rate), "product_code": product},
               {"description": "Payroll, per employee", "quantity": "3", "unit_price": "12.50",
                "vat_rate": str(rate), "product_code": product}])
    return {"slug": slug, "app": app, "integration": integration, "invoice": invoice, "rate": rate, "tax_id": tax_id}


def creates(setup):
    state = setup["app"].extensions["sandbox"]
    return [r for r in state.requests if CREATES[setup["slug"]](r) and field(r, "status") in (200, 201)]


@pytest.mark.parametrize("vendor_export", [installed(s) for s in CREATES], indirect=True)
def test_invoice_appears_in_the_vendor_exactly_once(vendor_export, run_jobs, hub_db):
    invoice = vendor_export["invoice"]
    assert invoice.total_net == Decimal("287.50")
    [export] = exports.issue_invoice(invoice)
    run_jobs()
    hub_db.session.refresh(export)
    assert export.status == "confirmed", export.last_error
    assert export.vendor_invoice_id
    [create] = creates(vendor_export)
    body = field(create, "body").decode("utf-8", "replace") + field(create, "path")
    assert "HUB-" in body, "the hub's number or reference travels with the invoice"
    assert "12.5" in body and "250" in body, "the lines' unit prices reached the vendor"
    if vendor_export["tax_id"]:
        assert vendor_export["tax_id"] in body, "the mapped VAT code reached the vendor"
    # once more: re-issue, retry-after-uncertainty and the dispatcher must not create a second invoice
    exports.issue_invoice(invoice)
    export.status = "uncertain"
    hub_db.session.commit()
    exports.retry_export(export)
    run_jobs()
    hub_db.session.refresh(export)
    assert export.status == "confirmed"
    assert len(creates(vendor_export)) == 1


@pytest.mark.parametrize("vendor_export", [installed("merit")], indirect=True)
def test_merit_paid_status_flows_back(vendor_export, run_jobs, hub_db):
    [export] = exports.issue_invoice(vendor_export["invoice"])
    run_jobs()
    hub_db.session.refresh(export)
    state = vendor_export["app"].extensions["sandbox"]
    api_id = vendor_accounts.stored_credentials(vendor_export["integration"])["api_id"]
    total = vendor_export["invoice"].total
    state.pay_invoice(api_id, export.vendor_invoice_id, Decimal("100.00"), D(2026, 11, 21))
    exports.fetch_payments(vendor_export["integration"])
    run_jobs()
    hub_db.session.refresh(export)
    assert export.paid_amount == Decimal("100.00") and export.paid_on is None, "partly paid"
    state.pay_invoice(api_id, export.vendor_invoice_id, total - Decimal("100.00"), D(2026, 11, 22))
    exports.fetch_payments(vendor_export["integration"])
    run_jobs()
    hub_db.session.refresh(export)
    assert export.paid_amount == total and export.paid_on == D(2026, 11, 22)
    assert InvoiceExport.query.filter(InvoiceExport.paid_on.isnot(None)).count() == 1
