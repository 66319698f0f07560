"""Webhook delivery benchmark (loopback only): N events for E endpoints, raised one per transaction as the flows do,
delivered by W forking ``flask hub worker --queues webhooks`` processes to a threaded loopback receiver that
verifies every signature.

Prints events delivered per second (first event raised → last delivery recorded) and the delivery lag
(event recorded → delivered: p50, p95, max), for a burst (all events raised before the workers start) and for a
paced run (events raised at ``--rate`` per second while the workers run).

    python bench/webhooks.py [--events 1000] [--endpoints 2] [--workers 2] [--rate 100]
                             [--database-url postgresql://…] [--redis-url redis://…]

Defaults: SQLite and an embedded Redis in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

MAX_EVENTS = 100_000


class Receiver:
    def __init__(self) -> None:
        self.count = 0
        self.bad = 0
        self.lock = threading.Lock()
        self.secrets: dict[str, str] = {}

    def __call__(self, environ, start_response):  # noqa: ANN001, ANN204
        from hub import webhooks

        request = Request(environ)
        ok = webhooks.verify(self.secrets[request.path], dict(request.headers), request.get_data())
        with self.lock:
            self.count += 1
            self.bad += not ok
        return Response("ok")(environ, start_response)


def percentile(values: list[int], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else float(values[0])


def run(args: argparse.Namespace, app, receiver: Receiver, origin: str, paced: bool) -> None:  # noqa: ANN001
    from hub import webhooks
    from hub.models import WebhookDelivery, WebhookEndpoint, db

    with app.app_context():
        WebhookDelivery.query.delete()
        WebhookEndpoint.query.delete()
        db.session.commit()
        app.extensions["hub"].redis.flushdb()
        for i in range(args.endpoints):
            endpoint, secret = webhooks.create_endpoint(None, f"{origin}/e{i}")
            receiver.secrets[f"/e{i}"] = secret
        receiver.count = receiver.bad = 0
    env = dict(os.environ, FLASK_APP="hub.app:create_app", DATABASE_URL=args.database_url,
               REDIS_URL=args.redis_url, HUB_INSTANCE_PATH=args.instance, HUB_SECRET_KEYS=args.keys,
               HUB_LOAD_PLUGINS="", HUB_LOG_LEVEL="WARNING")
    workers: list[subprocess.Popen] = []

    def start_workers() -> None:
        workers.extend(subprocess.Popen([sys.executable, "-m", "flask", "hub", "worker", "--queues", "webhooks"],
                                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                       for _ in range(args.workers))

    if paced:
        start_workers()
        time.sleep(2.0)  # let the workers come up
    started = time.monotonic()
    with app.app_context():
        for n in range(args.events):
            webhooks.emit(None, "statistics.imported", {"n": n, "period": "2026-01"})
            if paced:
                time.sleep(max(0.0, started + (n + 1) / args.rate - time.monotonic()))
    raised = time.monotonic() - started
    if not paced:
        start_workers()
    expected = args.events * args.endpoints
    deadline = time.monotonic() + args.timeout
    try:
        while receiver.count < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        wall = time.monotonic() - started
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            proc.wait(timeout=30)
    with app.app_context():
        lags = [lag for (lag,) in db.session.query(WebhookDelivery.lag_ms).filter(WebhookDelivery.lag_ms.isnot(None))]
        delivered = len(lags)
    name = f"paced at {args.rate}/s" if paced else "burst"
    print(f"{name:<16} {delivered}/{expected} delivered in {wall:.1f} s = {delivered / wall:.0f} deliveries/s; "
          f"lag p50 {percentile(lags, 50):.0f} ms, p95 {percentile(lags, 95):.0f} ms, max {max(lags)} ms; "
          f"bad signatures {receiver.bad}; raising the events took {raised:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=100.0, help="events per second in the paced run")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    args.events = min(args.events, MAX_EVENTS)
    tmp = tempfile.mkdtemp(prefix="hub-bench-webhooks-")
    args.instance = tmp
    os.environ["HUB_INSTANCE_PATH"] = tmp
    os.environ["HUB_LOAD_PLUGINS"] = ""
    os.environ["HUB_WEBHOOKS_ALLOW_PRIVATE"] = "1"  # the receiver is on loopback (the workers inherit it)
    from flask_migrate import upgrade
    from sqlalchemy import text

    from hub import embedded
    from hub.app import MIGRATIONS_DIR, create_app
    from hub.models import db
    from hub.vault import Vault

    args.database_url = args.database_url or f"sqlite:///{tmp}/bench.db"
    args.redis_url = args.redis_url or embedded.redis_url(tmp)
    args.keys = Vault.generate_key()
    app = create_app({"DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "HUB_SECRET_KEYS": args.keys,
                      "SECRET_KEY": "bench"})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(directory=MIGRATIONS_DIR)
    receiver = Receiver()
    server = make_server("127.0.0.1", 0, receiver, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_port}"
    print(f"{args.events} events x {args.endpoints} endpoints, {args.workers} workers, "
          f"{app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}")
    try:
        run(args, app, receiver, origin, paced=False)
        run(args, app, receiver, origin, paced=True)
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
