"""One log format for every process of the hub (web, workers, scheduler, ``flask hub`` commands) and the libraries
they run (RQ, Alembic, werkzeug): one handler on the root logger, on standard error.

Every line carries the time (UTC), the level, the process kind (``web``, ``worker``, ``scheduler``, ``up``,
``cli``) and pid, the logger's name, the message, and the run id (inside a job) or the request id (inside a request)
where there is one. ``HUB_LOG_FORMAT=json`` writes one JSON object per line instead of text. Secrets are masked by
:mod:`hub.redaction`'s record factory; set-password tokens, which travel in URL paths, are masked here in every line
(werkzeug's and the hub's request lines included).

The request log (``hub.request``: method, path, status, duration, request id) is written by the web process unless
``HUB_REQUEST_LOG=0``; gunicorn's own access log is not needed (and would show the paths unmasked).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import secrets
import time
from typing import Any

_kind = "web"
TOKEN_IN_PATH = re.compile(r"(/set-password/)[^/?#\s\"']+")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
request_log = logging.getLogger("hub.request")


def set_kind(kind: str) -> None:
    """Name this process's kind in its log lines (the commands that run the hub call it first)."""
    global _kind
    _kind = kind


def masked_path(path: str) -> str:
    return TOKEN_IN_PATH.sub(r"\1***", path)


def _context_ids() -> dict[str, Any]:
    ids: dict[str, Any] = {}
    try:
        from flask import g, has_request_context

        if has_request_context() and "request_id" in g:
            ids["request_id"] = g.request_id
    except ImportError:  # pragma: no cover
        pass
    from rq import get_current_job

    job = get_current_job()
    if job is not None and job.args:
        ids["run_id"] = job.args[0]
    return ids


class _Formatter(logging.Formatter):
    def __init__(self, as_json: bool) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        message = masked_path(record.getMessage())
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        when = dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")
        when = when.replace("+00:00", "Z")
        ids = _context_ids()
        if self.as_json:
            line = {"time": when, "level": record.levelname, "kind": _kind, "pid": record.process,
                    "logger": record.name, "message": message, **ids}
            if record.exc_text:
                line["exception"] = masked_path(record.exc_text)
            return json.dumps(line, default=str)
        text = f"{when} {record.levelname} {_kind}[{record.process}] {record.name}: {message}"
        text += "".join(f" {key.removesuffix('_id')}={value}" for key, value in ids.items())
        if record.exc_text:
            text += "\n" + masked_path(record.exc_text)
        return text


class _HubHandler(logging.StreamHandler):
    """The hub's own stderr handler (a class of its own: building several apps installs it once)."""


def configure() -> None:
    """Install the handler on the root logger (once per process; the format follows ``HUB_LOG_FORMAT``): the hub's
    loggers at ``HUB_LOG_LEVEL`` (INFO), Alembic's migration steps at INFO, everything else from WARNING."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _HubHandler)), None)
    if handler is None:
        handler = _HubHandler()
        root.addHandler(handler)
    handler.setFormatter(_Formatter(os.environ.get("HUB_LOG_FORMAT", "text").lower() == "json"))
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    logging.getLogger("hub").setLevel(os.environ.get("HUB_LOG_LEVEL", "INFO"))
    logging.getLogger("alembic.runtime.migration").setLevel(logging.INFO)


def configured() -> bool:
    return any(isinstance(h, _HubHandler) for h in logging.getLogger().handlers)


def init_request_log(app: Any) -> None:
    """A request id per request (the caller's ``X-Request-ID`` when it is a plain token, else a new one), sent
    back in ``X-Request-ID`` and put on every line logged meanwhile; one ``hub.request`` line per request."""
    from flask import g, request

    enabled = os.environ.get("HUB_REQUEST_LOG", "1") != "0" and not app.testing

    @app.before_request
    def _start() -> None:
        sent = request.headers.get("X-Request-ID", "")
        g.request_id = sent if REQUEST_ID.match(sent) else secrets.token_hex(8)
        g.request_started = time.monotonic()

    @app.after_request
    def _finish(response):  # noqa: ANN001, ANN202
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        if enabled and "request_started" in g:
            request_log.info("%s %s %s %.0f ms %s", request.method, masked_path(request.path), response.status_code,
                             (time.monotonic() - g.request_started) * 1000, request.remote_addr)
        return response
