"""Wording for admins, not developers (issue 15.10): audit entries as sentences with the person's name, validation
messages in words, no wire terms in help texts, one term for tax rates, and the Basic-plan text addressed to the
person reading it."""

import re

import pytest

from tests.web.test_pages import configure_and_link, sandbox  # noqa: F401  (the sandbox fixture)

#: Protocol words an admin should never have to read: query parameters, endpoints, JSON keys, encodings.
WIRE_TERMS = re.compile(r"what=|v1/get|:get\b|accountType|Trigon volumes:|base64|DateType|BatchDate|TaxAmount|"
                        r"LEDGER_ENTRY|incomingPayments|\bXML Direct what")


def row_of(page: str, text: str) -> str:
    """The audit table row that contains ``text``."""
    rows = re.findall(r"<tr data-event=.*?</tr>", page, re.S)
    found = [r for r in rows if text in r]
    assert found, f"no audit row with {text!r}"
    return found[0]


def test_audit_entries_are_sentences_with_the_persons_name(owner, sandbox, run_jobs, in_app):  # noqa: F811
    from hub import audit
    from hub.api import auth
    from hub.models import Firm, User

    configure_and_link(owner, run_jobs, in_app)
    response = owner.post("/settings/apps/example/reload", token_from="/settings/apps/example/reload")
    run_id = re.search(r"/history/runs/(\d+)", response.headers["Location"]).group(1)
    with in_app():
        firm_id = Firm.query.one().id
        with audit.acting(audit.CLI):
            auth.create_token(firm_id, name="Nightly export", role="admin")
        User.query.filter_by(email="owner@test.example").one()
    page = owner.text("/settings/audit")
    reload_row = row_of(page, "Reload started for Example Books (1 client)")
    assert "<td>Owner</td>" in reload_row, "the person's name, not a user id or 'by user'"
    assert f'href="/history/runs/{run_id}">run #{run_id}</a>' in reload_row
    for sentence in ("Example Books enabled", "Credentials saved for Example Books", "Client 1 linked to Example Books",
                     "Custom task field “Documents” created", "Topic “Bookkeeping” created",
                     "Summary task settings saved for Example Books", "Owner signed in",
                     "API token “Nightly export” created"):
        assert sentence in page, sentence
    assert "<td>Command line</td>" in row_of(page, "API token “Nightly export” created")
    settings_row = row_of(page, "Summary task settings saved for Example Books")
    assert "Data fields: Documents → Documents, Entries → Entries" in settings_row
    assert "Topic: Bookkeeping" in settings_row and "Import day: Last work day of the month" in settings_row
    assert re.search(r"Changed: (API key, Company code|Company code, API key)",
                     row_of(page, "Credentials saved for Example Books"))
    shown = re.sub(r"<[^>]+>", " ", page.split("<tbody>")[1])  # the text of the rows, not their attributes
    for wire in ("reload.started", "integration.enabled", "credentials.saved", "client.linked", "integration #",
                 "client_connection", "user:"):
        assert wire not in shown, wire


def test_audit_names_other_actors_and_role_changes(owner, in_app):
    from hub import audit, provisioning
    from hub.api import auth
    from hub.models import User

    with in_app():
        member = User.query.filter_by(email="member@test.example").one()
        with audit.acting(audit.CLI):
            token = auth.create_token(member.firm_id, name="Books sync", role="admin")
        with audit.acting(audit.api_token(token.token)):
            provisioning.set_role(member, "admin")
        audit.record(member.firm_id, "user.deactivated", member)
    page = owner.text("/settings/audit")
    role_row = row_of(page, "Role of Member changed from Member to Company Admin")
    assert "API token “Books sync”" in role_row
    assert "<td>Integration Hub</td>" in row_of(page, "Member deactivated")


def test_validation_messages_are_sentences(owner, sandbox, run_jobs, in_app):  # noqa: F811
    configure_and_link(owner, run_jobs, in_app)
    response = owner.post("/settings/apps/example/settings", {"task_title": "   ", "import_day": "last_work_day"},
                          token_from="/settings/apps/example/settings")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Task title is required." in page and "Length must be between" not in page
    response = owner.post("/settings/apps/example/connect", {"api_key": "", "company": "", "action": "test"},
                          token_from="/settings/apps/example/connect")
    page = response.get_data(as_text=True)
    assert "Company code is required." in page and "Missing data for required field" not in page


def test_form_messages_in_words_keep_their_own_wording():
    from hub.web.forms import in_words

    assert in_words("Length must be between 1 and 200.", "Task title", "") == "Task title is required."
    assert in_words("Length must be between 1 and 200.", "Task title", "x" * 300) == \
        "Task title must be 1 to 200 characters long."
    assert in_words("Longer than maximum length 50.", "Registration code", "x") == \
        "Registration code can be at most 50 characters long."
    assert in_words("Not a valid email address.", "E-mail", "nope") == \
        "E-mail: enter an e-mail address such as name@example.com."
    assert in_words("Not a valid integer.", "Topic", "x") == "Topic must be a whole number."
    own = "Enter only the company database code, e.g. acme_ee."
    assert in_words(own, "Company database code", "https://x") == own


@pytest.mark.parametrize(("role", "expected", "absent"), [
    ("owner", "As the Company Owner, you can upgrade Basic Firm OÜ to the Team plan", "Ask your Company Owner"),
    ("admin", "Ask your Company Owner to upgrade Basic Firm OÜ to the Team plan", "As the Company Owner"),
    ("member", "Ask your Company Owner to upgrade Basic Firm OÜ to the Team plan", "As the Company Owner"),
])
def test_basic_plan_text_addresses_the_reader(pages, in_app, role, expected, absent):
    from hub.models import Firm, User

    with in_app() as db:
        firm = Firm(name="Basic Firm OÜ", country="EE", plan="basic")
        db.session.add(firm)
        db.session.flush()
        user = User(firm_id=firm.id, email=f"{role}@basic.example", role=role, name=role.capitalize())
        user.set_password("basic-pass")
        db.session.add(user)
        db.session.commit()
    pages.sign_in(f"{role}@basic.example", "basic-pass")
    for path in ("/settings/apps", "/settings/apps/directo"):
        page = pages.text(path)
        assert "Integrations are available on the Team plan and above." in page, path
        assert "Your firm is on the Basic plan" in page and expected in page and absent not in page, path


def test_help_texts_hold_no_wire_terms_and_one_term_for_tax_rates(owner, hub_registry):
    for vendor in hub_registry.vendors.values():
        info = vendor.info
        texts = [f.description for f in info.statistic_fields] + [info.summary, *info.syncs]
        if vendor.schema is not None:
            texts += [f.metadata.get("help", "") for f in vendor.schema().fields.values()]
        for text in texts:
            assert not WIRE_TERMS.search(text), (info.slug, text)
            assert "VAT type" not in text and "VAT code" not in text, (info.slug, text)
            assert not re.search(r"→ Hub\b|(?<!Integration )\bHub →|\bUku\b", text), (info.slug, text)
    page = owner.text("/settings/apps/directo/settings")
    assert "Sales invoices dated in the month." in page and "what=invoice" not in page
    assert "VAT types" not in owner.text("/settings/apps")
