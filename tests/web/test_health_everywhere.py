"""A stale "Needs attention" clears everywhere at once (issue 26, item 4): a connection's health is the latest outcome
of its vendor account, so after a passing Test connection or a successful vendor call (an export) the integration
card, the dialog header, the Overview, the client list, the client page and the API all say so — for the firm's
account and for a client's own. The webhook events fire once per move.

The example vendor's sandbox serves in this process: revoking a key there (``KEYS``) is the vendor revoking it."""

import datetime as dt
import re

import pytest

from tests.web.test_pages import configure_and_link, sandbox  # noqa: F401  (the sandbox fixture)

GOOD_KEY = "ex-good-key-0001"
BETA = {"api_key": "ex-other-key-0002", "company": "beta"}
NEEDS, OK = "needs_attention", "ok"


@pytest.fixture
def api_get(hub_app, in_app):
    from hub.api import auth
    from hub.models import Firm

    with in_app():
        secret = auth.create_token(Firm.query.first().id, name="health").secret
    client = hub_app.test_client()
    return lambda path: client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {secret}"}).get_json()


def status(html: str) -> str:
    return re.search(r'data-status="(\w+)"', html).group(1)


def attention(html: str) -> str | None:
    found = re.search(r">(\d+ clients? needs? attention)</a>", html)
    return found.group(1) if found else None


def everywhere(owner, api_get, client_id: int) -> dict:
    """What every place that shows health says about the integration and client ``client_id``."""
    card = re.search(r'<section class="card"[^>]*data-vendor="example">(.*?)</section>', owner.text("/settings/apps"),
                     re.S).group(1)
    dialog = owner.text("/settings/apps/example")
    head = re.search(r'<header class="dialog-head">(.*?)</header>', dialog, re.S).group(1)
    check = re.search(r'<li class="(\w+)">(?:(?!</li>).)*Credentials saved and tested', dialog, re.S).group(1)
    row = re.search(rf'<tr data-client="{client_id}">(.*?)</tr>', owner.text("/clients?integration=example"),
                    re.S).group(1)
    client_page = owner.text(f"/clients/{client_id}").split("<h2>Integration</h2>")[1]
    return {
        "card": (status(card), attention(card)), "header": (status(head), attention(head)),
        "overview": {"done": OK, "warn": NEEDS}.get(check, check), "list": status(row),
        "list_attention": [int(i) for i in re.findall(r'data-client="(\d+)"', owner.text("/clients?status=attention"))],
        "client_page": status(client_page),
        "api": (api_get("/integrations/example")["status"], api_get(f"/integrations/example/connections/{client_id}")
                ["status"], [c["id"] for c in api_get("/clients?status=attention")]),
    }


ALL_CLEAR = {"card": (OK, None), "header": (OK, None), "overview": OK, "list": OK, "list_attention": [],
             "client_page": OK, "api": (OK, OK, [])}


def import_fails(in_app, run_jobs, client_id: int) -> None:
    """An import for the client (through whichever account it uses) — the vendor refuses the key."""
    from hub import statistics
    from hub.models import ClientConnection, SyncRun
    from hub.types import Period

    with in_app():
        statistics.import_client(ClientConnection.query.filter_by(client_id=client_id).one(), [Period(2026, 10)])
    run_jobs()
    with in_app():
        run = SyncRun.query.filter_by(kind="import").order_by(SyncRun.id.desc()).first()
        assert run.status == "failed" and run.error["kind"] == "auth"


def read_tax_rates(in_app, run_jobs, client_id: int | None = None) -> None:
    from hub import catalog
    from hub.models import ClientConnection, Integration

    with in_app():
        scope = ClientConnection.query.filter_by(client_id=client_id).one() if client_id else \
            Integration.query.filter_by(vendor="example").one()
        catalog.refresh(scope, "tax_rate")
    run_jobs()


def export_an_invoice(in_app, run_jobs, client_id: int) -> None:
    from hub import exports
    from hub.models import Client, InvoiceExport, db

    with in_app():
        client = db.session.get(Client, client_id)
        invoice = exports.create_invoice(client.firm_id, client.id, number=f"H-{client_id}",
                                         issue_date=dt.date(2026, 11, 20), due_date=dt.date(2026, 12, 4),
                                         lines=[{"description": "Bookkeeping", "quantity": "1",
                                                 "unit_price": "100.00", "vat_rate": "24"}])
        exports.issue_invoice(invoice)
    run_jobs()
    with in_app():
        assert InvoiceExport.query.one().status in ("sent", "confirmed")


