"""Property-based conformance: schemathesis, exactly as one would run it against a deployed hub.

The hub is served on loopback (a thread of this process, the test's database) and ``schemathesis run`` is
pointed at ``/api/v1/openapi.json`` with every phase — ``examples`` (the document's own examples),
``coverage`` (boundary and invalid values, missing required parts), ``fuzzing`` (positive and negative
generated requests) and ``stateful`` (sequences following the document's links: create, then read,
change, delete) — and every check (``--checks all``: documented status codes, content types, headers and
schemas, no 5xx, invalid data rejected, valid data accepted, auth not ignored, deleted objects gone, ...).
It runs three times: with an admin token, with a member token and with no token at all. Any failure fails
the test, with schemathesis's report.

Bounded: a few examples per operation (``HUB_SCHEMATHESIS_EXAMPLES``, default 5) and a fixed seed;
``HUB_SCHEMATHESIS_EXAMPLES=100`` for a long run.

NOT YET AT ZERO: runs only with ``HUB_SCHEMATHESIS_STRICT=1``. The admin run takes ~2 minutes on a busy
2-core machine and still reports failures (e.g. a replayed ``Idempotency-Key`` with another body answered 422
where schemathesis expects the case to be accepted; vendors' credential schemas vs. the generic
``credentials`` object; the coverage phase's missing-body cases). ``tests/api/test_conformance.py`` (positive
and negative, admin) stays the suite's gate until this one passes.
"""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

MAX_EXAMPLES = int(os.environ.get("HUB_SCHEMATHESIS_EXAMPLES", "5"))
PHASES = "examples,coverage,fuzzing,stateful"
HOOKS = "tests.api.schemathesis_hooks"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def conformance_firm(hub_clean, run_jobs, monkeypatch):
    """A firm with an enabled example integration (credentials, mapping, linked clients, a draft invoice)
    and its tokens; the API does not wait for workers."""
    from hub import connections, exports, statistics
    from hub.api import auth
    from hub.models import Client, Topic, db
    from tests.conftest import make_firm

    monkeypatch.setitem(hub_clean.config, "HUB_API_WAIT", 0)
    with hub_clean.app_context():
        firm = make_firm(db)
        db.session.add(Topic(firm_id=firm.id, name="Bookkeeping"))
        integration = connections.get_or_create_integration(firm.id, "example")
        integration.settings = {"origin": "http://127.0.0.1:9"}  # loopback, nothing listens: jobs fail fast
        db.session.commit()
        connections.set_enabled(integration, True)
        connections.save_credentials(integration, {"api_key": "ex-good-key-0001", "company": "acme"})
        field = statistics.create_custom_field(firm.id, "Documents")
        statistics.save_summary_settings(integration, {"mapping": {"documents": field.id}})
        for i, client in enumerate(Client.query.filter_by(firm_id=firm.id), start=1):
            connections.link_client(None, client_id=client.id, integration=integration, vendor_client_id=str(i))
        client = Client.query.filter_by(firm_id=firm.id).order_by(Client.id).first()
        exports.create_invoice(firm.id, client.id, number="C-1", issue_date=dt.date(2026, 1, 5),
                               due_date=dt.date(2026, 1, 19), lines=[{"description": "Bookkeeping", "quantity": 1,
                                                                      "unit_price": 100, "vat_rate": 24}])
        admin = auth.create_token(firm.id, name="conformance admin", role="admin")
        member = auth.create_token(firm.id, name="conformance member", role="member")
        tokens = {"admin": (admin.secret, admin.token.id), "member": (member.secret, member.token.id)}
    return tokens


def schemathesis_run(origin: str, token: str | None, token_id: int | None,
                     tmp_path: Path) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "schemathesis.cli", "run", f"{origin}/api/v1/openapi.json",
            f"--phases={PHASES}", "--checks=all", "--mode=all", f"--max-examples={MAX_EXAMPLES}", "--seed=17",
            "--workers=1", "--generation-deterministic", "--no-shrink", "--suppress-health-check=all",
            "--request-timeout=30", "--continue-on-failure", "--no-color", "--output-truncate=false",
            "--report=junit", f"--report-dir={tmp_path}"]
    if token:
        args += ["-H", f"Authorization: Bearer {token}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "HUB_CONFORMANCE_TOKEN_ID": str(token_id or ""),
           "PYTHONPATH": str(ROOT)}
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("HUB_SCHEMATHESIS_STRICT") != "1", reason="opt-in: HUB_SCHEMATHESIS_STRICT=1")
@pytest.mark.parametrize("who", ["admin", "member", "anonymous"])
def test_api_conforms_to_its_openapi_document(hub_clean, conformance_firm, serve, tmp_path, who):
    """Every operation and phase, every check: 0 failures."""
    origin = serve(hub_clean)
    token, token_id = conformance_firm.get(who, (None, None))
    result = schemathesis_run(origin, token, token_id, tmp_path)
    report = result.stdout[-20000:] + result.stderr[-5000:]
    assert result.returncode == 0, report
