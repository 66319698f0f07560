"""The pages an admin expects for onboarding: the firm's users for the Company Owner (invite with a set-password
link, role, deactivate / reactivate, the last owner and oneself protected) and, for Owners and Admins, a new
client and the CSV import (preview, then confirm; all or nothing). Members see none of it and get 403; every
change is in the audit trail with the person who made it; every input is labelled and every button has text."""

import io
import re
from html.parser import HTMLParser

import pytest

from tests.web.conftest import Pages

OWNER, MEMBER = "owner@test.example", "member@test.example"


# -- helpers ---------------------------------------------------------------------------------------------------
class _Controls(HTMLParser):
    """Form controls, labels and buttons of a page (what an accessibility checker looks at first)."""

    def __init__(self):
        super().__init__()
        self.controls, self.label_for, self.buttons = [], set(), []
        self._label_depth = 0
        self._button = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "label":
            self._label_depth += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append({"tag": tag, "wrapped": self._label_depth > 0, **a})
        if tag == "button":
            self._button = {"text": "", **a}
            self.buttons.append(self._button)

    def handle_endtag(self, tag):
        if tag == "label":
            self._label_depth -= 1
        if tag == "button":
            self._button = None

    def handle_data(self, data):
        if self._button is not None:
            self._button["text"] += data


def assert_accessible(html: str) -> None:
    """Every visible form control has a label (``<label for>``, a wrapping label, or ``aria-label``) and every
    button has visible text."""
    parsed = _Controls()
    parsed.feed(html)
    for control in parsed.controls:
        labelled = control.get("id") in parsed.label_for or control["wrapped"] or control.get("aria-label") \
            or control.get("aria-labelledby")
        assert labelled, f"unlabelled {control}"
    for button in parsed.buttons:
        assert button["text"].strip(), f"a button without visible text: {button}"


def sign_in_as(hub_app, email, password) -> Pages:
    pages = Pages(hub_app.test_client())
    assert pages.sign_in(email, password).status_code == 302
    return pages


def add_user(in_app, email, role, password="a-good-password", active=True):
    from hub.models import Firm, User

    with in_app() as db:
        user = User(firm_id=Firm.query.one().id, email=email, role=role, name=email.split("@")[0], active=active)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user.id


def user_row(in_app, email):
    from hub import provisioning
    from hub.models import User

    with in_app():
        user = User.query.filter_by(email=email).one()
        return {"id": user.id, "role": user.role, "active": user.active,
                "has_password": provisioning.has_password(user), "name": user.name}


def audit(in_app, action):
    from hub.models import AuditEvent, User

    with in_app() as db:
        return [{"by": (db.session.get(User, e.user_id).email if e.user_id else None), "details": e.details}
                for e in AuditEvent.query.filter_by(action=action).order_by(AuditEvent.id)]


def flashes(response_text):
    return re.findall(r'<p class="flash [^"]*" role="[a-z]+">(.*?)</p>', response_text, re.S)


