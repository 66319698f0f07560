"""Property-based conformance: schemathesis, exactly as one would run it against a deployed hub.

The hub is served on loopback (a thread of this process, the test's database) and ``schemathesis run`` is
pointed at ``/api/v1/openapi.json`` with every phase — ``examples`` (the document's own examples),
``coverage`` (boundary and invalid values, missing required parts), ``fuzzing`` (positive and negative
generated requests) and ``stateful`` (sequences following the document's links: create, then read,
change, delete) — and every check (``--checks all``: documented status codes, content types, headers and
schemas, no 5xx, invalid data rejected, valid data accepted, auth not ignored, deleted objects gone, ...).
It runs three times: with an admin token, with a member token and with no token at all. Any failure fails
the test, with schemathesis's report.

No check and no operation is excluded. ``tests/api/schemathesis_hooks.py`` gives the generator the facts
about the firm a document cannot state (its ids, a fresh ``Idempotency-Key``, rules across fields); its
docstring says why, case by case.

Bounded: a few examples per operation (``HUB_SCHEMATHESIS_EXAMPLES``, default 5) with deterministic
generation; ``HUB_SCHEMATHESIS_EXAMPLES=100`` for a long run.

NOT YET AT ZERO (api17): runs only with ``HUB_SCHEMATHESIS_STRICT=1``; the admin run takes ~3 minutes on the
busy 2-core machine and reports ~30 failures (down from the Idempotency-Key, unknown-field, credentials-body,
mapping and month-range kinds), all of two kinds: (1) vendor plugins validate credentials with rules their
marshmallow schemas do not declare (Merit's GUID API ID, Scoro's account id characters, Directo's database
code and token length): the plugins should declare them as ``validate.Regexp``/``Length`` so the document
carries them; (2) the invoice line's decimal ranges (``quantity`` ≥ 0.0001) are not in the string pattern.
``tests/api/test_conformance.py`` (positive and negative, admin) stays the suite's gate until this one passes.
"""

import datetime as dt
import json
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
    """A firm with an enabled example integration (credentials, mapping, linked clients, a draft invoice),
    its tokens and the ids of its objects; the API does not wait for workers."""
    from hub import connections, exports, statistics
    from hub.api import auth
    from hub.models import Client, Topic, db
    from tests.conftest import make_firm

    monkeypatch.setitem(hub_clean.config, "HUB_API_WAIT", 0)
    with hub_clean.app_context():
        firm = make_firm(db)
        topic = Topic(firm_id=firm.id, name="Bookkeeping")
        db.session.add(topic)
        integration = connections.get_or_create_integration(firm.id, "example")
        integration.settings = {"origin": "http://127.0.0.1:9"}  # loopback, nothing listens: jobs fail fast
        db.session.commit()
        connections.set_enabled(integration, True)
        connections.save_credentials(integration, {"api_key": "ex-good-key-0001", "company": "acme"})
        fields = [statistics.create_custom_field(firm.id, name) for name in ("Documents", "Sales", "Purchases")]
        statistics.save_summary_settings(integration, {"mapping": {"documents": fields[0].id}})
        clients = Client.query.filter_by(firm_id=firm.id).order_by(Client.id).all()
        for i, client in enumerate(clients, start=1):
            connections.link_client(None, client_id=client.id, integration=integration, vendor_client_id=str(i))
        exports.create_invoice(firm.id, clients[0].id, number="C-1", issue_date=dt.date(2026, 1, 5),
                               due_date=dt.date(2026, 1, 19), lines=[{"description": "Bookkeeping", "quantity": 1,
                                                                      "unit_price": 100, "vat_rate": 24}])
        admin = auth.create_token(firm.id, name="conformance admin", role="admin")
        member = auth.create_token(firm.id, name="conformance member", role="member")
        ids = {"client": [c.id for c in clients], "topic": [topic.id], "custom_field": [f.id for f in fields]}
        return {"ids": ids, "admin": (admin.secret, admin.token.id), "member": (member.secret, member.token.id)}


def schemathesis_run(origin: str, token: str | None, token_id: int | None, ids: dict,
                     tmp_path: Path) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "schemathesis.cli", "run", f"{origin}/api/v1/openapi.json",
            f"--phases={PHASES}", "--checks=all", "--mode=all", f"--max-examples={MAX_EXAMPLES}",
            "--workers=1", "--generation-deterministic", "--no-shrink", "--suppress-health-check=all",
            "--request-timeout=30", "--continue-on-failure", "--no-color", "--output-truncate=false",
            "--report=junit", f"--report-dir={tmp_path}"]
    if token:
        args += ["-H", f"Authorization: Bearer {token}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "HUB_CONFORMANCE_TOKEN_ID": str(token_id or ""),
           "HUB_CONFORMANCE_IDS": json.dumps(ids), "PYTHONPATH": str(ROOT)}
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("HUB_SCHEMATHESIS_STRICT") != "1", reason="opt-in: HUB_SCHEMATHESIS_STRICT=1")
@pytest.mark.parametrize("who", ["admin", "member", "anonymous"])
def test_api_conforms_to_its_openapi_document(hub_clean, conformance_firm, serve, tmp_path, who):
    """Every operation and phase, every check: 0 failures."""
    origin = serve(hub_clean)
    token, token_id = conformance_firm.get(who, (None, None))
    result = schemathesis_run(origin, token, token_id, conformance_firm["ids"], tmp_path)
    (tmp_path / "schemathesis.txt").write_text(result.stdout + result.stderr)
    report = result.stdout[-20000:] + result.stderr[-5000:]
    assert result.returncode == 0, report
    spec = hub_clean.test_client().get("/api/v1/openapi.json").get_json()
    operations = sum(len([m for m in item if m != "parameters"]) for item in spec["paths"].values())
    assert f"Tested: {operations}" in result.stdout, "every operation of the document was tested"
