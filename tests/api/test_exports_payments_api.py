"""Export every issued invoice to an integration (``PATCH export_invoices``), the export list with its
filters, and paid status: ``POST /integrations/{vendor}/fetch-payments`` and ``paid_amount`` / ``paid_on``."""

import datetime as dt
from decimal import Decimal
from importlib import metadata

import pytest

from hub import catalog, connections, exports, linking, vendor_accounts
from hub.models import AuditEvent, Client, SyncRun

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}
SANDBOXES = {ep.name: ep for ep in metadata.entry_points(group="hub.sandboxes")}


def invoice_body(client_id, number="2026-0001"):
    return {"client_id": client_id, "number": number, "issue_date": "2026-11-20", "due_date": "2026-12-04",
            "lines": [{"description": "Bookkeeping", "quantity": "1", "unit_price": "100.00", "vat_rate": "24"}]}


@pytest.fixture
def books(api, example_integration, firm, hub_db, run_jobs, serve):
    """The example vendor on its own sandbox with credentials and tax rates; no client linked."""
    from hub_example import sandbox

    app = sandbox.create_app()
    example_integration.settings = {"origin": serve(app)}
    hub_db.session.commit()
    connections.save_credentials(example_integration, GOOD)
    catalog.refresh(example_integration, "tax_rate")
    run_jobs()
    clients = Client.query.filter_by(firm_id=firm.id).order_by(Client.id).all()
    return {"app": app, "integration": example_integration, "clients": clients}


# -- export every issued invoice here ---------------------------------------------------------------------
def test_export_invoices_is_shown_and_set(api, member_api, books, firm, run_jobs):
    assert member_api.get("/integrations/example").get_json()["export_invoices"] is False
    assert all(i["export_invoices"] is False for i in member_api.get("/integrations").get_json())
    client = books["clients"][0]
    unlinked = api.post("/invoices", json=invoice_body(client.id, "N-1")).get_json()
    assert api.post(f"/invoices/{unlinked['id']}/issue").get_json()["exports"] == [], "no target yet"

    response = api.patch("/integrations/example", json={"export_invoices": True})
    assert response.status_code == 200
    body = response.get_json()
    assert body["export_invoices"] is True and body["enabled"] is True, "enabled is left as it was"
    assert member_api.get("/integrations/example").get_json()["export_invoices"] is True
    assert AuditEvent.query.filter_by(firm_id=firm.id, action="integration.export_invoices").count() == 1

    invoice = api.post("/invoices", json=invoice_body(client.id, "N-2")).get_json()
    [export] = api.post(f"/invoices/{invoice['id']}/issue").get_json()["exports"]
    assert export["vendor"] == "example"
    run_jobs()
    assert api.get(f"/exports/{export['id']}").get_json()["status"] in ("sent", "confirmed")
    assert len(books["app"].config["invoices"]) == 1

    assert api.patch("/integrations/example", json={"export_invoices": False}).get_json()["export_invoices"] is False
    later = api.post("/invoices", json=invoice_body(client.id, "N-3")).get_json()
    assert api.post(f"/invoices/{later['id']}/issue").get_json()["exports"] == []


def test_enable_and_export_invoices_in_one_patch(api, hub_db):
    body = api.patch("/integrations/example", json={"enabled": True, "export_invoices": True}).get_json()
    assert body["enabled"] is True and body["export_invoices"] is True and body["id"]
    body = api.patch("/integrations/example", json={"enabled": False}).get_json()
    assert body["enabled"] is False and body["export_invoices"] is True, "the setting stays for re-enabling"


def test_export_invoices_errors_and_roles(api, member_api, books, hub_registry, firm, hub_db):
    assert member_api.patch("/integrations/example", json={"export_invoices": True}).status_code == 403
    response = api.patch("/integrations/example", json={})
    assert response.status_code == 422 and response.get_json()["errors"] == {
        "_schema": ["Give `enabled`, `export_invoices` or both."]}
    response = api.patch("/integrations/example", json={"export_invoices": "yes please"})
    assert response.status_code == 422 and "export_invoices" in response.get_json()["errors"]
    assert api.patch("/integrations/nope", json={"export_invoices": True}).status_code == 404
    # the plan check refuses the whole request: nothing is half-applied
    api.patch("/integrations/example", json={"enabled": False})
    firm.plan = "basic"
    hub_db.session.commit()
    response = api.patch("/integrations/example", json={"enabled": True, "export_invoices": True})
    assert response.status_code == 409
    assert api.get("/integrations/example").get_json()["export_invoices"] is False

    without = sorted(slug for slug, v in hub_registry.vendors.items() if not v.can("invoice_export"))
    if not without:
        pytest.skip("every installed vendor exports invoices")
    response = api.patch(f"/integrations/{without[0]}", json={"enabled": False, "export_invoices": True})
    assert response.status_code == 409 and response.get_json()["type"] == "urn:hub:problem:not-supported"
    assert api.get(f"/integrations/{without[0]}").get_json()["id"] is None, "nothing was created or changed"
    assert api.patch(f"/integrations/{without[0]}", json={"export_invoices": False}).status_code == 200


