"""Provisioning: firms, users and clients created and updated by the host product (service API), an operator
(``flask hub firm|user|client``) or a firm's own admins (pages) — idempotent upserts by the host's external id.

* **Firms** (name, country, time zone, plan, active) by ``Firm.external_id``. Deactivating a firm disables its
  integrations (nothing is scheduled for it any more) and stops its users and API tokens.
* **Users** (e-mail, name, role, active) by ``(firm, external_id)``. A new user has no password: they get a
  set-password link (:func:`invite_link`; signed, valid ``HUB_INVITE_MAX_AGE`` seconds, void once used). No
  password is ever generated, stored in clear or returned.
* **Clients** (name, registration code, VAT number, e-mail, address, customer type, active) by
  ``(firm, external_id)``; rows without an external id match by registration code, then by an unambiguous name,
  so re-importing a CSV updates instead of duplicating. A registration code another client (or another row of
  the batch) has is refused, in New client's words (:func:`hub.clients.code_taken`): one company, one client.
* **Bulk** (:func:`import_clients`): every row validated on its own; the report lists what is created, updated,
  unchanged and refused (with the row number and field messages). The valid rows are written in one
  transaction; by default nothing at all is written when a row is refused (``partial=True`` writes the valid
  ones) — never half of a batch.

The client fields are issue 14's client details (the same names); this module keeps its own schema until the
two are unified.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import marshmallow
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from marshmallow import fields, validate

from hub import audit
from hub.clients import ClientDetailsSchema, CodeTaken, code_taken, normalise_code
from hub.connections import set_enabled
from hub.errors import ConfigError
from hub.models import PLANS, ROLES, Client, Firm, Integration, User, db

UNUSABLE_PASSWORD = "!"  # no password yet: werkzeug never matches it
INVITE_SALT = "hub-set-password"
DEFAULT_INVITE_MAX_AGE = 7 * 24 * 3600
MAX_BULK_ROWS = 5000
EXTERNAL_ID = validate.Regexp(r"^[!-~]{1,100}$", error="Use 1 to 100 visible ASCII characters.")


def _blank_to_none(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    return {k: (v.strip() or None) if isinstance(v, str) else v for k, v in data.items()}


@cache
def _time_zones() -> frozenset[str]:
    """The IANA time zone names, read once per process (reading them walks the tz database: about 80 ms)."""
    return frozenset(available_timezones())


def _timezone(value: str) -> None:
    if value not in _time_zones():
        raise marshmallow.ValidationError("Use an IANA time zone, e.g. Europe/Tallinn.")


class FirmSchema(marshmallow.Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={"example": "Acme Books OÜ"})
    country = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{2}$", error="Use the two-letter "
                            "country code (ISO 3166-1), e.g. EE."), metadata={"example": "EE"})
    timezone = fields.String(load_default=None, validate=_timezone, metadata={"example": "Europe/Tallinn"})
    plan = fields.String(load_default=None, validate=validate.OneOf(PLANS), metadata={"example": "team"})
    active = fields.Boolean(load_default=None, metadata={"example": True})

    @marshmallow.pre_load
    def _clean(self, data: Any, **kwargs: Any) -> Any:
        data = _blank_to_none(data)
        if isinstance(data, dict) and isinstance(data.get("country"), str):
            data["country"] = data["country"].upper()
        return data


class UserSchema(marshmallow.Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254), metadata={"example": "mari@acme.example"})
    name = fields.String(load_default=None, validate=validate.Length(max=200), metadata={"example": "Mari Maasikas"})
    role = fields.String(load_default=None, validate=validate.OneOf(ROLES), metadata={"example": "admin"})
    active = fields.Boolean(load_default=None, metadata={"example": True})

    @marshmallow.pre_load
    def _clean(self, data: Any, **kwargs: Any) -> Any:
        data = _blank_to_none(data)
        if isinstance(data, dict) and isinstance(data.get("email"), str):
            data["email"] = data["email"].lower()
        return data


class ClientSchema(ClientDetailsSchema):
    """A client's details as the host product sends them: the rules of the client page and of
    ``PATCH /api/v1/clients/{id}`` (:class:`hub.clients.ClientDetailsSchema`: omitted fields keep their value,
    blank strings clear them) and ``active``."""

    active = fields.Boolean(metadata={"example": True})

    @marshmallow.pre_load
    def _host(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("customer_type"), str):
            data["customer_type"] = data["customer_type"].strip().lower()
        if "active" in data and data["active"] is None:
            del data["active"]  # null: keep
        return data


class ClientRowSchema(ClientSchema):
    """A row of a bulk import: the client's details and, preferably, the host product's id."""

    external_id = fields.String(allow_none=True, validate=EXTERNAL_ID, metadata={"example": "cust-0001"})


CLIENT_FIELDS = tuple(f for f in ClientSchema().fields if f != "active")


# -- firms ------------------------------------------------------------------------------------
def upsert_firm(external_id: str, data: dict[str, Any]) -> tuple[Firm, bool]:
    """Create or update the firm with the host's ``external_id``; returns ``(firm, created)``."""
    EXTERNAL_ID(external_id)
    loaded = FirmSchema().load(data)
    firm = Firm.query.filter_by(external_id=external_id).one_or_none()
    created = firm is None
    if created:
        firm = Firm(external_id=external_id, timezone="Europe/Tallinn", plan="team", active=True)
        db.session.add(firm)
    changed = _apply(firm, {k: v for k, v in loaded.items() if v is not None and k != "active"})
    db.session.commit()
    if created or changed:
        audit.record(firm.id, "firm.created" if created else "firm.updated", firm,
                     details={"changed_fields": changed})
    if loaded.get("active") is not None:
        set_firm_active(firm, loaded["active"])
    return firm, created


