"""The demo firm of `make run`, against every installed vendor sandbox over loopback: integrations connect,
statistics vendors get a mapping, linked clients and 12 imported months."""

import os
from importlib import metadata

import pytest

from hub import demo, statistics
from hub.models import Client, ClientConnection, Integration, SummaryTask, SyncRun


@pytest.fixture
def sandbox_origins(serve, hub_registry):
    return {ep.name: serve(ep.load().create_app()) for ep in metadata.entry_points(group="hub.sandboxes")
            if ep.name in hub_registry.vendors}


@pytest.fixture
def clean_env(hub_registry):
    before = set(os.environ)
    for slug in hub_registry.vendors:  # the request budget has its own tests; here it would only add waiting
        os.environ[f"HUB_{slug.upper()}_RATE_LIMITS"] = "off"
    yield
    for key in set(os.environ) - before:
        del os.environ[key]


@pytest.mark.slow
def test_demo_firm_imports_twelve_months_for_every_statistics_vendor(sandbox_origins, hub_db, hub_app, run_jobs,
                                                                     hub_registry, clean_env):
    demo.apply_sandbox_settings(list(sandbox_origins))
    login = demo.seed(sandbox_origins)
    assert login["email"] == demo.DEMO_EMAIL
    run_jobs(timeout=300)
    integrations = {i.vendor: i for i in Integration.query}
    for slug in sandbox_origins:
        integration = integrations[slug]
        hub_db.session.refresh(integration)
        assert integration.enabled and integration.status == "ok", (slug, integration.last_error)
        if not hub_registry.get(slug).can("statistics"):
            continue
        links = statistics.linked_connections(integration)
        assert len(links) == demo.CLIENTS_PER_VENDOR, slug
        for link in links:
            months = SummaryTask.query.filter_by(client_id=link.client_id, integration_id=integration.id).count()
            assert months == statistics.RELOAD_MONTHS, (slug, link.client_id)
        reload = SyncRun.query.filter_by(kind="reload", integration_id=integration.id).one()
        assert reload.status == "succeeded", (slug, reload.error, [i.error for i in reload.items])
    # visible from the CLI
    client = hub_db.session.get(Client, ClientConnection.query.first().client_id)
    out = hub_app.test_cli_runner().invoke(args=["hub", "summary", client.name]).output
    assert "summary" in out and "from " in out
    assert demo.seed(sandbox_origins) == login, "seeding again changes nothing"
    assert SyncRun.query.filter_by(kind="reload").count() == len([s for s in sandbox_origins
                                                                  if hub_registry.get(s).can("statistics")])


def test_a_plugins_bad_demo_data_is_reported_for_that_plugin_and_skipped(hub_db, example_sandbox, monkeypatch,
                                                                          caplog):
    """`DEMO_CLIENT_CREDENTIALS` as a dict (not a list) used to crash `flask hub up` for every vendor with a raw
    traceback; now that plugin is named, skipped, and the rest of the demo is seeded."""
    import hub_example.sandbox

    monkeypatch.setattr(hub_example.sandbox, "DEMO_CLIENT_CREDENTIALS", {"api_key": "x"}, raising=False)
    with caplog.at_level("WARNING", logger="hub.demo"):
        login = demo.seed({"example": example_sandbox[1]})
    assert "DEMO_CLIENT_CREDENTIALS must be a list" in login["skipped"]["example"]
    assert "example" in caplog.text and "skipped" in caplog.text
    assert login["email"] == demo.DEMO_EMAIL and Client.query.count() == len(demo.DEMO_CLIENTS)


def test_demo_data_shapes_are_checked() -> None:
    class Module:
        DEMO_CREDENTIALS = {"token": "t"}
        DEMO_CLIENT_CREDENTIALS = [{"token": "a"}, {"token": "b"}]
        DEMO_SETTINGS = {"consumer_token_test": "c"}

    assert demo.demo_data("acme", Module)["client_credentials"] == [{"token": "a"}, {"token": "b"}]
    assert demo.demo_data("acme", object())["credentials"] is None
    for name, bad in (("DEMO_CREDENTIALS", ["t"]), ("DEMO_CLIENT_CREDENTIALS", [["a"]]), ("DEMO_SETTINGS", "x")):
        broken = type("Broken", (Module,), {name: bad})
        with pytest.raises(demo.DemoDataError, match=f"acme: {name} must be"):
            demo.demo_data("acme", broken)
