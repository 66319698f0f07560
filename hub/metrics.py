"""What operators see: Prometheus ``/metrics`` (``prometheus-client``) and ``flask hub status``.

Read from the record at scrape time (correct whichever process asks):

* ``hub_runs{kind,state}`` — runs by kind and state (every non-final run; final ones of the last 24 h);
* ``hub_queue_jobs{queue,registry}`` — queue depths in Redis (queued, scheduled, started, failed);
* ``hub_workers_alive`` — workers whose liveness key is present;
* ``hub_runs_stuck_candidates`` — ``running`` runs not updated for longer than their time limit.

Counted where the work happens (in worker and scheduler processes): ``hub_vendor_requests_total{vendor,outcome}``,
``hub_vendor_request_seconds{vendor}``, ``hub_run_duration_seconds{kind,state}`` and
``hub_reconciled_runs_total{rule}``. Each process counts its own; to see every process's counts on one
endpoint set ``PROMETHEUS_MULTIPROC_DIR`` to a folder shared by the processes of one machine (``flask hub up``
does); otherwise ``/metrics`` shows the web process's own. Every process removes the files of processes that are no
longer running when it starts (:func:`clean_multiprocess_dir`), so the folder does not grow with every restart.

``/metrics`` answers loopback clients, or anyone sending ``Authorization: Bearer $HUB_METRICS_TOKEN`` when that
variable is set; behind a trusted proxy (``HUB_PROXY_HOPS``) only the token opens it. It never fails for what is
down: ``hub_database_up`` and ``hub_redis_up`` say what answered, and the figures of what did not are left out.

For load balancers and orchestrators (open to every client, no secrets in them):

* ``/healthz`` — the process answers (200, touches nothing else);
* ``/readyz`` — 200 when the database answers and is at the code's head revision, Redis answers and at least one
  worker is alive; 503 otherwise. The body names each check and the hub's version.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
from flask import Flask, Response, abort, current_app, jsonify, request
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import func, or_
from sqlalchemy.exc import SQLAlchemyError

import hub
from hub import jobs, schema
from hub.models import SyncRun, db, utcnow
from hub.services import services

FINAL_WINDOW = dt.timedelta(hours=24)
LOOPBACK = ("127.0.0.1", "::1")


def snapshot() -> dict[str, Any]:
    """The state the gauges report: ``runs`` {(kind, state): n}, ``queues`` {queue: {registry: n}},
    ``workers_alive``, ``stuck_candidates``; database figures are ``None`` while the database is away, Redis
    figures while Redis is."""
    out: dict[str, Any] = {"runs": None, "stuck_candidates": None, "queues": None, "workers_alive": None}
    try:
        since = utcnow() - FINAL_WINDOW
        rows = db.session.query(SyncRun.kind, SyncRun.status, func.count(SyncRun.id)).filter(or_(
            SyncRun.status.notin_(("succeeded", "failed")), SyncRun.finished_at >= since,
        )).group_by(SyncRun.kind, SyncRun.status).all()
        stuck = 0
        for run in SyncRun.query.filter(SyncRun.status == "running", SyncRun.kind.notin_(jobs.batch_kinds())):
            updated = run.updated_at or run.started_at or run.created_at
            if updated < utcnow() - dt.timedelta(seconds=jobs.kind_of(run).timeout):
                stuck += 1
        out.update(runs={(k, s): n for k, s, n in rows}, stuck_candidates=stuck)
    except SQLAlchemyError:
        db.session.rollback()
    try:
        conn = services().redis
        queues = {}
        for name in jobs.QUEUES:
            queue = jobs.get_queue(name)
            queues[name] = {"queued": queue.count, "scheduled": ScheduledJobRegistry(queue=queue).count,
                            "started": StartedJobRegistry(queue=queue).count,
                            "failed": FailedJobRegistry(queue=queue).count}
        out["queues"] = queues
        out["workers_alive"] = sum(1 for _ in conn.scan_iter(match=jobs.LIVENESS_PREFIX + "*", count=500))
    except redis.RedisError:
        pass
    return out


class StateCollector(Collector):
    """Gauges read from the database and Redis at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = snapshot()
        if state["runs"] is not None:
            runs = GaugeMetricFamily("hub_runs", "Runs by kind and state (non-final, and final ones of the last "
                                     "24 h)", labels=["kind", "state"])
            for (kind, status), count in sorted(state["runs"].items()):
                runs.add_metric([kind, status], count)
            yield runs
            yield GaugeMetricFamily("hub_runs_stuck_candidates", "Running runs not updated for longer than their "
                                    "time limit", value=state["stuck_candidates"])
        yield GaugeMetricFamily("hub_database_up", "1 when the database answered this scrape",
                                value=0 if state["runs"] is None else 1)
        if state["queues"] is not None:
            depth = GaugeMetricFamily("hub_queue_jobs", "Jobs in Redis by queue and registry",
                                      labels=["queue", "registry"])
            for queue, registries in state["queues"].items():
                for registry, count in registries.items():
                    depth.add_metric([queue, registry], count)
            yield depth
            yield GaugeMetricFamily("hub_workers_alive", "Workers whose liveness key is present",
                                    value=state["workers_alive"])
        yield GaugeMetricFamily("hub_redis_up", "1 when Redis answered this scrape",
                                value=0 if state["queues"] is None else 1)


