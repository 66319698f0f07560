"""One client rule set whatever the door (hub.clients / hub.provisioning): RFC 4180 CSV read faithfully (doubled
quotes, separators and line breaks inside quotes, a BOM, ``;`` separators), and a registration code that another
client has is refused by New client, the Details page / PATCH, the CSV import (CLI dry run included) and the
service API alike."""

import marshmallow
import pytest

from hub import clients, provisioning
from hub.models import Client


def names(firm):
    return sorted(c.name for c in Client.query.filter_by(firm_id=firm.id))


@pytest.mark.parametrize(("text", "expected"), [
    ('name,reg_code,vat_no\n"Kask ""ja"" Kuusk OÜ",20000001,EE100000001\n',
     {"name": 'Kask "ja" Kuusk OÜ', "reg_code": "20000001", "vat_no": "EE100000001"}),
    ('name,reg_code,vat_no\n"Kask, Kuusk OÜ",20000001,EE100000001\n',
     {"name": "Kask, Kuusk OÜ", "reg_code": "20000001", "vat_no": "EE100000001"}),
    ('\ufeffname;reg_code;vat_no\r\n"Kask; ""x"", Kuusk";20000001;EE100000001\r\n',
     {"name": 'Kask; "x", Kuusk', "reg_code": "20000001", "vat_no": "EE100000001"}),
    ('"name","reg_code","vat_no"\n"Two\nlines OÜ","20000001",""\n',
     {"name": "Two\nlines OÜ", "reg_code": "20000001", "vat_no": ""}),
    ("name\tregistration code\tvat\nTab OÜ\t20000001\tEE1\n",
     {"name": "Tab OÜ", "reg_code": "20000001", "vat_no": "EE1"}),
])
def test_csv_is_read_by_rfc_4180(text, expected):
    assert provisioning.parse_csv(text) == [expected]


def test_an_unquoted_separator_is_refused_not_shifted(firm):
    rows = provisioning.parse_csv("name,reg_code,vat_no\nKask, Kuusk OÜ,20000001,EE1\n")
    report = provisioning.import_clients(firm, rows)
    assert report.refused == [{"row": 1, "external_id": None, "errors": {"_row": [provisioning.CSV_EXTRA_VALUES]}}]
    assert not report.applied and names(firm) == ["Client 1", "Client 2", "Client 3"]


def test_a_nul_character_in_a_file_is_refused_in_words():
    with pytest.raises(marshmallow.ValidationError, match="NUL character"):
        provisioning.parse_csv("name\nBad\x00Name\n")


def test_doubled_quotes_are_stored_as_one(firm):
    rows = provisioning.parse_csv('name,reg_code\n"Kask ""ja"" Kuusk OÜ",20000001\n"Kask, Kuusk OÜ",20000002\n')
    assert provisioning.import_clients(firm, rows).applied
    stored = {c.reg_code: c.name for c in Client.query.filter_by(firm_id=firm.id)}
    assert stored["20000001"] == 'Kask "ja" Kuusk OÜ' and stored["20000002"] == "Kask, Kuusk OÜ"


# -- one company, one client --------------------------------------------------------------------------------
TAKEN = "Client 1 has this registration code already; edit that client instead."


def test_new_client_refuses_a_code_another_client_has(firm):
    with pytest.raises(marshmallow.ValidationError) as exc:
        clients.create(firm.id, {"name": "Copy", "reg_code": "1000-0001"})
    assert exc.value.messages == {"reg_code": [TAKEN]}


def test_changing_a_client_to_another_clients_code_is_refused(firm):
    second = Client.query.filter_by(firm_id=firm.id, name="Client 2").one()
    with pytest.raises(marshmallow.ValidationError) as exc:
        clients.update_details(second, {"reg_code": "10000001"})
    assert exc.value.messages == {"reg_code": [TAKEN]}
    assert clients.update_details(second, {"reg_code": "10000002", "email": "two@example.test"}) == ["email"]


