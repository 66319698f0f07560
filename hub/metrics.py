"""What operators see: Prometheus ``/metrics`` (``prometheus-client``) and ``flask hub status``.

Read from the record at scrape time (correct whichever process asks):

* ``hub_runs{kind,state}`` — runs by kind and state (every non-final run; final ones of the last 24 h);
* ``hub_queue_jobs{queue,registry}`` — queue depths in Redis (queued, scheduled, started, failed);
* ``hub_workers_alive`` — workers whose liveness key is present;
* ``hub_runs_stuck_candidates`` — ``running`` runs not updated for longer than their time limit.

Counted where the work happens (in worker and scheduler processes): ``hub_vendor_requests_total{vendor,outcome}``,
``hub_vendor_request_seconds{vendor}``, ``hub_run_duration_seconds{kind,state}`` and
``hub_reconciled_runs_total{rule}``. Each process counts its own; to see every process's counts on one
endpoint set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder shared by the processes of one machine
(``flask hub up`` does); otherwise ``/metrics`` shows the web process's own.

``/metrics`` answers loopback clients, or anyone sending ``Authorization: Bearer $HUB_METRICS_TOKEN`` when that
variable is set; behind a trusted proxy (``HUB_PROXY_HOPS``) only the token opens it.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
from collections.abc import Iterator
from typing import Any

import redis
from flask import Flask, Response, abort, current_app, request
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import func, or_

from hub import jobs
from hub.models import SyncRun, db, utcnow
from hub.services import services

FINAL_WINDOW = dt.timedelta(hours=24)
LOOPBACK = ("127.0.0.1", "::1")


def snapshot() -> dict[str, Any]:
    """The state the gauges report: ``runs`` {(kind, state): n}, ``queues`` {queue: {registry: n}},
    ``workers_alive``, ``stuck_candidates``; Redis figures are ``None`` while Redis is away."""
    since = utcnow() - FINAL_WINDOW
    rows = db.session.query(SyncRun.kind, SyncRun.status, func.count(SyncRun.id)).filter(or_(
        SyncRun.status.notin_(("succeeded", "failed")), SyncRun.finished_at >= since,
    )).group_by(SyncRun.kind, SyncRun.status).all()
    stuck = 0
    for run in SyncRun.query.filter(SyncRun.status == "running", SyncRun.kind.notin_(jobs.batch_kinds())):
        updated = run.updated_at or run.started_at or run.created_at
        if updated < utcnow() - dt.timedelta(seconds=jobs.kind_of(run).timeout):
            stuck += 1
    out: dict[str, Any] = {"runs": {(k, s): n for k, s, n in rows}, "stuck_candidates": stuck,
                           "queues": None, "workers_alive": None}
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
        runs = GaugeMetricFamily("hub_runs", "Runs by kind and state (non-final, and final ones of the last 24 h)",
                                 labels=["kind", "state"])
        for (kind, status), count in sorted(state["runs"].items()):
            runs.add_metric([kind, status], count)
        yield runs
        yield GaugeMetricFamily("hub_runs_stuck_candidates", "Running runs not updated for longer than their "
                                "time limit", value=state["stuck_candidates"])
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


def init_app(app: Flask) -> None:
    app.add_url_rule("/metrics", "metrics", _metrics_view)
