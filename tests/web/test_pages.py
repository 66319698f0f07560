"""The admin pages with Flask's test client (fast): the integration dialog, clients, history, roles,
plan gate, CSRF and firm isolation. The example vendor's sandbox answers over loopback; jobs run
in-process with ``run_jobs``."""

import html
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
    assert "Connected to Acme Books OÜ" in apps
    assert "expire" not in apps, "no expiry warning months ahead (from 30 days before only)"


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
    # a refused save writes nothing: the new custom field and the new topic typed on it are not created, and
    # stay typed on the form
    response = owner.post("/settings/apps/example/settings", {
        "task_title": "", "import_day": "5", "topic_id": "__new__", "new_topic": "Payroll",
        "map_documents": "__new__", "new_documents": "Invoices sent", "map_entries": str(fields["Entries"])})
    assert response.status_code == 422
    assert 'value="Invoices sent"' in response.get_data(as_text=True)
    with in_app():
        assert sorted(f.name for f in CustomField.query) == ["Documents", "Entries"]
        assert [t.name for t in Topic.query] == ["Bookkeeping"]
    assert state(in_app)["settings"]["summary"] == settings
    response = owner.post("/settings/apps/example/settings", {  # names longer than the hub stores: in words
        "task_title": "X", "import_day": "5", "topic_id": "__new__", "new_topic": "t" * 101,
        "map_documents": "__new__", "new_documents": "d" * 101})
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "Use at most 100 characters for the topic" in text
    assert "Use at most 100 characters for its name." in text


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
    clients = owner.text("/clients")  # the plan is named, not "enable one in Settings & Apps"
    assert "upgrade the firm to the Team plan in its subscription to connect clients" in clients
    assert "enable one in" not in clients
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
    assert "3 read from Example Books" in tab and "automatic: 24% · Standard (24 %)" in html.unescape(tab)
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


# -- invoices on the client page -----------------------------------------------------------------------
def map_tax_rates(owner, run_jobs):
    owner.post("/settings/apps/example/invoices", {"what": "refresh", "kind": "tax_rate"})
    run_jobs()
    owner.post("/settings/apps/example/invoices", {"what": "mapping", "kind": "tax_rate", "key": "24",
                                                   "code_24": "T24", "new_key": "9", "new_code": "T9"})


def invoice_form(number, *lines, **head):
    data = {"number": number, "issue_date": "2026-11-02", "due_date": "2026-11-16", "currency": "eur", "notes": ""}
    data.update(head)
    for i, line in enumerate(lines):
        keys = ("description", "quantity", "unit_price", "vat_rate", "product_code")
        for key, value in zip(keys, line, strict=False):
            data[f"line-{i}-{key}"] = value
    return data


