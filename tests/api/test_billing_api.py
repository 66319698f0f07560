"""Invoices, idempotent export, export status and retry; products and tax rates with their mapping."""

import pytest

from hub import catalog, connections, linking
from hub.models import Client, IdempotencyKey, InvoiceExport, SyncRun

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}


def invoice_body(client_id, number="2026-0001", **extra):
    return {"client_id": client_id, "number": number, "issue_date": "2026-11-20", "due_date": "2026-12-04",
            "lines": [{"description": "Bookkeeping", "quantity": "1", "unit_price": "100.00", "vat_rate": "24"},
                      {"description": "Payroll", "quantity": 3, "unit_price": "33.33", "vat_rate": 24}], **extra}


@pytest.fixture
def exporter(api, example_integration, firm, hub_db, run_jobs, serve):
    """The example vendor on its own sandbox with credentials, tax rates fetched, the first client linked."""
    from hub_example import sandbox

    app = sandbox.create_app()
    example_integration.settings = {"origin": serve(app)}
    hub_db.session.commit()
    connections.save_credentials(example_integration, GOOD)
    client = Client.query.filter_by(firm_id=firm.id).order_by(Client.id).first()
    linking.link_client(None, client_id=client.id, integration=example_integration, vendor_client_id="1")
    catalog.refresh(example_integration, "tax_rate")
    run_jobs()
    return {"app": app, "integration": example_integration, "client": client}


# -- invoices ------------------------------------------------------------------------------------------
def test_create_and_read_an_invoice(api, member_api, exporter):
    response = api.post("/invoices", json=invoice_body(exporter["client"].id))
    assert response.status_code == 201
    invoice = response.get_json()
    assert invoice["status"] == "draft" and invoice["exports"] == []
    assert (invoice["total_net"], invoice["total_vat"], invoice["total"]) == ("199.99", "48.00", "247.99")
    assert invoice["lines"][1]["quantity"] == "3.0000"
    assert member_api.get(f"/invoices/{invoice['id']}").get_json() == invoice
    page = member_api.get("/invoices", query_string={"client_id": exporter["client"].id}).get_json()
    assert page["total"] == 1 and page["items"][0]["id"] == invoice["id"]
    assert member_api.get("/invoices", query_string={"status": "issued"}).get_json()["total"] == 0


def test_invoice_validation(api, member_api, exporter, other_firm):
    client_id = exporter["client"].id
    assert member_api.post("/invoices", json=invoice_body(client_id)).status_code == 403
    response = api.post("/invoices", json=invoice_body(client_id, due_date="2026-11-01"))
    assert response.status_code == 422 and response.get_json()["errors"] == {
        "due_date": ["Must be on or after the issue date."]}
    response = api.post("/invoices", json={**invoice_body(client_id), "lines": []})
    assert "lines" in response.get_json()["errors"]
    response = api.post("/invoices", json=invoice_body(client_id, lines=[{"description": "x", "quantity": "NaN",
                                                                          "unit_price": "1", "vat_rate": "101"}]))
    assert response.status_code == 422 and set(response.get_json()["errors"]["lines"]["0"]) == {"quantity",
                                                                                                 "vat_rate"}
    theirs = Client.query.filter_by(firm_id=other_firm.id).one()
    response = api.post("/invoices", json=invoice_body(theirs.id))
    assert response.status_code == 422 and response.get_json()["errors"] == {"client_id": ["No such client."]}
    api.post("/invoices", json=invoice_body(client_id))
    response = api.post("/invoices", json=invoice_body(client_id))
    assert response.status_code == 409 and "number" in response.get_json()["errors"], "a conflict with the firm's"


# -- issue = export, idempotently -----------------------------------------------------------------------
def test_issue_exports_once_and_replays_with_an_idempotency_key(api, exporter, run_jobs, hub_db):
    invoice = api.post("/invoices", json=invoice_body(exporter["client"].id)).get_json()
    headers = {"Idempotency-Key": "issue-2026-0001"}
    first = api.post(f"/invoices/{invoice['id']}/issue", headers=headers)
    assert first.status_code == 202
    body = first.get_json()
    assert body["status"] == "issued" and [e["status"] for e in body["exports"]] == ["pending"]
    again = api.post(f"/invoices/{invoice['id']}/issue", headers=headers)
    assert again.status_code == 202 and again.get_json() == body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert SyncRun.query.filter_by(kind="export").count() == 1
    assert IdempotencyKey.query.count() == 1

    run_jobs()
    export = api.get(body["exports"][0]["url"].removeprefix("/api/v1")).get_json()
    assert export["status"] in ("sent", "confirmed") and export["vendor_invoice_id"]
    assert len(exporter["app"].config["invoices"]) == 1, "the vendor got the invoice exactly once"
    # without a key the issue is still exported once per vendor
    assert api.post(f"/invoices/{invoice['id']}/issue").status_code == 202
    run_jobs()
    assert InvoiceExport.query.count() == 1 and len(exporter["app"].config["invoices"]) == 1


def test_idempotency_key_reused_for_another_request_is_422(api, exporter):
    client_id = exporter["client"].id
    one = api.post("/invoices", json=invoice_body(client_id, "A-1")).get_json()
    two = api.post("/invoices", json=invoice_body(client_id, "A-2")).get_json()
    headers = {"Idempotency-Key": "k-1"}
    assert api.post(f"/invoices/{one['id']}/issue", headers=headers).status_code == 202
    response = api.post(f"/invoices/{two['id']}/issue", headers=headers)
    assert response.status_code == 422 and "Idempotency-Key" in response.get_json()["errors"]
    assert api.post(f"/invoices/{two['id']}/issue", headers={"Idempotency-Key": "bad key ü"}).status_code == 422


