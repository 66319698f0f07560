"""Upgrades that cannot half-fail: a database of every earlier landed release, holding realistic data, upgrades to
the head revision with every row kept and every credential still decrypting; a failing revision leaves the database
as it was (SQLite: byte for byte; PostgreSQL: every pending revision rolled back).

How a release's database is built: the schema by Alembic at the revision that was the head when the release landed
(the revision files of every release are in the tree, unchanged: databases store their ids), then rows written with
SQL for exactly the columns that revision has (the rows below list every column any release had; each table gets
those its release knows). So the data is what that release could hold, written without that release's code.

The landed releases are the first-parent commits of main, grouped by the head revision they shipped
(:data:`LANDED_HEADS`; README "Upgrading" lists the chain in order). The upgrade goes to whatever the head is
(``heads``), so a new revision is covered without touching this file.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.engine import make_url

from hub import schema
from hub.app import create_app
from hub.models import ClientConnection, CredentialDraft, Integration, WebhookEndpoint, db
from hub.vault import Vault

#: The head revision of main at each change of its migrations (first-parent commits), oldest first.
LANDED_HEADS = {
    "0001": "160c1bb",
    "0002": "4ffc56e",
    "0003": "b71cc0d",  # up to a99309b, the release the operator upgraded
    "0007_provisioning": "ba9dfc0",
    "0005_reliability": "4ea9725",
    "0009_drafts": "d8ad8bb",
    "0008_indexes": "0d6d47a",
    "0010_job_layer": "e0fb052",
}

pytestmark = pytest.mark.slow

T0 = datetime(2026, 11, 20, 9, 30)
PERIODS = ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
FIRM_SECRET = {"api_key": "merit-firm-key-0001"}
CLIENT_SECRET = {"api_key": "merit-client-key-0007"}
DRAFT_SECRET = {"api_key": "merit-draft-key-0009"}
WEBHOOK_SECRET = {"secret": "whsec-0001"}


def release_rows(vault: Vault) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows, parents first, with every column any release had (a demo-sized firm: 10 clients,
    8 client links, 6 fields x 6 months x 10 clients = 360 values, invoices and exports, webhooks)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    rows["firm"] = [
        {"id": 1, "name": "Demo Accounting OÜ", "country": "EE", "timezone": "Europe/Tallinn", "plan": "pro",
         "created_at": T0, "external_id": "crm-1", "active": True},
        {"id": 2, "name": "Basic Books OÜ", "country": "EE", "timezone": "Europe/Tallinn", "plan": "basic",
         "created_at": T0, "external_id": None, "active": True},
    ]
    rows["user_account"] = [
        {"id": i, "firm_id": firm, "email": email, "name": name, "role": role, "created_at": T0,
         "password_hash": "scrypt:32768:8:1$salt$" + "ab" * 32, "external_id": None, "active": True}
        for i, firm, email, name, role in [(1, 1, "admin@demo.example", "Ann Admin", "owner"),
                                           (2, 1, "member@demo.example", "Mart Member", "member"),
                                           (3, 2, "basic@demo.example", "Bea Basic", "owner")]
    ]
    rows["client"] = [
        {"id": i, "firm_id": 1, "name": f"Client {i} OÜ", "reg_code": f"1000000{i}", "vat_no": f"EE10000000{i}",
         "email": f"books{i}@client.example", "created_at": T0, "address_street": f"Pikk {i}",
         "address_city": "Tallinn", "address_postal_code": "10123", "address_country": "EE",
         "customer_type": "company", "external_id": f"c-{i}", "active": i != 10}
        for i in range(1, 11)
    ]
    rows["custom_field"] = [{"id": i, "firm_id": 1, "name": name, "kind": "number"} for i, name in
                            enumerate(["Sales invoices", "Purchase invoices", "Bank lines", "Employees",
                                       "Payments", "Documents"], start=1)]
    rows["topic"] = [{"id": 1, "firm_id": 1, "name": "Monthly close"}]
    rows["integration"] = [
        {"id": 1, "firm_id": 1, "vendor": "merit", "enabled": True, "settings": {"origin": "http://127.0.0.1:9"},
         "created_at": T0, "updated_at": T0, "status": "ok", "public_credentials": {"api_id": "firm-api-id"},
         "secret_credentials": vault.encrypt(FIRM_SECRET), "account_name": "Demo Accounting", "expires_on": None,
         "last_checked_at": T0, "last_success_at": T0, "last_error": None},
        {"id": 2, "firm_id": 2, "vendor": "scoro", "enabled": False, "settings": None, "created_at": T0,
         "updated_at": T0, "status": "new", "public_credentials": None, "secret_credentials": None,
         "account_name": None, "expires_on": date(2027, 1, 31), "last_checked_at": None, "last_success_at": None,
         "last_error": {"code": "auth", "message": "Key expired"}},
    ]
    rows["api_token"] = [{"id": 1, "firm_id": 1, "name": "bookkeeping robot", "prefix": "hub_abcd", "role": "member",
                          "token_hash": "f" * 64, "created_by_id": 1, "created_at": T0, "last_used_at": None,
                          "revoked_at": None}]
    rows["audit_event"] = [{"id": i, "firm_id": 1, "user_id": 1, "actor": "admin@demo.example", "action": action,
                            "target_type": "integration", "target_id": 1, "details": {"vendor": "merit"},
                            "created_at": T0} for i, action in [(1, "integration.enabled"),
                                                                 (2, "credentials.saved")]]
    rows["client_connection"] = [
        {"id": i, "client_id": i, "integration_id": 1, "vendor_client_id": f"m-{i}",
         "vendor_client_name": f"Client {i} OÜ", "created_at": T0, "updated_at": T0, "status": "ok",
         "public_credentials": {"api_id": "client-api-id"} if i == 7 else None,
         "secret_credentials": vault.encrypt(CLIENT_SECRET) if i == 7 else None, "account_name": None,
         "expires_on": None, "last_checked_at": None, "last_success_at": None, "last_error": None,
         "vendor_client_reg_code": f"1000000{i}", "linked_at": T0}
        for i in range(1, 9)
    ]
    rows["invoice"] = [
        {"id": i, "firm_id": 1, "client_id": i, "number": f"2026-{i:04d}", "issue_date": date(2026, 11, i),
         "due_date": date(2026, 11, 14 + i), "currency": "EUR", "status": "issued", "notes": "Accounting services",
         "total_net": Decimal("100.00"), "total_vat": Decimal("22.00"), "total": Decimal("122.00"),
         "created_at": T0} for i in (1, 2)
    ]
    rows["invoice_line"] = [{"id": i, "invoice_id": inv, "position": pos, "description": "Bookkeeping, November",
                             "product_code": "BK", "quantity": Decimal("2.0000"), "unit_price": Decimal("50.0000"),
                             "vat_rate": Decimal("22.00")} for i, inv, pos in [(1, 1, 1), (2, 2, 1), (3, 2, 2)]]
    rows["notification"] = [{"id": 1, "firm_id": 1, "user_id": None, "level": "warning", "title": "Import failed",
                             "body": "Client 3: the vendor refused the key.", "link": "/clients/3",
                             "created_at": T0, "read_at": None}]
    rows["summary_task"] = [
        {"id": n, "firm_id": 1, "client_id": c, "integration_id": 1, "period": p, "title": f"Client {c} {p}",
         "topic_id": 1, "created_at": T0, "updated_at": T0}
        for n, (c, p) in enumerate(((c, p) for c in range(1, 11) for p in PERIODS), start=1)
    ]
    rows["credential_draft"] = [{"id": 1, "integration_id": 1, "client_connection_id": 8, "created_at": T0,
                                 "public_credentials": {"api_id": "draft-api-id"},
                                 "secret_credentials": vault.encrypt(DRAFT_SECRET), "state": "entered",
                                 "save_requested": False, "error": None, "run_id": None, "user_id": 1}]
    rows["invoice_export"] = [
        {"id": 1, "invoice_id": 1, "integration_id": 1, "reference": "hub-1-merit", "status": "sent", "attempts": 1,
         "vendor_invoice_id": "v-1", "vendor_number": "M-1", "last_error": None, "paid_amount": Decimal("122.00"),
         "paid_on": date(2026, 11, 20), "created_at": T0, "updated_at": T0, "account": "firm",
         "account_connection_id": None},
        {"id": 2, "invoice_id": 2, "integration_id": 1, "reference": "hub-2-merit", "status": "pending",
         "attempts": 0, "vendor_invoice_id": None, "vendor_number": None, "last_error": None, "paid_amount": None,
         "paid_on": None, "created_at": T0, "updated_at": T0, "account": None, "account_connection_id": None},
    ]
    rows["sync_run"] = [
        {"id": 1, "firm_id": 1, "integration_id": 1, "client_connection_id": None, "kind": "reload",
         "status": "succeeded", "trigger": "schedule", "requested_by_id": None, "params": {}, "result": {"clients": 8},
         "error": None, "error_detail": None, "attempts": 1, "job_id": "job-1", "progress_done": 8,
         "progress_total": 8, "created_at": T0, "started_at": T0, "finished_at": T0, "worker": None,
         "updated_at": T0, "parent_run_id": None, "subject": None, "next_attempt_at": None},
        {"id": 2, "firm_id": 1, "integration_id": 1, "client_connection_id": 1, "kind": "import",
         "status": "succeeded", "trigger": "schedule", "requested_by_id": None,
         "params": {"parent_run_id": 1, "periods": PERIODS}, "result": {"values": 360}, "error": None,
         "error_detail": None, "attempts": 1, "job_id": "job-2", "progress_done": 6, "progress_total": 6,
         "created_at": T0, "started_at": T0, "finished_at": T0, "worker": None, "updated_at": T0,
         "parent_run_id": 1, "subject": None, "next_attempt_at": None},
        {"id": 3, "firm_id": 1, "integration_id": 1, "client_connection_id": None, "kind": "export",
         "status": "queued", "trigger": "user", "requested_by_id": 1, "params": {"export_id": 2}, "result": None,
         "error": None, "error_detail": None, "attempts": 0, "job_id": "job-3", "progress_done": 0,
         "progress_total": 0, "created_at": T0, "started_at": None, "finished_at": None, "worker": None,
         "updated_at": T0, "parent_run_id": None, "subject": "export:2", "next_attempt_at": None},
    ]
    rows["summary_value"] = [
        {"id": n, "task_id": task, "field_id": field, "vendor_field": f"field_{field}", "value": task * 10 + field,
         "source": "merit", "imported_at": T0, "sync_run_id": 2, "flag": None, "pending_value": None}
        for n, (task, field) in enumerate(((t, f) for t in range(1, 61) for f in range(1, 7)), start=1)
    ]
    rows["sync_run_item"] = [{"id": i, "run_id": 1, "client_id": i, "period": "2026-10", "outcome": "ok",
                              "error": None, "created_at": T0} for i in range(1, 9)]
    rows["monthly_import"] = [{"id": n, "client_connection_id": c, "period": p, "status": "done", "run_id": 2,
                               "created_at": T0, "updated_at": T0}
                              for n, (c, p) in enumerate(((c, p) for c in (1, 2) for p in PERIODS), start=1)]
    rows["idempotency_key"] = [{"id": 1, "firm_id": 1, "key": "import-2026-10", "endpoint": "POST /api/v1/clients",
                                "request_hash": "e" * 64, "status_code": 201, "response": {"id": 1},
                                "created_at": T0}]
    rows["catalog_item"] = [{"id": 1, "integration_id": 1, "kind": "vat", "vendor_id": "22", "code": "22",
                             "name": "VAT 22%", "rate": Decimal("22.000"), "unit_price": None, "fetched_at": T0,
                             "client_connection_id": None}]
    rows["catalog_mapping"] = [{"id": 1, "integration_id": 1, "kind": "vat", "hub_key": "22", "vendor_code": "22",
                                "updated_at": T0, "client_connection_id": None}]
    rows["user_session"] = [{"id": 1, "user_id": 1, "token_hash": "d" * 64, "created_at": T0, "last_seen_at": T0,
                             "expires_at": datetime(2026, 12, 20)}]
    rows["service_token"] = [{"id": 1, "name": "crm", "prefix": "hubsvc_ab", "token_hash": "c" * 64,
                              "created_at": T0, "last_used_at": None, "revoked_at": None}]
    rows["webhook_endpoint"] = [{"id": 1, "firm_id": 1, "url": "https://crm.example/hooks", "description": "CRM",
                                 "events": ["export.failed"], "secret": vault.encrypt(WEBHOOK_SECRET),
                                 "enabled": True, "disabled_reason": None, "consecutive_failures": 0,
                                 "failing_since": None, "paused_until": None, "created_by": "admin@demo.example",
                                 "created_at": T0}]
    rows["webhook_delivery"] = [{"id": 1, "endpoint_id": 1, "firm_id": 1, "event_id": "evt_1",
                                 "event_type": "export.failed", "payload": {"export_id": 2}, "status": "delivered",
                                 "attempts": 1, "next_attempt_at": None, "last_attempt_at": T0, "delivered_at": T0,
                                 "last_status_code": 200, "last_response": "ok", "last_error": None, "lag_ms": 120,
                                 "created_at": T0}]
    return rows


def write_release_data(conn, rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:  # noqa: ANN001
    """Insert each table's rows with the columns the database has; returns what was written."""
    meta = MetaData()
    meta.reflect(bind=conn)
    written: dict[str, list[dict[str, Any]]] = {}
    for name, table_rows in rows.items():
        if name not in meta.tables:
            continue  # a later release's table
        table = meta.tables[name]
        missing = {c.name for c in table.columns if not c.nullable and c.server_default is None} - set(table_rows[0])
        assert not missing, f"give {name} a value for {missing} in release_rows"
        written[name] = [{k: v for k, v in row.items() if k in table.columns} for row in table_rows]
        conn.execute(table.insert(), written[name])
    if conn.dialect.name == "postgresql":  # the ids were given: move the sequences past them
        for name in written:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"))
    return written


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return Decimal(str(a)) == Decimal(str(b))
    return a == b


