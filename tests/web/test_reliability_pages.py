"""Pages answer 503 with a message (not 500) when Redis is away while they create a run; the run is kept."""

import socket

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from hub import connections, linking, statistics
from hub.models import Client, Integration, SyncRun

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}


def test_reload_with_redis_down_answers_503_and_keeps_the_runs(owner, hub_app, in_app, example_sandbox):
    with in_app() as db:
        integration = connections.get_or_create_integration(Client.query.first().firm_id, "example")
        integration.settings = {"origin": example_sandbox[1]}
        db.session.commit()
        connections.set_enabled(integration, True)
        connections.save_credentials(integration, GOOD)
        docs = statistics.create_custom_field(integration.firm_id, "Documents")
        statistics.save_summary_settings(integration, {"mapping": {"documents": docs.id}})
        for i, client in enumerate(Client.query.order_by(Client.id), start=1):
            linking.link_client(None, client_id=client.id, integration=integration, vendor_client_id=str(i))
    services = hub_app.extensions["hub"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # no retries: redis-py's default backoff (three retries) would make every command here take seconds
    real, services._redis = services._redis, redis.Redis(port=port, socket_connect_timeout=0.2,
                                                         retry=Retry(NoBackoff(), 0))
    try:
        token_page = "/settings/apps/example/reload"
        response = owner.post("/settings/apps/example/reload", token_from=token_page)
    finally:
        services._redis = real
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "not reachable right now" in page and "no need to try again" in page
    with in_app():
        assert Integration.query.count() == 1
        assert SyncRun.query.filter_by(kind="import", status="queued").count() == 3