def test_failed_requests_do_not_burn_the_key(api, exporter):
    headers = {"Idempotency-Key": "create-1"}
    bad = api.post("/invoices", json={**invoice_body(exporter["client"].id), "lines": []}, headers=headers)
    assert bad.status_code == 422
    good = api.post("/invoices", json=invoice_body(exporter["client"].id), headers=headers)
    assert good.status_code == 201
    replay = api.post("/invoices", json=invoice_body(exporter["client"].id), headers=headers)
    assert replay.status_code == 201 and replay.get_json() == good.get_json()


def test_keys_are_per_firm(api, other_api, exporter):
    invoice = api.post("/invoices", json=invoice_body(exporter["client"].id)).get_json()
    headers = {"Idempotency-Key": "shared"}
    assert api.post(f"/invoices/{invoice['id']}/issue", headers=headers).status_code == 202
    assert other_api.post(f"/invoices/{invoice['id']}/issue", headers=headers).status_code == 404


def test_failed_export_is_retried_idempotently(api, exporter, run_jobs, hub_db):
    invoice = api.post("/invoices", json=invoice_body(
        exporter["client"].id, lines=[{"description": "x", "quantity": "1", "unit_price": "5", "vat_rate": "13"}]
    )).get_json()
    exported = api.post(f"/invoices/{invoice['id']}/issue").get_json()["exports"][0]
    run_jobs()
    failed = api.get(f"/exports/{exported['id']}").get_json()
    assert failed["status"] == "failed" and "VAT 13 %" in failed["last_error"]["message"]
    assert failed["last_error"]["link"] == "/settings/apps/example/invoices", "where it is mapped"

    response = api.put("/integrations/example/tax-rates/mappings", json={"hub_key": "13", "vendor_code": "T9"})
    assert response.status_code == 200 and response.get_json()["mappings"] == {"13": "T9"}
    headers = {"Idempotency-Key": "retry-1"}
    first = api.post(f"/exports/{exported['id']}/retry", headers=headers)
    assert first.status_code == 202 and first.headers["Location"] == first.get_json()["url"]
    second = api.post(f"/exports/{exported['id']}/retry", headers=headers)
    assert second.get_json() == first.get_json() and second.headers["Location"] == first.headers["Location"]
    assert SyncRun.query.filter_by(kind="export").count() == 2
    run_jobs()
    booked = api.get(f"/exports/{exported['id']}").get_json()  # 13 % mapped to the vendor's 9 %: booked at 9 %
    assert (booked["status"], booked["state"]) == ("booked_with_differences", "Booked with differences")
    assert "Total VAT: issued 0.65, booked 0.45" in [d["text"] for d in booked["differences"]]
    assert booked["booked"]["total_vat"] == "0.45"
    response = api.post(f"/exports/{exported['id']}/retry")
    assert response.status_code == 409 and "already" in response.get_json()["detail"]


def test_exports_and_invoices_of_another_firm_are_404(api, other_api, exporter):
    invoice = api.post("/invoices", json=invoice_body(exporter["client"].id)).get_json()
    export = api.post(f"/invoices/{invoice['id']}/issue").get_json()["exports"][0]
    assert other_api.get(f"/invoices/{invoice['id']}").status_code == 404
    assert other_api.post(f"/invoices/{invoice['id']}/issue").status_code == 404
    assert other_api.get(f"/exports/{export['id']}").status_code == 404
    assert other_api.post(f"/exports/{export['id']}/retry").status_code == 404
    assert other_api.get("/invoices").get_json()["total"] == 0
    assert api.get("/exports/999999").status_code == 404


# -- products and tax rates -------------------------------------------------------------------------------
def test_tax_rates_list_refresh_and_mapping(api, member_api, exporter, wait_runs_inline):
    listed = member_api.get("/integrations/example/tax-rates").get_json()
    assert listed["kind"] == "tax_rate" and {i["vendor_id"] for i in listed["items"]} == {"T24", "T9", "T0"}
    assert listed["mappings"] == {}
    refreshed = api.post("/integrations/example/tax-rates/refresh")
    assert refreshed.status_code == 200 and refreshed.get_json()["result"]["count"] == 3
    assert member_api.post("/integrations/example/tax-rates/refresh").status_code == 403
    response = api.put("/integrations/example/tax-rates/mappings", json={"hub_key": "9.50", "vendor_code": "T9"})
    assert response.get_json()["mappings"] == {"9.5": "T9"}
    response = api.put("/integrations/example/tax-rates/mappings", json={"hub_key": "9.5", "vendor_code": None})
    assert response.get_json()["mappings"] == {}


def test_catalog_errors(api, exporter, run_jobs):
    response = api.put("/integrations/example/tax-rates/mappings", json={"hub_key": "lots", "vendor_code": "T9"})
    assert response.status_code == 422 and "hub_key" in response.get_json()["errors"]
    response = api.put("/integrations/example/tax-rates/mappings", json={"hub_key": "9", "vendor_code": "NOPE"})
    assert response.status_code == 409 and response.get_json()["kind"] == "config"
    response = api.get("/integrations/example/products")
    assert response.status_code == 409 and response.get_json()["type"] == "urn:hub:problem:not-supported"
    refresh = api.post("/integrations/example/tax-rates/refresh")
    assert refresh.status_code == 202 and refresh.headers["Location"]
    run_jobs()


def test_catalog_of_an_integration_not_set_up(api, other_api):
    assert other_api.get("/integrations/example/tax-rates").status_code == 404
