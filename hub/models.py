"""The hub's data model (Flask-SQLAlchemy, plain ``DeclarativeBase``). Every change needs a migration
(``flask db migrate -m "..."`` then review the file under ``hub/migrations/versions``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    JSON,
    Column,
    Dialect,
    ForeignKey,
    Index,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from hub.types import MAX_ID, MAX_NAME, clip
from hub.vault import TOKEN_PREFIX


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

class Encrypted(TypeDecorator[str]):
    """A column that holds vault output (a Fernet token of :meth:`hub.vault.Vault.encrypt`), stored as text.

    Declaring the column with this type is the registry: ``flask hub rotate-keys`` re-encrypts every column of
    this type (:func:`encrypted_columns`), and a test fails when vault output is found in any other column.
    Anything but a token is refused on write (a plaintext secret never lands here by mistake)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is not None and not value.startswith(TOKEN_PREFIX):
            raise ValueError("An Encrypted column stores vault output only (hub.vault.Vault.encrypt).")
        return value


def encrypted_columns() -> list[Column]:
    """Every column declared :class:`Encrypted`, table by table (what ``flask hub rotate-keys`` walks)."""
    return [c for table in db.metadata.sorted_tables for c in table.columns if isinstance(c.type, Encrypted)]


def fits(*names: str) -> Any:
    """A validator that cuts vendor-supplied display text to its column's length (with an ellipsis), so a
    long name never breaks a write on PostgreSQL. Ids are never cut: :mod:`hub.types` rejects long ones."""
    def fit(self: Any, key: str, value: str | None) -> str | None:
        return clip(value, self.__table__.c[key].type.length)

    return validates(*names)(fit)


ROLES = ("owner", "admin", "member")
PLANS = ("free", "basic", "team", "elite")


class Firm(db.Model):
    __tablename__ = "firm"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2, drives the holiday calendar
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Tallinn")
    plan: Mapped[str] = mapped_column(String(20), default="team")
    # The host product's id of this firm (provisioning upserts by it; hub.provisioning).
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def integrations_allowed(self) -> bool:
        """Integrations are available on the Team plan and above."""
        return PLANS.index(self.plan) >= PLANS.index("team")


class User(db.Model):
    __tablename__ = "user_account"
    __table_args__ = (UniqueConstraint("firm_id", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firm.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20), default="member")
    password_hash: Mapped[str] = mapped_column(String(256))
    external_id: Mapped[str | None] = mapped_column(String(100))  # the host product's id (per firm)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())  # deactivated: cannot sign in
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    firm: Mapped[Firm] = relationship()

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_admin(self) -> bool:
        return self.role in ("owner", "admin")


class UserSession(db.Model):
    """A signed-in browser (server side: the cookie holds only a random id, stored here as its SHA-256).
    Deleting the row ends the session at once (:mod:`hub.sessions`)."""

    __tablename__ = "user_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()


