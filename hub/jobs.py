"""The job layer: every background action is a :class:`SyncRun` row executed by an RQ job.

* Queues by latency class: ``interactive`` (test connection, client lookup), ``imports``, ``exports``.
* Jobs receive a run id only; the worker loads everything else (and decrypts credentials) itself.
* Every job runs in a Flask app context; a forked work-horse first drops the database connections
  and Redis sockets it inherited. ``flask hub worker`` runs jobs in long-lived processes (RQ's
  ``SimpleWorker``) by default; ``--fork`` forks a work-horse per job.
* The database is the record, Redis only the queue: :func:`execute` claims an attempt in the database,
  :func:`abandon` settles an attempt that died, :func:`reconcile` holds the rules that find them, and a run
  whose enqueue failed stays ``queued`` for the reconciler (:class:`QueueUnavailable`: the web answers 503).
* One claim: the run row. A run acts on one unit of work (``subject``, e.g. ``export:17``): while one run on a
  subject is live no second is recorded (a partial unique index), so two attempts at the same work never overlap
  and no lease in Redis is needed.
* Retries follow the error class: ``AuthError``/``ConfigError`` never (the kind's ``on_attention`` runs),
  ``RateLimited``/``TransientError`` with the kind's :class:`Retry` policy — exponential backoff that honours
  the vendor's ``Retry-After``, capped — due at a time recorded on the run (``next_attempt_at``), so a Redis
  restart does not bring it forward. The run row records every attempt and the outcome.
* A vendor quota that resets at a known time (``RateLimited(until=..., quota="daily")``) parks the run until then
  (``next_attempt_at``, however far): the attempt is not counted against the kind's attempts (``quota_waits``), and
  the run shows "waiting for <Vendor>'s daily quota until 00:00 UTC" (:func:`quota_wait`, from the stored due time
  and the stored error).
* Batches (:func:`start_batch`): a parent run and its children (``parent_run_id``); the parent is final when
  every child is, counts failures, and its kind's ``on_finish`` runs once.

Flows register each kind of run once with this layer, which never imports a flow: :func:`register` with a
:class:`Kind` — its action, queue, time limit, retry policy, and its ``on_finish`` and ``on_attention`` handlers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import os
import random
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import redis
import rq
from flask import Flask, current_app, json, render_template, request
from prometheus_client import Counter, Histogram
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.timeouts import JobTimeoutException
from rq.utils import now as rq_now
from sqlalchemy import String, cast, func, insert, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import configure_mappers
from werkzeug.exceptions import ServiceUnavailable

from hub import redaction
from hub.errors import HubError, TransientError, UnexpectedError
from hub.http import shared_ssl_context, shared_transport
from hub.models import LIVE, Integration, SyncRun, db, utcnow
from hub.services import services

log = logging.getLogger("hub.jobs")

#: Stuck runs the reconciler (or a worker's supervisor) settled, by rule.
RECONCILED = Counter("hub_reconciled_runs", "Runs the reconciler settled", ["rule"])
RUN_DURATION = Histogram("hub_run_duration_seconds", "Runs from start to final state", ["kind", "state"],
                         buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600))

QUEUES = ("interactive", "imports", "exports", "webhooks")  # webhooks: hub.webhooks deliveries
MAX_ATTEMPTS = 6
RETRY_BASE_SECONDS = 10.0
RETRY_CAP_SECONDS = 900.0
RETRY_AFTER_MAX = 86400.0  # a vendor's Retry-After is honoured up to a day
QUOTA_WAIT_MAX = dt.timedelta(days=31)  # a quota's reset (RateLimited.until) is waited for up to a month

Action = Callable[[SyncRun], dict | None]


@dataclass(frozen=True)
class Retry:
    """How a kind's failed attempts are retried: exponential backoff with jitter from ``base`` seconds up to ``cap``,
    never sooner than the vendor's ``Retry-After``; at most ``attempts`` attempts (``None``:
    until the action itself gives up). Each figure can be set in the app's config (or the environment) as
    ``{prefix}_RETRY_BASE``, ``{prefix}_RETRY_CAP`` and ``{prefix}_MAX_ATTEMPTS``."""

    prefix: str = "HUB"
    base: float = RETRY_BASE_SECONDS
    cap: float = RETRY_CAP_SECONDS
    attempts: int | None = MAX_ATTEMPTS

    def _setting(self, name: str, default: float | None) -> float | None:
        key = f"{self.prefix}_{name}"
        value = current_app.config.get(key, os.environ.get(key) or default)
        return None if value is None else float(value)

    def max_attempts(self) -> int | None:
        if self.attempts is None:
            return None
        return int(self._setting("MAX_ATTEMPTS", self.attempts))

    def attempts_left(self, run: SyncRun) -> bool:
        """Whether ``run`` may be tried again: its attempts, less those that waited for a quota's reset, are fewer
        than :meth:`max_attempts`."""
        max_attempts = self.max_attempts()
        return max_attempts is None or counted_attempts(run) < max_attempts

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        """Seconds before the next attempt after ``failures`` failures in a row: the hub's own backoff, capped — or
        the vendor's ``Retry-After`` when that is later (the vendor knows when it takes work again; kept within
        :data:`RETRY_AFTER_MAX`)."""
        base, cap = self._setting("RETRY_BASE", self.base), self._setting("RETRY_CAP", self.cap)
        delay = min(base * (2 ** min(max(failures, 1) - 1, 30)) * random.uniform(0.8, 1.2), cap)
        if retry_after is not None:
            delay = max(delay, min(retry_after, RETRY_AFTER_MAX))
        return delay


DEFAULT_RETRY = Retry()


def counted_attempts(run: SyncRun) -> int:
    """The run's attempts that count against its kind's limit (not those that met a quota and waited for it)."""
    return run.attempts - (run.quota_waits or 0)


def quota_wait(run: SyncRun) -> str | None:
    """"waiting for Scoro's daily quota until 00:00 UTC" while the run waits for a vendor quota's reset (derived
    from its stored due time and error), else ``None``."""
    error = run.error or {}
    if run.status != "retrying" or not error.get("quota") or run.next_attempt_at is None:
        return None
    integration = db.session.get(Integration, run.integration_id) if run.integration_id else None
    vendor = services().registry.vendors.get(integration.vendor) if integration else None
    whose = f"{vendor.info.name}'s" if vendor else "the vendor's"
    when = run.next_attempt_at
    at = when.strftime("%H:%M") if when - utcnow() < dt.timedelta(hours=24) else when.strftime("%Y-%m-%d %H:%M")
    return f"waiting for {whose} {error['quota']} quota until {at} UTC"


@dataclass(frozen=True)
class Kind:
    """A kind of run, registered once (:func:`register`) by the flow that owns it.

    * ``action(run)`` performs one attempt and returns the run's result; ``None`` makes the kind a **batch**: its
      runs are never executed themselves, they are final when every child (:func:`start_batch`) is.
    * ``queue``: the latency class. Runs on ``interactive`` have an admin waiting: they fail fast (one attempt).
    * ``retry``: the backoff and the attempts of retryable failures; ``failures(run)`` counts the failures in a
      row the backoff grows with (default: the run's attempts).
    * ``on_finish(run)``: once, after the run reached a final state (notifications, events, bookkeeping).
    * ``on_attention(run, error)``: before the failure is committed, when it needs attention (``AuthError``,
      ``ConfigError``).
    """

    name: str
    action: Action | None
    queue: str = "interactive"
    timeout: int = 300
    retry: Retry = DEFAULT_RETRY
    failures: Callable[[SyncRun], int] | None = None
    on_finish: Callable[[SyncRun], None] | None = None
    on_attention: Callable[[SyncRun, HubError], None] | None = None

    @property
    def batch(self) -> bool:
        return self.action is None

    @property
    def fail_fast(self) -> bool:
        return self.queue == "interactive"


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Register a kind of run (once per name: a second registration of the same name is a programming error)."""
    if kind.name in KINDS and KINDS[kind.name] != kind:
        raise ValueError(f"run kind {kind.name!r} is registered twice")
    if kind.queue not in QUEUES:
        raise ValueError(f"unknown queue {kind.queue!r} for run kind {kind.name!r}")
    KINDS[kind.name] = kind
    return kind


def kind_of(run_or_name: SyncRun | str) -> Kind:
    name = run_or_name if isinstance(run_or_name, str) else run_or_name.kind
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown run kind {name!r}") from None


def batch_kinds() -> list[str]:
    return [k.name for k in KINDS.values() if k.batch]


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


def worker_name() -> str:
    """The name of this process's RQ worker: host and pid, so a supervisor that sees its child die knows
    which worker's runs to settle (:func:`reap_worker`)."""
    return f"hub.{socket.gethostname()}.{os.getpid()}"


def make_worker(queues: tuple[str, ...] = QUEUES, *, simple: bool = False, name: str | None = None) -> rq.Worker:
    """A worker on ``queues``; ``simple`` runs jobs in-process (no fork per job: ``flask hub worker``'s
    default), otherwise every job forks a work-horse (``--fork``)."""

    cls = _SimpleWorker if simple else _ForkingWorker
    conn = services().redis
    if simple:  # what every process pays once (CA bundle, connection pool, mappers) is paid before the first job
        shared_transport()
        configure_mappers()
    options: dict[str, Any] = {}
    if not simple:
        options["work_horse_killed_handler"] = _horse_killed
    return cls([rq.Queue(q, connection=conn, job_class=AppJob) for q in queues], connection=conn,
               job_class=AppJob, name=name, **options)


#: A plain RQ worker heartbeat (no TTL of its own asked for) this soon after the previous one is skipped: RQ sends
#: one before each dequeue, one after it and one after each job — 3 round trips each, 9 per job — while the worker's
#: key lives ``worker_ttl`` + 60 s (8 minutes). The hub's own liveness key (:func:`start_liveness`) is what the
#: reconciler reads; RQ's key only tells RQ's tools the worker exists.
HEARTBEAT_EVERY = 10.0


class _CoalescedHeartbeat:
    """RQ's worker heartbeat at most every :data:`HEARTBEAT_EVERY` seconds, its three commands in one round trip.
    A heartbeat with a TTL of its own (before a job: the job's time limit + 60 s) or inside a pipeline is always
    sent."""

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        if pipeline is not None or timeout is not None:
            return super().heartbeat(timeout, pipeline=pipeline)  # type: ignore[misc]
        last = getattr(self, "last_heartbeat", None)
        if last is not None and (rq_now() - last).total_seconds() < HEARTBEAT_EVERY:
            return None
        with self.connection.pipeline(transaction=False) as pipe:  # type: ignore[attr-defined]
            super().heartbeat(None, pipeline=pipe)  # type: ignore[misc]
            pipe.execute()
        return None


class _SimpleWorker(_CoalescedHeartbeat, rq.SimpleWorker):
    pass


class _ForkingWorker(_CoalescedHeartbeat, rq.Worker):
    pass


def _horse_killed(job: Job, _pid: int, ret_val: int, _rusage: object) -> None:
    """A forking worker's work-horse died (``kill -9``, out of memory) before recording an outcome."""
    how = f"signal {os.WTERMSIG(ret_val)}" if ret_val and os.WIFSIGNALED(ret_val) else f"status {ret_val}"
    with worker_app().app_context():
        try:
            run = SyncRun.query.filter_by(job_id=job.id, status="running").one_or_none()
            if run is not None:
                abandon(run, f"the process running it stopped ({how})", rule="horse_killed")
        finally:
            db.session.remove()


# -- worker liveness -----------------------------------------------------------------------------
LIVENESS_PREFIX = "hub:worker-alive:"


def liveness_interval() -> float:
    return float(os.environ.get("HUB_WORKER_HEARTBEAT", "10"))


def start_liveness(name: str, redis_url: str, stop: threading.Event) -> threading.Thread:
    """Announce every few seconds that worker ``name`` is alive (a key with a TTL of 3 intervals), from a
    thread of its own so a long job does not stop it. The reconciler settles the runs of a worker whose key
    is gone (the process and its machine may be lost: nobody else would record their end)."""
    interval = liveness_interval()
    conn = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)

    def beat() -> None:
        while not stop.is_set():
            try:
                conn.set(LIVENESS_PREFIX + name, str(os.getpid()), ex=max(1, int(3 * interval)))
            except redis.RedisError:
                pass  # Redis is away: the next beat re-announces it (the reconciler waits for that)
            stop.wait(interval)
        with contextlib.suppress(redis.RedisError):
            conn.delete(LIVENESS_PREFIX + name)

    thread = threading.Thread(target=beat, daemon=True, name=f"liveness-{name}")
    thread.start()
    return thread


