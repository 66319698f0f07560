"""What a process is configured with, and the start-up check that refuses a broken configuration.

Two modes:

* **embedded** (a SQLite ``DATABASE_URL`` or none, and ``HUB_ENV`` not ``production``): what is not set falls back
  to the embedded defaults — keys and the session key generated into the instance folder, a private
  redis-server (:mod:`hub.embedded`).
* **production** (a non-SQLite ``DATABASE_URL``, or ``HUB_ENV=production``): nothing falls back. A missing or
  malformed ``HUB_SECRET_KEYS``, ``REDIS_URL`` or ``SECRET_KEY``, or a database that does not answer, stops the
  process at start with one line each (exit status 4, which gunicorn's master takes as "App failed to load" and
  stops on, instead of restarting workers for ever). ``flask hub check`` prints the whole check without stopping.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

#: gunicorn's APP_LOAD_ERROR: its master stops (no endless worker restarts); any other command exits with it too.
EXIT_CONFIG = 4
DATABASE_TIMEOUT = 5  # seconds to wait for the database at start


class ConfigError(SystemExit):
    """The configuration is broken: the process stops (its lines were logged, one per problem)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(EXIT_CONFIG)
        self.problems = problems


@dataclass
class Settings:
    """The settings that decide the mode and have embedded fallbacks (None: not set)."""

    database_url: str
    redis_url: str | None
    secret_keys: str | None
    secret_key: str | None
    env: str
    production: bool = field(init=False)

    def __post_init__(self) -> None:
        self.production = self.env == "production" or not self.database_url.startswith("sqlite")

    @property
    def mode(self) -> str:
        if not self.production:
            return "embedded"
        why = "HUB_ENV=production" if self.env == "production" else "DATABASE_URL is not SQLite"
        return f"production ({why})"


def read(overrides: dict[str, Any], default_database_url: str) -> Settings:
    """The settings from ``overrides`` (the app factory's ``config``) or else the environment."""
    def get(name: str) -> str | None:
        return overrides.get(name) or os.environ.get(name) or None

    url = get("DATABASE_URL") or default_database_url
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    return Settings(database_url=url, redis_url=get("REDIS_URL"), secret_keys=get("HUB_SECRET_KEYS"),
                    secret_key=get("SECRET_KEY"), env=(get("HUB_ENV") or "").strip().lower())


def problems(settings: Settings, *, reach_database: bool = True) -> list[str]:
    """One line per problem: what is wrong and how to fix it (empty: the process may start)."""
    found = []
    if settings.secret_keys is not None:
        found += _key_problems(settings.secret_keys)
    elif settings.production:
        found.append("HUB_SECRET_KEYS is not set: production needs its encryption keys (comma-separated Fernet "
                     "keys, newest first; make one with `python -c \"from cryptography.fernet import Fernet; "
                     "print(Fernet.generate_key().decode())\"`)")
    if settings.redis_url is not None:
        found += _redis_url_problems(settings.redis_url)
    elif settings.production:
        found.append("REDIS_URL is not set: production needs the Redis the workers use "
                     "(e.g. redis://redis.internal:6379/0)")
    if settings.secret_key is None and settings.production:
        found.append("SECRET_KEY is not set: production needs one session-signing key shared by every web and "
                     "worker process (e.g. `python -c \"import secrets; print(secrets.token_hex(32))\"`)")
    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        return [*found, f"DATABASE_URL is not a database URL: {_masked(settings.database_url)!r} "
                        "(e.g. postgresql://hub:password@db.internal:5432/hub)"]
    if reach_database and settings.production:
        problem = database_problem(url.render_as_string(hide_password=False))
        if problem:
            found.append(problem)
    return found


def _key_problems(value: str) -> list[str]:
    keys = [k.strip() for k in value.split(",") if k.strip()]
    if not keys:
        return ["HUB_SECRET_KEYS is empty: give at least one Fernet key"]
    found = []
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            found.append(f"HUB_SECRET_KEYS: key {number} of {len(keys)} is not a Fernet key (32 url-safe "
                         "base64-encoded bytes, 44 characters ending in '='); check for a cut or a stray character")
    return found


def _redis_url_problems(value: str) -> list[str]:
    import redis  # the client parses its own URLs

    try:
        redis.connection.parse_url(value) if not value.startswith("unix://") else None
    except ValueError as exc:
        return [f"REDIS_URL is not a Redis URL ({exc}): e.g. redis://redis.internal:6379/0"]
    return []


def database_problem(url: str) -> str | None:
    """Why the database at ``url`` cannot be reached (None: it answered ``SELECT 1``)."""
    args = {"connect_timeout": DATABASE_TIMEOUT} if url.startswith("postgresql") else {}
    engine = create_engine(url, poolclass=NullPool, connect_args=args)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, ImportError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return f"the database does not answer at {_masked(url)}: {reason}"
    finally:
        engine.dispose()
    return None


def _masked(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable>"


def checking() -> bool:
    """This process is ``flask hub check``: it reports the problems instead of stopping on them."""
    args = sys.argv[1:]
    return any(args[i:i + 2] == ["hub", "check"] for i in range(len(args)))


def refuse(found: list[str]) -> None:
    """Log each problem on a line of its own and stop the process."""
    for problem in found:  # on standard error, whatever logging is (or is not yet) set up
        print(f"configuration: {problem}", file=sys.stderr)  # noqa: T201
    print("the hub does not start with this configuration (`flask hub check` prints the whole check)",
          file=sys.stderr)  # noqa: T201
    raise ConfigError(found)
