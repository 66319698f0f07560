"""Property-based conformance: schemathesis, exactly as one would run it against a deployed hub.

The hub is served on loopback (a thread of this process, the test's database) and ``schemathesis run`` is
pointed at ``/api/v1/openapi.json`` with every phase — ``examples`` (the document's own examples),
``coverage`` (boundary and invalid values, missing required parts), ``fuzzing`` (positive and negative
generated requests) and ``stateful`` (sequences following the document's links) — and every check
(``--checks all``: documented status codes, content types, headers and schemas, no 5xx, invalid data
rejected, valid data accepted, auth not ignored, ...). Four runs, side by side: a firm admin token, a firm
member token, no token, and a service token (the host product's ``/firms…`` API). Any failure of any run fails
the test, with that run's report.

No check and no operation is excluded. ``tests/api/schemathesis_hooks.py`` gives the generator the facts
about the firm a document cannot state (its ids, a fresh ``Idempotency-Key``, rules across fields); its
docstring says why, case by case. Webhook URLs are checked by their form only (``HUB_WEBHOOKS_ALLOW_PRIVATE``):
whether a host resolves to a public address needs DNS, which no document can state. Text: the hub refuses NUL
characters and unpaired surrogates in any text (PostgreSQL cannot store them: a ``422`` naming ``_request``,
pinned by test_api_accuracy); rather than a pattern on every string of the document, the generator is told so
(``--generation-allow-x00=false``, ``--generation-codec=utf-8``).

Bounded and deterministic: a few examples per operation (``HUB_SCHEMATHESIS_EXAMPLES``, default 3;
``HUB_SCHEMATHESIS_EXAMPLES=100`` for a long run) with ``--generation-deterministic``.
"""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MAX_EXAMPLES = int(os.environ.get("HUB_SCHEMATHESIS_EXAMPLES", "3"))
PHASES = "examples,coverage,fuzzing,stateful"
HOOKS = "tests.api.schemathesis_hooks"
ROOT = Path(__file__).resolve().parents[2]
WHO = ("admin", "member", "anonymous", "service")


@pytest.fixture
def conformance_firm(hub_clean, run_jobs, monkeypatch):
    """A firm with an enabled example integration (credentials, mapping, linked clients, a draft invoice),
    its tokens, a service token and the ids of its objects; the API does not wait for workers."""
    from hub import connections, exports, linking, statistics
    from hub.api import auth, service_auth
    from hub.models import Client, Topic, db
    from tests.conftest import make_firm

    monkeypatch.setitem(hub_clean.config, "HUB_API_WAIT", 0)
    # webhook URLs by their form only: whether a host resolves to a public address needs DNS, which no document
    # can state (the private-address rule is tested in tests/test_webhooks.py)
    monkeypatch.setitem(hub_clean.config, "HUB_WEBHOOKS_ALLOW_PRIVATE", True)
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
            linking.link_client(None, client_id=client.id, integration=integration, vendor_client_id=str(i))
        exports.create_invoice(firm.id, clients[0].id, number="C-1", issue_date=dt.date(2026, 1, 5),
                               due_date=dt.date(2026, 1, 19), lines=[{"description": "Bookkeeping", "quantity": 1,
                                                                      "unit_price": 100, "vat_rate": 24}])
        admin = auth.create_token(firm.id, name="conformance admin", role="admin")
        member = auth.create_token(firm.id, name="conformance member", role="member")
        _service, service_secret = service_auth.create_service_token("conformance")
        ids = {"client": [c.id for c in clients], "topic": [topic.id], "custom_field": [f.id for f in fields]}
        return {"ids": ids, "tokens": {"admin": admin.secret, "member": member.secret, "anonymous": None,
                                       "service": service_secret},
                "token_ids": [admin.token.id, member.token.id]}


def schemathesis_run(origin: str, token: str | None, firm: dict, report_dir: Path) -> subprocess.Popen:
    args = [sys.executable, "-m", "schemathesis.cli", "run", f"{origin}/api/v1/openapi.json",
            f"--phases={PHASES}", "--checks=all", "--mode=all", f"--max-examples={MAX_EXAMPLES}",
            "--workers=1", "--generation-deterministic", "--no-shrink", "--suppress-health-check=all",
            "--generation-allow-x00=false", "--generation-codec=utf-8",
            "--request-timeout=30", "--continue-on-failure", "--no-color", "--output-truncate=false",
            "--report=junit", f"--report-dir={report_dir}"]
    if token:
        args += ["-H", f"Authorization: Bearer {token}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "PYTHONPATH": str(ROOT),
           "HUB_CONFORMANCE_TOKEN_IDS": json.dumps(firm["token_ids"]), "HUB_CONFORMANCE_IDS": json.dumps(firm["ids"])}
    out = (report_dir / "schemathesis.txt").open("w")
    # run in the report folder: schemathesis keeps a cache of earlier runs (.schemathesis/) in its working directory
    return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, text=True, env=env, cwd=report_dir)


@pytest.mark.slow
def test_api_conforms_to_its_openapi_document(hub_clean, conformance_firm, serve, tmp_path):
    """Every operation and phase, every check, for each kind of caller: 0 failures."""
    origin = serve(hub_clean)
    runs = {}
    for who in WHO:
        (tmp_path / who).mkdir()
        runs[who] = schemathesis_run(origin, conformance_firm["tokens"][who], conformance_firm, tmp_path / who)
    codes = {who: run.wait(timeout=900) for who, run in runs.items()}
    spec = hub_clean.test_client().get("/api/v1/openapi.json").get_json()
    operations = sum(len([m for m in item if m != "parameters"]) for item in spec["paths"].values())
    for who in WHO:
        report = (tmp_path / who / "schemathesis.txt").read_text()
        assert codes[who] == 0, f"{who}:\n{report[-20000:]}"
        assert f"Tested: {operations}" in report, f"{who}: every operation of the document was tested"