# -- creating and enqueuing runs ---------------------------------------------------------------
class QueueUnavailable(Exception):
    """Redis did not take the job of one or more runs. The runs are recorded (``queued``) and the reconciler
    enqueues them once Redis answers again — the run rows are the outbox. The web answers 503 with this."""

    def __init__(self, run_ids: list[int]) -> None:
        self.run_ids = run_ids
        which = ", ".join(f"#{i}" for i in run_ids[:5]) + (f" and {len(run_ids) - 5} more" if len(run_ids) > 5 else "")
        super().__init__(f"The job queue (Redis) is not reachable right now. Run {which} is recorded and starts "
                         "automatically once the queue is back: there is no need to try again.")
        self.message = str(self)


_deferred: list[list[int]] = []


@contextlib.contextmanager
def enqueue_errors_deferred() -> Iterator[None]:
    """Inside the block a run whose enqueue fails does not stop the following ones from being recorded
    (e.g. a Reload creating one run per client); one :class:`QueueUnavailable` naming them all is raised
    at the end."""
    failed: list[int] = []
    _deferred.append(failed)
    try:
        yield
    finally:
        _deferred.remove(failed)
    if failed:
        raise QueueUnavailable(failed)


QUEUE_DOWN = "The job queue (Redis) is not reachable right now; try again in a minute."


