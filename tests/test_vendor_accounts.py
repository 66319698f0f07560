"""Client-level vendor accounts end to end, against the Merit, SmartAccounts and Directo sandboxes over
loopback HTTP: a client with its own credentials gets its invoice, VAT and product codes, paid status,
statistics and find-invoice from **its own** company/database, and nothing lands in the firm's.

Everything is checked through the plugins' hooks (what a company holds is asked with ``hub_find_invoice`` /
``hub_fetch_statistics`` in each company), not through wire details."""

import datetime as dt
from decimal import Decimal
from importlib import metadata

import pytest

from hub import catalog, clients, connections, exports, linking, statistics, vendor_accounts
from hub.errors import UnexpectedError
from hub.models import Client, InvoiceExport, SummaryValue
from hub.services import services
from hub.types import Period

D = dt.date
SANDBOXES = {ep.name: ep for ep in metadata.entry_points(group="hub.sandboxes")}
#: Which of the sandbox's client companies the test client owns (Merit's second one is Finnish: other VAT codes).
CLIENT_COMPANY = {"merit": 1, "smartaccounts": 0, "directo": 0}


def installed(slug):
    return pytest.param(slug, marks=pytest.mark.skipif(slug not in SANDBOXES, reason=f"{slug} not installed"))


VENDORS = [installed(s) for s in CLIENT_COMPANY]


def call(integration, credentials, hook, **kwargs):
    """A hook called directly in the account of ``credentials`` (to ask a company what it holds)."""
    ctx = vendor_accounts.build_context(integration, credentials)
    try:
        return services().registry.call(integration.vendor, hook, ctx=ctx, credentials=credentials, **kwargs)
    finally:
        ctx.close()


@pytest.fixture
def accounts(request, firm, hub_db, run_jobs, serve, monkeypatch, hub_registry):
    """A firm integration on the sandbox's firm company, and client 1 with its own company's credentials."""
    slug = request.param
    module = SANDBOXES[slug].load()
    for key, value in (getattr(module, "DEMO_SETTINGS", None) or {}).items():
        monkeypatch.setenv(f"HUB_{slug.upper()}_{key.upper()}", str(value))
    monkeypatch.setenv(f"HUB_{slug.upper()}_RATE_LIMITS", "off")
    app = module.create_app()
    integration = connections.get_or_create_integration(firm.id, slug)
    integration.settings = {"origin": serve(app)}
    hub_db.session.commit()
    connections.set_enabled(integration, True)
    connections.save_credentials(integration, dict(module.DEMO_CREDENTIALS))
    run_jobs()
    assert integration.status == "ok", integration.last_error
    client = Client.query.filter_by(firm_id=firm.id).order_by(Client.id).first()
    own = dict(module.DEMO_CLIENT_CREDENTIALS[CLIENT_COMPANY[slug]])
    connection = linking.link_client(None, client_id=client.id, integration=integration, vendor_client_id=None)
    connections.save_credentials(integration, own, connection=connection)
    run_jobs()
    hub_db.session.refresh(connection)
    assert connection.status == "ok", connection.last_error
    others = [dict(module.DEMO_CREDENTIALS)] + [dict(c) for c in module.DEMO_CLIENT_CREDENTIALS if dict(c) != own]
    return {"slug": slug, "app": app, "integration": integration, "client": client, "connection": connection,
            "own": own, "others": others, "vendor": hub_registry.get(slug)}


def map_client_catalog(setup, run_jobs):
    """Refresh both accounts' catalogs; map the invoice's VAT rate in the client's account. Returns
    (rate, the client's tax id, the client's product code)."""
    integration, connection, vendor = setup["integration"], setup["connection"], setup["vendor"]
    rate, tax_id, product = Decimal("22"), None, None
    if vendor.can("tax_rates"):
        catalog.refresh(integration, "tax_rate")
        catalog.refresh(connection, "tax_rate")
        run_jobs()
        own = [c for c in catalog.items(connection, "tax_rate") if c.rate and c.rate > 0]
        firm_ids = {c.vendor_id: c.rate for c in catalog.items(integration, "tax_rate")}
        assert own, "the client's own tax rates were read from its company"
        chosen = max(own, key=lambda c: c.rate)
        rate, tax_id = Decimal(chosen.rate), chosen.vendor_id
        catalog.set_mapping(connection, "tax_rate", str(rate), tax_id)
        # a firm mapping of the same rate must not leak into the client's export
        firm_same = next((vid for vid, r in firm_ids.items() if r is not None and vid != tax_id and r > 0), None)
        if firm_same is not None:
            catalog.set_mapping(integration, "tax_rate", str(rate), firm_same)
    if vendor.can("products"):
        catalog.refresh(integration, "product")
        catalog.refresh(connection, "product")
        run_jobs()
        own_products = catalog.items(connection, "product")
        assert own_products, "the client's own products were read from its company"
        product = own_products[0].code
        assert catalog.vendor_code(connection, "product", product) == product
    return rate, tax_id, product