def create_firm(data: dict[str, Any]) -> Firm:
    """A firm without a host product (an operator running the hub on its own)."""
    loaded = FirmSchema().load(data)
    firm = Firm(**{k: v for k, v in loaded.items() if v is not None and k != "active"})
    db.session.add(firm)
    db.session.commit()
    audit.record(firm.id, "firm.created", firm)
    return firm


# -- plans ------------------------------------------------------------------------------------
PLAN_NOTICE = "Integrations are available on the Team plan and above."


class PlanRequired(ConfigError):
    """The firm's plan does not include integrations: the pages answer ``403`` with their notice, the API a
    ``409`` problem (kind ``config``, as enabling always did), the CLI an error — from this one rule
    (:func:`require_integrations`)."""


def require_integrations(firm: Firm) -> None:
    """The plan gate of every door (pages, API, CLI): anything that configures or runs an integration, links
    clients or issues invoices needs a plan with integrations (:attr:`hub.models.Firm.integrations_allowed`)."""
    if not firm.integrations_allowed:
        raise PlanRequired(PLAN_NOTICE, hint="The Company Owner upgrades the firm to the Team plan in its "
                                             "subscription.")


def set_plan(firm: Firm, plan: str) -> None:
    if plan not in PLANS:
        raise marshmallow.ValidationError({"plan": [f"Use one of {', '.join(PLANS)}."]})
    old, firm.plan = firm.plan, plan
    db.session.commit()
    audit.record(firm.id, "firm.plan_changed", firm, details={"from": old, "to": plan})


def set_firm_active(firm: Firm, active: bool) -> None:
    """Deactivating a firm disables its integrations (nothing is scheduled) and stops its users and tokens;
    reactivating leaves the integrations disabled (an admin enables them again)."""
    if firm.active == active:
        return
    firm.active = active
    db.session.commit()
    if not active:
        for integration in Integration.query.filter_by(firm_id=firm.id, enabled=True):
            set_enabled(integration, False)
    audit.record(firm.id, "firm.activated" if active else "firm.deactivated", firm)


def firm_out(firm: Firm) -> dict[str, Any]:
    return {"id": firm.id, "external_id": firm.external_id, "name": firm.name, "country": firm.country,
            "timezone": firm.timezone, "plan": firm.plan, "active": firm.active, "created_at": firm.created_at}


# -- users ------------------------------------------------------------------------------------
def _email_taken(email: str, user: User | None) -> bool:
    other = User.query.filter_by(email=email).one_or_none()
    return other is not None and (user is None or other.id != user.id)


class Conflict(marshmallow.ValidationError):
    """The request is valid but conflicts with what is stored (the API answers ``409``)."""


