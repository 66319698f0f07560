"""Every string from a vendor fits where it is stored — long and non-ASCII names, ids, numbers and messages on
every path. Run them on PostgreSQL too (SQLite does not enforce lengths): HUB_TEST_DATABASE_URL=postgresql://…"""

import datetime as dt
from decimal import Decimal

import pytest

from hub import connections, linking, statistics
from hub import types as t
from hub.models import Client, ClientConnection, SummaryValue, SyncRun

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}
LONG = "Ääkkönen & Šťastný Ørsted Łódź 株式会社 " * 20  # 760 characters, most of them not ASCII


def test_long_display_text_is_cut_with_an_ellipsis_and_long_ids_are_refused():
    info = t.ConnectionInfo(account_name=LONG)
    assert len(info.account_name) == t.MAX_NAME and info.account_name.endswith("…")
    client = t.VendorClient(id="1", name=LONG, reg_code="9" * 80, email="a" * 300)
    assert len(client.name) == t.MAX_NAME and len(client.reg_code) == 50 and len(client.email) == 254
    with pytest.raises(ValueError, match="VendorClient.id from the vendor is 201 characters long"):
        t.VendorClient(id="7" * 201, name="x")
    receipt = t.ExportReceipt(vendor_invoice_id="9" * 200, number=LONG)
    assert len(receipt.number) == t.MAX_ID
    with pytest.raises(ValueError, match="ExportReceipt.vendor_invoice_id"):
        t.ExportReceipt(vendor_invoice_id="9" * 201)
    with pytest.raises(ValueError, match="Product.code"):
        t.Product(id="1", code="c" * 300, name=LONG)
    assert len(t.TaxRate(id="1", code="22", name=LONG, rate=Decimal(22)).name) == t.MAX_NAME
    payment = t.Payment(vendor_invoice_id="1", invoice_number=LONG, paid_amount=Decimal(1), paid_on=None,
                        fully_paid=True)
    assert len(payment.invoice_number) == t.MAX_ID


def test_a_long_account_name_from_the_vendor_finishes_the_test_connection(example_integration, hub_db, run_jobs,
                                                                         monkeypatch):
    from hub_example import sandbox

    monkeypatch.setitem(sandbox.NAMES, "acme", LONG)
    connections.save_credentials(example_integration, GOOD)
    run_jobs()
    run = SyncRun.query.filter_by(kind="test_connection").one()
    assert run.status == "succeeded", run.error
    hub_db.session.refresh(example_integration)
    assert example_integration.status == "ok"
    assert example_integration.account_name.startswith("Ääkkönen") and len(example_integration.account_name) == 300


def test_a_long_vendor_client_name_links_and_imports(example_integration, firm, hub_db, run_jobs):
    connections.save_credentials(example_integration, GOOD)
    run_jobs()
    docs = statistics.create_custom_field(firm.id, "Documents")
    statistics.save_summary_settings(example_integration, {"mapping": {"documents": docs.id}})
    client = Client.query.filter_by(firm_id=firm.id).first()
    link = linking.link_client(None, client_id=client.id, integration=example_integration,
                               vendor_client_id="1" + "0" * 199, vendor_client_name=LONG)
    hub_db.session.expire_all()
    link = hub_db.session.get(ClientConnection, link.id)
    assert len(link.vendor_client_name) == t.MAX_NAME and len(link.vendor_client_id) == t.MAX_ID
    link.vendor_client_id = "1"
    hub_db.session.commit()
    parent = statistics.reload(example_integration, connection=link)
    run_jobs()
    hub_db.session.refresh(parent)
    assert parent.status == "succeeded", parent.error
    sources = {v.source for v in SummaryValue.query}
    assert len(sources) == 1 and next(iter(sources)).startswith("example: Ääkkönen")
    again = statistics.reload(example_integration, connection=link)  # every later import works too
    run_jobs()
    hub_db.session.refresh(again)
    assert again.status == "succeeded"


def test_a_long_vendor_message_is_kept_in_the_run(example_integration, hub_db, run_jobs, serve):
    from flask import Flask, jsonify

    app = Flask("wordy")

    @app.get("/v1/<company>/whoami")
    def whoami(company):
        return jsonify(error=LONG * 10), 401

    example_integration.settings = {"origin": serve(app)}
    hub_db.session.commit()
    connections.save_credentials(example_integration, GOOD)
    run_jobs()
    run = SyncRun.query.filter_by(kind="test_connection").one()
    assert run.status == "failed" and run.finished_at is not None
    assert run.finished_at > dt.datetime(2000, 1, 1)
