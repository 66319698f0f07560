"""Property-based conformance: schemathesis generates requests from /api/v1/openapi.json and sends them to
the Flask app in-process (WSGI, no network), with an admin token of a firm that has data. Valid requests
and invalid ones (negative mode) alike: every response must be documented and match its schema; no request
may cause a 5xx.

Bounded: a few examples per operation (``HUB_SCHEMATHESIS_EXAMPLES``, default 6), derandomized."""

import datetime as dt
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
MAX_EXAMPLES = int(os.environ.get("HUB_SCHEMATHESIS_EXAMPLES", "6"))


@pytest.fixture
def conformance_token(hub_clean, run_jobs, monkeypatch):
    """A firm with an enabled example integration (credentials, mapping, linked clients, imported months)
    and an admin token; the API does not wait for workers."""
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
        token = auth.create_token(firm.id, name="conformance", role="admin").secret
    return token


def check_operation(operation, token: str, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def check(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    check()


def test_api_conforms_to_its_openapi_document(hub_clean, conformance_token):
    """Every operation of the document, a few generated requests each (explicit examples first)."""
    from hub.api import auth
    from hub.models import Firm, db

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", hub_clean)
    with hub_clean.app_context():
        firm_id = db.session.scalar(db.select(Firm.id))
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()
        with hub_clean.app_context():  # a fresh token per operation: DELETE /tokens/{id} may revoke one
            token = auth.create_token(firm_id, name=operation.label[:100], role="admin").secret
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            check_operation(operation, token, mode)
        tested.append(operation.label)
    assert len(tested) >= 25, tested