def test_new_invoice_form_validates_keeps_input_and_saves_a_draft(owner, sandbox, run_jobs, in_app):
    from hub.models import AuditEvent, Invoice

    client_id = configure_and_link(owner, run_jobs, in_app)
    page = owner.text(f"/clients/{client_id}")
    assert '<h3 id="new-invoice-title">New invoice</h3>' in page
    for label in ('for="inv-number">Number', 'for="inv-issue_date">Issue date', 'for="inv-due_date">Due date',
                  'for="inv-currency">Currency', 'for="line-0-description">Line 1 description',
                  'for="line-2-vat_rate">Line 3 VAT rate %', 'for="line-0-product_code">Line 1 product code'):
        assert label in page, label
    assert 'id="line-3-description"' not in page, "three line rows by default"
    assert 'id="line-5-description"' in owner.text(f"/clients/{client_id}?lines=6"), "?lines= still works"
    # More line rows posts what was typed (without JavaScript) and comes back with it and three rows more
    response = owner.post(f"/clients/{client_id}/invoices", {**invoice_form(
        "INV-77", ("Typed line", "2", "15", "24")), "action": "more_rows"}, token_from=f"/clients/{client_id}")
    assert response.status_code == 200
    more = response.get_data(as_text=True)
    assert 'id="line-5-description"' in more and 'id="line-6-description"' not in more
    assert 'value="INV-77"' in more and 'value="Typed line"' in more and "Check the fields" not in more
    assert 'data-more-rows="3"' in more, "with JavaScript the rows are added in place (the browser test)"
    with in_app():
        assert Invoice.query.count() == 0, "nothing saved"
    # field messages; what was typed is kept
    response = owner.post(f"/clients/{client_id}/invoices", invoice_form(
        "", ("Bookkeeping", "abc", "50", "24"), ("", "1", "10", "9"), ("Advice", "1", "10", "120"),
        due_date="2026-11-01"), token_from=f"/clients/{client_id}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Give the invoice a number." in page and "Must be on or after the issue date." in page
    assert 'id="line-0-quantity-errors"' in page and "Enter a number, e.g. 1 or 2.5." in page
    assert 'id="line-1-description-errors"' in page and "Describe the line." in page
    assert "Must be between 0 and 100." in page and 'value="Bookkeeping"' in page and 'aria-invalid="true"' in page
    response = owner.post(f"/clients/{client_id}/invoices", invoice_form("2026-010", ("", "", "", "", "")))
    assert response.status_code == 422 and "Add at least one line." in response.get_data(as_text=True)
    # a good one: decimal commas, "%" and spaces are fine; VAT per rate; money with 2 decimals
    response = owner.post(f"/clients/{client_id}/invoices", invoice_form(
        " 2026-010 ", ("Bookkeeping", "2", "50,5", "24 %", "BK-01"), ("", "", "", "", ""),
        ("Payroll", "1", "1 000", "9")))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/clients/{client_id}#invoices")
    page = owner.text(f"/clients/{client_id}")
    assert "Invoice 2026-010 saved as a draft (1215.24 EUR)" in page  # 101.00 at 24 % + 1000.00 at 9 %
    assert "1101.00" in page and "114.24" in page and "1215.24 EUR" in page and "50.50" in page
    assert "Issue exports it to Example Books." in page and 'aria-label="Issue invoice 2026-010"' in page
    with in_app():
        invoice = Invoice.query.one()
        assert invoice.status == "draft" and invoice.currency == "EUR" and invoice.number == "2026-010"
        assert [(line.description, line.product_code) for line in invoice.lines] == [("Bookkeeping", "BK-01"),
                                                                                    ("Payroll", None)]
        assert AuditEvent.query.filter_by(action="invoice.created").count() == 1
    response = owner.post(f"/clients/{client_id}/invoices", invoice_form("2026-010", ("X", "1", "1", "24")))
    assert response.status_code == 422 and "Another invoice has this number." in response.get_data(as_text=True)


def test_issue_exports_and_shows_status_and_the_vendors_field_messages(owner, sandbox, run_jobs, in_app):
    from hub.models import AuditEvent, Invoice, InvoiceExport

    client_id = configure_and_link(owner, run_jobs, in_app)
    map_tax_rates(owner, run_jobs)
    for number in ("2026-011", "BAD-1"):
        owner.post(f"/clients/{client_id}/invoices", invoice_form(number, ("Bookkeeping", "1", "100", "24")),
                   token_from=f"/clients/{client_id}")
    with in_app():
        ids = {i.number: i.id for i in Invoice.query}
    for number in ("2026-011", "BAD-1"):
        response = owner.post(f"/clients/{client_id}/invoices/{ids[number]}/issue")
        assert response.status_code == 302
    page = owner.text(f"/clients/{client_id}")
    assert "Invoice BAD-1 issued. Exporting it to Example Books" in page and "Waiting to be exported" in page
    run_jobs()
    page = owner.text(f"/clients/{client_id}")
    good = page.split(f'data-invoice="{ids["2026-011"]}"')[1].split("data-invoice=")[0]
    bad = page.split(f'data-invoice="{ids["BAD-1"]}"')[1].split("data-invoice=")[0]
    assert "Issued" in good and ("Confirmed" in good or "Sent" in good) and "124.00 EUR" in good
    assert "Failed" in bad and "Example refused the invoice." in bad
    assert "number: Invoice number must not start with BAD." in bad and "Retry export" in bad
    assert ">Issue</button>" not in page
    response = owner.post(f"/clients/{client_id}/invoices/{ids['2026-011']}/issue")
    assert "already issued" in owner.text(response.headers["Location"].split("#")[0])
    with in_app():
        assert InvoiceExport.query.count() == 2, "issuing twice exports once"
        assert AuditEvent.query.filter_by(action="invoice.issued").count() == 2


def test_issue_without_a_target_says_so(owner, in_app):
    from hub.models import Client, Invoice

    with in_app():
        client_id = Client.query.order_by(Client.id).first().id
    owner.post(f"/clients/{client_id}/invoices", invoice_form("2026-020", ("Advice", "3", "33.333", "24")),
               token_from=f"/clients/{client_id}")
    page = owner.text(f"/clients/{client_id}")
    assert "No integration receives it yet." in page and "33.333" in page and "99.99 EUR" not in page
    with in_app():
        invoice_id = Invoice.query.one().id
    response = owner.post(f"/clients/{client_id}/invoices/{invoice_id}/issue")
    page = owner.text(response.headers["Location"].split("#")[0])
    assert "No integration receives it" in page and "Not exported" in page


def test_invoice_routes_check_role_plan_csrf_and_firm(owner, member, in_app):
    import datetime as dt

    from hub import exports
    from hub.models import Client, Firm, Invoice

    with in_app() as db:
        firm = Firm.query.one()
        mine = Client.query.filter_by(firm_id=firm.id).order_by(Client.id).all()
        other = Firm(name="Other", country="EE", plan="team")
        db.session.add(other)
        db.session.flush()
        stranger = Client(firm_id=other.id, name="Stranger")
        db.session.add(stranger)
        db.session.commit()
        theirs = exports.create_invoice(other.id, stranger.id, number="X-1", issue_date=dt.date(2026, 11, 1),
                                        due_date=dt.date(2026, 11, 2), lines=[{"description": "a", "quantity": 1,
                                                                               "unit_price": 1, "vat_rate": 0}])
        own = exports.create_invoice(firm.id, mine[0].id, number="M-1", issue_date=dt.date(2026, 11, 1),
                                     due_date=dt.date(2026, 11, 2), lines=[{"description": "a", "quantity": 1,
                                                                            "unit_price": 1, "vat_rate": 0}])
        ids = {"stranger": stranger.id, "theirs": theirs.id, "own": own.id, "c1": mine[0].id, "c2": mine[1].id}
    form = invoice_form("N-1", ("Advice", "1", "10", "24"))
    page = member.text(f"/clients/{ids['c1']}")
    assert "New invoice" not in page and ">Issue</button>" not in page and "M-1" in page
    assert member.post(f"/clients/{ids['c1']}/invoices", form).status_code == 403
    assert member.post(f"/clients/{ids['c1']}/invoices/{ids['own']}/issue").status_code == 403
    assert owner.post(f"/clients/{ids['stranger']}/invoices", form).status_code == 404
    assert owner.post(f"/clients/{ids['stranger']}/invoices/{ids['theirs']}/issue").status_code == 404
    assert owner.post(f"/clients/{ids['c1']}/invoices/{ids['theirs']}/issue").status_code == 404
    assert owner.post(f"/clients/{ids['c2']}/invoices/{ids['own']}/issue").status_code == 404, "another client's"
    assert owner.client.post(f"/clients/{ids['c1']}/invoices", data=form).status_code == 400, "no CSRF token"
    with in_app() as db:
        Firm.query.filter_by(name="Test Firm OÜ").one().plan = "free"
        db.session.commit()
    assert "New invoice" not in owner.text(f"/clients/{ids['c1']}")
    assert owner.post(f"/clients/{ids['c1']}/invoices", form).status_code == 403
    assert owner.post(f"/clients/{ids['c1']}/invoices/{ids['own']}/issue").status_code == 403
    with in_app():
        assert Invoice.query.count() == 2 and Invoice.query.filter_by(status="issued").count() == 0


# -- one client's link: Reload data, remove --------------------------------------------------------------
def test_reload_data_for_one_client_with_the_same_confirmation(owner, member, sandbox, run_jobs, in_app):
    from hub.models import ClientConnection, SummaryTask, SyncRun

    client_id = configure_and_link(owner, run_jobs, in_app)
    page = owner.text(f"/clients/{client_id}")
    assert f'href="/clients/{client_id}/integration/reload?vendor=example"' in page
    assert f"/clients/{client_id}/integration/reload?vendor=example" in owner.text(
        f"/clients/{client_id}/integration?vendor=example")
    confirm = owner.text(f"/clients/{client_id}/integration/reload?vendor=example")
    firm_wide = owner.text("/settings/apps/example/reload")
    wording = "and\n    <strong>overwrites the existing summary task field values</strong> with what Example Books " \
              "reports now."
    assert wording in confirm and wording in firm_wide, "the same confirmation wording"
    assert "last 12 months for Client 1" in confirm and "Confirm: reload and overwrite" in confirm
    response = owner.post(f"/clients/{client_id}/integration/reload", {"vendor": "example"},
                          token_from=f"/clients/{client_id}/integration/reload?vendor=example")
    assert response.status_code == 302 and "/history/runs/" in response.headers["Location"]
    run_jobs()
    page = owner.text(response.headers["Location"])
    assert "Succeeded" in page and "1 of 1" in page
    with in_app():
        connection = ClientConnection.query.one()
        parent = SyncRun.query.filter_by(kind="reload").one()
        assert parent.params["connection_ids"] == [connection.id] and parent.requested_by_id is not None
        assert SummaryTask.query.filter_by(client_id=client_id).count() == 12
    # members, unlinked clients, other vendors and firms
    assert "integration/reload" not in member.text(f"/clients/{client_id}")
    assert member.get(f"/clients/{client_id}/integration/reload?vendor=example").status_code == 403
    assert member.post(f"/clients/{client_id}/integration/reload", {"vendor": "example"}).status_code == 403
    assert owner.get(f"/clients/{client_id + 1}/integration/reload?vendor=example").status_code == 404
    assert owner.get(f"/clients/{client_id}/integration/reload?vendor=merit").status_code == 404
    assert owner.get("/clients/999999/integration/reload?vendor=example").status_code == 404
    assert owner.client.post(f"/clients/{client_id}/integration/reload", data={"vendor": "example"}).status_code == 400


def test_reload_data_for_one_client_needs_the_mapping(owner, sandbox, run_jobs, in_app):
    from hub.models import Client

    connect_and_save(owner, run_jobs, in_app)
    with in_app():
        client_id = Client.query.order_by(Client.id).first().id
    owner.post(f"/clients/{client_id}/integration/link", {"vendor": "example", "vendor_client_id": "1"})
    response = owner.post(f"/clients/{client_id}/integration/reload", {"vendor": "example"})
    assert response.status_code == 302
    assert "Map at least one data field before reloading." in owner.text(response.headers["Location"])


def connect_and_save(owner, run_jobs, in_app):
    target = connect(owner, run_jobs, in_app)
    run_id = re.search(r"test_run=(\d+)", target).group(1)
    owner.post("/settings/apps/example/connect", {"company": "acme", "action": "save", "test_run_id": run_id})


def test_unlink_a_client_nothing_came_through(owner, member, sandbox, run_jobs, in_app):
    from hub.models import AuditEvent, Client, ClientConnection, SyncRun

    connect_and_save(owner, run_jobs, in_app)
    with in_app():
        client_id = Client.query.order_by(Client.id).first().id
    owner.post(f"/clients/{client_id}/integration/link", {"vendor": "example", "vendor_client_id": "7",
                                                          "vendor_client_name": "Wrong Client"})
    with in_app() as db:
        connection = ClientConnection.query.one()
        db.session.add(SyncRun(firm_id=connection.integration.firm_id, integration_id=connection.integration_id,
                               client_connection_id=connection.id, kind="import", status="failed"))
        db.session.commit()
    page = owner.text(f"/clients/{client_id}/integration?vendor=example")
    assert "Remove link to Example Books</button>" in page and "Syncing stops." in page
    assert "Remove link" not in member.text(f"/clients/{client_id}/integration?vendor=example")
    assert member.post(f"/clients/{client_id}/integration/unlink", {"vendor": "example"}).status_code == 403
    assert owner.client.post(f"/clients/{client_id}/integration/unlink", data={"vendor": "example"}).status_code == 400
    response = owner.post(f"/clients/{client_id}/integration/unlink", {"vendor": "example"})
    assert response.status_code == 302
    assert "Client 1 is no longer linked to Example Books." in owner.text(response.headers["Location"])
    with in_app():
        assert ClientConnection.query.count() == 0
        run = SyncRun.query.filter_by(kind="import").one()
        assert run.client_connection_id is None and run.params["client_id"] == client_id
        event = AuditEvent.query.filter_by(action="client.unlinked").one()
        assert event.target_type == "client" and event.target_id == client_id
        assert event.details["vendor_client_id"] == "7" and event.details["vendor"] == "example"
    history = owner.text("/history?kind=import")
    assert "Client 1" in history, "the finished run keeps its client"
    assert owner.post(f"/clients/{client_id}/integration/unlink", {"vendor": "example"}).status_code == 404


def test_unlink_after_imports_keeps_history_and_is_refused_only_while_a_job_runs(owner, sandbox, run_jobs, in_app):
    from hub.models import ClientConnection, Firm, SummaryTask, SyncRun

    client_id = configure_and_link(owner, run_jobs, in_app)
    owner.post("/settings/apps/example/reload", token_from="/settings/apps/example/reload")
    run_jobs()
    page = owner.text(f"/clients/{client_id}/integration?vendor=example")
    assert "What came through it stays: 12 monthly summary task(s) were imported through it" in page
    assert "Remove link to Example Books</button>" in page
    with in_app() as db:  # a running job blocks (its worker would lose the link)
        connection = ClientConnection.query.one()
        running = SyncRun(firm_id=connection.integration.firm_id, integration_id=connection.integration_id,
                          client_connection_id=connection.id, kind="import", status="running")
        db.session.add(running)
        db.session.add(Firm(name="Other", country="EE", plan="team"))
        db.session.commit()
        running_id = running.id
    assert "1 job(s) for it are still running" in owner.text(f"/clients/{client_id}/integration?vendor=example")
    response = owner.post(f"/clients/{client_id}/integration/unlink", {"vendor": "example"})
    page = owner.text(response.headers["Location"])
    assert "1 job(s) for this link are still running." in page and "Try again when they have finished." in page
    with in_app() as db:
        assert ClientConnection.query.count() == 1
        db.session.get(SyncRun, running_id).status = "failed"
        db.session.commit()
    response = owner.post(f"/clients/{client_id}/integration/unlink", {"vendor": "example"})
    assert "is no longer linked to Example Books. Its imported months and invoices stay." in \
        owner.text(response.headers["Location"])
    with in_app():
        assert ClientConnection.query.count() == 0
        assert SummaryTask.query.filter_by(client_id=client_id).count() == 12, "history kept"
    with in_app() as db:
        from hub.models import Client

        stranger = Client(firm_id=Firm.query.filter_by(name="Other").one().id, name="Stranger")
        db.session.add(stranger)
        db.session.commit()
        stranger_id = stranger.id
    assert owner.post(f"/clients/{stranger_id}/integration/unlink", {"vendor": "example"}).status_code == 404
    with in_app() as db:
        Firm.query.filter_by(name="Test Firm OÜ").one().plan = "free"
        db.session.commit()
    assert owner.post(f"/clients/{client_id}/integration/unlink", {"vendor": "example"}).status_code == 403


# -- the audit trail, pagination -------------------------------------------------------------------------
def test_audit_trail_newest_first_paginated_for_admins(owner, member, sandbox, run_jobs, in_app):
    from hub import audit
    from hub.models import AuditEvent, Client, Firm

    connect_and_save(owner, run_jobs, in_app)
    with in_app() as db:
        firm = Firm.query.one()
        client = Client.query.order_by(Client.id).first()
        for i in range(120):
            audit.record(firm.id, "test.event", client, details={"n": i, "names": ["a", "b"], "on": True})
        other = Firm(name="Other", country="EE", plan="team")
        db.session.add(other)
        db.session.commit()
        audit.record(other.id, "other.firm", other, details={"who": "someone else"})
        total = AuditEvent.query.filter_by(firm_id=firm.id).count()
    assert member.get("/settings/audit").status_code == 403
    assert "Audit trail</a>" not in member.text("/clients")
    page = owner.text("/settings/audit")
    assert "Audit trail</a>" in page and page.count("<tr data-event=") == 50
    assert page.index("N: 119") < page.index("N: 118"), "newest first"
    assert "Names: a, b" in page and "On: yes" in page
    assert ">Test event<" in page, "an action without a sentence is still shown, in words"
    assert f"1–50 of {total} events · page 1 of {-(-total // 50)}" in page
    assert 'rel="next" href="/settings/audit?page=2"' in page
    assert "other.firm" not in page and "someone else" not in page
    last = owner.text("/settings/audit?page=99")
    assert f"page {-(-total // 50)} of {-(-total // 50)}" in last and ">Credentials saved for Example Books<" in last
    assert ">Owner signed in<" in last and 'rel="next"' not in last
    assert GOOD_KEY not in last and GOOD_KEY not in page
    assert "page 1 of" in owner.text("/settings/audit?page=abc")


def test_history_runs_are_paginated_and_keep_the_filter(owner, in_app):
    from hub.models import Firm, SyncRun

    with in_app() as db:
        firm = Firm.query.one()
        db.session.add_all([SyncRun(firm_id=firm.id, kind="import", status="succeeded") for _ in range(120)])
        db.session.add_all([SyncRun(firm_id=firm.id, kind="export", status="failed") for _ in range(3)])
        db.session.commit()
        newest_import = SyncRun.query.filter_by(kind="import").order_by(SyncRun.id.desc()).first().id
    page = owner.text("/history")
    assert page.count('href="/history/runs/') == 50 and "1–50 of 123 runs · page 1 of 3" in page
    filtered = owner.text("/history?kind=import")
    assert f'href="/history/runs/{newest_import}"' in filtered and "of 120 runs" in filtered
    assert 'rel="next" href="/history?page=2&amp;kind=import"' in filtered
    third = owner.text("/history?kind=import&page=3")
    assert third.count('href="/history/runs/') == 20 and 'rel="prev" href="/history?page=2&amp;kind=import"' in third
    assert "Invoice export" not in third.split("<h2>Invoice exports</h2>")[0].split("</thead>")[1]


def test_the_bulk_link_page_pages_its_unmatched_clients_and_names_the_vendor_it_searches(owner, sandbox, run_jobs,
                                                                                          in_app):
    from hub.models import Client, Firm

    target = connect(owner, run_jobs, in_app)
    run_id = re.search(r"test_run=(\d+)", target).group(1)
    owner.post("/settings/apps/example/connect", {"company": "acme", "action": "save", "test_run_id": run_id})
    with in_app() as db:
        firm_id = Firm.query.one().id
        db.session.add_all([Client(firm_id=firm_id, name=f"Nobody {i:03d} OÜ") for i in range(120)])
        db.session.commit()
    page = owner.text("/clients/links?vendor=example")
    assert "Find suggested matches in Example Books" in page and "data-autosubmit" in page
    response = owner.post("/clients/links/suggest", {"vendor": "example"}, token_from="/clients/links")
    run_jobs()
    location = response.headers["Location"]
    first = owner.text(location)
    listed = re.findall(r'<li><a href="/clients/\d+/integration\?vendor=example">([^<]+)</a></li>', first)
    assert len(listed) == 50 and "page 1 of 3" in first and 'rel="next"' in first
    last = owner.text(location + "&page=3")
    assert len(re.findall(r'<li><a href="/clients/\d+/integration', last)) >= 20 and "page 3 of 3" in last
    assert owner.get(location + "&page=99").status_code == 200  # past the end: the last page