def own_account(in_app, run_jobs) -> int:
    """Client 2 with its own (working) account at the vendor; returns its id."""
    from hub import connections, linking
    from hub.models import Client, Integration

    with in_app():
        integration = Integration.query.filter_by(vendor="example").one()
        client = Client.query.filter_by(name="Client 2").one()
        link = linking.link_client(None, client_id=client.id, integration=integration, vendor_client_id=None)
        connections.save_credentials(integration, dict(BETA), connection=link)
        client_id = client.id
    run_jobs()  # the test the save enqueued
    return client_id


# -- the firm's account -------------------------------------------------------------------------------------
def test_a_passing_test_clears_the_firms_needs_attention_everywhere(owner, sandbox,  # noqa: F811
        run_jobs, in_app, vendor_keys, api_get, connection_events):
    listening = connection_events()
    revoke, restore = vendor_keys
    client_id = configure_and_link(owner, run_jobs, in_app)
    revoke(GOOD_KEY)
    import_fails(in_app, run_jobs, client_id)
    assert everywhere(owner, api_get, client_id) == {
        "card": (NEEDS, "1 client needs attention"), "header": (NEEDS, "1 client needs attention"),
        "overview": NEEDS, "list": NEEDS, "list_attention": [client_id], "client_page": NEEDS,
        "api": (NEEDS, NEEDS, [client_id])}
    restore(GOOD_KEY, "acme")
    # Test connection of the saved values (the secret left blank), no Save: the account works again
    response = owner.post("/settings/apps/example/connect", {"api_key": "", "company": "acme", "action": "test"})
    run_jobs()
    assert "Connection works." in owner.text(response.headers["Location"])
    assert everywhere(owner, api_get, client_id) == ALL_CLEAR
    assert listening() == ["connection.needs_attention", "connection.recovered"]


def test_a_successful_export_clears_the_firms_needs_attention_everywhere(owner, sandbox,  # noqa: F811
        run_jobs, in_app, vendor_keys, api_get, connection_events):
    listening = connection_events()
    revoke, restore = vendor_keys
    client_id = configure_and_link(owner, run_jobs, in_app)
    read_tax_rates(in_app, run_jobs)
    revoke(GOOD_KEY)
    import_fails(in_app, run_jobs, client_id)
    owner.post("/clients/1/integration/lookup", {"vendor": "example", "q": "Client"})  # a second refusal
    run_jobs()
    assert everywhere(owner, api_get, client_id)["api"] == (NEEDS, NEEDS, [client_id])
    restore(GOOD_KEY, "acme")
    export_an_invoice(in_app, run_jobs, client_id)
    assert everywhere(owner, api_get, client_id) == ALL_CLEAR
    assert listening() == ["connection.needs_attention", "connection.recovered"], "once per move"


# -- a client's own account ---------------------------------------------------------------------------------
def test_a_successful_export_clears_a_clients_own_account_everywhere(owner, sandbox,  # noqa: F811
        run_jobs, in_app, vendor_keys, api_get, connection_events):
    listening = connection_events()
    revoke, restore = vendor_keys
    firm_client = configure_and_link(owner, run_jobs, in_app)
    client_id = own_account(in_app, run_jobs)
    read_tax_rates(in_app, run_jobs, client_id)
    revoke(BETA["api_key"])
    import_fails(in_app, run_jobs, client_id)
    assert everywhere(owner, api_get, client_id) == {
        "card": (OK, "1 client needs attention"), "header": (OK, "1 client needs attention"), "overview": OK,
        "list": NEEDS, "list_attention": [client_id], "client_page": NEEDS, "api": (OK, NEEDS, [client_id])}
    assert everywhere(owner, api_get, firm_client)["client_page"] == OK, "the firm's account is fine"
    restore(BETA["api_key"], "beta")
    export_an_invoice(in_app, run_jobs, client_id)  # through the client's own account
    assert everywhere(owner, api_get, client_id) == ALL_CLEAR
    assert listening() == ["connection.needs_attention", "connection.recovered"]


def test_a_passing_retest_clears_a_clients_own_account_everywhere(owner, sandbox,  # noqa: F811
        run_jobs, in_app, vendor_keys, api_get):
    from hub import connections
    from hub.models import ClientConnection, Integration

    revoke, restore = vendor_keys
    configure_and_link(owner, run_jobs, in_app)
    client_id = own_account(in_app, run_jobs)
    revoke(BETA["api_key"])
    import_fails(in_app, run_jobs, client_id)
    assert everywhere(owner, api_get, client_id)["list"] == NEEDS
    restore(BETA["api_key"], "beta")
    with in_app():  # the client's credentials form, Test connection with the secret left blank (no Save)
        connections.test_connection(Integration.query.filter_by(vendor="example").one(), {"company": "beta"},
                                    connection=ClientConnection.query.filter_by(client_id=client_id).one())
    run_jobs()
    assert everywhere(owner, api_get, client_id) == ALL_CLEAR