def queue_unavailable_response(exc: Exception):  # noqa: ANN201 - a Flask response
    """503 with what happened (not a 500): problem details on the API, the error page elsewhere."""
    message = str(exc) if isinstance(exc, QueueUnavailable) else QUEUE_DOWN
    log.warning("answered 503 for %s %s: %s", request.method, request.path, type(exc).__name__)
    headers = {"Retry-After": "30"}
    if request.path.startswith("/api/"):
        body = {"type": "urn:hub:problem:queue-unavailable", "title": "Service Unavailable", "status": 503,
                "detail": message, "instance": request.path, "kind": "queue_unavailable"}
        return current_app.response_class(json.dumps(body), status=503, mimetype="application/problem+json",
                                          headers=headers)
    return render_template("error.html", error=ServiceUnavailable(message)), 503, headers


def init_app(app: Flask) -> None:
    """Answer 503 with a message when Redis is away while a request needs it (the app factory calls it)."""
    for cls in (QueueUnavailable, redis.ConnectionError, redis.TimeoutError):
        app.register_error_handler(cls, queue_unavailable_response)


def live_run(kind: str, subject: str) -> SyncRun | None:
    """The live (queued, retrying or running) run of ``kind`` on ``subject``, if there is one."""
    return SyncRun.query.filter(SyncRun.kind == kind, SyncRun.subject == subject,
                                SyncRun.status.in_(LIVE)).one_or_none()