def test_export_invoices_is_per_firm(api, other_api, books):
    api.patch("/integrations/example", json={"export_invoices": True})
    assert other_api.get("/integrations/example").get_json()["export_invoices"] is False
    other_api.patch("/integrations/example", json={"export_invoices": True})
    assert other_api.get("/integrations/example").get_json()["export_invoices"] is True
    assert books["integration"].settings["export_invoices"] is True


# -- the export list ------------------------------------------------------------------------------------------
def test_exports_list_filters_and_isolation(api, member_api, other_api, books, run_jobs):
    first, second = books["clients"][:2]
    api.patch("/integrations/example", json={"export_invoices": True})
    one = api.post("/invoices", json=invoice_body(first.id, "L-1")).get_json()
    two = api.post("/invoices", json=invoice_body(second.id, "L-2")).get_json()
    api.post(f"/invoices/{one['id']}/issue")
    api.post(f"/invoices/{two['id']}/issue")
    page = member_api.get("/exports").get_json()
    assert page["total"] == 2 and [e["invoice_id"] for e in page["items"]] == [two["id"], one["id"]]
    assert {e["paid_amount"] for e in page["items"]} == {None} and {e["paid_on"] for e in page["items"]} == {None}
    assert member_api.get("/exports", query_string={"status": "pending"}).get_json()["total"] == 2
    run_jobs()
    assert member_api.get("/exports", query_string={"status": "pending"}).get_json()["total"] == 0
    assert member_api.get("/exports", query_string={"client_id": first.id}).get_json()["items"][0][
        "invoice_id"] == one["id"]
    assert member_api.get("/exports", query_string={"invoice_id": two["id"]}).get_json()["total"] == 1
    assert member_api.get("/exports", query_string={"vendor": "example", "paid": "false"}).get_json()["total"] == 2
    assert member_api.get("/exports", query_string={"paid": "true"}).get_json()["total"] == 0
    assert member_api.get("/exports", query_string={"vendor": "merit"}).get_json()["total"] == 0
    assert member_api.get("/exports", query_string={"per_page": 1, "page": 2}).get_json()["items"][0][
        "invoice_id"] == one["id"]
    response = member_api.get("/exports", query_string={"status": "lost", "paid": "maybe"})
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"status", "paid"}
    assert other_api.get("/exports").get_json()["total"] == 0
    assert other_api.get("/exports", query_string={"invoice_id": one["id"]}).get_json()["total"] == 0
    assert api.get("/exports", token=None).status_code == 401


# -- paid status ---------------------------------------------------------------------------------------------
def test_fetch_payments_needs_a_vendor_that_reports_them(api, member_api, books):
    response = api.post("/integrations/example/fetch-payments")
    assert response.status_code == 409 and response.get_json()["type"] == "urn:hub:problem:not-supported"
    assert member_api.post("/integrations/example/fetch-payments").status_code == 403
    assert api.post("/integrations/nope/fetch-payments").status_code == 404
    assert SyncRun.query.filter_by(kind="payments").count() == 0


@pytest.fixture
def merit(request, api, firm, hub_db, run_jobs, serve, monkeypatch):
    """Merit on its sandbox with demo credentials, the first client linked, VAT mapped and a product: an
    exported (confirmed) invoice of 287.50 gross."""
    if "merit" not in SANDBOXES:
        pytest.skip("merit not installed")
    module = SANDBOXES["merit"].load()
    for key, value in (getattr(module, "DEMO_SETTINGS", None) or {}).items():
        monkeypatch.setenv(f"HUB_MERIT_{key.upper()}", str(value))
    monkeypatch.setenv("HUB_MERIT_RATE_LIMITS", "off")
    app = module.create_app()
    integration = connections.get_or_create_integration(firm.id, "merit")
    integration.settings = {"origin": serve(app)}
    hub_db.session.commit()
    return {"module": module, "app": app, "integration": integration}