class EmailTaken(Conflict):
    """The e-mail address belongs to another user."""


class LastOwner(Conflict):
    """The change would leave the firm without an active Company Owner."""


def _check_owner_change(user: User | None, *, role: str | None = None, active: bool | None = None) -> None:
    if user is not None and (problem := owner_change_problem(user, role=role, active=active)):
        raise LastOwner({"active" if active is False else "role": [problem]})


def upsert_user(firm: Firm, external_id: str | None, data: dict[str, Any], *,
                user: User | None = None) -> tuple[User, bool]:
    """Create or update a user of ``firm`` (by the host's ``external_id``, or ``user`` itself); returns
    ``(user, created)``. A new user has no password (send them :func:`invite_link`)."""
    if external_id is not None:
        EXTERNAL_ID(external_id)
    loaded = UserSchema().load(data)
    if user is None and external_id is not None:
        user = User.query.filter_by(firm_id=firm.id, external_id=external_id).one_or_none()
    if _email_taken(loaded["email"], user):
        raise EmailTaken({"email": ["Another user has this e-mail address already."]})
    _check_owner_change(user, role=loaded.get("role"), active=loaded.get("active"))  # before anything is written
    created = user is None
    if created:
        user = User(firm_id=firm.id, external_id=external_id, password_hash=UNUSABLE_PASSWORD, role="member",
                    name="", active=True)
        db.session.add(user)
    changed = _apply(user, {k: v for k, v in loaded.items() if v is not None})
    db.session.commit()
    if created or changed:
        audit.record(firm.id, "user.created" if created else "user.updated", user,
                     details={"changed_fields": changed, "email": user.email})
    return user, created


def set_user_active(user: User, active: bool) -> None:
    """Deactivate (or activate again) a user; the firm's last active Company Owner is not deactivated."""
    _check_owner_change(user, active=active)
    if user.active != active:
        user.active = active
        db.session.commit()
        audit.record(user.firm_id, "user.activated" if active else "user.deactivated", user,
                     details={"email": user.email})


def set_role(user: User, role: str) -> None:
    if role not in ROLES:
        raise marshmallow.ValidationError({"role": [f"Use one of {', '.join(ROLES)}."]})
    _check_owner_change(user, role=role)
    if user.role != role:
        old, user.role = user.role, role
        db.session.commit()
        audit.record(user.firm_id, "user.role_changed", user,
                     details={"email": user.email, "from": old, "to": role})


def owner_change_problem(user: User, *, role: str | None = None, active: bool | None = None) -> str | None:
    """Why changing ``user``'s role to ``role`` or their ``active`` flag would leave the firm without an active
    Company Owner (``None`` when it would not): the last owner is neither demoted nor deactivated."""
    stays_owner = (role or user.role) == "owner" and (user.active if active is None else active)
    if user.role != "owner" or not user.active or stays_owner:
        return None
    others = User.query.filter(User.firm_id == user.firm_id, User.role == "owner", User.active.is_(True),
                               User.id != user.id).count()
    if others:
        return None
    what = "deactivated" if active is False else "made an Admin or Member"
    return (f"{user.email} is the firm's only active Company Owner and cannot be {what}: make another user an "
            "Owner first.")


def user_out(user: User) -> dict[str, Any]:
    return {"id": user.id, "firm_id": user.firm_id, "external_id": user.external_id, "email": user.email,
            "name": user.name, "role": user.role, "active": user.active, "has_password": has_password(user),
            "created_at": user.created_at}


def has_password(user: User) -> bool:
    return user.password_hash != UNUSABLE_PASSWORD


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=INVITE_SALT)


def _password_mark(user: User) -> str:
    """Changes when the password does: a used link is void."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


DEFAULT_BASE_URL = "http://127.0.0.1:5000"


def _setting(name: str) -> Any:
    """An operator setting: the app's config, else the environment (``None`` when neither has it)."""
    value = current_app.config.get(name)
    return value if value not in (None, "") else (os.environ.get(name) or None)


def base_url_set() -> bool:
    """Whether ``HUB_BASE_URL`` is configured (otherwise links use :data:`DEFAULT_BASE_URL`)."""
    return _setting("HUB_BASE_URL") is not None


@dataclass
class Invite:
    url: str
    expires_at: dt.datetime