def start_run(kind: str, *, firm_id: int, integration_id: int | None = None,
              client_connection_id: int | None = None, params: dict | None = None, trigger: str = "user",
              user_id: int | None = None, subject: str | None = None, enqueue: bool = True,
              at_front: bool = False, delay: float = 0.0) -> SyncRun:
    """Record a run and (unless ``enqueue=False``) put it on its queue, ``delay`` seconds from now. Commits.

    ``subject`` names the unit of work (``"export:17"``): while a run of the same kind on the same subject is live,
    no second one is recorded — that run is returned instead (its ``id`` tells the caller; nothing is enqueued).

    The row is committed first; if Redis then refuses the job the run stays ``queued`` and the reconciler
    enqueues it later, and :class:`QueueUnavailable` is raised (after the whole block inside
    :func:`enqueue_errors_deferred`)."""
    kind_of(kind)
    run = SyncRun(kind=kind, firm_id=firm_id, integration_id=integration_id, subject=subject,
                  client_connection_id=client_connection_id, params=params or {}, trigger=trigger,
                  requested_by_id=user_id)
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:  # a live run on this subject: the partial unique index uq_sync_run_live_subject
        db.session.rollback()
        existing = live_run(kind, subject) if subject else None
        if existing is None:
            raise
        return existing
    if enqueue:
        _enqueue_or_defer(run, delay=delay, at_front=at_front)
    return run


def add_run(kind: str, *, firm_id: int | None, subject: str, params: dict | None = None,
            trigger: str = "system") -> SyncRun | None:
    """Record a run of ``kind`` on ``subject`` in the caller's transaction (a savepoint), enqueued once that
    transaction commits — for a flow that must record work together with what caused it (a webhook event and its
    delivery). Returns ``None`` when a run on ``subject`` is live already: that run does the work. If the enqueue
    after the commit fails the run stays ``queued`` and the reconciler's outbox rule enqueues it."""
    kind_of(kind)
    run = SyncRun(kind=kind, firm_id=firm_id, subject=subject, params=params or {}, trigger=trigger)
    try:
        with db.session.begin_nested():
            db.session.add(run)
            db.session.flush()
            run.job_id = f"run-{run.id}-0"
    except IntegrityError:
        return None
    _enqueue_after_commit(kind, run.id)
    return run


def _enqueue_after_commit(kind: str, run_id: int) -> None:
    session = db.session()
    pending: list[tuple[str, int]] | None = session.info.get("hub_enqueue_after_commit")
    if pending is None:
        pending = session.info["hub_enqueue_after_commit"] = []

        def after_commit(sess: Any) -> None:
            for kind_name, queued_id in sess.info.pop("hub_enqueue_after_commit", []):
                try:  # Redis only: the session cannot run SQL inside its own after_commit
                    get_queue(kind_of(kind_name).queue).enqueue(execute, queued_id,
                                                                **_job_options(kind_name, queued_id,
                                                                               f"run-{queued_id}-0"))
                except redis.RedisError:
                    log.warning("run %s (%s) recorded but not enqueued: the reconciler will", queued_id, kind_name)

        def after_rollback(sess: Any, _previous: Any) -> None:
            if not sess.in_transaction():
                sess.info.pop("hub_enqueue_after_commit", None)

        sa_event.listen(session, "after_commit", after_commit, once=True)
        sa_event.listen(session, "after_soft_rollback", after_rollback, once=True)
    pending.append((kind, run_id))


def _enqueue_or_defer(run: SyncRun, *, delay: float = 0.0, at_front: bool = False) -> None:
    try:
        enqueue_run(run, delay=delay, at_front=at_front)
    except redis.RedisError as exc:
        log.warning("run %s (%s) recorded but not enqueued (%s): the reconciler enqueues it once Redis is "
                    "back", run.id, run.kind, type(exc).__name__)
        if not _deferred:
            raise QueueUnavailable([run.id]) from None
        _deferred[-1].append(run.id)


def enqueue_run(run: SyncRun, *, delay: float = 0.0, at: dt.datetime | None = None, at_front: bool = False) -> Job:
    """Put the run's next attempt on its queue, ``delay`` seconds from now or at ``at`` (naive UTC) (job id
    ``run-<id>-<attempts>``: the same attempt enqueued twice is still executed once, see :func:`execute`). The due
    time is recorded on the run (``next_attempt_at``), so a lost job is re-enqueued for that time, not earlier
    (:func:`reconcile`)."""
    queue = get_queue(kind_of(run).queue)
    job_id = f"run-{run.id}-{run.attempts}"
    now = utcnow()
    if at is None and delay > 0:
        at = now + dt.timedelta(seconds=delay)
    run.job_id = job_id
    run.updated_at = now
    run.next_attempt_at = at if at is not None and at > now else None
    db.session.commit()
    options = _job_options(run.kind, run.id, job_id)
    if run.next_attempt_at is not None:
        return queue.enqueue_at(run.next_attempt_at.replace(tzinfo=dt.UTC), execute, run.id, **options)
    return queue.enqueue(execute, run.id, at_front=at_front, **options)


def _job_options(kind: str, run_id: int, job_id: str) -> dict[str, Any]:
    return dict(job_id=job_id, result_ttl=600, failure_ttl=86400, job_timeout=kind_of(kind).timeout,
                description=f"{kind} run {run_id}")


