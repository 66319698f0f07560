import threading

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server


@pytest.fixture(scope="session")
def hub_registry():
    """Installed plugins (make test installs every plugin under plugins/ and the example vendor)."""
    from hub.plugins import VendorRegistry

    return VendorRegistry.from_entry_points()


#: The tests hash passwords with scrypt at 1/256 of the production work factor (N=2**15): every firm the tests make
#: hashes two passwords and every sign-in checks one, which at the real cost was a third of the page tests' CPU.
TEST_PASSWORD_HASH = "scrypt:128:8:1"


def _use_password_hash(monkeypatch: pytest.MonkeyPatch, method: str | None) -> None:
    from functools import partial

    from werkzeug.security import generate_password_hash

    from hub import models
    from hub.web import home

    generate = partial(generate_password_hash, method=method) if method else generate_password_hash
    monkeypatch.setattr(models, "generate_password_hash", generate)
    monkeypatch.setattr(home, "generate_password_hash", generate)
    home._unknown_user_hash.cache_clear()  # made the way users' hashes are made now


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes():
    with pytest.MonkeyPatch.context() as monkeypatch:
        _use_password_hash(monkeypatch, TEST_PASSWORD_HASH)
        yield


@pytest.fixture
def production_password_hashes(monkeypatch):
    """Passwords hashed at the production cost for this test (ask for it before the fixtures that make users):
    for a test about the time a password check takes."""
    _use_password_hash(monkeypatch, None)
    yield
    from hub.web import home

    home._unknown_user_hash.cache_clear()


@pytest.fixture
def checkout_builds():
    """For a test that builds packages from this checkout (setuptools writes build/ into it): such tests take turns,
    whichever test processes run them (a lock on a file named after the checkout; waiting on it, not on a clock)."""
    import fcntl
    import hashlib
    import tempfile
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    lock = Path(tempfile.gettempdir()) / f"hub-checkout-builds-{hashlib.sha256(root.encode()).hexdigest()[:12]}.lock"
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
        fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def _hermetic_webhook_dns(monkeypatch):
    """Webhook endpoint hosts are resolved for the SSRF check (hub.webhooks); in tests only IP literals and
    ``localhost`` resolve, so no test asks a DNS server. A test that needs a name monkeypatches
    ``hub.webhooks._resolve`` itself."""
    import ipaddress
    import socket

    from hub import webhooks

    def resolve(host: str, port: int) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        if host == "localhost":
            return ["127.0.0.1"]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (tests resolve no names)")

    monkeypatch.setattr(webhooks, "_resolve", resolve)


class _Unlogged(WSGIRequestHandler):
    """No access log line per request (thousands in the conformance run, each through one locked stderr handler)."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture
def serve():
    """``serve(wsgi_app) -> origin``: serve an app on loopback for the test's duration."""
    servers = []

    def start(app) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Unlogged)
        # a short poll: shutting the server down at the end of the test waits for the loop to look (0.5 s by default)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture
def vendor_keys(monkeypatch):
    """``revoke(key)`` / ``restore(key, company)``: the example vendor revokes or restores an API key (its sandbox
    serves in the test's process)."""
    from hub_example import sandbox as example

    return (lambda key: monkeypatch.delitem(example.KEYS, key),
            lambda key, company: monkeypatch.setitem(example.KEYS, key, company))


@pytest.fixture
def connection_events(hub_app, serve, monkeypatch):
    """``events = connection_events()``: a webhook endpoint of the (first) firm for ``connection.needs_attention`` and
    ``connection.recovered``, answering 204 on loopback; ``events()`` lists the event types recorded, in order."""
    from hub import webhooks
    from hub.models import Firm, WebhookDelivery

    monkeypatch.setitem(hub_app.config, "HUB_WEBHOOKS_ALLOW_PRIVATE", True)

    def receiver(environ, start_response):
        start_response("204 No Content", [])
        return [b""]

    def listen():  # noqa: ANN202
        with hub_app.app_context():
            webhooks.create_endpoint(Firm.query.order_by(Firm.id).first().id, serve(receiver) + "/hooks",
                                     events=["connection.needs_attention", "connection.recovered"])

        def events() -> list[str]:
            with hub_app.app_context():
                return [row.event_type for row in WebhookDelivery.query.order_by(WebhookDelivery.id)]

        return events

    return listen


def make_firm(db):
    from hub.models import Client, Firm, User

    firm = Firm(name="Test Firm OÜ", country="EE", timezone="Europe/Tallinn", plan="team")
    db.session.add(firm)
    db.session.flush()
    owner = User(firm_id=firm.id, email="owner@test.example", role="owner", name="Owner")
    owner.set_password("owner-pass")
    member = User(firm_id=firm.id, email="member@test.example", role="member", name="Member")
    member.set_password("member-pass")
    db.session.add_all([owner, member])
    for i in range(1, 4):
        db.session.add(Client(firm_id=firm.id, name=f"Client {i}", reg_code=f"1000{i:04d}"))
    db.session.commit()
    return firm


@pytest.fixture
def firm(hub_db):
    """A Team-plan firm with an owner, a member and three clients (inside the test's app context)."""
    return make_firm(hub_db)


@pytest.fixture
def web_firm(hub_clean):
    """The same firm for page tests: created in a short-lived app context; returns its id."""
    from hub.models import db

    with hub_clean.app_context():
        return make_firm(db).id


@pytest.fixture
def example_sandbox(serve):
    from hub_example import sandbox

    app = sandbox.create_app()
    return app, serve(app)


@pytest.fixture
def routed_integration(firm, hub_db):
    """``routed_integration(slug, origin)``: the firm's integration with ``slug``, enabled, its vendor's traffic sent to
    ``origin`` (a sandbox on loopback), no credentials yet."""
    from hub import connections

    def make(slug: str, origin: str):  # noqa: ANN202
        integration = connections.get_or_create_integration(firm.id, slug)
        integration.settings = {"origin": origin}
        hub_db.session.commit()
        connections.set_enabled(integration, True)
        return integration

    return make


@pytest.fixture
def example_integration(routed_integration, example_sandbox):
    """An enabled integration with the example vendor, routed to its loopback sandbox, no credentials yet."""
    return routed_integration("example", example_sandbox[1])
