"""The job layer: every background action is a :class:`SyncRun` row executed by an RQ job.

* Queues by latency class: ``interactive`` (test connection, client lookup), ``imports``, ``exports``.
* Jobs receive a run id only; the worker loads everything else (and decrypts credentials) itself.
* Every job runs in a Flask app context; a forked work-horse first drops the database connections
  and Redis sockets it inherited.
* Retries follow the error class: ``AuthError``/``ConfigError`` never (the connection is marked as
  needing attention), ``RateLimited``/``TransientError`` with exponential backoff that honours the
  vendor's ``Retry-After``, capped. The run row records every attempt and the outcome.

Flows register with this layer, which never imports a flow: their actions with :func:`action` (e.g.
``@action("test_connection")``), what to do when a run fails in a way that needs attention with
:func:`on_attention`, and what to do once a run reached a final state with :data:`FINISH_HOOKS`.
"""

from __future__ import annotations

import gc
import logging
import os
import random
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import rq
from flask import Flask, current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import String, cast, insert, text, update

from hub import redaction
from hub.errors import HubError, UnexpectedError
from hub.http import shared_ssl_context
from hub.models import SyncRun, db, utcnow
from hub.services import services

log = logging.getLogger("hub.jobs")

QUEUES = ("interactive", "imports", "exports")
MAX_ATTEMPTS = 6
RETRY_BASE_SECONDS = 10.0
RETRY_CAP_SECONDS = 900.0

Action = Callable[[SyncRun], dict | None]
ACTIONS: dict[str, tuple[Action, str]] = {}


def action(kind: str, queue: str = "interactive") -> Callable[[Action], Action]:
    """Register the function that performs runs of ``kind`` (executed on ``queue``)."""

    def register(func: Action) -> Action:
        ACTIONS[kind] = (func, queue)
        return func

    return register


# -- the worker side ---------------------------------------------------------------------------
_worker_app: Flask | None = None
_worker_pid: int | None = None


def set_worker_app(app: Flask) -> None:
    global _worker_app, _worker_pid
    _worker_app, _worker_pid = app, os.getpid()


def has_worker_app() -> bool:
    return _worker_app is not None


def worker_app() -> Flask:
    """The app jobs run in: the one the worker process set up (``flask hub worker`` does, and so does
    ``hub.app.StandaloneJob`` for a plain ``rq worker``)."""
    if _worker_app is None:
        raise RuntimeError("no app for this worker: start it with `flask hub worker`, or run "
                           "`rq worker --job-class hub.app.StandaloneJob`")
    return _worker_app


def prepare_for_forking() -> None:
    """Make each forked work-horse cheap: the database dialect is initialised once here (not in every
    horse), the parent's connections are returned so none is shared, and everything loaded so far is
    frozen out of the garbage collector (a horse's collections then skip the inherited heap instead of
    walking — and copying — all of it)."""
    shared_ssl_context()
    with worker_app().app_context():
        db.session.execute(text("SELECT 1"))
        db.session.remove()
        db.engine.dispose()
    gc.collect()
    gc.freeze()


class AppJob(Job):
    """An RQ job that runs inside the hub's Flask app context."""

    def perform(self) -> Any:
        app = worker_app()
        with app.app_context():
            if os.getpid() != _worker_pid:  # a forked work-horse: never reuse the parent's connections
                db.engine.dispose(close=False)
                app.extensions["hub"].reset_after_fork()
            try:
                return super().perform()
            finally:
                db.session.remove()


def get_queue(name: str) -> rq.Queue:

    return rq.Queue(name, connection=services().redis, job_class=AppJob)


def make_worker(queues: tuple[str, ...] = QUEUES, *, simple: bool = False, name: str | None = None) -> rq.Worker:
    """A worker on ``queues``; ``simple`` runs jobs in-process (tests, small benchmarks)."""

    cls = rq.SimpleWorker if simple else rq.Worker
    conn = services().redis
    return cls([rq.Queue(q, connection=conn, job_class=AppJob) for q in queues], connection=conn,
               job_class=AppJob, name=name)