def start_runs(kind: str, runs: list[dict[str, Any]], *, trigger: str = "user",
               user_id: int | None = None) -> list[int]:
    """Record many runs of ``kind`` and put them on their queue, in bulk: one insert, one update of their job
    ids, one commit and one Redis pipeline, whatever their number (an import day).
    Each of ``runs`` gives ``firm_id`` and optionally ``integration_id``, ``client_connection_id``, ``params``.
    Returns the run ids; the jobs are queued in the order given (the order the rows are inserted in)."""
    ids = _insert_runs(kind, runs, trigger=trigger, user_id=user_id)
    db.session.commit()
    _enqueue_many(kind, ids)
    return ids


def start_batch(kind: str, child_kind: str, children: list[dict[str, Any]], *, firm_id: int,
                integration_id: int | None = None, params: dict | None = None, trigger: str = "user",
                user_id: int | None = None) -> SyncRun:
    """Record a batch — a parent run of ``kind`` (a kind without an action) and one child run of ``child_kind``
    per entry of ``children`` (as :func:`start_runs` takes them) — in one transaction, then enqueue the children.

    The parent is ``running`` from the start and counts its children as they end (``progress_done`` of
    ``progress_total``); after the last one it is final — ``succeeded``, ``partial`` (some children failed) or
    ``failed`` (all did) — and its kind's ``on_finish`` runs once. An empty batch is final at once."""
    if not kind_of(kind).batch:
        raise ValueError(f"run kind {kind!r} has an action: it is not a batch")
    now = utcnow()
    parent = SyncRun(kind=kind, firm_id=firm_id, integration_id=integration_id, params=params or {},
                     trigger=trigger, requested_by_id=user_id, status="running", started_at=now, updated_at=now,
                     progress_total=len(children))
    db.session.add(parent)
    db.session.flush()
    ids = _insert_runs(child_kind, children, trigger=trigger, user_id=user_id, parent_run_id=parent.id)
    db.session.commit()
    if not ids:
        finish_batch(parent)
        return parent
    _enqueue_many(child_kind, ids)
    return parent


def _insert_runs(kind: str, runs: list[dict[str, Any]], *, trigger: str, user_id: int | None,
                 parent_run_id: int | None = None) -> list[int]:
    kind_of(kind)
    if not runs:
        return []
    table = SyncRun.__table__
    now = utcnow()
    rows = [{"kind": kind, "firm_id": r["firm_id"], "integration_id": r.get("integration_id"),
             "client_connection_id": r.get("client_connection_id"), "params": r.get("params") or {},
             "parent_run_id": parent_run_id, "trigger": trigger, "requested_by_id": user_id, "status": "queued",
             "attempts": 0, "progress_done": 0, "progress_total": 0, "created_at": now} for r in runs]
    ids: list[int] = []
    for chunk in range(0, len(rows), 1000):  # a multi-row VALUES within every database's limit of parameters
        ids += db.session.execute(insert(table).values(rows[chunk:chunk + 1000]).returning(table.c.id)).scalars()
    db.session.execute(update(table).where(table.c.id.in_(ids)).values(
        job_id="run-" + cast(table.c.id, String) + "-0"))
    return ids


def _enqueue_many(kind: str, ids: list[int]) -> None:
    queue = get_queue(kind_of(kind).queue)
    try:
        with queue.connection.pipeline() as pipe:
            queue.enqueue_many([rq.Queue.prepare_data(execute, (run_id,), **_rq_options(kind, run_id))
                                for run_id in sorted(ids)], pipeline=pipe)
            pipe.execute()
    except redis.RedisError:  # the rows stay queued: the reconciler's outbox rule enqueues them
        if not _deferred:
            raise QueueUnavailable(ids) from None
        _deferred[-1].extend(ids)


def _rq_options(kind: str, run_id: int) -> dict[str, Any]:
    """:func:`_job_options` spelled as ``Queue.prepare_data`` takes them."""
    options = _job_options(kind, run_id, f"run-{run_id}-0")
    options["timeout"] = options.pop("job_timeout")
    return options


def wait_for(run: SyncRun, timeout: float) -> SyncRun:
    """Wait up to ``timeout`` seconds for ``run`` to finish; return it refreshed from the database."""
    deadline = time.monotonic() + timeout
    try:
        job = Job.fetch(run.job_id, connection=get_queue("interactive").connection) if run.job_id else None
    except (NoSuchJobError, redis.RedisError):  # expired from Redis, or Redis is away: the database answers
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
def execute(run_id: int) -> str:
    """The RQ job: perform one attempt of run ``run_id`` and record the outcome.

    The attempt is claimed in the database first (``queued``/``retrying`` → ``running`` for exactly this
    job id), so an attempt enqueued twice — by the outbox after a Redis restart, or by two reconcilers —
    runs once."""
    session = db.session()
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        return _execute(run_id)
    finally:
        session.expire_on_commit = expire_on_commit


