"""Exactly once with real worker processes: a worker killed with SIGKILL after the vendor accepted and before
the hub recorded it, a job process killed twice mid-attempt while the admin retries, and two workers racing on the
same export. An export's attempts are runs of the job layer: one live run per export, settled by the job layer's
own rules when its process dies — no lease of the export's own."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub import catalog, connections, exports, jobs, linking
from hub.models import Client, InvoiceExport, SyncRun, utcnow

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}
LINES = [{"description": "Bookkeeping", "quantity": "1", "unit_price": "100.00", "vat_rate": "24"}]


@pytest.fixture
def worker_env(hub_app, hub_database_url, hub_redis_url, tmp_path):
    return dict(os.environ, FLASK_APP="hub.app:create_app", DATABASE_URL=hub_database_url, REDIS_URL=hub_redis_url,
                HUB_SECRET_KEYS=",".join(hub_app.extensions["hub"].vault._keys), HUB_INSTANCE_PATH=str(tmp_path),
                HUB_WORKER_HEARTBEAT="0.2", SECRET_KEY="test")


def setup_export(firm, integration, hub_db, run_jobs, serve, **knobs):
    from hub_example import sandbox

    app = sandbox.create_app(**knobs)
    integration.settings = {"origin": serve(app)}
    hub_db.session.commit()
    connections.save_credentials(integration, GOOD)
    client = Client.query.filter_by(firm_id=firm.id).order_by(Client.id).first()
    linking.link_client(None, client_id=client.id, integration=integration, vendor_client_id="1")
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
    """Wait for an event another process causes (polled: it has no other way to tell this one)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def export_runs() -> list[SyncRun]:
    return SyncRun.query.filter_by(kind="export").order_by(SyncRun.id).all()


@pytest.mark.slow
def test_worker_killed_after_vendor_accepted_does_not_duplicate(example_integration, firm, hub_db, run_jobs, serve,
                                                                worker_env, hub_app, monkeypatch):
    """The whole worker (supervisor and job process) is lost: the job layer's reconciler settles the run once the
    worker's liveness key has expired, and the next attempt asks the vendor first."""
    monkeypatch.setenv("HUB_WORKER_HEARTBEAT", "0.2")  # the reconciler's view of liveness: keys live 0.6 s
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
    [run] = export_runs()
    assert run.status == "running"
    retried = exports.retry_export(export)  # the admin clicks Retry at once: the live attempt is the answer
    assert retried.id == run.id and len(export_runs()) == 1
    redis_conn = hub_app.extensions["hub"].redis
    wait_until(lambda: not redis_conn.exists(jobs.LIVENESS_PREFIX + run.worker), 30, "the dead worker's key to expire")
    assert jobs.reconcile(now=utcnow() + dt.timedelta(seconds=5))["dead_worker"] == 1
    run_jobs()
    hub_db.session.expire_all()
    export = hub_db.session.get(InvoiceExport, export.id)
    assert export.status == "confirmed" and export.vendor_invoice_id == "1"
    assert len(app.config["invoices"]) == 1, "found by lookup-before-retry, not created twice"
    [run] = export_runs()
    assert (run.status, run.attempts) == ("succeeded", 2) and run.result["found_before_retry"] is True


@pytest.mark.slow
def test_a_job_process_killed_twice_mid_export_while_the_admin_retries_confirms_once(
        example_integration, firm, hub_db, run_jobs, serve, worker_env):
    """``kill -9`` of the job process after the vendor stored the invoice, Retry at once, ``kill -9`` again while the
    next attempt asks the vendor: the supervisor settles each dead attempt (the job layer re-runs it, asking first),
    a Retry joins the live attempt, and the export ends confirmed with one invoice at the vendor. No run reports
    success for an export that is not done."""
    app, invoice = setup_export(firm, example_integration, hub_db, run_jobs, serve, hold_after_create_s=30)
    [export] = exports.issue_invoice(invoice)
    supervisor = subprocess.Popen([sys.executable, "-m", "flask", "hub", "worker", "--queues", "exports",
                                   "--processes", "1"], env=worker_env, start_new_session=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: len(app.config["invoices"]) == 1, 60, "the vendor to store the invoice")
        app.config["hold_find_s"] = 30  # the next attempt's lookup hangs: the second kill lands inside it
        [first] = children(supervisor.pid)
        os.kill(first, signal.SIGKILL)
        assert exports.retry_export(hub_db.session.get(InvoiceExport, export.id)).id == export_runs()[0].id
        lookups = app.config["calls"].count

        def asking() -> bool:
            return lookups("/v1/acme/invoices") >= 2 and children(supervisor.pid) not in ([], [first])  # created, asked

        wait_until(asking, 60, "the next attempt to ask the vendor")
        app.config["hold_find_s"] = 0
        [second] = children(supervisor.pid)
        os.kill(second, signal.SIGKILL)
        hub_db.session.expire_all()
        assert exports.retry_export(hub_db.session.get(InvoiceExport, export.id)).id == export_runs()[0].id

        def done() -> bool:
            hub_db.session.expire_all()
            return hub_db.session.get(InvoiceExport, export.id).status in ("confirmed", "failed")

        wait_until(done, 90, "the export to end")
    finally:
        os.killpg(supervisor.pid, signal.SIGTERM)
        _, stderr = supervisor.communicate(timeout=60)
    export = hub_db.session.get(InvoiceExport, export.id)
    assert export.status == "confirmed", (export.status, export.last_error, stderr[-3000:])
    assert len(app.config["invoices"]) == 1, "never created twice"
    [run] = export_runs()
    assert (run.status, run.attempts) == ("succeeded", 3), (run.status, run.attempts, run.error)
    assert run.result["found_before_retry"] is True


@pytest.mark.slow
def test_two_workers_on_the_same_export_create_one_invoice(example_integration, firm, hub_db, run_jobs, serve,
                                                           worker_env):
    app, invoice = setup_export(firm, example_integration, hub_db, run_jobs, serve, hold_after_create_s=1.5)
    [export] = exports.issue_invoice(invoice)
    assert exports.retry_export(export).id == export_runs()[0].id  # a double click starts no second run
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
    [run] = export_runs()
    assert run.status == "succeeded" and run.attempts == 1
