"""Exactly once with real worker processes: a worker killed with SIGKILL after the vendor accepted and before
the hub recorded it, and two workers racing on the same export."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub import catalog, connections, exports
from hub.models import Client, InvoiceExport, SyncRun, utcnow

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}
LINES = [{"description": "Bookkeeping", "quantity": "1", "unit_price": "100.00", "vat_rate": "24"}]


@pytest.fixture
def worker_env(hub_app, hub_database_url, hub_redis_url, tmp_path):
    return dict(os.environ, FLASK_APP="hub.app:create_app", DATABASE_URL=hub_database_url, REDIS_URL=hub_redis_url,
                HUB_SECRET_KEYS=",".join(hub_app.extensions["hub"].vault._keys), HUB_INSTANCE_PATH=str(tmp_path),
                HUB_EXPORT_LEASE_SECONDS="2")


def setup_export(firm, integration, hub_db, run_jobs, serve, **knobs):
    from hub_example import sandbox

    app = sandbox.create_app(**knobs)
    integration.settings = {"origin": serve(app)}
    hub_db.session.commit()
    connections.save_credentials(integration, GOOD)
    client = Client.query.filter_by(firm_id=firm.id).order_by(Client.id).first()
    connections.link_client(None, client_id=client.id, integration=integration, vendor_client_id="1")
    catalog.refresh(integration, "tax_rate")
    run_jobs()
    invoice = exports.create_invoice(firm.id, client.id, number="2026-100", issue_date=dt.date(2026, 11, 20),
                                     due_date=dt.date(2026, 12, 4), lines=LINES)
    return app, invoice


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.slow
def test_worker_killed_after_vendor_accepted_does_not_duplicate(example_integration, firm, hub_db, run_jobs, serve,
                                                                worker_env, hub_app):
    app, invoice = setup_export(firm, example_integration, hub_db, run_jobs, serve, hold_after_create_s=30)
    [export] = exports.issue_invoice(invoice)
    worker = subprocess.Popen([sys.executable, "-m", "flask", "hub", "worker", "--queues", "exports"],
                              env=worker_env, start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: len(app.config["invoices"]) == 1, 60, "the vendor to accept the invoice")
        for pid in children(worker.pid):  # the work-horse runs in its own process group
            os.kill(pid, signal.SIGKILL)
        os.killpg(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
    hub_db.session.expire_all()
    export = hub_db.session.get(InvoiceExport, export.id)
    assert export.status == "uncertain", "the attempt was recorded before the vendor was called"
    assert export.vendor_invoice_id is None, "the hub never heard the answer"
    time.sleep(2.5)  # the dead worker's export lock has a 2 s lease
    later = utcnow().replace(tzinfo=dt.UTC) + dt.timedelta(minutes=20)
    assert exports.dispatch_exports(now=later) == 1
    run_jobs()
    hub_db.session.expire_all()
    export = hub_db.session.get(InvoiceExport, export.id)
    assert export.status == "confirmed" and export.vendor_invoice_id == "1"
    assert len(app.config["invoices"]) == 1, "found by lookup-before-retry, not created twice"
    runs = SyncRun.query.filter_by(kind="export").order_by(SyncRun.id).all()
    assert [r.status for r in runs] == ["failed", "succeeded"] and runs[0].error["kind"] == "abandoned"
    assert runs[1].result["found_before_retry"] is True


@pytest.mark.slow
def test_two_workers_on_the_same_export_create_one_invoice(example_integration, firm, hub_db, run_jobs, serve,
                                                           worker_env):
    app, invoice = setup_export(firm, example_integration, hub_db, run_jobs, serve, hold_after_create_s=1.5)
    [export] = exports.issue_invoice(invoice)
    exports.retry_export(export)  # a second run for the same export, e.g. a double click
    workers = [subprocess.Popen([sys.executable, "-m", "flask", "hub", "worker", "--queues", "exports", "--burst"],
                                env=worker_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    for worker in workers:
        _, stderr = worker.communicate(timeout=120)
        assert worker.returncode == 0, stderr[-3000:]
    hub_db.session.expire_all()
    export = hub_db.session.get(InvoiceExport, export.id)
    assert export.status == "confirmed"
    assert len(app.config["invoices"]) == 1
    runs = SyncRun.query.filter_by(kind="export").all()
    assert len(runs) == 2 and all(r.status == "succeeded" for r in runs)