def _execute(run_id: int) -> str:
    """:func:`execute` in a session that does not expire what it loaded at every commit: the run row (and what the
    action read) is written by this job, so re-reading it after each of the job's commits only costs round trips.
    A rollback still expires everything (the failure paths read the run again)."""
    job = rq.get_current_job()
    now = utcnow()
    claim = update(SyncRun).where(SyncRun.id == run_id, SyncRun.status.in_(("queued", "retrying")))
    if job is not None:
        claim = claim.where(SyncRun.job_id == job.id)
    # the claim comes back with the row: no read of the run after it
    run = db.session.execute(claim.values(
        status="running", attempts=SyncRun.attempts + 1, worker=job.worker_name if job else None,
        started_at=func.coalesce(SyncRun.started_at, now), updated_at=now).returning(SyncRun),
        execution_options={"synchronize_session": False, "populate_existing": True}).scalar_one_or_none()
    if run is not None:
        commit_without_waiting_for_disk()
    db.session.commit()
    if run is None:
        return "skipped"
    try:
        result = kind_of(run).action(run)
    except (redis.RedisError, JobTimeoutException) as exc:  # a blip of our own services, or too slow
        return _record_failure(run_id, _as_transient(exc, run.kind))
    except HubError as exc:
        if own_redis_failed(exc):
            exc = _as_transient(exc.__cause__, run.kind)  # the hub's own Redis (rate budget, cache) inside a hook
        return _record_failure(run_id, exc)
    except Exception as exc:  # a bug in the hub itself: record it, never retry blindly
        db.session.rollback()
        run = db.session.get(SyncRun, run_id)
        run.status = "failed"
        run.finished_at = run.updated_at = utcnow()
        run.error = UnexpectedError(f"Unexpected error ({type(exc).__name__}).",
                                    hint="The details are kept in the run record.").as_dict()
        run.error_detail = redaction.mask(traceback.format_exc())
        db.session.commit()
        _after_finish(run)
        log.exception("run %s (%s) crashed", run.id, run.kind)
        return "failed"
    run.status = "succeeded"
    run.result = redaction.mask_structure(result or {})
    run.error = None
    run.finished_at = run.updated_at = utcnow()
    db.session.commit()
    _after_finish(run)
    return "succeeded"


def commit_without_waiting_for_disk() -> None:
    """Let the current transaction's commit return before PostgreSQL has flushed it to disk (``synchronous_commit``
    off for this transaction only; elsewhere a no-op). For bookkeeping a database crash may lose without harm: a
    claim (the run is then claimed again — an attempt is idempotent), a reload's progress counter (the reconciler
    settles a parent whose children all ended). The commit is atomic and visible to every other session at once as
    usual; only the wait for the disk goes — on a busy machine 10–20 ms per commit. Data and outcomes are still
    committed synchronously."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def own_redis_failed(exc: BaseException) -> bool:
    """A hook failed because the hub's own Redis (its rate budget or cache) was away, not because of the plugin:
    the job layer retries such a run like a transient vendor error."""
    return isinstance(exc, UnexpectedError) and isinstance(exc.__cause__, redis.RedisError)


def _as_transient(exc: BaseException, kind: str) -> TransientError:
    if isinstance(exc, JobTimeoutException):
        return TransientError(f"The {kind} took longer than its time limit ({kind_of(kind).timeout} s) and was "
                              "stopped.",
                              hint="The hub will try again later.")
    return TransientError(f"The hub's job queue (Redis) was briefly unreachable ({type(exc).__name__}).",
                          hint="The hub will try again later.")


FAIL_FAST_HINT = "Not retried automatically, because you are waiting for the answer: try again in a moment."


def _record_failure(run_id: int, exc: HubError) -> str:
    db.session.rollback()
    run = db.session.get(SyncRun, run_id)
    kind = kind_of(run)
    run.error = redaction.mask_structure(exc.as_dict())  # vendor text: masked before it is stored
    run.updated_at = utcnow()
    if isinstance(exc, UnexpectedError):
        run.error_detail = redaction.mask(traceback.format_exc())
    until = getattr(exc, "until", None)
    if until is not None and until <= run.updated_at:  # a reset already past: an ordinary, counted retry
        until = None
    if exc.retryable and kind.fail_fast:
        run.error["hint"] = " ".join(filter(None, [exc.hint if exc.hint != "The hub will try again later." else None,
                                                   FAIL_FAST_HINT]))
    elif exc.retryable and until is not None:  # a quota with a known reset: wait for it, uncounted
        run.status = "retrying"
        run.quota_waits = (run.quota_waits or 0) + 1
        log.info("run %s (%s) waits for the vendor's %s quota until %s UTC", run.id, run.kind,
                 getattr(exc, "quota", None) or "", until)
        try:
            enqueue_run(run, at=min(until, run.updated_at + QUOTA_WAIT_MAX))
        except redis.RedisError:
            log.warning("run %s: retry not enqueued (Redis unreachable); the reconciler will", run.id)
        return "retrying"
    elif exc.retryable and kind.retry.attempts_left(run):
        run.status = "retrying"
        failures = kind.failures(run) if kind.failures else counted_attempts(run)
        delay = kind.retry.delay(failures, getattr(exc, "retry_after", None))
        log.info("run %s (%s) attempt %s failed (%s); retrying in %.1f s", run.id, run.kind,
                 run.attempts, exc.kind, delay)
        try:
            enqueue_run(run, delay=delay)  # commits the run with its due time first
        except redis.RedisError:  # stays "retrying" without a job: the reconciler's outbox rule enqueues it when due
            log.warning("run %s: retry not enqueued (Redis unreachable); the reconciler will", run.id)
        return "retrying"
    run.status = "failed"
    run.finished_at = utcnow()
    if exc.needs_attention and kind.on_attention:
        kind.on_attention(run, exc)
    db.session.commit()
    _after_finish(run)
    log.info("run %s (%s) failed: %s", run.id, run.kind, exc)
    return "failed"


# -- settling runs whose attempt died (the reconciler's rules) ---------------------------------------
def abandon(run: SyncRun, reason: str, *, rule: str) -> str:
    """Settle a ``running`` run whose attempt ended without recording an outcome (its process was killed,
    its worker lost): enqueued again at once with its attempt counted while attempts are left (not interactive runs:
    an admin is waiting), otherwise failed with the reason, and the finish hooks run (a Reload parent
    counts it and notifies). Returns the run's new status, or ``"skipped"`` if someone else settled it."""
    kind = kind_of(run)
    retry = not kind.fail_fast and not kind.batch and kind.retry.attempts_left(run)
    status = "retrying" if retry else "failed"
    now = utcnow()
    claimed = db.session.execute(update(SyncRun).where(
        SyncRun.id == run.id, SyncRun.status == "running", SyncRun.attempts == run.attempts,
    ).values(status=status, updated_at=now, finished_at=None if retry else now))
    db.session.commit()
    if claimed.rowcount != 1:
        return "skipped"
    db.session.refresh(run)
    RECONCILED.labels(rule).inc()
    tried = f"{run.attempts} attempt{'s' if run.attempts != 1 else ''}"
    if retry:
        run.error = {"kind": "abandoned", "message": f"Attempt {run.attempts} stopped without an outcome: {reason}.",
                     "hint": "The hub tries again."}
        db.session.commit()
        log.warning("run %s (%s): %s; retrying", run.id, run.kind, reason)
        try:  # at once and first: it was in flight already; the vendor did nothing wrong (attempts bound a crash loop)
            enqueue_run(run, at_front=True)
        except redis.RedisError:
            pass  # the outbox rule enqueues it once Redis is back
        return "retrying"
    hint = FAIL_FAST_HINT if kind.fail_fast else \
        f"Gave up after {tried}; start it again when the cause is fixed."
    run.error = {"kind": "abandoned", "message": f"The run stopped without an outcome: {reason}.", "hint": hint}
    db.session.commit()
    log.warning("run %s (%s): %s; failed after %s", run.id, run.kind, reason, tried)
    _after_finish(run)
    return "failed"