@pytest.mark.parametrize(("csv_text", "refused"), [
    # two new rows sharing a code (by external id, so neither is "the same client")
    ("external_id,name,reg_code\nx-1,A OÜ,30000001\nx-2,B OÜ,3000-0001\n",
     {2: {"reg_code": ["Row 1 has this registration code too; one company is one client: keep one of the rows."]}}),
    # a new row clashing with an existing client
    ("external_id,name,reg_code\nx-1,Copy OÜ,10000001\n", {1: {"reg_code": [TAKEN]}}),
    # a row without an external id whose code is a client's: that client, matched (an update)
    ("external_id,name,reg_code\nx-1,New OÜ,30000001\n,Client 2,1000 0002\n", {}),
])
def test_the_import_refuses_duplicate_codes_like_new_client(firm, csv_text, refused):
    rows = provisioning.parse_csv(csv_text)
    dry = provisioning.import_clients(firm, rows, dry_run=True)
    assert {e["row"]: e["errors"] for e in dry.refused} == refused
    report = provisioning.import_clients(firm, rows)
    assert {e["row"]: e["errors"] for e in report.refused} == refused
    assert report.applied is (not refused)
    codes = [clients.normalise_code(c.reg_code) for c in Client.query.filter_by(firm_id=firm.id) if c.reg_code]
    assert len(codes) == len(set(codes))


def test_a_row_matched_by_external_id_cannot_take_another_clients_code(firm):
    first = Client.query.filter_by(firm_id=firm.id, name="Client 1").one()
    first.external_id = "c-1"
    report = provisioning.import_clients(firm, [{"external_id": "c-1", "reg_code": "10000002"}])
    assert report.refused[0]["errors"] == {"reg_code": ["Client 2 has this registration code already; edit that "
                                                        "client instead."]}
    with pytest.raises(marshmallow.ValidationError):  # the service API's single upsert: the same rule
        provisioning.upsert_client(firm, "c-9", {"name": "Copy", "reg_code": "10000003"})


def test_the_cli_dry_run_counts_duplicate_codes_as_refused(hub_app, firm, tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text("\ufeffexternal_id;name;reg_code\nx-1;\"Kask \"\"ja\"\" Kuusk OÜ\";30000001\n"
                    "x-2;Other OÜ;30000001\nx-3;Copy OÜ;10000001\n", encoding="utf-8")
    result = hub_app.test_cli_runner().invoke(args=["hub", "client", "import", str(path), "--firm", str(firm.id),
                                                    "--dry-run"])
    assert "created 1, updated 0, unchanged 0, refused 2" in result.output, result.output
    assert "row 3 (line 4): reg_code: " + TAKEN in result.output
    assert names(firm) == ["Client 1", "Client 2", "Client 3"]


def test_the_cli_holds_the_plan_gate(hub_app, firm, hub_db):
    from hub import connections

    connections.get_or_create_integration(firm.id, "example")
    firm.plan = "basic"
    hub_db.session.commit()
    result = hub_app.test_cli_runner().invoke(args=["hub", "reload", "example", "--firm", str(firm.id)])
    assert result.exit_code != 0 and "Integrations are available on the Team plan and above." in result.output


def test_the_cli_link_names_the_hub_it_is_given_and_warns_when_it_guesses(hub_app, firm, monkeypatch):
    monkeypatch.delenv("HUB_BASE_URL", raising=False)
    runner = hub_app.test_cli_runner()
    guessed = runner.invoke(args=["hub", "user", "invite", "member@test.example"])
    assert guessed.exit_code == 0 and "http://127.0.0.1:5000/set-password/" in guessed.stdout
    assert "HUB_BASE_URL is not set" in guessed.stderr and "--base-url" in guessed.stderr
    given = runner.invoke(args=["hub", "user", "invite", "member@test.example", "--base-url", "https://hub.example/"])
    assert given.stdout.strip().splitlines()[-1].startswith("https://hub.example/set-password/")
    assert "HUB_BASE_URL" not in given.stderr
    bad = runner.invoke(args=["hub", "user", "invite", "member@test.example", "--base-url", "hub.example/x"])
    assert bad.exit_code != 0 and "give the hub's address only" in bad.output