# -- users -----------------------------------------------------------------------------------------------------
def test_the_owner_invites_a_user_who_sets_a_password_from_the_link(owner, hub_app, in_app):
    page = owner.text("/settings/users")
    assert "Invite a user" in page and "Deactivate" in page
    assert_accessible(page)
    response = owner.post("/settings/users/invite", {"email": " Anna@Test.example ", "name": "Anna Admin",
                                                     "role": "admin"}, token_from="/settings/users")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    assert_accessible(text)
    link = re.search(r'value="(http[^"]+/set-password/[^"]+)"', text).group(1)
    assert "anna@test.example is invited" in text and 'type="password"' not in text
    anna = user_row(in_app, "anna@test.example")
    assert anna == {"id": anna["id"], "role": "admin", "active": True, "has_password": False, "name": "Anna Admin"}
    assert "Invited — no password yet" in owner.text("/settings/users")
    assert [a["by"] for a in audit(in_app, "user.created")] == [OWNER]
    assert audit(in_app, "user.invited") == [{"by": OWNER, "details": {"email": "anna@test.example"}}]

    browser = Pages(hub_app.test_client())
    path = link[link.index("/set-password/"):]
    form = browser.text(path)
    assert_accessible(form)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    done = browser.client.post(path, data={"password": "anna-password-1", "confirm": "anna-password-1",
                                           "csrf_token": csrf})
    assert done.status_code == 302
    assert browser.get("/settings/apps").status_code == 200  # signed in (a server-side session)
    assert browser.get("/settings/users").status_code == 200  # as an Admin: the list, without the Owner's controls
    assert "Invite a user" not in browser.text("/settings/users")
    assert sign_in_as(hub_app, "anna@test.example", "anna-password-1").get("/settings/apps").status_code == 200
    used = Pages(hub_app.test_client()).get(path)  # a used link says so, to someone not signed in
    assert used.status_code == 404
    text = used.get_data(as_text=True)
    assert "This link has expired or was used already; ask for a new one." in text
    assert "no such page in your firm" not in text and 'href="/login"' in text


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"email": "not-an-address", "name": "", "role": "member"}, "email", "an e-mail address such as name@example.com."),
    ({"email": MEMBER, "name": "", "role": "member"}, "email", "is a user of this firm already"),
    ({"email": "new@test.example", "name": "", "role": "boss"}, "role", "Pick Company Owner, Company Admin or Member."),
])
def test_an_invite_with_a_bad_field_says_what_to_fix(owner, in_app, form, field, message):
    from hub.models import User

    with in_app():
        before = User.query.count()
    response = owner.post("/settings/users/invite", form, token_from="/settings/users")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert f'id="invite-{field}-errors"' in text and message in text
    assert f'value="{form["email"]}"' in text  # what was typed is kept
    assert_accessible(text)
    with in_app():
        assert User.query.count() == before


def test_the_owner_changes_roles_and_deactivates_and_reactivates(owner, hub_app, in_app):
    member_id = user_row(in_app, MEMBER)["id"]
    member = sign_in_as(hub_app, MEMBER, "member-pass")
    response = owner.post(f"/settings/users/{member_id}/role", {"role": "admin"}, token_from="/settings/users")
    assert response.status_code == 302
    assert user_row(in_app, MEMBER)["role"] == "admin"
    assert f"{MEMBER} is now a Company Admin." in flashes(owner.text("/settings/users"))
    assert audit(in_app, "user.role_changed") == [{"by": OWNER, "details": {"email": MEMBER, "from": "member",
                                                                             "to": "admin"}}]

    assert member.get("/settings/apps").status_code == 200
    owner.post(f"/settings/users/{member_id}/deactivate", token_from="/settings/users")
    assert user_row(in_app, MEMBER)["active"] is False
    assert member.get("/settings/apps").status_code == 302  # signed out at once
    assert Pages(hub_app.test_client()).sign_in(MEMBER, "member-pass").status_code == 200  # cannot sign in
    page = owner.text("/settings/users")
    assert "Deactivated" in page and "Reactivate" in page
    assert [a["by"] for a in audit(in_app, "user.deactivated")] == [OWNER]

    owner.post(f"/settings/users/{member_id}/reactivate", token_from="/settings/users")
    assert user_row(in_app, MEMBER)["active"] is True
    assert sign_in_as(hub_app, MEMBER, "member-pass").get("/settings/apps").status_code == 200
    assert [a["by"] for a in audit(in_app, "user.activated")] == [OWNER]


def test_the_owner_cannot_demote_or_deactivate_themselves(owner, in_app):
    owner_id = user_row(in_app, OWNER)["id"]
    owner.post(f"/settings/users/{owner_id}/role", {"role": "member"}, token_from="/settings/users")
    assert "You cannot change your own role: another Company Owner can." in flashes(owner.text("/settings/users"))
    owner.post(f"/settings/users/{owner_id}/deactivate", token_from="/settings/users")
    assert "You cannot deactivate yourself: another Company Owner can." in flashes(owner.text("/settings/users"))
    assert user_row(in_app, OWNER) | {"id": 0} == {"id": 0, "role": "owner", "active": True, "has_password": True,
                                                   "name": "Owner"}
    assert audit(in_app, "user.role_changed") == [] and audit(in_app, "user.deactivated") == []