@pytest.mark.slow
@pytest.mark.parametrize("accounts", VENDORS, indirect=True)
def test_invoice_lands_in_the_clients_own_company_only(accounts, run_jobs, hub_db):
    setup = accounts
    integration, client, connection = setup["integration"], setup["client"], setup["connection"]
    rate, tax_id, product = map_client_catalog(setup, run_jobs)
    # what Directo needs to create the buyer: the client details the hub edits (hub.clients)
    clients.update_details(client, {"email": "books@client.example", "address_city": "Tallinn",
                                    "address_country": "ee"})
    invoice = exports.create_invoice(
        client.firm_id, client.id, number=f"ACC-{setup['slug'][:3].upper()}-7", issue_date=D(2026, 11, 20),
        due_date=D(2026, 12, 4), lines=[{"description": "Bookkeeping", "quantity": "1", "unit_price": "100.00",
                                         "vat_rate": str(rate), "product_code": product}])
    [export] = exports.issue_invoice(invoice)
    run_jobs()
    hub_db.session.refresh(export)
    assert export.status == "confirmed", export.last_error
    assert (export.account, export.account_connection_id) == ("client", connection.id)
    account = vendor_accounts.account_for(integration, client_id=client.id)
    assert account.own and account.owner is connection
    contract = exports.contract_invoice(invoice, export, account)
    if tax_id:
        assert {line.tax_id for line in contract.lines} == {tax_id}, "the client's own VAT code"
    if product:
        assert {line.product_code for line in contract.lines} == {product}, "the client's own product code"
    found_in_own = call(integration, setup["own"], "hub_find_invoice", invoice=contract)
    assert found_in_own is not None and found_in_own.vendor_invoice_id == export.vendor_invoice_id
    elsewhere = [c for c in setup["others"] if call(integration, c, "hub_find_invoice", invoice=contract)]
    assert elsewhere == [], "the invoice is in no other company (not the firm's, not another client's)"
    # a retry after an uncertain outcome asks the client's company, finds it there, creates nothing anywhere
    export.status = "uncertain"
    hub_db.session.commit()
    exports.retry_export(export)
    run_jobs()
    hub_db.session.refresh(export)
    assert export.status == "confirmed"
    assert [c for c in setup["others"] if call(integration, c, "hub_find_invoice", invoice=contract)] == []


@pytest.mark.slow
@pytest.mark.parametrize("accounts", [installed("merit")], indirect=True)
def test_paid_status_comes_back_from_the_clients_company(accounts, run_jobs, hub_db):
    setup = accounts
    integration, client = setup["integration"], setup["client"]
    rate, _tax_id, product = map_client_catalog(setup, run_jobs)
    invoice = exports.create_invoice(client.firm_id, client.id, number="ACC-PAY-1", issue_date=D(2026, 11, 20),
                                     due_date=D(2026, 12, 4), lines=[{"description": "Audit", "quantity": "2",
                                                                      "unit_price": "50.00", "vat_rate": str(rate),
                                                                      "product_code": product}])
    [export] = exports.issue_invoice(invoice)
    run_jobs()
    hub_db.session.refresh(export)
    assert export.status == "confirmed", export.last_error
    state = setup["app"].extensions["sandbox"]
    state.pay_invoice(setup["own"]["api_id"], export.vendor_invoice_id, Decimal(invoice.total), D(2026, 11, 22))
    firm_run = exports.fetch_payments(integration)
    run_jobs()
    hub_db.session.refresh(export)
    hub_db.session.refresh(firm_run)
    assert export.paid_on == D(2026, 11, 22) and export.paid_amount == Decimal(invoice.total)
    [own_run_id] = firm_run.params["account_runs"]
    own_run = hub_db.session.get(type(firm_run), own_run_id)
    assert own_run.client_connection_id == setup["connection"].id and own_run.result["updated"] == 1
    assert firm_run.result["updated"] == 0, "the firm's company knows nothing of it"


@pytest.mark.slow
@pytest.mark.parametrize("accounts", VENDORS, indirect=True)
def test_statistics_come_from_the_clients_own_company(accounts, run_jobs, hub_db):
    setup = accounts
    integration, connection, vendor = setup["integration"], setup["connection"], setup["vendor"]
    fields = [f.key for f in vendor.info.statistic_fields]
    custom = {key: statistics.create_custom_field(integration.firm_id, f"F {key}") for key in fields}
    statistics.save_summary_settings(integration, {"mapping": {k: f.id for k, f in custom.items()}})
    periods = [Period(2026, 9), Period(2026, 10)]
    statistics.import_client(connection, periods)
    run_jobs()
    values = {(v.task.period, v.vendor_field): v.value for v in SummaryValue.query.all()}
    own = call(integration, setup["own"], "hub_fetch_statistics", client=None, periods=periods)
    firm = call(integration, setup["others"][0], "hub_fetch_statistics", client=None, periods=periods)
    expected = {(str(p), k): int(own[p][k]) for p in periods for k in fields}
    assert values == expected
    assert expected != {(str(p), k): int(firm[p][k]) for p in periods for k in fields}, \
        "the companies differ, so the test tells them apart"


