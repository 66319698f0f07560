"""Imports, Reload data, overwrite, staging, flags, failures, progress and notifications."""

import marshmallow
import pytest

from hub import connections, linking, statistics, vendor_accounts
from hub.models import Client, ClientConnection, Notification, SummaryTask, SummaryValue, SyncRun
from hub.types import Period

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}


@pytest.fixture
def setup(example_integration, firm, hub_db, run_jobs):
    """Example integration: credentials, two mapped fields, all three clients linked (vendor ids 1..3)."""
    connections.save_credentials(example_integration, GOOD)
    run_jobs()
    docs = statistics.create_custom_field(firm.id, "Documents")
    entries = statistics.create_custom_field(firm.id, "Entries")
    statistics.save_summary_settings(example_integration, {"task_title": "Summary",
                                                           "mapping": {"documents": docs.id, "entries": entries.id}})
    links = []
    for i, client in enumerate(Client.query.filter_by(firm_id=firm.id).order_by(Client.id), start=1):
        links.append(linking.link_client(None, client_id=client.id, integration=example_integration,
                                         vendor_client_id=str(i), vendor_client_name=f"Client {i:02d}"))
    return {"integration": example_integration, "docs": docs, "entries": entries, "links": links}


def values(client_id, field_id) -> dict[str, int]:
    rows = SummaryValue.query.join(SummaryTask).filter(SummaryTask.client_id == client_id,
                                                        SummaryValue.field_id == field_id)
    return {v.task.period: v.value for v in rows}


def test_reload_back_fills_twelve_months_for_every_client(setup, run_jobs, hub_db):
    parent = statistics.reload(setup["integration"])
    assert parent.progress_total == 3 and parent.status == "running"
    run_jobs()
    hub_db.session.refresh(parent)
    assert parent.status == "succeeded" and parent.progress_done == 3
    periods = statistics.Period.last_n(12, Period.of(statistics.firm_today(setup["integration"])))
    for i, link in enumerate(setup["links"], start=1):
        docs = values(link.client_id, setup["docs"].id)
        assert docs == {str(p): i + p.month for p in periods}  # the sandbox: documents = client + month
        assert values(link.client_id, setup["entries"].id) == {str(p): 2 * (i + p.month) for p in periods}
    task = SummaryTask.query.filter_by(client_id=setup["links"][0].client_id).first()
    assert task.title.startswith("Summary ") and task.values[0].source == "example: Client 01"
    note = Notification.query.one()
    assert note.title == "Reload data finished for Example Books" and "3 of 3 clients imported" in note.body
    assert SyncRun.query.filter_by(kind="import").count() == 3, "one job per client, all months at once"


def test_reload_overwrites_existing_values(setup, run_jobs, hub_db):
    statistics.reload(setup["integration"])
    run_jobs()
    value = SummaryValue.query.filter_by(field_id=setup["docs"].id).first()
    original = value.value
    value.value = 999
    hub_db.session.commit()
    statistics.reload(setup["integration"])
    run_jobs()
    hub_db.session.refresh(value)
    assert value.value == original


def test_failed_reload_leaves_earlier_values_intact(setup, run_jobs, hub_db, serve):
    from hub_example import sandbox

    statistics.reload(setup["integration"])
    run_jobs()
    before = {link.client_id: values(link.client_id, setup["docs"].id) for link in setup["links"]}
    origin = serve(sandbox.create_app(fail_with=503))
    setup["integration"].settings = {**setup["integration"].settings, "origin": origin}
    hub_db.session.commit()
    parent = statistics.reload(setup["integration"])
    run_jobs(timeout=60)
    hub_db.session.refresh(parent)
    assert parent.status == "failed" and parent.error["kind"] == "partial"
    after = {link.client_id: values(link.client_id, setup["docs"].id) for link in setup["links"]}
    assert after == before
    note = Notification.query.order_by(Notification.id.desc()).first()
    assert "0 of 3 clients imported" in note.body and "HTTP 503" in note.body


def test_auth_failure_marks_integration_and_keeps_data(setup, run_jobs, hub_db):
    statistics.reload(setup["integration"])
    run_jobs()
    before = values(setup["links"][0].client_id, setup["docs"].id)
    # the key is revoked at the vendor: the stored one no longer works
    vault = hub_db.session.get(type(setup["integration"]), setup["integration"].id)
    vault.secret_credentials = vendor_accounts.services().vault.encrypt({"api_key": "ex-revoked-0000"})
    hub_db.session.commit()
    parent = statistics.reload(setup["integration"])
    run_jobs()
    hub_db.session.refresh(parent)
    hub_db.session.refresh(setup["integration"])
    assert setup["integration"].status == "needs_attention"
    assert setup["integration"].last_error["kind"] == "auth"
    assert values(setup["links"][0].client_id, setup["docs"].id) == before
    imports = SyncRun.query.filter_by(kind="import").order_by(SyncRun.id.desc()).limit(3).all()
    assert all(r.attempts == 1 for r in imports), "auth errors are never retried"