def test_the_last_active_owner_is_never_demoted_or_deactivated(hub_app, web_firm, in_app):
    from hub import provisioning
    from hub.models import User

    second = add_user(in_app, "second@test.example", "owner")
    with in_app():
        first = User.query.filter_by(email=OWNER).one()
        assert provisioning.owner_change_problem(first, role="member") is None  # another owner is there
        assert provisioning.owner_change_problem(first, active=False) is None
    other = sign_in_as(hub_app, "second@test.example", "a-good-password")
    first_id = user_row(in_app, OWNER)["id"]
    assert other.post(f"/settings/users/{first_id}/deactivate", token_from="/settings/users").status_code == 302
    assert user_row(in_app, OWNER)["active"] is False
    with in_app() as db:
        last = db.session.get(User, second)
        problem = provisioning.owner_change_problem(last, role="admin")
        assert problem == ("second@test.example is the firm's only active Company Owner and cannot be made an Admin "
                           "or Member: make another user an Owner first.")
        assert "cannot be deactivated" in provisioning.owner_change_problem(last, active=False)
        assert provisioning.owner_change_problem(last, role="owner") is None
        member = User.query.filter_by(email=MEMBER).one()
        assert provisioning.owner_change_problem(member, active=False) is None


def test_the_link_names_the_hub_by_hub_base_url_or_else_the_address_in_use(owner, in_app, monkeypatch, hub_app):
    member_id = user_row(in_app, MEMBER)["id"]
    monkeypatch.delitem(hub_app.config, "HUB_BASE_URL", raising=False)
    monkeypatch.delenv("HUB_BASE_URL", raising=False)
    text = owner.post(f"/settings/users/{member_id}/invite", token_from="/settings/users").get_data(as_text=True)
    assert 'value="http://localhost/set-password/' in text  # the test client's address
    monkeypatch.setenv("HUB_BASE_URL", "https://hub.acme.example/")
    text = owner.post(f"/settings/users/{member_id}/invite", token_from="/settings/users").get_data(as_text=True)
    assert 'value="https://hub.acme.example/set-password/' in text


def test_a_new_link_for_an_existing_user_and_none_for_a_deactivated_one(owner, in_app):
    member_id = user_row(in_app, MEMBER)["id"]
    response = owner.post(f"/settings/users/{member_id}/invite", token_from="/settings/users")
    assert response.status_code == 200 and "New set-password link for member@test.example" in response.get_data(
        as_text=True)
    owner.post(f"/settings/users/{member_id}/deactivate", token_from="/settings/users")
    response = owner.post(f"/settings/users/{member_id}/invite", token_from="/settings/users")
    assert response.status_code == 302
    assert f"{MEMBER} is deactivated: reactivate them first, then make a new link." in flashes(
        owner.text("/settings/users"))


def test_admins_and_members_cannot_manage_users(hub_app, web_firm, member, in_app):
    add_user(in_app, "admin@test.example", "admin")
    admin = sign_in_as(hub_app, "admin@test.example", "a-good-password")
    page = admin.text("/settings/users")
    assert "Invite a user" not in page and "Change role" not in page and "Deactivate" not in page
    assert member.get("/settings/users").status_code == 403
    member_id = user_row(in_app, MEMBER)["id"]
    owner_id = user_row(in_app, OWNER)["id"]
    for who in (admin, member):
        for path, data in [("/settings/users/invite", {"email": "x@test.example", "role": "owner"}),
                           (f"/settings/users/{owner_id}/role", {"role": "member"}),
                           (f"/settings/users/{owner_id}/deactivate", {}),
                           (f"/settings/users/{member_id}/reactivate", {}),
                           (f"/settings/users/{member_id}/invite", {})]:
            assert who.post(path, data).status_code == 403, path
    assert user_row(in_app, OWNER)["role"] == "owner" and user_row(in_app, OWNER)["active"] is True
    assert audit(in_app, "user.invited") == []


def test_another_firms_user_is_a_404(owner, in_app):
    from hub.models import Firm, User

    with in_app() as db:
        firm = Firm(name="Other", country="EE", timezone="Europe/Tallinn", plan="team")
        db.session.add(firm)
        db.session.flush()
        stranger = User(firm_id=firm.id, email="stranger@other.example", role="owner", password_hash="!")
        db.session.add(stranger)
        db.session.commit()
        stranger_id = stranger.id
    for action in ("role", "deactivate", "reactivate", "invite"):
        assert owner.post(f"/settings/users/{stranger_id}/{action}", {"role": "member"},
                          token_from="/settings/users").status_code == 404
    assert user_row(in_app, "stranger@other.example")["active"] is True