@pytest.fixture
def empty_database(hub_database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own: a SQLite file in tmp_path, or ``<test database>_upgrade`` beside the PostgreSQL one
    (created here, dropped after)."""
    if not hub_database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'release.db'}"
        return
    base = make_url(hub_database_url)
    name = f"{base.database}_upgrade"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def release_app(empty_database: str, hub_redis_url: str, hub_registry):  # noqa: ANN001, ANN201
    app = create_app({"TESTING": True, "DATABASE_URL": empty_database, "REDIS_URL": hub_redis_url,
                      "HUB_SECRET_KEYS": Vault.generate_key(), "SECRET_KEY": "test"}, registry=hub_registry)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def build_release(app, revision: str) -> dict[str, list[dict[str, Any]]]:  # noqa: ANN001
    """The database as the release whose head was ``revision`` left it, holding its rows."""
    command.upgrade(app.extensions["migrate"].migrate.get_config(schema.MIGRATIONS_DIR), revision)
    with db.engine.begin() as conn:
        return write_release_data(conn, release_rows(app.extensions["hub"].vault))


@pytest.mark.parametrize("release_head", list(LANDED_HEADS))
def test_a_release_database_upgrades_to_head_with_every_row(release_app, release_head: str):
    written = build_release(release_app, release_head)
    assert set(written) >= {"firm", "user_account", "client", "client_connection", "summary_value", "invoice",
                            "invoice_export", "sync_run"}
    assert len(written["summary_value"]) == 360

    schema.upgrade()

    assert schema.current_revisions() == schema.head_revisions()
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
        meta = MetaData()
        meta.reflect(bind=conn)
        for name, rows in written.items():
            table = meta.tables[name]
            stored = {row["id"]: row for row in conn.execute(select(table)).mappings()}
            assert set(stored) == {row["id"] for row in rows}, f"{name}: rows lost or added"
            for row in rows:
                for column, value in row.items():
                    if column in table.columns:  # a column a later revision dropped is not compared
                        assert _same(stored[row["id"]][column], value), f"{name} {row['id']}.{column}"
        if "webhook_endpoint" in written:
            assert conn.scalar(text("SELECT count(*) FROM webhook_endpoint")) == 1

    vault = release_app.extensions["hub"].vault
    assert vault.decrypt(db.session.get(Integration, 1).secret_credentials) == FIRM_SECRET
    assert vault.decrypt(db.session.get(ClientConnection, 7).secret_credentials) == CLIENT_SECRET
    assert vault.decrypt(db.session.get(CredentialDraft, 1).secret_credentials) == DRAFT_SECRET
    if "webhook_endpoint" in written:
        assert vault.decrypt(db.session.get(WebhookEndpoint, 1).secret) == WEBHOOK_SECRET
    with db.engine.connect() as conn:  # what the data migrations derive, where the release predates them
        if "account" not in written["invoice_export"][0]:
            assert conn.scalar(text("SELECT account FROM invoice_export WHERE id = 1")) == "firm"
        if "subject" not in written["sync_run"][0]:
            assert conn.scalar(text("SELECT subject FROM sync_run WHERE id = 3")) == "export:2"
            assert conn.scalar(text("SELECT parent_run_id FROM sync_run WHERE id = 2")) == 1


FAILING_REVISION = '''"""A revision that fails half-way (tests/test_upgrades.py)."""
import sqlalchemy as sa
from alembic import op

revision = "zz_fails"
down_revision = {heads!r}
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("half_done", sa.Column("id", sa.Integer(), primary_key=True))
    with op.batch_alter_table("client") as batch_op:
        batch_op.add_column(sa.Column("half", sa.String(10), nullable=True))
    op.execute("UPDATE client SET name = 'changed'")
    raise RuntimeError("this revision fails on purpose")


def downgrade():
    pass
'''


def _with_failing_revision(tmp_path: Path) -> str:
    directory = tmp_path / "migrations"
    shutil.copytree(schema.MIGRATIONS_DIR, directory, ignore=shutil.ignore_patterns("__pycache__"))
    heads = tuple(sorted(schema.head_revisions()))
    (directory / "versions" / "zz_fails.py").write_text(
        FAILING_REVISION.format(heads=heads[0] if len(heads) == 1 else heads))
    return str(directory)


def test_a_failing_upgrade_leaves_the_database_as_it_was(release_app, tmp_path: Path):
    """a99309b's database (0003) upgraded by code whose last revision fails: every revision before it ran first."""
    build_release(release_app, "0003")
    directory = _with_failing_revision(tmp_path)
    path = schema.sqlite_file()
    db.engine.dispose()
    before = path.read_bytes() if path else None
    with db.engine.connect() as conn:
        names_before = conn.execute(text("SELECT id, name FROM client ORDER BY id")).all()
    said: list[str] = []

    with pytest.raises(schema.UpgradeFailed, match="fails on purpose"):
        schema.upgrade(directory, say=said.append)

    assert schema.current_revisions() == {"0003"}
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT id, name FROM client ORDER BY id")).all() == names_before
        meta = MetaData()
        meta.reflect(bind=conn)
        assert not {"half_done", "service_token", "user_session"} & set(meta.tables)
        assert not {"half", "active", "customer_type"} & set(meta.tables["client"].columns.keys())
    if path:  # SQLite: the file is put back byte for byte, and the operator is told
        db.engine.dispose()
        assert path.read_bytes() == before
        assert not path.with_name(path.name + ".pre-upgrade").exists()
        assert said and "put back as it was" in said[0]
    else:
        assert said and "rolled every pending revision back" in said[0]


def test_init_db_says_what_happened_to_the_data(release_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    build_release(release_app, "0003")
    failing = functools.partial(schema.upgrade, _with_failing_revision(tmp_path))
    monkeypatch.setattr(schema, "upgrade", failing)

    result = release_app.test_cli_runner().invoke(args=["hub", "init-db"])

    assert result.exit_code == 1
    assert "database upgrade failed: this revision fails on purpose" in result.output
    assert ("put back as it was" if schema.sqlite_file() else "rolled every pending revision back") in result.output
    assert schema.current_revisions() == {"0003"}
    monkeypatch.undo()
    result = release_app.test_cli_runner().invoke(args=["hub", "init-db"])
    assert result.exit_code == 0, result.output
    assert schema.current_revisions() == schema.head_revisions()