def exposition() -> bytes:
    """The text of ``/metrics``."""
    state = CollectorRegistry()
    state.register(StateCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    return generate_latest(counted) + generate_latest(state)


def _metrics_view() -> Response:
    token = os.environ.get("HUB_METRICS_TOKEN")
    if token:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            abort(401, "Send Authorization: Bearer <HUB_METRICS_TOKEN>.")
    elif current_app.config.get("HUB_PROXY_HOPS") or request.remote_addr not in LOOPBACK:  # behind a proxy the
        abort(403, "/metrics answers loopback only, and behind a proxy (HUB_PROXY_HOPS) nobody without a token; "
                   "set HUB_METRICS_TOKEN to scrape it.")  # address comes from a header a client may forge
    return Response(exposition(), mimetype="text/plain; version=0.0.4; charset=utf-8")


def readiness() -> dict[str, Any]:
    """``ready`` and one entry per check (``ok``, or what is wrong in words), with the hub's version."""
    checks: dict[str, str] = {}
    try:
        current, head = schema.current_revisions(), schema.head_revisions()
        checks["database"] = "ok" if current == head else (
            f"the schema is at {', '.join(sorted(current)) or 'nothing'}, this code expects "
            f"{', '.join(sorted(head))}: run `flask hub init-db`")
    except SQLAlchemyError as exc:
        db.session.rollback()
        checks["database"] = f"does not answer ({type(exc).__name__})"
    try:
        conn = services().redis
        conn.ping()
        checks["redis"] = "ok"
        alive = sum(1 for _ in conn.scan_iter(match=jobs.LIVENESS_PREFIX + "*", count=500))
        checks["workers"] = "ok" if alive else "no worker is alive (start `flask hub worker`)"
    except redis.RedisError as exc:
        checks["redis"] = f"does not answer ({type(exc).__name__})"
        checks["workers"] = "unknown while Redis does not answer"
    ready = all(value == "ok" for value in checks.values())
    return {"ready": ready, "version": hub.__version__, "checks": checks}


def _healthz_view() -> Response:
    return jsonify(status="ok", version=hub.__version__)


def _readyz_view() -> tuple[Response, int]:
    state = readiness()
    return jsonify(state), 200 if state["ready"] else 503


def clean_multiprocess_dir(folder: str | None = None) -> list[str]:
    """Remove the files ``prometheus-client`` left in ``PROMETHEUS_MULTIPROC_DIR`` for processes that no longer
    run (``<kind>_<pid>.db``); what they counted is gone from the totals (Prometheus reads that as a counter
    reset). Returns the names removed."""
    folder = folder or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder or not os.path.isdir(folder):
        return []
    removed = []
    for path in Path(folder).glob("*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _running(int(pid)):
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def init_app(app: Flask) -> None:
    clean_multiprocess_dir()
    app.add_url_rule("/metrics", "metrics", _metrics_view)
    app.add_url_rule("/healthz", "healthz", _healthz_view)
    app.add_url_rule("/readyz", "readyz", _readyz_view)