def reap_worker(name: str, reason: str = "its worker process stopped") -> int:
    """Settle the runs a worker (by name) was running when it died: the supervisor calls it for a child it saw
    exit, the reconciler for a worker whose liveness key expired. Returns how many runs were settled."""
    runs = SyncRun.query.filter(SyncRun.status == "running", SyncRun.worker == name).all()
    for run in runs:
        abandon(run, reason, rule="worker_died")
    return len(runs)


def reconcile(now: dt.datetime | None = None) -> dict[str, int]:
    """The database is the record, Redis only the queue. Rules, for runs that execute (not batches):

    1. ``running``, and its RQ job ended failed/stopped/cancelled (the job's process raised outside the
       hub's own handling, e.g. the database was away when recording) → :func:`abandon`.
    2. ``running`` on a worker whose liveness key is gone → :func:`abandon` — but only once Redis itself has
       been up for a whole liveness period (after a Redis restart every live worker re-announces first).
    3. ``running`` with no worker recorded, for longer than its time limit plus a margin → :func:`abandon`.
    4. ``queued``/``retrying`` for longer than ``HUB_RECONCILE_GRACE`` seconds whose job is not in Redis
       (the enqueue failed, Redis restarted empty, a scheduled retry was lost) or ended there without the run
       recording it (the database was away when the job tried to claim it) → enqueued again (the outbox), for
       the time its retry is due (``next_attempt_at``: a vendor's ``Retry-After`` is kept), or at once.
       An attempt enqueued twice still runs once (:func:`execute` claims it).

    And for batches: 5. a parent whose children all ended, the last more than ``HUB_RECONCILE_GRACE`` ago, or
    that was left ``finishing`` that long (its process died while finishing it) → :func:`finish_batch`.
    """
    now = now or utcnow()
    conn = services().redis
    counts = {"job_failed": 0, "dead_worker": 0, "overdue": 0, "outbox": 0, "batch": 0}
    ttl = 3 * liveness_interval()
    redis_uptime = int(conn.info("server").get("uptime_in_seconds", 0))
    batches = batch_kinds()
    for run in SyncRun.query.filter(SyncRun.status == "running", SyncRun.kind.notin_(batches)).all():
        updated = run.updated_at or run.started_at or run.created_at
        status = _job_status(conn, run.job_id)
        if status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
            if abandon(run, f"its job ended {status.value} in the queue", rule="job_failed") != "skipped":
                counts["job_failed"] += 1
        elif run.worker:
            if redis_uptime >= ttl and updated < now - dt.timedelta(seconds=ttl) \
                    and not conn.exists(LIVENESS_PREFIX + run.worker):
                if abandon(run, f"its worker ({run.worker}) stopped", rule="dead_worker") != "skipped":
                    counts["dead_worker"] += 1
        elif updated < now - dt.timedelta(seconds=kind_of(run).timeout + ttl + 60):
            if abandon(run, "it ran longer than its time limit", rule="overdue") != "skipped":
                counts["overdue"] += 1
    grace = dt.timedelta(seconds=float(current_app.config.get("HUB_RECONCILE_GRACE", 30)))
    waiting = SyncRun.query.filter(SyncRun.status.in_(("queued", "retrying")), SyncRun.kind.notin_(batches),
                                   SyncRun.updated_at < now - grace).order_by(SyncRun.id).all()
    if waiting:
        with conn.pipeline(transaction=False) as pipe:
            for run in waiting:
                pipe.hget(Job.key_for(run.job_id) if run.job_id else "hub:no-job", "status")
            statuses = pipe.execute()
        for run, status in zip(waiting, statuses, strict=True):
            # no job, or one that ended without the run recording it (its claim failed: the database was away)
            if run.kind in KINDS and (status is None or status.decode() in ENDED):
                enqueue_run(run, at=run.next_attempt_at)
                RECONCILED.labels("outbox").inc()
                counts["outbox"] += 1
    for parent in SyncRun.query.filter(SyncRun.kind.in_(batches), SyncRun.status.in_(("running", "finishing")),
                                       SyncRun.updated_at < now - grace).all():
        if _batch_settled(parent, now - grace) and finish_batch(parent, stale_before=now - grace):
            RECONCILED.labels("batch").inc()
            counts["batch"] += 1
    db.session.commit()  # ends the read: a scheduler holds no snapshot between rounds
    return counts