def _export_to_merit(merit, firm, hub_db, run_jobs):
    integration = merit["integration"]
    connections.set_enabled(integration, True)
    connections.save_credentials(integration, dict(merit["module"].DEMO_CREDENTIALS))
    run_jobs()
    client = Client.query.filter_by(firm_id=firm.id).order_by(Client.id).first()
    linking.link_client(None, client_id=client.id, integration=integration, vendor_client_id=None)
    catalog.refresh(integration, "tax_rate")
    catalog.refresh(integration, "product")
    run_jobs()
    rate = max((c for c in catalog.items(integration, "tax_rate") if c.rate and c.rate > 0), key=lambda c: c.rate)
    catalog.set_mapping(integration, "tax_rate", str(Decimal(rate.rate)), rate.vendor_id)
    product = catalog.items(integration, "product")[0].code
    invoice = exports.create_invoice(
        firm.id, client.id, number="HUB-MER-0042", issue_date=dt.date(2026, 11, 20), due_date=dt.date(2026, 12, 4),
        lines=[{"description": "Monthly bookkeeping", "quantity": "1", "unit_price": "250.00",
                "vat_rate": str(Decimal(rate.rate)), "product_code": product}])
    [export] = exports.issue_invoice(invoice)
    run_jobs()
    hub_db.session.refresh(export)
    assert export.status == "confirmed", export.last_error
    return invoice, export


def test_fetch_payments_202_then_paid_status_on_the_export(api, member_api, other_api, merit, firm, hub_db,
                                                          run_jobs):
    invoice, export = _export_to_merit(merit, firm, hub_db, run_jobs)
    state = merit["app"].extensions["sandbox"]
    api_id = vendor_accounts.stored_credentials(merit["integration"])["api_id"]
    state.pay_invoice(api_id, export.vendor_invoice_id, Decimal("100.00"), dt.date(2026, 11, 21))

    assert member_api.post("/integrations/merit/fetch-payments").status_code == 403
    assert other_api.post("/integrations/merit/fetch-payments").status_code == 404, "firm B has no Merit"
    response = api.post("/integrations/merit/fetch-payments")
    assert response.status_code == 202
    run = response.get_json()
    assert response.headers["Location"] == run["url"] == f"/api/v1/runs/{run['id']}"
    assert run["kind"] == "payments" and run["vendor"] == "merit" and run["trigger"] == "api"
    run_jobs()
    done = api.get(f"/runs/{run['id']}").get_json()
    assert done["status"] == "succeeded" and done["result"]["updated"] == 1
    partly = member_api.get(f"/exports/{export.id}").get_json()
    assert (partly["paid_amount"], partly["paid_on"]) == ("100.00", None), "partly paid"
    assert member_api.get("/exports", query_string={"paid": "false"}).get_json()["total"] == 1

    state.pay_invoice(api_id, export.vendor_invoice_id, Decimal(invoice.total) - Decimal("100.00"),
                      dt.date(2026, 11, 22))
    assert api.post("/integrations/merit/fetch-payments").status_code == 202
    run_jobs()
    paid = member_api.get(f"/exports/{export.id}").get_json()
    assert paid["paid_amount"] == str(invoice.total) and paid["paid_on"] == "2026-11-22"
    assert member_api.get(f"/invoices/{invoice.id}").get_json()["exports"][0]["paid_on"] == "2026-11-22"
    listed = member_api.get("/exports", query_string={"paid": "true", "vendor": "merit"}).get_json()
    assert [e["id"] for e in listed["items"]] == [export.id]
    assert other_api.get(f"/exports/{export.id}").status_code == 404


def test_fetch_payments_needs_an_enabled_integration_with_credentials(api, merit, hub_db):
    response = api.post("/integrations/merit/fetch-payments")
    assert response.status_code == 409 and response.get_json()["kind"] == "config"
    assert "disabled" in response.get_json()["detail"]
    connections.set_enabled(merit["integration"], True)
    response = api.post("/integrations/merit/fetch-payments")
    assert response.status_code == 409 and "credentials" in response.get_json()["detail"]
    assert response.get_json()["hint"]
    assert SyncRun.query.filter_by(kind="payments").count() == 0
    assert merit["integration"].status != "needs_attention", "refused before any vendor call"


def test_fetch_payments_of_an_integration_not_set_up(api, hub_registry):
    if "merit" not in hub_registry.vendors:
        pytest.skip("merit not installed")
    response = api.post("/integrations/merit/fetch-payments")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