def invite_link(user: User, *, base_url: str | None = None) -> Invite:
    """A set-password link for ``user`` (an invitation for a new user, a reset for one with a password), on
    ``base_url``, else ``HUB_BASE_URL``, else :data:`DEFAULT_BASE_URL`."""
    if not user.active or not user.firm.active:
        raise marshmallow.ValidationError({"user": ["This user (or their firm) is deactivated; activate them "
                                                    "first."]})
    token = _serializer().dumps({"u": user.id, "p": _password_mark(user)})
    max_age = int(_setting("HUB_INVITE_MAX_AGE") or DEFAULT_INVITE_MAX_AGE)
    base = (base_url or _setting("HUB_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    audit.record(user.firm_id, "user.invited", user, details={"email": user.email})
    return Invite(url=f"{base}/set-password/{token}",
                  expires_at=dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
                  + dt.timedelta(seconds=max_age))


def user_for_link(token: str) -> User | None:
    """The user a set-password link is for, or ``None`` (expired, tampered, already used)."""
    max_age = int(_setting("HUB_INVITE_MAX_AGE") or DEFAULT_INVITE_MAX_AGE)
    try:
        data = _serializer().loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or not user.active or _password_mark(user) != data.get("p"):
        return None
    return user


MIN_PASSWORD = 10


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise marshmallow.ValidationError({"password": [f"Use at least {MIN_PASSWORD} characters."]})
    user.set_password(password)
    db.session.commit()
    audit.record(user.firm_id, "user.password_set", user)


# -- clients ----------------------------------------------------------------------------------
def _apply(obj: Any, values: dict[str, Any]) -> list[str]:
    changed = sorted(k for k, v in values.items() if getattr(obj, k) != v)
    for key in changed:
        setattr(obj, key, values[key])
    return changed


def client_out(client: Client) -> dict[str, Any]:
    return {"id": client.id, "external_id": client.external_id, "active": client.active,
            **{name: getattr(client, name) for name in CLIENT_FIELDS}, "created_at": client.created_at}


def upsert_client(firm: Firm, external_id: str | None, data: dict[str, Any], *,
                  client: Client | None = None) -> tuple[Client, bool]:
    """Create or update one client (by the host's ``external_id``, or ``client`` itself)."""
    if external_id is not None:
        EXTERNAL_ID(external_id)
    report = import_clients(firm, [{**data, "external_id": external_id}],
                            clients=[client] if client else None, audit_each=True)
    if report.refused:
        refused = report.refused[0]
        raise (CodeTaken if refused["row"] in report.conflicts else marshmallow.ValidationError)(refused["errors"])
    return db.session.get(Client, report.ids[0]), bool(report.created)


@dataclass
class ImportReport:
    """What a bulk import did (or, when ``applied`` is false, would have done)."""

    applied: bool = False
    created: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    #: rows refused because another client (or row) has their registration code: the firm's state, not the row
    conflicts: set[int] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {"applied": self.applied, "counts": {k: len(getattr(self, k)) for k in
                                                    ("created", "updated", "unchanged", "refused")},
                "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "refused": self.refused}


def _key_errors(row: dict[str, Any]) -> dict[str, list[str]]:
    return {} if row.get("name") or row.get("external_id") or row.get("reg_code") else \
        {"name": ["A new client needs a name."]}


def import_clients(firm: Firm, rows: list[dict[str, Any]], *, partial: bool = False, dry_run: bool = False,
                   clients: list[Client] | None = None, audit_each: bool = False) -> ImportReport:
    """Validate every row, then write the valid ones in one transaction (none if a row is refused, unless
    ``partial``). Row numbers in the report are 1-based positions in ``rows``. ``clients`` pins the target of
    each row (single updates by hub id). A report that was not applied (``dry_run``, or a refused row) still
    tells the rows that would update (with ``changed_fields``) from those that would change nothing."""
    report = ImportReport()
    if len(rows) > MAX_BULK_ROWS:
        report.refused.append({"row": None, "external_id": None,
                               "errors": {"clients": [f"Send at most {MAX_BULK_ROWS} rows at once."]}})
        return report
    existing = Client.query.filter_by(firm_id=firm.id).all()
    by_external = {c.external_id: c for c in existing if c.external_id}
    by_code: dict[str, list[Client]] = {}
    for c in existing:
        if normalise_code(c.reg_code):
            by_code.setdefault(normalise_code(c.reg_code), []).append(c)
    by_name: dict[str, list[Client]] = {}
    for c in existing:
        by_name.setdefault(c.name.casefold(), []).append(c)
    schema = ClientRowSchema()
    seen: dict[str, int] = {}
    codes: dict[str, tuple[int, Client | None]] = {}  # registration code → the row (and client) that has it
    plan: list[tuple[int, Client | None, dict[str, Any]]] = []
    for number, raw in enumerate(rows, start=1):
        ref = raw.get("external_id") if isinstance(raw, dict) else None
        if isinstance(raw, dict) and None in raw:  # a CSV row with more values than the header has columns
            report.refused.append({"row": number, "external_id": ref if isinstance(ref, str) else None,
                                   "errors": {"_row": [CSV_EXTRA_VALUES]}})
            continue
        try:
            loaded = schema.load(raw if isinstance(raw, dict) else {"_row": raw})
        except marshmallow.ValidationError as exc:
            report.refused.append({"row": number, "external_id": ref if isinstance(ref, str) else None,
                                   "errors": _messages(exc.messages)})
            continue
        external_id = loaded.pop("external_id", None)
        pinned = clients[number - 1] if clients else None
        target, problem = pinned, None
        code = normalise_code(loaded.get("reg_code"))
        if target is None and external_id:
            target = by_external.get(external_id)
        if target is None and not external_id:
            matches = by_code.get(code, []) if code else by_name.get((loaded.get("name") or "").casefold(), [])
            if len(matches) > 1:
                problem = {"reg_code" if code else "name":
                           [f"{len(matches)} clients match this row; give an external_id to tell them apart."]}
            target = matches[0] if len(matches) == 1 else None
        if target is None and not problem:
            problem = {} if loaded.get("name") else {"name": ["A new client needs a name."]}
        key = f"id:{target.id}" if target is not None else f"new:{external_id or code}" \
            f":{'' if external_id or code else (loaded.get('name') or '').casefold()}"
        if not problem and key in seen:
            problem = {"_row": [f"Row {seen[key]} is the same client; send each client once."]}
        if not problem and code:  # one company, one client: the rule of New client (hub.clients.code_taken)
            other = next((c for c in by_code.get(code, []) if c is not target), None)
            earlier = codes.get(code)
            if other is not None:
                problem = code_taken(other)
            elif earlier is not None:
                problem = {"reg_code": [f"Row {earlier[0]} has this registration code too; one company is one "
                                        "client: keep one of the rows."]}
            if problem:
                report.conflicts.add(number)
        if problem:
            report.refused.append({"row": number, "external_id": external_id, "errors": problem})
            continue
        if code:
            codes[code] = (number, target)
        seen[key] = number
        if external_id and target is not None and target.external_id is None:
            loaded["external_id"] = external_id  # a client matched by hub id or code learns the host's id
        if target is None and external_id:
            loaded["external_id"] = external_id
        plan.append((number, target, loaded))
    if (report.refused and not partial) or dry_run:
        for number, target, loaded in plan:
            entry = {"row": number, "external_id": loaded.get("external_id") or (target.external_id if target
                                                                                  else None),
                     "id": target.id if target else None}
            if target is None:
                report.created.append(entry)
                continue
            changed = sorted(k for k, v in loaded.items() if getattr(target, k) != v)
            if changed:
                report.updated.append({**entry, "changed_fields": changed})
            else:
                report.unchanged.append(entry)
        return report
    new_rows: list[tuple[int, Client]] = []
    for number, target, loaded in plan:
        if target is None:
            client = Client(firm_id=firm.id, customer_type="company", active=True)
            _apply(client, loaded)
            db.session.add(client)
            new_rows.append((number, client))
            continue
        changed = _apply(target, loaded)
        entry = {"row": number, "external_id": target.external_id, "id": target.id}
        if changed:
            entry["changed_fields"] = changed
            report.updated.append(entry)
        else:
            report.unchanged.append(entry)
        report.ids.append(target.id)
    db.session.flush()
    for number, client in new_rows:
        report.created.append({"row": number, "external_id": client.external_id, "id": client.id})
        report.ids.append(client.id)
    db.session.commit()
    report.applied = True
    counts = report.as_dict()["counts"]
    if audit_each:
        for entry in report.created + report.updated:
            audit.record(firm.id, "client.created" if entry in report.created else "client.updated",
                         db.session.get(Client, entry["id"]),
                         details={"changed_fields": entry.get("changed_fields", [])})
    elif report.created or report.updated:
        audit.record(firm.id, "clients.imported", firm, details=counts)
    return report


def _messages(messages: Any) -> dict[str, list[str]]:
    if isinstance(messages, dict):
        return {str(k): v if isinstance(v, list) else [str(v)] for k, v in messages.items()}
    return {"_row": [str(messages)]}


#: CSV header aliases (case-insensitive) → field names.
CSV_ALIASES = {
    "external id": "external_id", "id": "external_id", "registration code": "reg_code", "reg code": "reg_code",
    "registry code": "reg_code", "vat": "vat_no", "vat number": "vat_no", "vat no": "vat_no", "e-mail": "email",
    "street": "address_street", "city": "address_city", "postal code": "address_postal_code",
    "zip": "address_postal_code", "country": "address_country", "type": "customer_type",
    "customer type": "customer_type",
}


CSV_DELIMITERS = ",;\t"
CSV_EXTRA_VALUES = ("This row has more values than the header has columns: put double quotes around a value that "
                    "contains the separator, e.g. \"Kask, Kuusk OÜ\".")


def _csv_delimiter(text: str) -> str:
    """The separator of a CSV file: the one of comma, semicolon and tab that splits its header row into the most
    columns (a comma when none does). The header names columns, so it has no separators inside values; the rows
    are then read by the :mod:`csv` module's RFC 4180 rules (doubled quotes, separators and line breaks inside
    quoted values)."""
    header = text.splitlines()[0] if text else ""
    widths = {d: len(next(csv.reader([header], delimiter=d), [])) for d in CSV_DELIMITERS}
    best = max(CSV_DELIMITERS, key=lambda d: widths[d])
    return best if widths[best] > 1 else ","


def parse_csv(text: str) -> list[dict[str, Any]]:
    """Rows of a CSV file (RFC 4180; comma, semicolon or tab separated, see :func:`_csv_delimiter`; a leading
    byte-order mark is dropped; a header row naming the fields, see :data:`CSV_ALIASES`). Unknown columns are
    refused row by row by the schema, so a typo is not silently dropped; a row with more values than the header
    has columns is refused by :func:`import_clients` (its values would land in the wrong fields)."""
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise marshmallow.ValidationError({"file": ["The file contains NUL characters, so it is not CSV text: save "
                                                    "it from the spreadsheet as CSV UTF-8."]})
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=csv.excel, delimiter=_csv_delimiter(text))
    try:
        fieldnames = reader.fieldnames
        raw_rows = list(reader)
    except csv.Error as exc:
        raise marshmallow.ValidationError({"file": [f"The file is not readable as CSV (line {reader.line_num}: "
                                                    f"{exc}); save it from the spreadsheet as CSV UTF-8."]}) from None
    if not fieldnames:
        raise marshmallow.ValidationError({"file": ["The file is empty: the first row must name the columns, "
                                                    "e.g. external_id,name,reg_code,vat_no,email."]})
    names = {}
    for header in fieldnames:
        key = (header or "").strip().lower()
        names[header] = CSV_ALIASES.get(key, key.replace(" ", "_"))
    rows = []
    for raw in raw_rows:
        if not any((v or "").strip() for v in raw.values() if isinstance(v, str)) and not raw.get(None):
            continue
        rows.append({(names[k] if k is not None else None): v for k, v in raw.items()})
    return rows


def firm_by_ref(ref: str) -> Firm | None:
    """A firm by hub id, external id or exact name (for the CLI)."""
    if ref.isdigit():
        firm = db.session.get(Firm, int(ref))
        if firm is not None:
            return firm
    return Firm.query.filter_by(external_id=ref).one_or_none() or Firm.query.filter_by(name=ref).first()


def firm_today(firm: Firm) -> dt.date:
    return dt.datetime.now(ZoneInfo(firm.timezone)).date()