class Client(db.Model):
    __tablename__ = "client"
    __table_args__ = (UniqueConstraint("firm_id", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firm.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    reg_code: Mapped[str | None] = mapped_column(String(50))
    vat_no: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(254))
    # What exports need besides the name (edited through hub.clients.ClientDetailsSchema).
    address_street: Mapped[str | None] = mapped_column(String(200))
    address_city: Mapped[str | None] = mapped_column(String(100))
    address_postal_code: Mapped[str | None] = mapped_column(String(20))
    address_country: Mapped[str | None] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    customer_type: Mapped[str] = mapped_column(String(20), default="company", server_default="company")
    external_id: Mapped[str | None] = mapped_column(String(100))  # the host product's id (per firm)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


#: ``Client.customer_type``: a company (registration code expected) or a private person.
CUSTOMER_TYPES = ("company", "private")


class ConnectionStateMixin:
    """State shared by integrations (firm level) and client connections (client level)."""

    status: Mapped[str] = mapped_column(String(20), default=NOT_CONFIGURED)
    public_credentials: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    secret_credentials: Mapped[str | None] = mapped_column(Encrypted)
    account_name: Mapped[str | None] = mapped_column(String(MAX_NAME))  # what the vendor said on the last test
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
    _fit = fits("account_name")


class ClientConnection(ConnectionStateMixin, db.Model):
    """A client linked to an integration: the vendor's client record, or the client's own credentials."""

    __tablename__ = "client_connection"
    __table_args__ = (UniqueConstraint("client_id", "integration_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"), index=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id"), index=True)
    vendor_client_id: Mapped[str | None] = mapped_column(String(MAX_ID))
    vendor_client_name: Mapped[str | None] = mapped_column(String(MAX_NAME))
    vendor_client_reg_code: Mapped[str | None] = mapped_column(String(50))  # as the vendor's record has it
    # When the link last pointed to a different vendor record or account: values imported before this came
    # from the old record, so an import may overwrite them (also by 0; hub.statistics).
    linked_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    client: Mapped[Client] = relationship()
    integration: Mapped[Integration] = relationship()
    _fit = fits("account_name", "vendor_client_name")


class CredentialDraft(db.Model):
    """Candidate credentials typed on a form but not stored as the owner's (encrypted; deleted once saved,
    discarded or expired). Secrets are never rendered back: the form only says a new value was entered."""

    __tablename__ = "credential_draft"
    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id"), index=True)
    client_connection_id: Mapped[int | None] = mapped_column(ForeignKey("client_connection.id"))
    public_credentials: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    secret_credentials: Mapped[str | None] = mapped_column(Encrypted)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # entered: typed, not tested (e.g. another field had an error) | testing: being tested |
    # tested: a test passed, not saved yet | rejected: Save tested it and the vendor refused (``error``)
    state: Mapped[str] = mapped_column(String(20), default="entered")
    save_requested: Mapped[bool] = mapped_column(default=False)  # Save clicked: store it once the test passes
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the vendor's refusal (HubError.as_dict())
    run_id: Mapped[int | None] = mapped_column()  # the latest test of these values
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class OAuthGrant(db.Model):
    """A firm integration's OAuth 2.0 grant (:mod:`hub.oauth`): the tokens the vendor issued, encrypted.

    One row per integration, replaced by Reconnect. ``revoked_at``: the vendor refused the refresh token
    (``invalid_grant``); the connection needs attention until the admin reconnects. A refresh locks the row
    (``SELECT … FOR UPDATE``) so two workers never both spend a rotating refresh token."""

    __tablename__ = "oauth_grant"
    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"), unique=True)
    tokens: Mapped[str] = mapped_column(Encrypted)  # {"access_token", "refresh_token", "token_type"}
    scope: Mapped[str | None] = mapped_column(String(1000))
    expires_at: Mapped[dt.datetime | None] = mapped_column()  # the access token's expiry (UTC); None: not said
    revoked_at: Mapped[dt.datetime | None] = mapped_column()
    connected_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    connected_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    refreshed_at: Mapped[dt.datetime | None] = mapped_column()


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
    source: Mapped[str] = mapped_column(String(MAX_NAME + 100))  # e.g. "merit: Acme OÜ"
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_run.id"), index=True)
    flag: Mapped[str | None] = mapped_column(String(200))  # e.g. dropped from a positive number to 0
    pending_value: Mapped[int | None] = mapped_column()  # a flagged value waiting for the admin
    task: Mapped[SummaryTask] = relationship(back_populates="values")
    _fit = fits("source")


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


LIVE = ("queued", "retrying", "running")
LIVE_SUBJECT = "status IN ('queued', 'retrying', 'running') AND subject IS NOT NULL"


class SyncRun(db.Model):
    """The record of one background job: what, who, when, outcome, error. The database, not Redis,
    is the history."""

    __tablename__ = "sync_run"
    __table_args__ = (Index("uq_sync_run_live_subject", "kind", "subject", unique=True,
                            postgresql_where=text(LIVE_SUBJECT), sqlite_where=text(LIVE_SUBJECT)),)
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firm.id"), index=True)  # NULL: the host product's
    integration_id: Mapped[int | None] = mapped_column(ForeignKey("integration.id"), index=True)
    client_connection_id: Mapped[int | None] = mapped_column(ForeignKey("client_connection.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    # A batch's child points at its parent (hub.jobs.start_batch); the parent is final when every child is.
    parent_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_run.id"), index=True)
    # The unit of work the run acts on ("export:17"): at most one live run per kind and subject (index below).
    subject: Mapped[str | None] = mapped_column(String(60))
    # queued running retrying finishing | final: succeeded failed partial (a batch where some children failed)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    trigger: Mapped[str] = mapped_column(String(20), default="user")  # user schedule api cli
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # ids and options only, never secrets
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # HubError.as_dict()
    error_detail: Mapped[str | None] = mapped_column(Text)  # traceback of unexpected errors (masked)
    attempts: Mapped[int] = mapped_column(default=0)
    job_id: Mapped[str | None] = mapped_column(String(100))
    worker: Mapped[str | None] = mapped_column(String(200))  # the RQ worker running the current attempt
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    updated_at: Mapped[dt.datetime | None] = mapped_column(default=utcnow)  # last change of status (reconciler)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column()  # a retry is due then (Retry-After), not sooner
    # Attempts that met a vendor quota resetting at a known time (RateLimited(until=...)): the run waited for the
    # reset; they do not count against the kind's attempts (hub.jobs).
    quota_waits: Mapped[int] = mapped_column(default=0, server_default="0")
    items: Mapped[list["SyncRunItem"]] = relationship(back_populates="run", cascade="all, delete-orphan")

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed", "partial")


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
    # The VAT rounding rule the totals were computed with (VendorInfo.vat_rounding of the vendor the invoice is
    # exported to: "rate" or "line"), set when created and again when issued (hub.exports).
    vat_rounding: Mapped[str] = mapped_column(String(10), default="rate", server_default="rate")
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
    # pending uncertain sent confirmed booked_with_differences failed (hub.exports)
    status: Mapped[str] = mapped_column(String(30), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    vendor_invoice_id: Mapped[str | None] = mapped_column(String(MAX_ID))
    vendor_number: Mapped[str | None] = mapped_column(String(MAX_ID))
    last_error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    paid_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    paid_on: Mapped[dt.date | None] = mapped_column()
    # The vendor account the invoice was sent to, pinned at the first attempt (hub.exports): "firm" (the
    # integration's credentials) or "client" (the client's own, ``account_connection_id``; NULL once unlinked).
    account: Mapped[str | None] = mapped_column(String(10))
    account_connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("client_connection.id", ondelete="SET NULL"), index=True)
    # What the vendor booked, read back after the export (hub.readback.booked_as_dict); NULL: not read back (the
    # plugin does not report totals) -- "Confirmed (totals not verified)".
    booked: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # How the booked invoice differs from the issued one (hub.readback.Difference.as_dict, in words); NULL or empty:
    # booked as issued.
    differences: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    invoice: Mapped[Invoice] = relationship()
    _fit = fits("vendor_number")


def _per_account(table: str, *columns: str) -> tuple[Index, Index]:
    """Unique ``columns`` per vendor account: the firm's (``client_connection_id IS NULL``) or a client's own."""
    firm = "client_connection_id IS NULL"
    own = "client_connection_id IS NOT NULL"
    return (Index(f"uq_{table}_firm_account", "integration_id", *columns, unique=True,
                  sqlite_where=text(firm), postgresql_where=text(firm)),
            Index(f"uq_{table}_client_account", "client_connection_id", *columns, unique=True,
                  sqlite_where=text(own), postgresql_where=text(own)))


class CatalogItem(db.Model):
    """A vendor's product/article or VAT type/tax rate, pulled and cached per **vendor account**: the firm
    integration's (``client_connection_id`` NULL) or a client's own account (its connection)."""

    __tablename__ = "catalog_item"
    __table_args__ = _per_account("catalog_item", "kind", "vendor_id")
    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id"), index=True)
    client_connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("client_connection.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # product | tax_rate
    vendor_id: Mapped[str] = mapped_column(String(MAX_ID))
    code: Mapped[str] = mapped_column(String(MAX_ID))
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    rate: Mapped[Decimal | None] = mapped_column(Numeric(6, 3))  # tax rates: percent
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))  # products
    fetched_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    _fit = fits("name")


class CatalogMapping(db.Model):
    """The hub's product code or VAT rate → the vendor's product code or tax id, per vendor account (as
    :class:`CatalogItem`)."""

    __tablename__ = "catalog_mapping"
    __table_args__ = _per_account("catalog_mapping", "kind", "hub_key")
    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id"), index=True)
    client_connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("client_connection.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # product | tax_rate
    hub_key: Mapped[str] = mapped_column(String(100))  # a product code, or a VAT rate such as "22"
    vendor_code: Mapped[str] = mapped_column(String(MAX_ID))  # CatalogItem.code (products) / .vendor_id (tax rates)
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


class ServiceToken(db.Model):
    """A token of the host product (``hubsvc_…``): provisions firms, users and clients for every firm. Created
    with the CLI only, shown once, stored as a SHA-256 hash; bearer only, never a browser session."""

    __tablename__ = "service_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class WebhookEndpoint(db.Model):
    """Where the hub delivers signed events (hub.webhooks): a firm's (``firm_id``) or the host product's
    (``firm_id`` NULL: every firm's events)."""

    __tablename__ = "webhook_endpoint"
    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firm.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list[str] | None] = mapped_column(JSON)  # event types; empty = every event
    secret: Mapped[str] = mapped_column(Encrypted)  # the signing secret
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    failing_since: Mapped[dt.datetime | None] = mapped_column()  # first failure of the current run of them
    created_by: Mapped[str] = mapped_column(String(200), default="system")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookDelivery(db.Model):
    """The outbox and the delivery log: one row per (event, endpoint)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (UniqueConstraint("endpoint_id", "event_id"),
                      Index("ix_webhook_delivery_due", "status", "next_attempt_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id"), index=True)
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firm.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # the event envelope, sent as the body
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending retrying delivered failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column()
    delivered_at: Mapped[dt.datetime | None] = mapped_column()
    last_status_code: Mapped[int | None] = mapped_column()
    last_response: Mapped[str | None] = mapped_column(Text)  # the first 1000 characters of the body
    last_error: Mapped[str | None] = mapped_column(String(500))
    lag_ms: Mapped[int | None] = mapped_column()  # created → delivered
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
