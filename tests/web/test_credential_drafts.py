"""Changing credentials safely (issue 15, items 1–2): Save tests first and never replaces working
credentials with refused ones; a typed secret is never dropped — it waits, encrypted, in a draft."""

import re

import pytest

from tests.web.test_pages import GOOD_KEY, sandbox, state  # noqa: F401  (the sandbox fixture)

REVOKED = "ex-revoked-key-9999"


def stored(in_app, vendor="example"):
    from hub import vendor_accounts
    from hub.models import Integration

    with in_app():
        row = Integration.query.filter_by(vendor=vendor).one()
        return vendor_accounts.stored_credentials(row)


def drafts(in_app):
    from hub.models import CredentialDraft

    with in_app():
        return [(d.state, d.save_requested, (d.error or {}).get("message")) for d in CredentialDraft.query]


def connected(owner, run_jobs):
    """Enable, then Save good credentials (Save tests them first)."""
    owner.post("/settings/apps/example/enable")
    response = owner.post("/settings/apps/example/connect", {"api_key": GOOD_KEY, "company": "acme",
                                                             "action": "save"})
    assert response.status_code == 302
    run_jobs()
    return response.headers["Location"]


def test_save_tests_first_and_stores_only_what_the_vendor_accepted(owner, sandbox, run_jobs, in_app):  # noqa: F811
    target = connected(owner, run_jobs)
    assert "test_run=" in target
    assert state(in_app)["status"] == "ok" and stored(in_app)["api_key"] == GOOD_KEY
    page = owner.text(target)
    assert "Saved. Connection works." in page and GOOD_KEY not in page
    assert drafts(in_app) == [], "a saved draft is deleted"


def test_save_of_a_refused_key_keeps_the_working_one_and_notifies(owner, sandbox, run_jobs, in_app):  # noqa: F811
    from hub.models import AuditEvent, Notification

    connected(owner, run_jobs)
    response = owner.post("/settings/apps/example/connect", {"api_key": REVOKED, "company": "acme",
                                                             "action": "save"})
    page = owner.text(response.headers["Location"])
    assert "Testing the new credentials before saving them" in page, "pending until the worker answers"
    assert stored(in_app)["api_key"] == GOOD_KEY
    run_jobs()
    assert state(in_app)["status"] == "ok", "the stored credentials stay active"
    assert stored(in_app)["api_key"] == GOOD_KEY
    assert drafts(in_app) == [("rejected", True, "Example rejected the API key.")]
    for path in (response.headers["Location"], "/settings/apps/example/connect"):  # also when coming back later
        page = owner.text(path)
        assert "The new credentials were not saved." in page and "Example rejected the API key." in page
        assert "The saved credentials are still in use." in page and ">Replace anyway</button>" in page
        assert "New API key entered (not shown)" in page and REVOKED not in page
    with in_app():
        note = Notification.query.one()
        assert note.title == "New Example Books credentials were not saved"
        assert note.link == "/settings/apps/example/connect" and REVOKED not in note.body
        assert AuditEvent.query.filter_by(action="credentials.saved").count() == 1, "only the good save"


def test_replace_anyway_stores_the_refused_values_and_needs_attention(owner, sandbox, run_jobs, in_app):  # noqa: F811
    connected(owner, run_jobs)
    owner.post("/settings/apps/example/connect", {"api_key": REVOKED, "company": "acme", "action": "save"})
    run_jobs()
    page = owner.text("/settings/apps/example/connect")
    draft_id = re.search(r'name="draft_id" value="(\d+)"', page).group(1)
    response = owner.post("/settings/apps/example/connect", {"draft_id": draft_id, "action": "replace"})
    assert response.status_code == 302
    assert stored(in_app)["api_key"] == REVOKED
    assert state(in_app)["status"] == "needs_attention" and drafts(in_app) == []
    assert "Needs attention: Example rejected the API key." in owner.text("/settings/apps/example")


def test_discard_drops_the_draft_and_keeps_the_saved_values(owner, sandbox, run_jobs, in_app):  # noqa: F811
    connected(owner, run_jobs)
    owner.post("/settings/apps/example/connect", {"api_key": REVOKED, "company": "acme", "action": "save"})
    run_jobs()
    page = owner.text("/settings/apps/example/connect")
    draft_id = re.search(r'name="draft_id" value="(\d+)"', page).group(1)
    owner.post("/settings/apps/example/connect", {"draft_id": draft_id, "action": "discard"})
    assert drafts(in_app) == [] and stored(in_app)["api_key"] == GOOD_KEY
    assert "The new credentials were not saved." not in owner.text("/settings/apps/example/connect")


