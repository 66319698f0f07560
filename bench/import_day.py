"""Import day (issue 21 item 6): most firms import on the same last work day. ``firms`` × ``clients`` clients, each
with one month due at once; the dispatcher (``hub.schedule.dispatch_imports``) enqueues them all, W non-forking
workers import them, and meanwhile a test connection is issued every half second on the interactive queue.

Prints the time to enqueue, the time to finish, the interactive latency (p50/p99 from the test connection's
enqueue to its result; target under 2 s) and per-firm fairness: when each firm's first import started and when
its last one finished (no firm starved: the last firm's first import starts within the first round of work).
"""

from __future__ import annotations

import datetime as dt
import statistics as stats
import time

from bench import common


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(env, *, firms: int, clients: int, workers: int, latency_ms: float) -> dict:  # noqa: ANN001
    from bench.reload import MAX_COMPANIES, fresh_database
    from hub import connections, schedule
    from hub.models import ClientConnection, Integration, SyncRun, db
    from hub.types import Period

    companies = min(firms * clients, MAX_COMPANIES)
    sandbox, origin = common.start_sandbox(env.base, latency_ms=latency_ms, rate_limit="", extra_companies=companies)
    wenv = dict(env.base, HUB_MERIT_RATE_LIMITS="off")
    app = env.app()
    pool = None
    try:
        with app.app_context():
            fresh_database(app)
            # "today" is the last work day of last month, in the firms' time zone; the clients were linked 10 days
            # before it, so exactly that month is due
            last_month = Period.of(dt.date.today()).previous()
            today = schedule.import_date(last_month, "last_work_day", "EE")
            now = dt.datetime.combine(today, dt.time(18, 0), tzinfo=dt.UTC)
            linked = dt.datetime.combine(today - dt.timedelta(days=10), dt.time(9, 0))
            integration_ids = []
            for f in range(firms):
                offset = (f * clients) % companies
                if offset + clients > companies:
                    offset = 0
                iid, _ = common.setup_firm(clients=min(clients, companies), origin=origin, name=f"Firm {f + 1:03d}",
                                           company_offset=offset, created_at=linked)
                integration_ids.append(iid)
            pool = common.Workers(workers, wenv)
            pool.wait_ready()
            probe = db.session.get(Integration, integration_ids[0])
            common.post(f"{origin}/_sandbox/reset")
            load = common.load()
            cpu0 = pool.cpu()
            started = time.monotonic()
            t0 = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            enqueued = schedule.dispatch_imports(now=now)
            enqueue_s = time.monotonic() - started
            total = SyncRun.query.filter_by(kind="import").count()
            deadline = time.monotonic() + 1800
            next_probe = time.monotonic()
            while True:
                if time.monotonic() >= next_probe:
                    connections.test_connection(probe, trigger="cli")
                    next_probe += 0.5
                done = SyncRun.query.filter(SyncRun.kind == "import",
                                            SyncRun.status.in_(("succeeded", "failed"))).count()
                db.session.commit()
                if done >= total:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit("the import day did not finish")
                time.sleep(0.1)
            finish_s = time.monotonic() - started
            cpu = pool.cpu() - cpu0
            db.session.expire_all()
            tests = SyncRun.query.filter(SyncRun.kind == "test_connection", SyncRun.created_at >= t0).all()
            deadline = time.monotonic() + 30
            while any(not r.finished for r in tests) and time.monotonic() < deadline:
                time.sleep(0.2)
                db.session.expire_all()
                tests = SyncRun.query.filter(SyncRun.kind == "test_connection", SyncRun.created_at >= t0).all()
            latencies = [(r.finished_at - r.created_at).total_seconds() for r in tests if r.finished_at]
            firm_of = dict(db.session.execute(db.select(ClientConnection.id, Integration.firm_id).join(
                Integration, ClientConnection.integration_id == Integration.id)).all())
            first: dict[int, float] = {}
            last: dict[int, float] = {}
            imports = SyncRun.query.filter_by(kind="import").all()
            for r in imports:
                firm = firm_of[r.client_connection_id]
                s, f = (r.started_at - t0).total_seconds(), (r.finished_at - t0).total_seconds()
                first[firm] = min(first.get(firm, s), s)
                last[firm] = max(last.get(firm, f), f)
            failed = sum(r.status == "failed" for r in imports)
            requests = common.get_json(f"{origin}/_sandbox/requests")["total"]
    finally:
        if pool is not None:
            pool.stop()
        sandbox.terminate()
        sandbox.wait(timeout=30)
    return {"firms": firms, "clients": clients, "workers": workers, "latency_ms": latency_ms, "load": load,
            "enqueued": enqueued, "imports": total, "failed": failed, "enqueue_s": enqueue_s, "finish_s": finish_s,
            "cpu_workers_s": cpu, "requests": requests, "latencies": latencies,
            "first_start": sorted(first.values()), "last_finish": sorted(last.values())}


def part(env, args) -> None:  # noqa: ANN001
    from bench.reload import QUICK

    firms, clients = (20, 10) if QUICK else (200, 50)
    if args.import_day:
        firms, clients = (int(n) for n in args.import_day.lower().split("x"))
    r = run(env, firms=firms, clients=clients, workers=args.workers, latency_ms=args.latency_ms)
    lat = r["latencies"]
    print(f"\n== import day: {firms} firms × {clients} clients due at once (one month each), {r['workers']} "
          f"non-forking workers, {r['latency_ms']:.0f} ms vendor latency ({r['load']})")
    print(f"time to enqueue           {r['enqueue_s']:.2f} s for {r['enqueued']} client jobs "
          f"({r['enqueue_s'] / max(1, r['enqueued']) * 1000:.2f} ms each)")
    print(f"time to finish            {r['finish_s']:.1f} s ({r['imports']} jobs, {r['failed']} failed, "
          f"{r['requests']} vendor requests; latency floor "
          f"{r['requests'] * r['latency_ms'] / 1000 / (r['workers'] * common.LISTS):.1f} s); workers' CPU "
          f"{r['cpu_workers_s']:.1f} s")
    if lat:
        print(f"interactive latency       p50 {_percentile(lat, 0.5):.2f} s, p99 {_percentile(lat, 0.99):.2f} s, "
              f"max {max(lat):.2f} s over {len(lat)} test connections  (target p99 < 2 s)")
    first, last = r["first_start"], r["last_finish"]
    print(f"fairness                  every firm's first import started by {first[-1]:.1f} s "
          f"(median firm {stats.median(first):.1f} s); firms' last import finished between {last[0]:.1f} s and "
          f"{last[-1]:.1f} s (median {stats.median(last):.1f} s)")