ENDED = {s.value for s in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)}
FINAL = ("succeeded", "failed", "partial")


def _job_status(conn: redis.Redis, job_id: str | None) -> JobStatus | None:
    if not job_id:
        return None
    try:
        return Job.fetch(job_id, connection=conn).get_status(refresh=False)
    except NoSuchJobError:
        return None


# -- batches ---------------------------------------------------------------------------------------
def _batch_settled(parent: SyncRun, before: dt.datetime) -> bool:
    """Every child of ``parent`` is final, the last one ended before ``before`` (so its own finish had its chance)."""
    live, last = db.session.execute(
        db.select(func.count(SyncRun.id).filter(SyncRun.status.notin_(FINAL)), func.max(SyncRun.finished_at))
        .where(SyncRun.parent_run_id == parent.id)).one()
    return not live and (last is None or last < before)


def _count_child(child: SyncRun) -> None:
    """A child ended: count it into its parent (one statement, whatever the size of the batch) and finish the parent
    after the last one."""
    table = SyncRun.__table__
    done, total = db.session.execute(update(table).where(table.c.id == child.parent_run_id).values(
        progress_done=table.c.progress_done + 1).returning(table.c.progress_done, table.c.progress_total)).one()
    commit_without_waiting_for_disk()  # a counter: the reconciler settles a parent whose children all ended
    db.session.commit()
    if done >= total:
        finish_batch(db.session.get(SyncRun, child.parent_run_id))


def finish_batch(parent: SyncRun, *, stale_before: dt.datetime | None = None) -> bool:
    """Make a batch parent final from its children's own records: ``succeeded`` when every child did, ``failed``
    when none did, else ``partial``; a child that was never recorded counts as failed. Its kind's ``on_finish``
    runs before the final state is committed, so a process that dies meanwhile leaves it ``finishing`` and the
    reconciler finishes it again (``stale_before``: also take it over from ``finishing`` then). Returns whether
    this call finished it."""
    states = ["running"] + (["finishing"] if stale_before is not None else [])
    claimed = db.session.execute(update(SyncRun).where(SyncRun.id == parent.id, SyncRun.status.in_(states))
                                 .values(status="finishing", updated_at=utcnow()))
    db.session.commit()
    if claimed.rowcount != 1:
        return False  # another process finished it
    db.session.refresh(parent)
    counts = dict(db.session.execute(db.select(SyncRun.status, func.count(SyncRun.id))
                                     .where(SyncRun.parent_run_id == parent.id).group_by(SyncRun.status)).all())
    succeeded = counts.get("succeeded", 0)
    failed = parent.progress_total - succeeded
    parent.progress_done = parent.progress_total
    parent.status = "succeeded" if not failed else "failed" if not succeeded else "partial"
    parent.finished_at = parent.updated_at = utcnow()
    parent.result = {"children": parent.progress_total, "failed": failed}
    parent.error = {"kind": "partial", "message": f"{failed} of {parent.progress_total} failed."} if failed else None
    kind = kind_of(parent)
    if kind.on_finish:
        kind.on_finish(parent)
    db.session.commit()
    _observe(parent)
    return True


# -- after a run ended ------------------------------------------------------------------------------
def _observe(run: SyncRun) -> None:
    if run.started_at and run.finished_at:
        RUN_DURATION.labels(run.kind, run.status).observe((run.finished_at - run.started_at).total_seconds())


def _after_finish(run: SyncRun) -> None:
    """A run reached a final state (committed): its kind's ``on_finish``, then its batch parent counts it."""
    _observe(run)
    kind = kind_of(run)
    if kind.on_finish:
        try:
            kind.on_finish(run)
        except Exception:
            db.session.rollback()
            log.exception("finishing run %s (%s) failed", run.id, run.kind)
    if run.parent_run_id:
        _count_child(run)