def test_a_typed_secret_survives_a_field_error_and_the_next_test_uses_it(owner, sandbox, run_jobs, in_app):  # noqa: F811
    """The Scoro report: new key + a wrong other field → error; fix the field, Test → must test the NEW key."""
    owner.post("/settings/apps/example/enable")
    owner.post("/settings/apps/example/connect", {"api_key": "ex-other-key-0002", "company": "beta", "action": "save"})
    run_jobs()
    assert stored(in_app)["api_key"] == "ex-other-key-0002" and state(in_app)["account"] == "Beta Ltd"
    # now the new key is pasted together with an empty company (a field error)
    response = owner.post("/settings/apps/example/connect", {"api_key": f" {GOOD_KEY} ", "company": "",
                                                             "action": "test"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="cred-company-errors"' in page and GOOD_KEY not in page
    assert "New API key entered (not shown)" in page
    draft_id = re.search(r'name="draft_id" value="(\d+)"', page).group(1)
    assert drafts(in_app) == [("entered", False, None)]
    response = owner.post("/settings/apps/example/connect", {"api_key": "", "company": "acme", "action": "test",
                                                             "draft_id": draft_id})
    run_jobs()
    page = owner.text(response.headers["Location"])
    assert "Connection works." in page and "Acme Books OÜ" in page, "tested with the new key, not the stored one"
    run_id = re.search(r'name="test_run_id" value="(\d+)"', page).group(1)
    owner.post("/settings/apps/example/connect", {"api_key": "", "company": "acme", "action": "save",
                                                  "draft_id": draft_id, "test_run_id": run_id})
    assert stored(in_app) == {"api_key": GOOD_KEY, "company": "acme"} and state(in_app)["status"] == "ok"
    assert drafts(in_app) == []


def test_a_typed_secret_is_stored_encrypted_only(owner, sandbox, in_app):  # noqa: F811
    from hub.models import CredentialDraft

    owner.post("/settings/apps/example/enable")
    owner.post("/settings/apps/example/connect", {"api_key": GOOD_KEY, "company": "", "action": "save"})
    with in_app():
        draft = CredentialDraft.query.one()
        assert GOOD_KEY not in str(draft.public_credentials) and GOOD_KEY not in draft.secret_credentials


def test_another_firms_draft_is_not_used(owner, sandbox, run_jobs, in_app):  # noqa: F811
    from hub.models import CredentialDraft, Firm, Integration, db

    owner.post("/settings/apps/example/enable")
    with in_app():
        firm = Firm(name="Other firm", country="EE")
        db.session.add(firm)
        db.session.flush()
        other = Integration(firm_id=firm.id, vendor="example", enabled=True, status="ok", settings={})
        db.session.add(other)
        db.session.flush()
        draft = CredentialDraft(integration_id=other.id, state="entered")
        db.session.add(draft)
        db.session.commit()
        draft_id = draft.id
    response = owner.post("/settings/apps/example/connect", {"api_key": "", "company": "acme", "action": "test",
                                                             "draft_id": str(draft_id)})
    assert response.status_code == 422, "no secret: the other firm's draft does not supply one"


@pytest.mark.parametrize("action", ["replace", "discard"])
def test_replace_or_discard_without_a_draft_says_so(owner, sandbox, action):  # noqa: F811
    owner.post("/settings/apps/example/enable")
    response = owner.post("/settings/apps/example/connect", {"draft_id": "424242", "action": action})
    assert response.status_code == 302
    assert "no longer kept" in owner.text("/settings/apps/example/connect")


def test_expiry_badge_only_within_30_days(owner, sandbox, run_jobs, in_app):  # noqa: F811
    import datetime as dt

    from hub.models import Integration

    connected(owner, run_jobs)
    assert "expire" not in owner.text("/settings/apps"), "2027-03-31 is months away"
    with in_app() as db:
        row = Integration.query.filter_by(vendor="example").one()
        row.expires_on = dt.date.today() + dt.timedelta(days=10)
        db.session.commit()
        soon = row.expires_on.isoformat()
    assert f"Credentials expire on {soon}" in owner.text("/settings/apps")


def test_testing_with_blank_secrets_says_the_saved_ones_are_kept(owner, sandbox, run_jobs, in_app):  # noqa: F811
    """Issue 29: a blank secret field means "keep the saved one" — never labelled "New … entered"."""
    connected(owner, run_jobs)
    response = owner.post("/settings/apps/example/connect", {"api_key": "", "company": "acme", "action": "test"})
    run_jobs()
    page = owner.text(response.headers["Location"])
    assert "Connection works." in page and GOOD_KEY not in page
    assert "Saved API key kept (not shown)" in page
    assert "New API key entered" not in page and "new value entered" not in page
    # a typed value is still "new", even in a test of otherwise saved credentials
    response = owner.post("/settings/apps/example/connect", {"api_key": "ex-other-key-0002", "company": "acme",
                                                             "action": "test"})
    run_jobs()
    page = owner.text(response.headers["Location"])
    assert "New API key entered (not shown)" in page and "Saved API key kept" not in page


def test_an_accepted_credential_with_a_past_expiry_shows_no_negative_count(owner, sandbox, run_jobs, in_app):  # noqa: F811
    """Issue 29: a Trigon credential "expires in days: -6" beside "Connection works". The page derives its words
    from the expiry date: the vendor accepted it after that date, so it reports an expiry date in the past."""
    import datetime as dt

    from hub.models import Integration, SyncRun

    target = connected(owner, run_jobs)
    past = dt.date.today() - dt.timedelta(days=6)
    with in_app() as db:  # what a vendor answering with a past expiry date leaves behind
        run = SyncRun.query.filter_by(kind="test_connection").one()
        run.result = {**run.result, "expires_on": past.isoformat()}
        row = Integration.query.filter_by(vendor="example").one()
        row.expires_on = past
        db.session.commit()
    page = owner.text(target)
    assert "Saved. Connection works." in page and "-6" not in page
    assert f"The vendor reports that these credentials expired on {past.isoformat()}, yet it accepted them now" \
        in page
    assert "The token expires on" not in page
    apps = owner.text("/settings/apps")
    assert f"The vendor reports an expiry date in the past ({past.isoformat()}) yet still accepts these " \
        "credentials" in apps
    assert "Credentials expired on" not in apps
    with in_app() as db:  # no success since the date: it has simply expired
        row = Integration.query.filter_by(vendor="example").one()
        row.last_success_at = dt.datetime.combine(past, dt.time(8))
        db.session.commit()
    assert f"Credentials expired on {past.isoformat()}: paste new ones" in owner.text("/settings/apps")
