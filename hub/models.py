"""The hub's data model (Flask-SQLAlchemy, plain ``DeclarativeBase``). Every change needs a migration
(``flask db migrate -m "..."`` then review the file under ``hub/migrations/versions``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, ForeignKey, MetaData, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


db = SQLAlchemy(model_class=Base)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# Connection states (DESIGN §4). Outcomes of jobs move a connection between them.
NOT_CONFIGURED, UNTESTED, OK, NEEDS_ATTENTION, DISABLED = (
    "not_configured", "untested", "ok", "needs_attention", "disabled")
CONNECTION_STATES = (NOT_CONFIGURED, UNTESTED, OK, NEEDS_ATTENTION, DISABLED)

ROLES = ("owner", "admin", "member")
PLANS = ("free", "basic", "team", "elite")


class Firm(db.Model):
    __tablename__ = "firm"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2, drives the holiday calendar
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Tallinn")
    plan: Mapped[str] = mapped_column(String(20), default="team")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def integrations_allowed(self) -> bool:
        """Integrations are available on the Team plan and above."""
        return PLANS.index(self.plan) >= PLANS.index("team")


class User(db.Model):
    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firm.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20), default="member")
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    firm: Mapped[Firm] = relationship()

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_admin(self) -> bool:
        return self.role in ("owner", "admin")


class Client(db.Model):
    __tablename__ = "client"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firm.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    reg_code: Mapped[str | None] = mapped_column(String(50))
    vat_no: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ConnectionStateMixin:
    """State shared by integrations (firm level) and client connections (client level)."""

    status: Mapped[str] = mapped_column(String(20), default=NOT_CONFIGURED)
    public_credentials: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    secret_credentials: Mapped[str | None] = mapped_column(Text)  # Fernet token (hub.vault)
    account_name: Mapped[str | None] = mapped_column(String(200))  # what the vendor said on the last test
    expires_on: Mapped[dt.date | None] = mapped_column()
    last_checked_at: Mapped[dt.datetime | None] = mapped_column()
    last_success_at: Mapped[dt.datetime | None] = mapped_column()
    last_error: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # HubError.as_dict()

    @property
    def has_credentials(self) -> bool:
        return bool(self.public_credentials or self.secret_credentials)


class Integration(ConnectionStateMixin, db.Model):
    """A firm's connection to one vendor."""

    __tablename__ = "integration"
    __table_args__ = (UniqueConstraint("firm_id", "vendor"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firm.id"), index=True)
    vendor: Mapped[str] = mapped_column(String(50))
    enabled: Mapped[bool] = mapped_column(default=False)
    # Summary-task settings and the field mapping (hub.statistics), plus operator-only keys such as
    # "origin" (route this integration's vendor traffic to a sandbox).
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    firm: Mapped[Firm] = relationship()


class ClientConnection(ConnectionStateMixin, db.Model):
    """A client linked to an integration: the vendor's client record, or the client's own credentials."""

    __tablename__ = "client_connection"
    __table_args__ = (UniqueConstraint("client_id", "integration_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"), index=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id"), index=True)
    vendor_client_id: Mapped[str | None] = mapped_column(String(100))
    vendor_client_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    client: Mapped[Client] = relationship()
    integration: Mapped[Integration] = relationship()


class CredentialDraft(db.Model):
    """Candidate credentials being tested before save (encrypted; deleted after use or expiry)."""

    __tablename__ = "credential_draft"
    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id"), index=True)
    client_connection_id: Mapped[int | None] = mapped_column(ForeignKey("client_connection.id"))
    public_credentials: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    secret_credentials: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CustomField(db.Model):
    """A firm's custom task field (a column on summary tasks)."""

    __tablename__ = "custom_field"
    __table_args__ = (UniqueConstraint("firm_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firm.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="number")


class Topic(db.Model):
    __tablename__ = "topic"
    __table_args__ = (UniqueConstraint("firm_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firm.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))


class SummaryTask(db.Model):
    """The monthly summary task of one client for one integration (one per month)."""

    __tablename__ = "summary_task"
    __table_args__ = (UniqueConstraint("client_id", "integration_id", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firm.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"), index=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))  # "2026-01"
    title: Mapped[str] = mapped_column(String(200))
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topic.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    values: Mapped[list["SummaryValue"]] = relationship(back_populates="task", cascade="all, delete-orphan")


class SummaryValue(db.Model):
    """One imported number on a summary task, with where and when it came from."""

    __tablename__ = "summary_value"
    __table_args__ = (UniqueConstraint("task_id", "field_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("summary_task.id"), index=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("custom_field.id"))
    vendor_field: Mapped[str] = mapped_column(String(100))
    value: Mapped[int | None] = mapped_column()
    source: Mapped[str] = mapped_column(String(200))  # e.g. "merit: Acme OÜ"
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_run.id"), index=True)
    flag: Mapped[str | None] = mapped_column(String(200))  # e.g. dropped from a positive number to 0
    pending_value: Mapped[int | None] = mapped_column()  # a flagged value waiting for the admin
    task: Mapped[SummaryTask] = relationship(back_populates="values")


class MonthlyImport(db.Model):
    """One scheduled import of a client's month. The unique constraint is what makes two dispatchers
    running at once harmless: only one of them can claim a (connection, month)."""

    __tablename__ = "monthly_import"
    __table_args__ = (UniqueConstraint("client_connection_id", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_connection_id: Mapped[int] = mapped_column(ForeignKey("client_connection.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued done failed
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_run.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SyncRun(db.Model):
    """The record of one background job: what, who, when, outcome, error. The database, not Redis,
    is the history."""

    __tablename__ = "sync_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firm.id"), index=True)
    integration_id: Mapped[int | None] = mapped_column(ForeignKey("integration.id"), index=True)
    client_connection_id: Mapped[int | None] = mapped_column(ForeignKey("client_connection.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued running retrying succeeded failed
    trigger: Mapped[str] = mapped_column(String(20), default="user")  # user schedule api cli
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # ids and options only, never secrets
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # HubError.as_dict()
    error_detail: Mapped[str | None] = mapped_column(Text)  # traceback of unexpected errors (masked)
    attempts: Mapped[int] = mapped_column(default=0)
    job_id: Mapped[str | None] = mapped_column(String(100))
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    items: Mapped[list["SyncRunItem"]] = relationship(back_populates="run", cascade="all, delete-orphan")

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed")


class SyncRunItem(db.Model):
    """The outcome of a run for one client (and month)."""

    __tablename__ = "sync_run_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_run.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id"))
    period: Mapped[str | None] = mapped_column(String(7))
    outcome: Mapped[str] = mapped_column(String(20))
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    run: Mapped[SyncRun] = relationship(back_populates="items")


class Notification(db.Model):
    __tablename__ = "notification"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firm.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    level: Mapped[str] = mapped_column(String(20), default="info")  # info warning error
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column()


class Invoice(db.Model):
    __tablename__ = "invoice"
    __table_args__ = (UniqueConstraint("firm_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firm.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"), index=True)
    number: Mapped[str] = mapped_column(String(50))
    issue_date: Mapped[dt.date] = mapped_column()
    due_date: Mapped[dt.date] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft issued
    notes: Mapped[str] = mapped_column(Text, default="")
    total_net: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    total_vat: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    lines: Mapped[list["InvoiceLine"]] = relationship(back_populates="invoice", cascade="all, delete-orphan",
                                                      order_by="InvoiceLine.position")
    client: Mapped[Client] = relationship()


class InvoiceLine(db.Model):
    __tablename__ = "invoice_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(String(500))
    product_code: Mapped[str | None] = mapped_column(String(100))
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class InvoiceExport(db.Model):
    """The outbox: one row per (invoice, integration), with a deterministic reference."""

    __tablename__ = "invoice_export"
    __table_args__ = (UniqueConstraint("invoice_id", "integration_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id"), index=True)
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending sent confirmed failed uncertain
    attempts: Mapped[int] = mapped_column(default=0)
    vendor_invoice_id: Mapped[str | None] = mapped_column(String(100))
    vendor_number: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    paid_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    paid_on: Mapped[dt.date | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    invoice: Mapped[Invoice] = relationship()


class CatalogItem(db.Model):
    """A vendor's product/article or VAT type/tax rate, pulled and cached per integration."""

    __tablename__ = "catalog_item"
    __table_args__ = (UniqueConstraint("integration_id", "kind", "vendor_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # product | tax_rate
    vendor_id: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    rate: Mapped[Decimal | None] = mapped_column(Numeric(6, 3))  # tax rates: percent
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))  # products
    fetched_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CatalogMapping(db.Model):
    """The hub's product code or VAT rate → the vendor's product code or tax id, per integration."""

    __tablename__ = "catalog_mapping"
    __table_args__ = (UniqueConstraint("integration_id", "kind", "hub_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # product | tax_rate
    hub_key: Mapped[str] = mapped_column(String(100))  # a product code, or a VAT rate such as "22"
    vendor_code: Mapped[str] = mapped_column(String(100))  # CatalogItem.code (products) / .vendor_id (tax rates)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IdempotencyKey(db.Model):
    """The first answer to an API ``POST`` with an ``Idempotency-Key`` header, replayed on a repeat."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("firm_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firm.id"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    endpoint: Mapped[str] = mapped_column(String(300))  # method and path the key was first used with
    request_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the body: a different body is a 422
    status_code: Mapped[int | None] = mapped_column()
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApiToken(db.Model):
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firm.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12))  # shown in lists to tell tokens apart
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)  # sha256 hex
    role: Mapped[str] = mapped_column(String(20), default="member")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class AuditEvent(db.Model):
    """Who changed what. ``details`` never holds a secret value (only which secret fields changed)."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firm.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor: Mapped[str] = mapped_column(String(200))  # "user:3", "api-token:7", "system", "cli"
    action: Mapped[str] = mapped_column(String(100))
    target_type: Mapped[str] = mapped_column(String(50))
    target_id: Mapped[int | None] = mapped_column()
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
