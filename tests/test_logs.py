"""One log format (hub.logs): time, level, process kind, run or request id; JSON on request; set-password tokens
masked in every line, the request log included."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from hub import connections, logs
from hub.app import create_app
from hub.models import SyncRun
from hub.vault import Vault


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.getLogger("hub.test").makeRecord("hub.test", logging.WARNING, __file__, 1, message, args, None)


def test_text_and_json_lines(hub_app, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(logs, "_kind", "web")  # a CLI test of this process may have named it
    with hub_app.test_request_context("/"):
        from flask import g

        g.request_id = "req-1"
        text = logs._Formatter(as_json=False).format(_record("opened %s", "/set-password/tok3n-secret?x=1"))
        line = json.loads(logs._Formatter(as_json=True).format(_record("plain")))
    assert text.endswith(f" WARNING web[{os.getpid()}] hub.test: opened /set-password/***?x=1 request=req-1")
    assert text[:4].isdigit() and text[23] == "Z"
    assert line["level"] == "WARNING" and line["kind"] == "web" and line["request_id"] == "req-1"
    assert line["time"].endswith("Z") and line["logger"] == "hub.test" and line["message"] == "plain"


def test_the_request_log_masks_set_password_tokens(hub_database_url, hub_redis_url, caplog):
    app = create_app({"DATABASE_URL": hub_database_url, "REDIS_URL": hub_redis_url, "SECRET_KEY": "t",
                      "HUB_SECRET_KEYS": Vault.generate_key()})  # not TESTING: the request log is on
    with caplog.at_level(logging.INFO, logger="hub.request"):
        response = app.test_client().get("/set-password/tok3n-secret-value", headers={"X-Request-ID": "lb-42"})
    assert response.headers["X-Request-ID"] == "lb-42"
    [record] = [r for r in caplog.records if r.name == "hub.request"]
    assert record.getMessage().startswith(f"GET /set-password/*** {response.status_code} ")
    assert "tok3n" not in logs._Formatter(as_json=False).format(record)


@pytest.mark.slow
def test_a_worker_writes_json_lines_with_its_kind_and_run_id(example_integration, hub_app, hub_db,
                                                             hub_database_url, hub_redis_url, tmp_path):
    connections.save_credentials(example_integration, {"api_key": "ex-good-key-0001", "company": "acme"})
    run = SyncRun.query.filter_by(kind="test_connection").one()
    env = dict(os.environ, FLASK_APP="hub.app:create_app", DATABASE_URL=hub_database_url, REDIS_URL=hub_redis_url,
               HUB_SECRET_KEYS=",".join(hub_app.extensions["hub"].vault._keys), HUB_INSTANCE_PATH=str(tmp_path),
               SECRET_KEY="test", HUB_LOG_LEVEL="DEBUG", HUB_LOG_FORMAT="json")
    done = subprocess.run([sys.executable, "-m", "flask", "hub", "worker", "--burst"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]  # every line is JSON
    assert lines and {line["kind"] for line in lines} == {"worker"}
    assert any(line["logger"].startswith("rq.") for line in lines), "RQ's lines in the same format"
    assert any(line.get("run_id") == run.id and line["logger"] == "hub.vendor.example" for line in lines)
    assert "ex-good-key-0001" not in done.stderr