# -- creating and enqueuing runs ---------------------------------------------------------------
def start_run(kind: str, *, firm_id: int, integration_id: int | None = None,
              client_connection_id: int | None = None, params: dict | None = None, trigger: str = "user",
              user_id: int | None = None, enqueue: bool = True, at_front: bool = False) -> SyncRun:
    """Record a run and (unless ``enqueue=False``) put it on its queue. Commits."""
    if kind not in ACTIONS:
        raise ValueError(f"unknown run kind {kind!r}")
    run = SyncRun(kind=kind, firm_id=firm_id, integration_id=integration_id,
                  client_connection_id=client_connection_id, params=params or {}, trigger=trigger,
                  requested_by_id=user_id)
    db.session.add(run)
    db.session.commit()
    if enqueue:
        enqueue_run(run, at_front=at_front)
    return run


def enqueue_run(run: SyncRun, *, delay: float = 0.0, at_front: bool = False) -> Job:
    queue = get_queue(ACTIONS[run.kind][1])
    job_id = f"run-{run.id}-{run.attempts}"
    run.job_id = job_id
    db.session.commit()
    options = _job_options(run.kind, run.id, job_id)
    if delay > 0:
        return queue.enqueue_in(timedelta(seconds=delay), execute, run.id, **options)
    return queue.enqueue(execute, run.id, at_front=at_front, **options)


def _job_options(kind: str, run_id: int, job_id: str) -> dict[str, Any]:
    return dict(job_id=job_id, result_ttl=600, failure_ttl=86400, job_timeout=_timeout(kind),
                description=f"{kind} run {run_id}")


def start_runs(kind: str, runs: list[dict[str, Any]], *, trigger: str = "user",
               user_id: int | None = None) -> list[int]:
    """Record many runs of ``kind`` and put them on their queue, in bulk: one insert, one update of their job
    ids, one commit and one Redis pipeline, whatever their number (a reload of 10,000 clients; an import day).
    Each of ``runs`` gives ``firm_id`` and optionally ``integration_id``, ``client_connection_id``, ``params``.
    Returns the run ids; the jobs are queued in the order given (the order the rows are inserted in)."""
    if kind not in ACTIONS:
        raise ValueError(f"unknown run kind {kind!r}")
    if not runs:
        return []
    table = SyncRun.__table__
    now = utcnow()
    rows = [{"kind": kind, "firm_id": r["firm_id"], "integration_id": r.get("integration_id"),
             "client_connection_id": r.get("client_connection_id"), "params": r.get("params") or {},
             "trigger": trigger, "requested_by_id": user_id, "status": "queued", "attempts": 0,
             "progress_done": 0, "progress_total": 0, "created_at": now} for r in runs]
    ids: list[int] = []
    for chunk in range(0, len(rows), 1000):  # a multi-row VALUES within every database's limit of parameters
        ids += db.session.execute(insert(table).values(rows[chunk:chunk + 1000]).returning(table.c.id)).scalars()
    db.session.execute(update(table).where(table.c.id.in_(ids)).values(
        job_id="run-" + cast(table.c.id, String) + "-0"))
    db.session.commit()
    queue = get_queue(ACTIONS[kind][1])
    with queue.connection.pipeline() as pipe:
        queue.enqueue_many([rq.Queue.prepare_data(execute, (run_id,), **_rq_options(kind, run_id))
                            for run_id in sorted(ids)], pipeline=pipe)
        pipe.execute()
    return ids


def _rq_options(kind: str, run_id: int) -> dict[str, Any]:
    """:func:`_job_options` spelled as ``Queue.prepare_data`` takes them."""
    options = _job_options(kind, run_id, f"run-{run_id}-0")
    options["timeout"] = options.pop("job_timeout")
    return options


def _timeout(kind: str) -> int:
    return {"reload": 3600, "import": 900}.get(kind, 300)


