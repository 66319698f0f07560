"""Fault benchmark (issue 16): Reload data for N clients against the Merit sandbox over loopback while a job
process is killed with SIGKILL every few seconds and the Redis server is killed once and restarted empty.

Prints: runs finished / total, summary values lost, duplicates (an import whose write committed twice — killed
after writing and before recording its outcome, so written again with the same numbers), time to recover (Redis
back → work flowing again; a kill → the run's next attempt started) and whether any process was left behind.
Bounded (``--timeout``), loopback only, a Redis server and files of its own.

    python bench/faults.py [--clients 50] [--processes 2] [--latency-ms 50] [--kill-every 3] [--redis-down 5]
                           [--database-url postgresql://…]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return proc
        except redis.RedisError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def start_sandbox(env: dict, **knobs: object) -> tuple[subprocess.Popen, str]:
    args = [sys.executable, "-m", "flask", "hub", "sandbox", "merit", "--port", "0"]
    for key, value in knobs.items():
        args += ["--option", f"{key}={json.dumps(value)}"]
    proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True)
    match = re.search(r"(http://127\.0\.0\.1:\d+)", proc.stderr.readline())
    if not match:
        raise SystemExit("sandbox did not start")
    return proc, match.group(1)


def descendants(pid: int) -> set[int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    out, todo = set(), [pid]
    while todo:
        current = todo.pop()
        for child, parent in parents.items():
            if parent == current and child not in out:
                out.add(child)
                todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main() -> None:  # noqa: C901 - one scenario, told in order
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--kill-every", type=float, default=3.0, help="seconds between SIGKILLs of a job process")
    parser.add_argument("--redis-down", type=float, default=5.0, help="seconds Redis stays dead (once)")
    parser.add_argument("--timeout", type=float, default=240.0)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="hub-faults-"))
    database_url = args.database_url or f"sqlite:///{instance / 'faults.db'}"
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    redis_proc = start_redis(port)
    from hub.vault import Vault

    env = dict(os.environ, FLASK_APP="hub.app:create_app", DATABASE_URL=database_url, REDIS_URL=redis_url,
               HUB_INSTANCE_PATH=str(instance), HUB_SECRET_KEYS=Vault.generate_key(), SECRET_KEY="faults",
               HUB_LOAD_PLUGINS="merit", HUB_MERIT_RATE_LIMITS="off", HUB_WORKER_HEARTBEAT="1",
               HUB_RECONCILE_INTERVAL="1", HUB_RECONCILE_GRACE="3", HUB_SCHEDULE_INTERVAL="3600",
               HUB_RETRY_BASE="0.5", HUB_RETRY_CAP="5", HUB_LOG_LEVEL="WARNING")
    os.environ.update({k: env[k] for k in ("HUB_SECRET_KEYS", "SECRET_KEY", "HUB_LOAD_PLUGINS", "HUB_INSTANCE_PATH",
                                           "HUB_WORKER_HEARTBEAT")})
    sandbox, origin = start_sandbox(env, latency_ms=args.latency_ms, extra_companies=args.clients)
    procs: list[subprocess.Popen] = []
    log = (instance / "processes.log").open("w")

    from flask_migrate import upgrade
    from hub_merit import sandbox as merit_sandbox
    from sqlalchemy import func, text

    from hub import connections, linking, statistics, vendor_accounts
    from hub.app import create_app
    from hub.models import Client, Firm, Notification, SummaryValue, SyncRun, SyncRunItem, db, utcnow

    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": redis_url})
    kills: list[tuple[float, int, int]] = []  # (when, run id, attempts at the kill)
    pending: dict[int, tuple[float, int]] = {}  # killed runs not yet re-claimed: run id -> (when, attempts)
    recovered: list[float] = []  # seconds from a kill to the run's next attempt (or its end)
    try:
        with app.app_context():
            if db.engine.dialect.name == "postgresql":
                with db.engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            upgrade(directory=str(Path(connections.__file__).parent / "migrations"))
            firm = Firm(name="Faults firm", country="EE", timezone="Europe/Tallinn", plan="team")
            db.session.add(firm)
            db.session.commit()
            integration = connections.get_or_create_integration(firm.id, "merit")
            integration.settings = {"origin": origin}
            db.session.commit()
            connections.set_enabled(integration, True)
            connections.save_credentials(integration, dict(merit_sandbox.DEMO_CREDENTIALS))
            fields = vendor_accounts.vendor_of(integration).info.statistic_fields
            mapping = {f.key: statistics.create_custom_field(firm.id, f.label).id for f in fields}
            statistics.save_summary_settings(integration, {"mapping": mapping})
            for i, credentials in enumerate(merit_sandbox.extra_credentials(args.clients), start=1):
                client = Client(firm_id=firm.id, name=f"Faults Client {i:03d} OÜ")
                db.session.add(client)
                db.session.commit()
                link = linking.link_client(None, client_id=client.id, integration=integration,
                                           vendor_client_id=None)
                connections.save_credentials(integration, credentials, connection=link)
            procs.append(subprocess.Popen([sys.executable, "-m", "flask", "hub", "worker", "--processes",
                                           str(args.processes), "--queues", "interactive,imports"], env=env,
                                          stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            procs.append(subprocess.Popen([sys.executable, "-m", "flask", "hub", "schedule", "--loop"], env=env,
                                          stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            deadline = time.monotonic() + args.timeout
            while SyncRun.query.filter(SyncRun.status.notin_(("succeeded", "failed"))).count():
                if time.monotonic() > deadline:
                    raise SystemExit("the connection tests did not finish")
                time.sleep(0.2)
                db.session.expire_all()

            started = time.monotonic()
            parent = statistics.reload(integration, trigger="cli")
            next_kill = started + args.kill_every
            redis_at, redis_back, first_after_redis = started + 2 * args.kill_every, None, None
            while True:
                now = time.monotonic()
                if now > started + args.timeout:
                    print("TIMEOUT: the reload did not finish")
                    break
                db.session.expire_all()
                parent = db.session.get(SyncRun, parent.id)
                if parent.finished:
                    break
                if redis_at and now >= redis_at:
                    redis_proc.kill()
                    redis_proc.wait()
                    time.sleep(args.redis_down)
                    redis_proc = start_redis(port)
                    redis_back, redis_at = time.monotonic(), None
                    redis_back_utc = utcnow()
                elif now >= next_kill:
                    candidates = SyncRun.query.filter(SyncRun.kind == "import", SyncRun.status == "running",
                                                      SyncRun.worker.isnot(None)).all()
                    victim = random.choice(candidates) if candidates else None
                    if victim is not None:
                        pid = int(victim.worker.rsplit(".", 1)[1])
                        try:
                            os.kill(pid, signal.SIGKILL)
                            kills.append((now, victim.id, victim.attempts))
                            pending[victim.id] = (now, victim.attempts)
                        except ProcessLookupError:
                            pass
                    next_kill = now + args.kill_every
                if redis_back is not None and first_after_redis is None:
                    if SyncRun.query.filter(SyncRun.kind == "import", SyncRun.finished_at > redis_back_utc).count():
                        first_after_redis = time.monotonic() - redis_back
                for run_id, (when, attempts_then) in list(pending.items()):
                    run = db.session.get(SyncRun, run_id)
                    if run.finished or (run.status == "running" and run.attempts > attempts_then):
                        recovered.append(time.monotonic() - when)
                        del pending[run_id]
                time.sleep(0.1)
            wall = time.monotonic() - started
            db.session.expire_all()
            children = SyncRun.query.filter(SyncRun.kind == "import").all()
            finished = sum(1 for r in children if r.finished)
            expected_values = args.clients * statistics.RELOAD_MONTHS * len(mapping)
            present = SummaryValue.query.filter(SummaryValue.value.isnot(None)).count()
            imported = dict(db.session.query(SyncRunItem.run_id, func.count(SyncRunItem.id)).filter(
                SyncRunItem.outcome == "imported", SyncRunItem.run_id.in_([r.id for r in children])
            ).group_by(SyncRunItem.run_id).all())
            duplicates = sum(1 for n in imported.values() if n > statistics.RELOAD_MONTHS)
            notified = Notification.query.filter(Notification.link == f"/history/runs/{parent.id}").count()
            attempts = {r.id: r.attempts for r in children}
            failed = [r for r in children if r.status == "failed"]
    finally:
        left_tree = set()
        for proc in procs:
            left_tree |= {proc.pid} | descendants(proc.pid)
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        sandbox.terminate()
        sandbox.wait(timeout=30)
        time.sleep(0.5)
        leftovers = [pid for pid in left_tree if alive(pid)]
        redis_proc.kill()

    print(f"\n== faults: reload of {args.clients} clients × 12 months, {args.processes} job processes, "
          f"{args.latency_ms:.0f} ms vendor latency; a job process killed every {args.kill_every:g} s, "
          f"Redis killed once for {args.redis_down:g} s (restarted empty)")
    print(f"wall time                      {wall:.1f} s")
    print(f"runs finished / total          {finished + parent.finished} / {len(children) + 1} "
          f"(reload parent {parent.status}, {len(failed)} client imports failed)")
    print(f"job processes killed           {len(kills)} (mid-import); most attempts of one run "
          f"{max(attempts.values(), default=0)}")
    print(f"values lost                    {expected_values - present} of {expected_values}")
    print(f"duplicate values               0 (one value per task and field is a constraint); imports whose write "
          f"committed twice: {duplicates} (killed between writing and recording the outcome: written again, "
          "same numbers)")
    print("time to recover after Redis    " + (f"{first_after_redis:.1f} s (until an import finished again)"
                                               if first_after_redis is not None else "n/a"))
    if recovered:
        mean = sum(recovered) / len(recovered)
        print(f"time to recover after a kill   mean {mean:.1f} s, max {max(recovered):.1f} s "
              f"(until the run's next attempt started; {len(pending)} never did)")
    print(f"reload notification sent       {'yes' if notified else 'NO'}")
    print(f"processes left behind          {len(leftovers)}")


if __name__ == "__main__":
    main()