# -- a new client ----------------------------------------------------------------------------------------------
def test_an_admin_adds_a_client(owner, in_app):
    from hub.models import Client

    assert 'href="/clients/new"' in owner.text("/clients") and 'href="/clients/import"' in owner.text("/clients")
    page = owner.text("/clients/new")
    assert_accessible(page)
    for label in ('for="new-client-name">Name', 'for="new-client-reg_code">Registration code',
                  'for="new-client-vat_no">VAT number', 'for="new-client-email">E-mail',
                  'for="new-client-address_street">Street', 'for="new-client-customer_type">Customer type'):
        assert label in page, label
    response = owner.post("/clients/new", {"name": " Viljandi Veski OÜ ", "customer_type": "company",
                                           "reg_code": "10123456", "vat_no": "EE101234567",
                                           "email": "books@veski.example", "address_street": "Tallinna 1",
                                           "address_city": "Viljandi", "address_postal_code": "71020",
                                           "address_country": "ee"}, token_from="/clients/new")
    assert response.status_code == 302
    with in_app():
        client = Client.query.filter_by(name="Viljandi Veski OÜ").one()
        assert response.headers["Location"].endswith(f"/clients/{client.id}")
        assert (client.reg_code, client.vat_no, client.email, client.address_country, client.customer_type) == \
            ("10123456", "EE101234567", "books@veski.example", "EE", "company")
    (event,) = audit(in_app, "client.created")
    assert event["by"] == OWNER and event["details"]["name"] == "Viljandi Veski OÜ"


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"name": "", "customer_type": "company"}, "name", "A new client needs a name."),
    ({"name": "Mari", "customer_type": "private", "vat_no": "EE1"}, "vat_no", "A private person has no VAT number"),
    ({"name": "X", "customer_type": "company", "email": "nope"}, "email", "e-mail address such as name@example.com."),
    ({"name": "X", "customer_type": "company", "address_country": "Estonia"}, "address_country",
     "Use the two-letter country code"),
    ({"name": "Copy", "customer_type": "company", "reg_code": "1000 0001"}, "reg_code",
     "Client 1 has this registration code already"),
])
def test_a_new_client_with_a_bad_field_is_not_added(owner, in_app, form, field, message):
    from hub.models import Client

    response = owner.post("/clients/new", form, token_from="/clients/new")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert f'id="new-client-{field}-errors"' in text and message in text
    assert_accessible(text)
    with in_app():
        assert Client.query.count() == 3
    assert audit(in_app, "client.created") == []


def test_an_admin_edits_a_client_on_its_details_page(owner, member, in_app):
    from hub.models import Client

    with in_app():
        client_id = Client.query.filter_by(name="Client 1").one().id
    assert "Edit details" in owner.text(f"/clients/{client_id}")
    form = {"name": "Client One AS", "customer_type": "company", "reg_code": "10000001", "vat_no": "EE100000001",
            "email": "one@client.example", "address_street": "", "address_city": "Tartu", "address_postal_code": "",
            "address_country": "EE"}
    assert member.post(f"/clients/{client_id}/details", form, token_from=f"/clients/{client_id}").status_code == 403
    assert owner.post(f"/clients/{client_id}/details", form, token_from=f"/clients/{client_id}").status_code == 302
    with in_app() as db:
        client = db.session.get(Client, client_id)
        assert (client.name, client.vat_no, client.address_city) == ("Client One AS", "EE100000001", "Tartu")
    (event,) = audit(in_app, "client.details_changed")
    assert event["by"] == OWNER and "name" in event["details"]["changed_fields"]


def test_members_cannot_add_or_import_clients(member, in_app):
    page = member.text("/clients")
    assert "New client" not in page and "Import from CSV" not in page
    assert member.get("/clients/new").status_code == 403
    assert member.get("/clients/import").status_code == 403
    assert member.post("/clients/new", {"name": "Sneaky", "customer_type": "company"}).status_code == 403
    upload = {"file": (io.BytesIO(b"name\nSneaky\n"), "c.csv")}
    assert member.post("/clients/import", upload, content_type="multipart/form-data").status_code == 403
    assert member.post("/clients/import/confirm", {"token": "x"}).status_code == 403
    from hub.models import Client

    with in_app():
        assert Client.query.count() == 3


