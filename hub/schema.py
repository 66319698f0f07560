"""The database schema's version: which Alembic revision the database is at, which the code expects, and an upgrade
that cannot half-fail.

PostgreSQL runs every pending revision in one transaction (Alembic's default there): a failure rolls all of them
back. SQLite cannot roll back a batch operation's table copy reliably, so :func:`upgrade` copies the database file
first and puts the copy back when a revision fails — the file is then byte for byte what it was.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from hub.models import db

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")
log = logging.getLogger("hub.schema")


class UpgradeFailed(Exception):
    """A revision failed; the database was left (or put back) as it was before the upgrade."""


def _config(directory: str):  # noqa: ANN202  (alembic's Config)
    return current_app.extensions["migrate"].migrate.get_config(directory)


def head_revisions(directory: str = MIGRATIONS_DIR) -> set[str]:
    """The revisions this code expects the database at (one head; several only between a merge and its re-chain)."""
    if directory not in _heads:  # read once per process and folder: /readyz asks on every probe
        _heads[directory] = frozenset(ScriptDirectory.from_config(_config(directory)).get_heads())
    return set(_heads[directory])


_heads: dict[str, frozenset[str]] = {}


def current_revisions() -> set[str]:
    """The revisions the database is at (empty for an empty database)."""
    with db.engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def sqlite_file() -> Path | None:
    """The SQLite database file, or None for another database (or an in-memory one)."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def upgrade(directory: str = MIGRATIONS_DIR, *, say: Callable[[str], None] = log.warning) -> bool:
    """Upgrade the database to the head revision(s); True if anything was pending.

    On SQLite the file is copied beside itself first (``<file>.pre-upgrade``) and put back if a revision fails;
    the copy is removed after a successful upgrade. ``say`` tells the operator what happened to their data.
    Raises :class:`UpgradeFailed` (chained to the revision's error) when the upgrade failed."""
    if current_revisions() == head_revisions(directory):
        return False
    path = sqlite_file()
    backup = _copy_sqlite(path) if path is not None and path.exists() else None
    try:
        command.upgrade(_config(directory), "heads")  # not flask_migrate.upgrade: it turns errors into exit(1)
    except Exception as exc:
        db.engine.dispose()
        if backup is not None:
            _restore_sqlite(backup, path)
            say(f"The upgrade failed; {path} was put back as it was before the upgrade (from {backup}).")
        elif path is not None:
            say(f"The upgrade failed on a new database; {path} may hold part of the schema: delete it and retry.")
        else:
            say("The upgrade failed; PostgreSQL rolled every pending revision back: the database is as it was.")
        raise UpgradeFailed(f"database upgrade failed: {exc}") from exc
    if backup is not None:
        backup.unlink()
    return True


def _copy_sqlite(path: Path) -> Path:
    """Fold the write-ahead log into the file, then copy it (with every connection of this process closed)."""
    db.engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    backup = path.with_name(path.name + ".pre-upgrade")
    shutil.copy2(path, backup)
    return backup


def _restore_sqlite(backup: Path, path: Path) -> None:
    for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)  # the failed upgrade's log must not be replayed into the restored file
    backup.replace(path)