def test_one_clients_failure_does_not_stop_the_others(setup, run_jobs, hub_db):
    bad = setup["links"][1]
    connections.save_credentials(setup["integration"], {"api_key": "ex-wrong-key-9999", "company": "acme"},
                                 connection=bad)
    run_jobs()
    parent = statistics.reload(setup["integration"])
    run_jobs()
    hub_db.session.refresh(parent)
    outcomes = sorted(item.outcome for item in parent.items)
    assert outcomes == ["failed", "imported", "imported"]
    assert parent.status == "partial" and parent.result == {"clients": 3, "failed": 1}, "never a plain success"
    assert parent.finished
    assert values(setup["links"][0].client_id, setup["docs"].id) and values(setup["links"][2].client_id,
                                                                            setup["docs"].id)
    assert not values(bad.client_id, setup["docs"].id)
    note = Notification.query.one()
    assert "Client 2:" in note.body and "1 of 3 clients failed" not in note.title
    assert note.title == "Reload data completed with failures for Example Books" and note.level == "warning"


def test_drop_to_zero_is_flagged_not_written(setup, run_jobs, hub_db, serve):
    from hub_example import sandbox

    statistics.reload(setup["integration"], connection=setup["links"][0])
    run_jobs()
    setup["integration"].settings = {**setup["integration"].settings, "origin": serve(sandbox.create_app(zero=True))}
    hub_db.session.commit()
    statistics.reload(setup["integration"], connection=setup["links"][0])
    run_jobs()
    flagged = SummaryValue.query.filter(SummaryValue.flag.isnot(None)).all()
    assert len(flagged) == 24  # 12 months x 2 fields
    assert all(v.value > 0 and v.pending_value == 0 and "dropped from" in v.flag for v in flagged)
    statistics.accept_flagged(flagged[0])
    assert flagged[0].value == 0 and flagged[0].flag is None


def test_wrong_link_is_fixed_and_reloaded(setup, run_jobs, hub_db):
    link = setup["links"][0]
    statistics.reload(setup["integration"], connection=link)
    run_jobs()
    linking.link_client(link, client_id=link.client_id, integration=setup["integration"],
                        vendor_client_id="3", vendor_client_name="Client 03")
    statistics.reload(setup["integration"], connection=link)
    run_jobs()
    docs = values(link.client_id, setup["docs"].id)
    assert all(v == 3 + int(p[-2:]) for p, v in docs.items())


def test_mapping_validation_and_change_detection(setup, firm, hub_db):
    integration = setup["integration"]
    with pytest.raises(marshmallow.ValidationError) as caught:
        statistics.save_summary_settings(integration, {"mapping": {"nonsense": setup["docs"].id}})
    assert "no field nonsense" in str(caught.value.messages)
    with pytest.raises(marshmallow.ValidationError):
        statistics.save_summary_settings(integration, {"import_day": 31})
    with pytest.raises(marshmallow.ValidationError):
        statistics.save_summary_settings(integration, {"mapping": {"documents": setup["docs"].id,
                                                                   "entries": setup["docs"].id}})
    payments = statistics.create_custom_field(firm.id, "Payments")
    assert statistics.create_custom_field(firm.id, " Payments ") == payments
    assert statistics.save_summary_settings(integration, {"mapping": {"payments": payments.id}}) is True
    assert statistics.save_summary_settings(integration, {"mapping": {"payments": payments.id}}) is False


def test_import_without_mapping_is_a_clear_error(example_integration, firm, hub_db):
    with pytest.raises(Exception, match="Map at least one data field"):
        statistics.reload(example_integration)


def test_summary_rows_for_the_cli(setup, run_jobs, hub_db, hub_app):
    statistics.reload(setup["integration"], connection=setup["links"][0])
    run_jobs()
    rows = statistics.summary_rows(setup["links"][0].client_id)
    assert len(rows) == 12 and rows[0]["period"] > rows[-1]["period"]
    result = hub_app.test_cli_runner().invoke(args=["hub", "summary", "Client 1"])
    assert result.exit_code == 0, result.output
    assert "Documents" in result.output and rows[0]["period"] in result.output


def test_connection_state_of_per_client_credentials(setup, run_jobs, hub_db):
    link = setup["links"][2]
    connections.save_credentials(setup["integration"], GOOD, connection=link)
    run_jobs()
    hub_db.session.refresh(link)
    assert link.status == "ok" and link.account_name == "Acme Books OÜ"
    assert ClientConnection.query.filter_by(status="ok").count() >= 1


def test_import_that_cannot_run_leaves_the_connection_state_alone(setup, run_jobs, hub_db):
    from hub import connections

    statistics.import_client(setup["links"][0], [Period(2026, 10)])
    connections.set_enabled(setup["integration"], False)
    run_jobs()
    run = SyncRun.query.filter_by(kind="import").one()
    hub_db.session.refresh(setup["integration"])
    assert run.status == "failed" and run.error["kind"] == "not_done" and run.attempts == 1
    assert "disabled" in run.error["message"]
    assert setup["integration"].status == "disabled", "not turned into needs_attention"