# -- importing clients from CSV --------------------------------------------------------------------------------
def upload(pages, text, name="clients.csv", encoding="utf-8"):
    data = {"file": (io.BytesIO(text.encode(encoding) if isinstance(text, str) else text), name)}
    return pages.post("/clients/import", data, token_from="/clients/import", content_type="multipart/form-data")


def client_names(in_app):
    from hub.models import Client

    with in_app():
        return sorted(c.name for c in Client.query)


GOOD_CSV = ("external_id;name;reg_code;vat_no;email;customer_type\n"
            "c-10;Veski OÜ;12345678;EE123456789;veski@example.test;company\n"
            "c-11;Mari Maasikas;;;mari@example.test;private\n"
            ";Client 1 renamed;10000001;;;company\n"
            ";Client 2;10000002;;;company\n")


def test_import_previews_then_writes_all_rows_on_confirm(owner, in_app):
    assert_accessible(owner.text("/clients/import"))
    preview = upload(owner, GOOD_CSV)
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert_accessible(text)
    assert "Preview of clients.csv" in text and "Nothing is written yet." in text
    assert "Would be created (2)" in text and "Would be updated (1)" in text and "Unchanged (1)" in text
    updated = re.search(r'<table class="import-updated">.*?</table>', text, re.S).group(0)
    assert "Client 1" in updated and "<td>Name</td>" in updated  # the field that changes, by its label
    assert client_names(in_app) == ["Client 1", "Client 2", "Client 3"]  # nothing written by the preview
    assert audit(in_app, "clients.imported") == []
    token = re.search(r'name="token" value="([^"]+)"', text).group(1)

    done = owner.post("/clients/import/confirm", {"token": token}, token_from="/clients/import")
    assert done.status_code == 200
    text = done.get_data(as_text=True)
    assert "Written: 2 created, 1 updated, 1 unchanged." in text and "Created (2)" in text
    assert client_names(in_app) == ["Client 1 renamed", "Client 2", "Client 3", "Mari Maasikas", "Veski OÜ"]
    assert audit(in_app, "clients.imported") == [{"by": OWNER, "details": {"created": 2, "updated": 1,
                                                                            "unchanged": 1, "refused": 0}}]
    again = owner.post("/clients/import/confirm", {"token": token}, token_from="/clients/import")
    assert again.status_code == 302  # a preview is confirmed once
    assert "That preview has expired or is not yours: upload the file again." in flashes(owner.text("/clients/import"))

    same = upload(owner, GOOD_CSV).get_data(as_text=True)  # the same file again changes nothing
    assert "Nothing to import: every row matches what the hub has already (4 unchanged)." in same
    assert 'name="token"' not in same


def test_a_refused_row_means_nothing_is_written_and_says_why(owner, in_app):
    csv_text = ("name,reg_code,email,customer_type\n"
                "Good One,55555555,good@example.test,company\n"
                "Bad Mail,66666666,not-an-address,company\n"
                ",,,company\n"
                "Twice,55555555,,company\n")
    response = upload(owner, csv_text)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert_accessible(text)
    assert "clients.csv cannot be imported" in text and "Nothing was written." in text
    refused = re.search(r'<table class="import-refused">.*?</table>', text, re.S).group(0)
    assert "<td>2</td><td>3</td>" in refused and "E-mail: Not a valid email address." in refused  # row 2 = line 3
    assert "Name: Length must be between 1 and 200." in refused  # the schema of the CLI and the bulk API
    assert "Row 1 is the same client; send each client once." in refused
    assert 'name="token"' not in text  # cannot be confirmed
    assert client_names(in_app) == ["Client 1", "Client 2", "Client 3"]
    assert audit(in_app, "clients.imported") == []


@pytest.mark.parametrize(("content", "message"), [
    ("name;colour\nVeski;blue\n", "colour: Unknown field."),
])
def test_an_unknown_column_is_refused_not_dropped(owner, in_app, content, message):
    text = upload(owner, content).get_data(as_text=True)
    assert message in text and client_names(in_app) == ["Client 1", "Client 2", "Client 3"]


