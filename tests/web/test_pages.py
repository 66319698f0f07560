"""The admin pages with Flask's test client (fast): the integration dialog, clients, history, roles,
plan gate, CSRF and firm isolation. The example vendor's sandbox answers over loopback; jobs run
in-process with ``run_jobs``."""

import re

import pytest

GOOD_KEY = "ex-good-key-0001"


@pytest.fixture
def sandbox(serve, monkeypatch, hub_app):
    """The example vendor's sandbox on loopback, as the operator setting ``HUB_EXAMPLE_ORIGIN``; Test
    connection does not wait for a worker here (``run_jobs`` runs the jobs)."""
    from hub_example import sandbox as example

    monkeypatch.setenv("HUB_EXAMPLE_ORIGIN", serve(example.create_app()))
    monkeypatch.setitem(hub_app.config, "HUB_TEST_CONNECTION_WAIT", 0)


def state(in_app, vendor="example"):
    from hub.models import Integration

    with in_app():
        row = Integration.query.filter_by(vendor=vendor).one_or_none()
        return None if row is None else {"status": row.status, "enabled": row.enabled, "account": row.account_name,
                                         "settings": row.settings, "id": row.id}


def connect(owner, run_jobs, in_app):
    """Enable, Test connection (pending, then answered), Save."""
    owner.post("/settings/apps/example/enable")
    response = owner.post("/settings/apps/example/connect", {"api_key": f"  {GOOD_KEY}  ", "company": " acme ",
                                                             "action": "test"})
    assert response.status_code == 302
    target = response.headers["Location"]
    run_jobs()
    return target


def test_enable_test_connection_and_save(owner, sandbox, run_jobs, in_app):
    page = owner.text("/settings/apps/example")
    assert "Why is no data showing?" in page and ">Enable</button>" in page
    target = connect(owner, run_jobs, in_app)
    assert "test_run=" in target
    page = owner.text(target)
    assert "Connection works." in page and "Acme Books OÜ" in page and "2027-03-31" in page
    assert GOOD_KEY not in page, "a secret is never put into a page"
    assert 'value="acme"' in page, "the tested public values are kept (stripped)"
    run_id = re.search(r'name="test_run_id" value="(\d+)"', page).group(1)
    assert state(in_app)["status"] == "not_configured"
    # Save with the secret left blank: the tested (encrypted) draft supplies it; no second test is needed
    response = owner.post("/settings/apps/example/connect", {"api_key": "", "company": "acme", "action": "save",
                                                             "test_run_id": run_id})
    assert response.status_code == 302
    assert state(in_app)["status"] == "ok" and state(in_app)["account"] == "Acme Books OÜ"
    page = owner.text("/settings/apps/example/connect")
    assert "saved — leave blank to keep" in page and GOOD_KEY not in page
    apps = owner.text("/settings/apps")
    assert "Connected to Acme Books OÜ" in apps and "Token expiring on 2027-03-31" in apps