@pytest.mark.parametrize("accounts", [installed("merit")], indirect=True)
def test_a_client_call_cannot_reach_the_firms_account(accounts, run_jobs, hub_db):
    """The ctx builder refuses: a client hook for a run that names no client, or the firm's account for a
    client that has its own."""
    setup = accounts
    integration, client = setup["integration"], setup["client"]
    run = vendor_accounts.account_run("list_clients", vendor_accounts.firm_account(integration), enqueue=False)
    with pytest.raises(UnexpectedError, match="names none"):
        vendor_accounts.call_vendor(run, "hub_fetch_statistics", client=None, periods=[Period(2026, 10)])
    client_run = vendor_accounts.account_run(
        "list_clients", vendor_accounts.account_for(integration, client_id=client.id), enqueue=False)
    firm_for_client = vendor_accounts.VendorAccount(integration, None, client.id)
    with pytest.raises(UnexpectedError, match="has its own account"):
        vendor_accounts.call_vendor(client_run, "hub_fetch_statistics", account=firm_for_client, client=None,
                                    periods=[Period(2026, 10)])
    assert vendor_accounts.run_account(client_run).own


def test_existing_exports_stay_in_the_account_they_were_booked_in(example_integration, firm, hub_db):
    """The migration pins exports that reached a vendor to the firm's account: a client that has its own
    account since then still gets find-invoice/paid status for those from the firm's, where they are."""
    client = Client.query.filter_by(firm_id=firm.id).first()
    connection = linking.link_client(None, client_id=client.id, integration=example_integration,
                                     vendor_client_id=None)
    connection.public_credentials = {"company": "beta"}
    hub_db.session.commit()
    invoice = exports.create_invoice(firm.id, client.id, number="OLD-1", issue_date=D(2026, 1, 1),
                                     due_date=D(2026, 1, 2), lines=[{"description": "x", "quantity": "1",
                                                                     "unit_price": "1", "vat_rate": "24"}])
    export = InvoiceExport(invoice_id=invoice.id, integration_id=example_integration.id, reference="HUB-old",
                           status="sent", account="firm")
    hub_db.session.add(export)
    hub_db.session.commit()
    account = exports.export_account(export)
    assert not account.own and account.owner is example_integration and account.pinned_firm
    unpinned = InvoiceExport(invoice=invoice, integration_id=example_integration.id, reference="HUB-new")
    assert exports.export_account(unpinned).own, "a new export goes to the client's own account"


@pytest.mark.parametrize("accounts", [installed("merit")], indirect=True)
def test_the_api_reads_and_maps_a_clients_own_catalog(accounts, run_jobs, hub_app, hub_db):
    """`?client_id=` on the catalog endpoints means the client's own account: its tax rates are listed and a
    VAT rate is mapped there, not in the firm's account; a client without an account of its own is refused."""
    from hub.api import auth

    integration, connection, client = accounts["integration"], accounts["connection"], accounts["client"]
    token = auth.create_token(integration.firm_id, name="catalog", role="admin").secret
    api = hub_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    base = "/api/v1/integrations/merit/tax-rates"
    catalog.refresh(connection, "tax_rate")
    run_jobs()
    own = [c for c in catalog.items(connection, "tax_rate") if c.rate]
    listed = api.get(f"{base}?client_id={client.id}", headers=headers)
    assert listed.status_code == 200, listed.json
    assert {i["vendor_id"] for i in listed.json["items"]} == {c.vendor_id for c in catalog.items(connection,
                                                                                                  "tax_rate")}
    put = api.put(f"{base}/mappings?client_id={client.id}", headers=headers,
                  json={"hub_key": catalog.rate_key(own[0].rate), "vendor_code": own[0].vendor_id})
    assert put.status_code == 200, put.json
    assert catalog.mappings(connection, "tax_rate") == {catalog.rate_key(own[0].rate): own[0].vendor_id}
    assert catalog.mappings(integration, "tax_rate") == {}, "the firm's account is left alone"
    other = Client.query.filter(Client.firm_id == integration.firm_id, Client.id != client.id).first()
    linked_without_account = linking.link_client(None, client_id=other.id, integration=integration,
                                                 vendor_client_id="X1")
    refused = api.get(f"{base}?client_id={linked_without_account.client_id}", headers=headers)
    assert refused.status_code in (409, 422) and "no account of its own" in refused.json["detail"]
    assert api.get(f"{base}?client_id=999999", headers=headers).status_code == 404