@pytest.mark.parametrize(("content", "name", "message"), [
    (None, "", "Choose a CSV file to import."),
    (b"name,reg_code\n" + "Müller GmbH,1\n".encode("latin-1"), "latin.csv",
     "The file is not UTF-8 text: save it as “CSV UTF-8” and upload it again."),
    ("", "empty.csv", "The file is empty: the first row must name the columns"),
    ("name,reg_code\n", "header.csv", "header.csv has no rows under its header: nothing to import."),
])
def test_a_file_that_cannot_be_read_says_why(owner, in_app, content, name, message):
    if content is None:
        response = owner.post("/clients/import", {}, token_from="/clients/import", content_type="multipart/form-data")
    else:
        response = upload(owner, content, name=name)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert message in text
    assert_accessible(text)
    assert client_names(in_app) == ["Client 1", "Client 2", "Client 3"]


def test_a_preview_is_confirmed_only_by_its_uploader_and_is_judged_again(owner, hub_app, in_app):
    from hub.models import Client

    text = upload(owner, "external_id,name,reg_code\nc-1,New Co,77777777\n").get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', text).group(1)
    add_user(in_app, "admin@test.example", "admin")
    admin = sign_in_as(hub_app, "admin@test.example", "a-good-password")
    assert admin.post("/clients/import/confirm", {"token": token}).status_code == 302
    assert client_names(in_app) == ["Client 1", "Client 2", "Client 3"]
    with in_app() as db:  # meanwhile two clients took the same name: the row now matches...
        db.session.add(Client(firm_id=Client.query.first().firm_id, name="New Co", external_id="c-1"))
        db.session.commit()
    done = owner.post("/clients/import/confirm", {"token": token}, token_from="/clients/import")
    assert done.status_code == 200
    assert "Written: 0 created, 1 updated, 0 unchanged." in done.get_data(as_text=True)  # ...by its external id
    with in_app():
        assert Client.query.filter_by(external_id="c-1").one().reg_code == "77777777"


def test_the_import_page_reads_quotes_and_refuses_codes_new_client_refuses(owner, in_app):
    """RFC 4180 quotes are read as written; a registration code another client (or row) has is refused, as on
    New client."""
    text = upload(owner, '\ufeffexternal_id;name;reg_code\nx-1;"Kask ""ja"", Kuusk OÜ";30000001\n'
                         "x-2;Other OÜ;30000001\nx-3;Copy OÜ;10000001\n").get_data(as_text=True)
    refused = re.search(r'<table class="import-refused">.*?</table>', text, re.S).group(0)
    assert "Row 1 has this registration code too" in refused
    assert "Client 1 has this registration code already; edit that client instead." in refused
    assert client_names(in_app) == ["Client 1", "Client 2", "Client 3"]
    text = upload(owner, 'name;reg_code\n"Kask ""ja"", Kuusk OÜ";30000001\n').get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', text).group(1)
    assert owner.post("/clients/import/confirm", {"token": token}, token_from="/clients/import").status_code == 200
    assert 'Kask "ja", Kuusk OÜ' in client_names(in_app)


def test_remove_link_is_offered_only_for_a_linked_client(owner, in_app):
    from hub import connections
    from hub.models import Client, ClientConnection

    with in_app() as db:
        client = Client.query.filter_by(name="Client 1").one()
        integration = connections.get_or_create_integration(client.firm_id, "example")
        connections.set_enabled(integration, True)
        db.session.add(ClientConnection(client_id=client.id, integration_id=integration.id))  # looked up, not linked
        db.session.commit()
        client_id = client.id
    text = owner.text(f"/clients/{client_id}/integration?vendor=example")
    assert "Remove link to" not in text
    with in_app() as db:
        ClientConnection.query.one().vendor_client_id = "7"
        db.session.commit()
    assert "Remove link to" in owner.text(f"/clients/{client_id}/integration?vendor=example")


def test_linking_to_a_vendor_without_statistics_promises_none(owner, in_app, hub_registry):
    from hub import connections
    from hub.models import Client

    if "tripletex" not in hub_registry.vendors:
        pytest.skip("tripletex is not installed")
    with in_app():
        client = Client.query.filter_by(name="Client 1").one()
        connections.set_enabled(connections.get_or_create_integration(client.firm_id, "tripletex"), True)
        client_id = client.id
    owner.post(f"/clients/{client_id}/integration/link", {"vendor": "tripletex", "vendor_client_id": "42"})
    text = flashes(owner.text("/clients"))
    assert "Client 1 is linked to Tripletex client 42. Its issued invoices are exported to Tripletex." in text
    assert "statistics" not in text