def test_generated_form_labels_help_password_and_field_errors(owner, sandbox, run_jobs, in_app):
    owner.post("/settings/apps/example/enable")
    page = owner.text("/settings/apps/example/connect")
    assert '<label for="cred-api_key">API key' in page and 'type="password"' in page
    assert "Settings → API in Example." in page and 'placeholder="acme"' in page
    response = owner.post("/settings/apps/example/connect", {"api_key": GOOD_KEY, "action": "save"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'class="field-errors" id="cred-company-errors"' in page and 'aria-invalid="true"' in page
    assert GOOD_KEY not in page


def test_failed_test_shows_the_vendors_reason_inline(owner, sandbox, run_jobs, in_app):
    owner.post("/settings/apps/example/enable")
    response = owner.post("/settings/apps/example/connect", {"api_key": "ex-other-key-0002", "company": "acme",
                                                             "action": "test"})
    run_jobs()
    page = owner.text(response.headers["Location"])
    assert "Test connection failed:" in page and "Example has no company" in page
    assert "Check the company code." in page and 'id="cred-company-errors"' in page, "ConfigError.field marks the field"


def test_pending_test_polls_the_run(owner, sandbox, in_app):
    owner.post("/settings/apps/example/enable")
    response = owner.post("/settings/apps/example/connect", {"api_key": GOOD_KEY, "company": "acme", "action": "test"})
    page = owner.text(response.headers["Location"])
    poll = re.search(r'data-poll="([^"]+)"', page).group(1)
    assert owner.get(poll).get_json()["finished"] is False


def test_select_with_one_of_labels_from_the_schema():
    import hub_scoro

    from hub.web import forms

    fields = {f.name: f for f in forms.form_fields(hub_scoro.Credentials, {"api_key": "must-not-show"},
                                                   secret_state="saved")}
    assert fields["language"].kind == "select" and fields["language"].value == "eng"
    assert ("eng", "English") in fields["language"].choices
    assert fields["api_key"].kind == "password" and fields["api_key"].value is None
    assert fields["subdomain"].help.startswith("Only the prefix")


def configure_and_link(owner, run_jobs, in_app):
    target = connect(owner, run_jobs, in_app)
    run_id = re.search(r"test_run=(\d+)", target).group(1)
    owner.post("/settings/apps/example/connect", {"company": "acme", "action": "save", "test_run_id": run_id})
    response = owner.post("/settings/apps/example/settings", {
        "task_title": "Monthly summary", "topic_id": "__new__", "new_topic": "Bookkeeping",
        "import_day": "last_work_day", "map_documents": "__new__", "new_documents": "Documents",
        "map_entries": "__new__", "new_entries": "Entries", "map_payments": ""},
        token_from="/settings/apps/example/settings")
    assert response.status_code == 302, response.get_data(as_text=True)
    from hub.models import Client

    with in_app():
        clients = [(c.id, c.name) for c in Client.query.order_by(Client.id)]
    client_id = clients[0][0]
    response = owner.post(f"/clients/{client_id}/integration/lookup", {"vendor": "example", "q": "Client 0"})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    lookup = response.headers["Location"]
    run_jobs()
    page = owner.text(lookup)
    assert "Client 01" in page and "Client 09" in page
    run = re.search(r"lookup=(\d+)", lookup).group(1)
    response = owner.post(f"/clients/{client_id}/integration/link", {"vendor": "example", "vendor_client_id": "1",
                                                                     "lookup_run": run})
    assert response.status_code == 302
    return client_id


def test_settings_mapping_creates_custom_fields_and_show_more(owner, sandbox, run_jobs, in_app):
    from hub.models import CustomField, Topic

    configure_and_link(owner, run_jobs, in_app)
    settings = state(in_app)["settings"]["summary"]
    with in_app():
        fields = {f.name: f.id for f in CustomField.query}
        topic = Topic.query.one()
    assert settings["mapping"] == {"documents": fields["Documents"], "entries": fields["Entries"]}
    assert settings["topic_id"] == topic.id and topic.name == "Bookkeeping"
    page = owner.text("/settings/apps/example/settings")
    assert "<summary>Show more</summary>" in page and "Payments" in page
    assert "+ New custom field…" in page and "Configure data fields" in page
    # a new custom field without a name is a field error, the rest of the form is kept
    response = owner.post("/settings/apps/example/settings", {"task_title": "X", "import_day": "5",
                                                              "map_documents": "__new__", "new_documents": ""})
    assert response.status_code == 422 and "Give the new custom field a name." in response.get_data(as_text=True)
    response = owner.post("/settings/apps/example/settings", {"task_title": "X", "import_day": "31"})
    assert response.status_code == 422 and "between 1 and 28" in response.get_data(as_text=True)


def test_link_reload_progress_notification_and_client_page(owner, sandbox, run_jobs, in_app):
    client_id = configure_and_link(owner, run_jobs, in_app)
    clients_page = owner.text("/clients")
    assert "Example Books" in clients_page and "Client 01" in clients_page
    confirm = owner.text("/settings/apps/example/reload")
    assert "overwrites the existing summary task field values" in confirm and "last 12 months" in confirm
    response = owner.post("/settings/apps/example/reload", token_from="/settings/apps/example/reload")
    run_page = response.headers["Location"]
    page = owner.text(run_page)
    assert "0 of 1" in page and "data-poll" in page
    run_jobs()
    page = owner.text(run_page)
    assert "Succeeded" in page and "Reload data finished for Example Books" in page
    assert "Notifications <span class=\"badge\"" in page
    client = owner.text(f"/clients/{client_id}")
    assert "Documents" in client and "Entries" in client and "example: Client 01" in client
    overview = owner.text("/settings/apps/example")
    assert "1 of 3 clients linked" in overview and "Last successful import" in overview
    assert "Next scheduled import" in overview and "not imported: Payments" in overview
    history = owner.text("/history")
    assert "Reload data" in history and "Test connection" in history and "Client lookup" in history


def test_flagged_zero_can_be_accepted(owner, sandbox, run_jobs, in_app):
    from hub.models import SummaryValue

    client_id = configure_and_link(owner, run_jobs, in_app)
    owner.post("/settings/apps/example/reload", token_from="/settings/apps/example/reload")
    run_jobs()
    with in_app() as db:
        value = SummaryValue.query.order_by(SummaryValue.id).first()
        value.flag, value.pending_value = "dropped from 5 to 0: not written", 0
        db.session.commit()
        value_id = value.id
    page = owner.text(f"/clients/{client_id}")
    assert "dropped from 5 to 0" in page and "Accept 0" in page
    response = owner.post(f"/clients/{client_id}/values/{value_id}/accept")
    assert response.status_code == 302
    with in_app() as db:
        from hub.models import AuditEvent

        assert db.session.get(SummaryValue, value_id).value == 0
        assert AuditEvent.query.filter_by(action="summary_value.accepted").count() == 1


def test_member_sees_read_only_and_cannot_change(owner, member, sandbox, run_jobs, in_app):
    connect(owner, run_jobs, in_app)
    page = member.text("/settings/apps/example")
    assert "Only a Company Owner or Company Admin can change integrations" in page
    assert ">Disable</button>" not in page and ">Enable</button>" not in page
    connect_page = member.text("/settings/apps/example/connect")
    assert "Test connection</button>" not in connect_page and "disabled" in connect_page
    for path, data in [("/settings/apps/example/disable", {}), ("/settings/apps/example/enable", {}),
                       ("/settings/apps/example/connect", {"api_key": GOOD_KEY, "company": "acme", "action": "save"}),
                       ("/settings/apps/example/settings", {"task_title": "X"}),
                       ("/settings/apps/example/reload", {})]:
        assert member.post(path, data).status_code == 403, path
    assert state(in_app)["enabled"] is True


def test_free_plan_sees_the_offer_and_cannot_enable(owner, in_app):
    from hub.models import Firm

    with in_app() as db:
        Firm.query.one().plan = "free"
        db.session.commit()
    apps = owner.text("/settings/apps")
    assert "Integrations are available on the Team plan and above." in apps
    page = owner.text("/settings/apps/example")
    assert re.search(r"<button type=\"submit\" disabled[^>]*>Enable</button>", page)
    assert owner.post("/settings/apps/example/enable").status_code == 403
    assert state(in_app) is None or state(in_app)["enabled"] is False


def test_forms_without_csrf_token_are_refused(owner, in_app):
    assert owner.client.post("/settings/apps/example/enable").status_code == 400
    assert owner.client.post("/settings/apps/example/enable", data={"csrf_token": "forged"}).status_code == 400
    assert state(in_app) is None


def test_another_firms_ids_are_not_found(owner, sandbox, run_jobs, in_app):
    from hub.models import Client, Firm, SyncRun

    connect(owner, run_jobs, in_app)
    with in_app() as db:
        other = Firm(name="Other", country="EE", plan="team")
        db.session.add(other)
        db.session.flush()
        stranger = Client(firm_id=other.id, name="Stranger")
        db.session.add(stranger)
        run = SyncRun(firm_id=other.id, kind="reload", status="succeeded")
        db.session.add(run)
        db.session.commit()
        stranger_id, run_id = stranger.id, run.id
    assert owner.get(f"/clients/{stranger_id}").status_code == 404
    assert owner.get(f"/clients/{stranger_id}/integration").status_code == 404
    assert owner.post(f"/clients/{stranger_id}/integration/link", {"vendor": "example",
                                                                    "vendor_client_id": "1"}).status_code == 404
    assert owner.get(f"/history/runs/{run_id}").status_code == 404
    assert owner.get(f"/history/runs/{run_id}.json").status_code == 404
    assert owner.get(f"/settings/apps/example/connect?test_run={run_id}").status_code == 404
    assert "Stranger" not in owner.text("/clients")


def test_changes_are_audited_without_secrets(owner, sandbox, run_jobs, in_app):
    from hub.models import AuditEvent

    configure_and_link(owner, run_jobs, in_app)
    with in_app():
        events = AuditEvent.query.all()
    actions = {e.action for e in events}
    assert {"integration.enabled", "credentials.saved", "custom_field.created", "summary_settings.saved",
            "client.linked"} <= actions
    assert all(GOOD_KEY not in str(e.details) for e in events)


def test_pages_need_sign_in(pages):
    for path in ("/settings/apps/example", "/clients", "/history", "/notifications"):
        assert pages.get(path).status_code == 302


def member_cannot_post(owner, path) -> bool:
    from hub.web import clients  # noqa: F401  (the pages are registered)

    member = type(owner)(owner.client.application.test_client())
    member.sign_in("member@test.example", "member-pass")
    return member.post(path, {"what": "export_all", "export_invoices": "on"}).status_code == 403


def test_exported_invoices_on_the_client_page_with_retry_and_history(owner, sandbox, run_jobs, in_app):
    import datetime as dt

    from hub import catalog, exports
    from hub.models import Integration, InvoiceExport

    client_id = configure_and_link(owner, run_jobs, in_app)
    with in_app():
        invoice = exports.create_invoice(
            Integration.query.one().firm_id, client_id, number="2026-001", issue_date=dt.date(2026, 11, 1),
            due_date=dt.date(2026, 11, 15), lines=[{"description": "Bookkeeping", "quantity": 1,
                                                    "unit_price": "100", "vat_rate": "24"}])
        exports.issue_invoice(invoice)
    run_jobs()
    page = owner.text(f"/clients/{client_id}")
    assert "2026-001" in page and "Failed" in page and "Map VAT 24 %" in page and "Retry export" in page
    tab = owner.text("/settings/apps/example/invoices")
    assert "needs a mapping before export" in tab and "Not read from Example Books yet" in tab
    owner.post("/settings/apps/example/invoices", {"what": "refresh", "kind": "tax_rate"})
    run_jobs()
    tab = owner.text("/settings/apps/example/invoices")
    assert "3 read from Example Books" in tab and "automatic: T24" in tab
    response = owner.post("/settings/apps/example/invoices", {"what": "mapping", "kind": "tax_rate", "key": "24",
                                                              "code_24": "T24", "new_key": "9 %", "new_code": "T9"})
    assert response.status_code == 302
    with in_app():
        assert catalog.mappings(Integration.query.one(), "tax_rate") == {"24": "T24", "9": "T9"}
        export_id = InvoiceExport.query.one().id
    assert member_cannot_post(owner, "/settings/apps/example/invoices")
    response = owner.post(f"/clients/{client_id}/exports/{export_id}/retry", token_from=f"/clients/{client_id}")
    assert response.status_code == 302 and "/history/runs/" in response.headers["Location"]
    run_jobs()
    page = owner.text(f"/clients/{client_id}")
    assert "Retry export" not in page and ("Confirmed" in page or "Sent" in page)
    history = owner.text("/history")
    assert "Invoice exports" in history and "2026-001" in history and "Invoice export" in history


def test_per_client_credentials_for_a_multi_database_vendor(owner, serve, monkeypatch, hub_app, run_jobs, in_app):
    from hub_directo import sandbox as directo

    from hub.models import Client, ClientConnection

    monkeypatch.setenv("HUB_DIRECTO_ORIGIN", serve(directo.create_app()))
    monkeypatch.setitem(hub_app.config, "HUB_TEST_CONNECTION_WAIT", 0)
    own = directo.DEMO_CLIENT_CREDENTIALS[0]
    owner.post("/settings/apps/directo/enable")
    with in_app():
        client_id = Client.query.order_by(Client.id).first().id
    page = owner.text(f"/clients/{client_id}/integration?vendor=directo")
    assert "Per-client credentials" in page and '<label for="client-cred-token">Access token' in page
    response = owner.post(f"/clients/{client_id}/integration/credentials",
                          {"vendor": "directo", "token": own["token"] + "  ", "database": own["database"],
                           "action": "test"})
    run_jobs()
    page = owner.text(response.headers["Location"])
    assert "Connection works." in page and "Põhjala Puit OÜ" in page and own["token"] not in page
    run_id = re.search(r'name="test_run_id" value="(\d+)"', page).group(1)
    owner.post(f"/clients/{client_id}/integration/credentials", {"vendor": "directo", "token": "", "action": "save",
                                                                 "database": own["database"], "test_run_id": run_id})
    with in_app():
        connection = ClientConnection.query.one()
        assert connection.status == "ok" and connection.account_name == "Põhjala Puit OÜ"
        assert connection.has_credentials and own["token"] not in str(connection.public_credentials)
    listing = owner.text("/clients")
    assert "own credentials" in listing and "Connected to Põhjala Puit OÜ" in listing


def test_cards_show_needs_attention_with_the_reason_and_disabled(owner, in_app):
    from hub import connections
    from hub.models import Firm

    with in_app() as db:
        firm_id = Firm.query.one().id
        integration = connections.get_or_create_integration(firm_id, "example")
        integration.enabled, integration.status = True, "needs_attention"
        integration.last_error = {"kind": "auth", "message": "Example rejected the API key.",
                                  "hint": "Generate a new key in Example and paste it."}
        db.session.commit()
    apps = owner.text("/settings/apps")
    assert "Needs attention: Example rejected the API key." in apps and "Generate a new key" in apps
    assert "Not configured" in apps, "vendors never enabled say so"
    overview = owner.text("/settings/apps/example")
    assert "Needs attention: Example rejected the API key." in overview
    owner.post("/settings/apps/example/disable")
    assert 'data-status="disabled"' in owner.text("/settings/apps/example")


def test_every_installed_vendors_dialog_renders(owner, hub_registry):
    for slug, vendor in hub_registry.vendors.items():
        owner.post(f"/settings/apps/{slug}/enable")
        for tab in ("", "/connect", "/settings", "/invoices"):
            response = owner.get(f"/settings/apps/{slug}{tab}")
            expected = 200
            if tab == "/invoices" and not any(vendor.can(c) for c in ("invoice_export", "tax_rates", "products")):
                expected = 404
            if tab == "/settings" and not vendor.can("statistics"):
                expected = 404
            assert response.status_code == expected, (slug, tab, response.status_code)
        page = owner.text(f"/settings/apps/{slug}/connect")
        for name, field in vendor.schema().fields.items():
            assert f'name="{name}"' in page, (slug, name)
            assert ('type="password"' in page.split(f'name="{name}"')[1][:120]) == bool(field.metadata.get("secret"))
    assert owner.get("/settings/apps/no-such-vendor").status_code == 404