def wait_for(run: SyncRun, timeout: float) -> SyncRun:
    """Wait up to ``timeout`` seconds for ``run`` to finish; return it refreshed from the database."""
    deadline = time.monotonic() + timeout
    try:
        job = Job.fetch(run.job_id, connection=get_queue("interactive").connection) if run.job_id else None
    except NoSuchJobError:  # already expired from Redis: the database answers
        job = None
    while time.monotonic() < deadline:
        db.session.refresh(run)
        if run.finished:
            return run
        remaining = deadline - time.monotonic()
        if job is not None and remaining > 0:
            try:
                job.latest_result(timeout=1)  # wakes up as soon as the job stores its result
            except Exception:
                time.sleep(0.1)
        else:
            time.sleep(0.05)
    db.session.refresh(run)
    return run


# -- executing ---------------------------------------------------------------------------------
def retry_delay(attempt: int, retry_after: float | None, *, base: float | None = None,
                cap: float | None = None) -> float:
    """Backoff before attempt ``attempt + 1``: exponential with jitter, never sooner than the vendor's
    ``Retry-After``, never longer than the cap."""
    base = base if base is not None else current_app.config.get("HUB_RETRY_BASE", RETRY_BASE_SECONDS)
    cap = cap if cap is not None else current_app.config.get("HUB_RETRY_CAP", RETRY_CAP_SECONDS)
    delay = base * (2 ** (attempt - 1)) * random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, cap)


def execute(run_id: int) -> str:
    """The RQ job: perform one attempt of run ``run_id`` and record the outcome."""
    run = db.session.get(SyncRun, run_id)
    if run is None or run.finished:
        return "skipped"
    run.status = "running"
    run.attempts += 1
    run.started_at = run.started_at or utcnow()
    db.session.commit()
    func = ACTIONS[run.kind][0]
    try:
        result = func(run)
    except HubError as exc:
        db.session.rollback()
        run = db.session.get(SyncRun, run_id)
        run.error = exc.as_dict()
        if isinstance(exc, UnexpectedError):
            run.error_detail = redaction.mask(traceback.format_exc())
        max_attempts = current_app.config.get("HUB_MAX_ATTEMPTS", MAX_ATTEMPTS)
        if exc.retryable and run.attempts < max_attempts:
            run.status = "retrying"
            db.session.commit()
            delay = retry_delay(run.attempts, getattr(exc, "retry_after", None))
            log.info("run %s (%s) attempt %s failed (%s); retrying in %.1f s", run.id, run.kind,
                     run.attempts, exc.kind, delay)
            enqueue_run(run, delay=delay)
            return "retrying"
        run.status = "failed"
        run.finished_at = utcnow()
        if exc.needs_attention:
            for hook in ATTENTION_HOOKS:
                hook(run, exc)
        db.session.commit()
        _after_finish(run)
        log.info("run %s (%s) failed: %s", run.id, run.kind, exc)
        return "failed"
    except Exception as exc:  # a bug in the hub itself: record it, never retry blindly
        db.session.rollback()
        run = db.session.get(SyncRun, run_id)
        run.status = "failed"
        run.finished_at = utcnow()
        run.error = UnexpectedError(f"Unexpected error ({type(exc).__name__}).",
                                    hint="The details are kept in the run record.").as_dict()
        run.error_detail = redaction.mask(traceback.format_exc())
        db.session.commit()
        _after_finish(run)
        log.exception("run %s (%s) crashed", run.id, run.kind)
        return "failed"
    run.status = "succeeded"
    run.result = result or {}
    run.error = None
    run.finished_at = utcnow()
    db.session.commit()
    _after_finish(run)
    return "succeeded"


#: Called after a run reached a final state (flows use it for notifications).
FINISH_HOOKS: list[Callable[[SyncRun], None]] = []

#: Called, before the failure is committed, when a run failed with an error that needs attention
#: (``AuthError``/``ConfigError``): the connections flow marks the credentials' owner.
ATTENTION_HOOKS: list[Callable[[SyncRun, HubError], None]] = []


def on_attention(hook: Callable[[SyncRun, HubError], None]) -> Callable[[SyncRun, HubError], None]:
    """Register ``hook(run, exc)`` for runs that fail in a way that needs attention."""
    ATTENTION_HOOKS.append(hook)
    return hook


def _after_finish(run: SyncRun) -> None:
    for hook in FINISH_HOOKS:
        try:
            hook(run)
        except Exception:
            log.exception("finish hook failed for run %s", run.id)
