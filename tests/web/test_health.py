"""Honest outcomes and pages at real firm sizes (issue 15, items 5–8): a Reload where some clients failed is
"Completed with failures", the integration shows how many clients need attention, notifications link to
what they are about, and the client list holds 1,000 clients (search, filters, pages, fixed query count)."""

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.web.test_pages import configure_and_link, sandbox  # noqa: F401  (the sandbox fixture)


def add_bad_client(in_app, vendor="example"):
    """A second linked client whose own credentials the vendor refuses (its imports fail)."""
    from hub import linking, vendor_accounts
    from hub.models import Client, Integration

    with in_app() as db:
        integration = Integration.query.filter_by(vendor=vendor).one()
        client = Client.query.filter(Client.name == "Client 2").one_or_none() or \
            Client.query.order_by(Client.id).offset(1).first()
        link = linking.link_client(None, client_id=client.id, integration=integration, vendor_client_id="2",
                                   vendor_client_name="Client 02")
        schema = vendor_accounts.vendor_of(integration).schema
        vendor_accounts.store_credentials(link, schema, {"api_key": "ex-wrong-key-9999", "company": "acme"})
        link.status = "ok"
        db.session.commit()
        return client.id, client.name


def test_reload_with_failed_clients_is_completed_with_failures(owner, sandbox, run_jobs, in_app):  # noqa: F811
    configure_and_link(owner, run_jobs, in_app)
    bad_id, bad_name = add_bad_client(in_app)
    response = owner.post("/settings/apps/example/reload", token_from="/settings/apps/example/reload")
    run_page = response.headers["Location"]
    run_jobs()
    page = owner.text(run_page)
    assert 'class="run run-partial" id="run-status">Completed with failures<' in page
    assert "Succeeded" not in page.split("<h2>Import runs</h2>")[0], "the run is never a green Succeeded"
    assert '<a href="/history/runs/' in page.split("<h2>Import runs</h2>")[1]  # its clients' runs, each in words
    assert "1 of 2 clients failed:" in page and f'href="/clients/{bad_id}">{bad_name}</a>' in page
    assert "Example rejected the API key." in page
    history = owner.text("/history")
    assert "Completed with failures" in history
    notes = owner.text("/notifications")
    assert f'<a href="{run_page}">Reload data completed with failures for Example Books</a>' in notes
    # the card, the Overview and the list: "1 client needs attention", linking to them
    for path in ("/settings/apps", "/settings/apps/example"):
        text = owner.text(path)
        assert re.search(r'href="/clients\?integration=example&amp;status=attention">1 client needs attention</a>',
                         text), path
    listed = owner.text("/clients?integration=example&status=attention")
    assert bad_name in listed and listed.count('data-client="') == 1
    assert f'href="/clients/{bad_id}/integration?vendor=example"' in listed and "Needs attention" in listed
    assert "Example rejected the API key." not in listed, "a short status; the details are one click away"


def test_mark_all_as_read(owner, in_app):
    from hub.models import Firm, Notification

    with in_app() as db:
        firm = Firm.query.first()
        for i in range(3):
            db.session.add(Notification(firm_id=firm.id, title=f"Note {i}", body="", link=f"/history?n={i}"))
        db.session.commit()
    page = owner.text("/notifications")
    assert ">Mark all as read</button>" in page and '<a href="/history?n=1">Note 1</a>' in page
    owner.post("/notifications/read-all", token_from="/notifications")
    page = owner.text("/notifications")
    assert "3 notifications marked as read." in page and "Mark all as read" not in page
    with in_app():
        assert Notification.query.filter(Notification.read_at.is_(None)).count() == 0


# -- 1,000 clients ---------------------------------------------------------------------------------------
def seed_clients(db, firm_id: int, count: int = 1000) -> None:
    from hub.models import Client, ClientConnection, Integration

    integration = Integration(firm_id=firm_id, vendor="example", enabled=True, status="ok", settings={})
    db.session.add(integration)
    db.session.flush()
    clients = [Client(firm_id=firm_id, name=f"Firm client {i:04d}", reg_code=f"R{i:06d}") for i in range(count)]
    db.session.add_all(clients)
    db.session.flush()
    db.session.add_all([ClientConnection(client_id=c.id, integration_id=integration.id, vendor_client_id=str(i),
                                         vendor_client_name=f"Vendor {i}", status="not_configured")
                        for i, c in enumerate(clients) if i % 2 == 0])
    db.session.commit()


@contextmanager
def counted(engine):
    statements: list[str] = []

    def before(conn, cursor, statement, *args):  # noqa: ANN001, ANN002
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def thousand(owner, in_app):
    from hub.models import Firm

    with in_app() as db:
        seed_clients(db, Firm.query.first().id)
    return owner


def test_the_client_list_holds_1000_clients_with_search_filters_and_pages(thousand):
    page = thousand.text("/clients")
    assert page.count('data-client="') == 50 and "1–50 of 1003 clients · page 1 of 21" in page
    page = thousand.text("/clients?page=21")
    assert page.count('data-client="') == 3
    page = thousand.text("/clients?q=client+0042")
    assert page.count('data-client="') == 1 and "Firm client 0042" in page
    assert thousand.text("/clients?q=r000777").count('data-client="') == 1, "registration code, any case"
    page = thousand.text("/clients?integration=example&page=2")
    assert "51–100 of 500 clients" in page and 'href="/clients?page=3&amp;integration=example">Next →' in page
    assert "of 503 clients" in thousand.text("/clients?status=not_linked")
    assert "No clients match these filters." in thousand.text("/clients?q=nobody-like-this")


def test_the_client_list_runs_a_fixed_number_of_queries_per_page(thousand, hub_app):
    from hub.models import db

    with hub_app.app_context():
        engine = db.engine
    counts = []
    for path in ("/clients", "/clients?page=7", "/clients?integration=example", "/clients?status=attention",
                 "/clients?q=client"):
        with counted(engine) as statements:
            assert thousand.get(path).status_code == 200
        counts.append(len(statements))
    # the session, user, firm, unread count, enabled integrations, the firm's integrations, the clients' total and
    # links for the "N not linked to X" counts, count, page, links (an empty page — nobody needs attention — skips
    # the last); each link's status is its account's (loaded with the links): the same for every page, no N+1
    assert counts == [11, 11, 11, 10, 11], counts


def test_api_lists_clients_with_filters_and_pages(thousand, hub_app):
    from hub.api import auth
    from hub.models import Firm

    with hub_app.app_context():
        secret = auth.create_token(Firm.query.first().id, name="list").secret
    client = hub_app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    everything = client.get("/api/v1/clients", headers=headers).get_json()
    assert len(everything) == 1003, "without per_page: every client (as before)"
    found = client.get("/api/v1/clients?q=client%200042", headers=headers).get_json()
    assert [c["name"] for c in found] == ["Firm client 0042"]
    page = client.get("/api/v1/clients?integration=example&per_page=100&page=5", headers=headers).get_json()
    assert len(page) == 100 and page[0]["name"] == "Firm client 0800"
    assert len(client.get("/api/v1/clients?status=not_linked", headers=headers).get_json()) == 503
    assert client.get("/api/v1/clients?status=bogus", headers=headers).status_code == 422
