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
