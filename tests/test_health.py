"""hub.health: a connection's health is the latest outcome of a call through its vendor account (issue 26, item 4).
The pages and the API that show it are tested in tests/web/test_health_everywhere.py."""

import pytest
from sqlalchemy import event
from sqlalchemy.orm.attributes import set_committed_value

from hub import connections, health, linking
from hub.errors import AuthError
from hub.models import Client, ClientConnection, SyncRun
from hub.vendor_accounts import account_run, call_vendor, firm_account, run_account

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}
OTHER = {"api_key": "ex-other-key-0002", "company": "beta"}


@pytest.fixture
def connected(example_integration, hub_db, run_jobs):
    connections.save_credentials(example_integration, GOOD)
    run_jobs()  # the test the save enqueued
    hub_db.session.refresh(example_integration)
    assert example_integration.status == "ok"
    return example_integration


def lookup(integration, run_jobs, hub_db) -> SyncRun:
    """A call through the firm's account (client lookup)."""
    run = connections.lookup_clients(integration, "Client")
    run_jobs()
    hub_db.session.refresh(run)
    hub_db.session.refresh(integration)
    return run


def test_a_success_through_a_connected_account_costs_no_statement(connected, hub_db):
    run = account_run("list_clients", firm_account(connected), params={"query": ""}, enqueue=False)
    account = run_account(run)
    assert account.owner.status == "ok"
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(hub_db.engine, "before_cursor_execute", before)
    try:
        assert call_vendor(run, "hub_list_clients", account=account, query="Client 0")
    finally:
        event.remove(hub_db.engine, "before_cursor_execute", before)
    assert statements == [], "compared in Python with the loaded row"


def test_failures_and_successes_move_the_health_once_each(connected, vendor_keys, connection_events, run_jobs,
                                                           hub_db):
    events = connection_events()
    revoke, restore = vendor_keys
    revoke(GOOD["api_key"])
    for _ in range(2):
        assert lookup(connected, run_jobs, hub_db).status == "failed"
    assert connected.status == "needs_attention" and connected.last_error["kind"] == "auth"
    restore(GOOD["api_key"], "acme")
    for _ in range(2):
        assert lookup(connected, run_jobs, hub_db).status == "succeeded"
    assert connected.status == "ok" and connected.last_error is None and connected.last_success_at
    assert events() == ["connection.needs_attention", "connection.recovered"]


def test_a_move_another_run_made_first_is_not_announced_again(connected, connection_events, hub_db):
    events = connection_events()
    set_committed_value(connected, "status", "needs_attention")  # loaded before another run's success cleared it
    health.record_outcome(connected)
    hub_db.session.commit()
    hub_db.session.refresh(connected)
    assert connected.status == "ok" and events() == []


def test_an_answer_about_replaced_credentials_changes_nothing(connected, run_jobs, hub_db):
    refused = AuthError("Example rejected the API key.")
    health.attribute_failure(refused, connected)  # the vendor refused the old key ...
    connections.save_credentials(connected, OTHER)  # ... while the admin saved a new one
    health.record_failure(SyncRun(), refused)
    hub_db.session.commit()
    hub_db.session.refresh(connected)
    assert connected.status == "untested", "the answer was about the old key"


def test_an_error_no_vendor_gave_changes_nobodys_health(example_integration, run_jobs, hub_db):
    run = lookup(example_integration, run_jobs, hub_db)  # nothing saved: the hub refuses before any call
    assert run.status == "failed" and run.error["kind"] == "config"
    assert example_integration.status == "not_configured"


def test_a_test_of_the_saved_values_counts_and_of_other_values_does_not(connected, vendor_keys, run_jobs, hub_db):
    revoke, restore = vendor_keys
    revoke(GOOD["api_key"])
    lookup(connected, run_jobs, hub_db)
    assert connected.status == "needs_attention"
    restore(GOOD["api_key"], "acme")
    connections.test_connection(connected, dict(OTHER))  # other credentials that work: not saved, not these
    run_jobs()
    hub_db.session.refresh(connected)
    assert connected.status == "needs_attention"
    connections.test_connection(connected, {"company": "acme"})  # the form with the secret left blank: the saved ones
    run_jobs()
    hub_db.session.refresh(connected)
    assert connected.status == "ok" and connected.account_name == "Acme Books OÜ"


def test_a_disabled_integration_stays_disabled(connected, hub_db):
    connections.set_enabled(connected, False)
    health.record_outcome(connected, {"kind": "auth", "message": "refused"})
    health.record_outcome(connected)
    assert connected.status == "disabled"


def test_a_link_without_credentials_of_its_own_shows_the_firms_health(connected, firm, hub_db):
    client = Client.query.filter_by(firm_id=firm.id).first()
    link = linking.link_client(None, client_id=client.id, integration=connected, vendor_client_id="1")
    link.status = "needs_attention"  # a status copied from the integration by an earlier version: not read
    hub_db.session.commit()
    assert hub_db.session.scalars(health.attention_connection_ids(firm.id)).all() == []
    health.record_outcome(connected, {"kind": "auth", "message": "refused"})
    hub_db.session.commit()
    assert hub_db.session.scalars(health.attention_connection_ids(firm.id)).all() == [link.id]
    assert health.attention_by_integration(firm.id) == {connected.id: [client.id]}
    assert ClientConnection.query.count() == 1
