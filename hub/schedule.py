"""The dispatcher: enqueue what is due and not yet done.

``flask hub schedule`` (or RQ's cron scheduler calling :func:`dispatch`) runs it every few minutes, and the
reconciler (:func:`reconcile`: nothing stays stuck) every ``HUB_RECONCILE_INTERVAL`` seconds.
Each flow registers a dispatcher with :func:`dispatcher`; every dispatcher must be safe to run
twice at once (deterministic job ids and database constraints), because nothing guarantees a
single scheduler process.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from hub import jobs, statistics, webhooks
from hub.drafts import DRAFT_TTL, REJECTED_DRAFT_TTL
from hub.health import notify_expiring
from hub.models import (
    OK,
    UNTESTED,
    CredentialDraft,
    Integration,
    MonthlyImport,
    db,
    utcnow,
)
from hub.services import services
from hub.types import Period
from hub.vendor_accounts import credentials_owner

log = logging.getLogger("hub.schedule")
DISPATCHERS: dict[str, Callable[[], int]] = {}


def dispatcher(name: str) -> Callable[[Callable[[], int]], Callable[[], int]]:
    def register(func: Callable[[], int]) -> Callable[[], int]:
        DISPATCHERS[name] = func
        return func

    return register


def dispatch() -> dict[str, int]:
    """Run every dispatcher once; return how many jobs each enqueued. One failing dispatcher does
    not stop the others."""
    counts = {}
    for name, func in DISPATCHERS.items():
        try:
            counts[name] = func()
        except Exception:
            db.session.rollback()
            log.exception("dispatcher %s failed", name)
            counts[name] = -1
    return counts


dispatcher("webhooks")(webhooks.sweep)  # deliveries whose job was lost (hub.webhooks)
dispatcher("credential_expiry")(webhooks.credentials_expiring)


# -- nothing gets stuck -------------------------------------------------------------------------
@dispatcher("reconcile")
def reconcile(now: dt.datetime | None = None) -> int:
    """The job layer's rules (:func:`hub.jobs.reconcile`): every run, batches included, reaches a final state."""
    counts = jobs.reconcile(now)
    if any(counts.values()):
        log.warning("reconciled: %s", counts)
    return sum(counts.values())


@dispatcher("expired_drafts")
def _expire_drafts() -> int:
    """Unsaved drafts after ``DRAFT_TTL``; a refused Save (kept for "Replace anyway") after a week."""
    now = utcnow()
    deleted = CredentialDraft.query.filter(CredentialDraft.state != "rejected",
                                           CredentialDraft.created_at < now - DRAFT_TTL).delete()
    deleted += CredentialDraft.query.filter(CredentialDraft.state == "rejected",
                                            CredentialDraft.created_at < now - REJECTED_DRAFT_TTL).delete()
    db.session.commit()
    return deleted


@dispatcher("expiry_warnings")
def _expiry_warnings() -> int:
    """One notification per credential that expires within 30 days (before it passes)."""
    return notify_expiring()


# -- monthly imports ---------------------------------------------------------------------------
RETRY_FAILED_AFTER = dt.timedelta(hours=1)
STALE_QUEUED_AFTER = dt.timedelta(hours=6)


#: Where a country's bank holidays differ by region and the firm has no region yet: the most common one.
DEFAULT_SUBDIVISION = {"GB": "ENG"}


@functools.lru_cache(maxsize=256)
def work_day_calendar(country: str, year: int) -> holidays.HolidayBase | dict:
    """Public holidays of ``country`` (ISO code) in ``year``; weekends only for an unknown country. Kept per
    process (building a calendar costs more than a whole import day's other work per client)."""
    try:
        return holidays.country_holidays(country, subdiv=DEFAULT_SUBDIVISION.get(country), years=year)
    except NotImplementedError:
        log.warning("no holiday calendar for %r: counting weekends only", country)
        return {}


def import_date(period: Period, import_day: str | int, country: str) -> dt.date:
    """The firm-local date on which ``period``'s statistics are imported.

    * ``last_work_day`` — the last day of the month that is neither a weekend nor a public holiday;
    * ``last_calendar_day`` — the last day of the month;
    * ``N`` (1–28) — day N of the following month.
    """
    if import_day == "last_calendar_day":
        return period.last_day
    if import_day == "last_work_day":
        calendar = work_day_calendar(country, period.year)
        day = period.last_day
        while day.weekday() >= 5 or day in calendar:
            day -= dt.timedelta(days=1)
        return day
    following = period.next()
    return dt.date(following.year, following.month, int(import_day))


def due_periods(import_day: str | int, country: str, linked_on: dt.date, today: dt.date) -> list[Period]:
    """Months whose import date has come (``<= today``) since the client was linked (``>= linked_on``).
    Months before the link are back-filled only by Reload data."""
    out = []
    period = Period.of(linked_on).previous()
    while True:
        when = import_date(period, import_day, country)
        if when > today:
            return out
        if when >= linked_on:
            out.append(period)
        period = period.next()


def _claim(connection_id: int, period: str, existing: MonthlyImport | None) -> bool:
    """Claim one (connection, month) for import; False when another dispatcher has it."""
    now = utcnow()
    if existing is None:
        try:
            with db.session.begin_nested():
                db.session.add(MonthlyImport(client_connection_id=connection_id, period=period, status="queued"))
        except IntegrityError:
            return False
        return True
    stale = (existing.status == "failed" and existing.updated_at < now - RETRY_FAILED_AFTER) or \
            (existing.status == "queued" and existing.updated_at < now - STALE_QUEUED_AFTER)
    if not stale:
        return False
    claimed = db.session.execute(update(MonthlyImport).where(
        MonthlyImport.id == existing.id, MonthlyImport.status == existing.status,
        MonthlyImport.updated_at == existing.updated_at).values(status="queued", updated_at=now))
    return claimed.rowcount == 1


@dispatcher("imports")
def dispatch_imports(now: dt.datetime | None = None) -> int:
    """Enqueue every (client, month) import that is due and not yet done; returns runs enqueued.

    Fair between firms: on an import day every firm's imports are due at once, so they are enqueued interleaved —
    every firm's first client, then every firm's second, … — and no firm waits behind another firm's hundreds of
    clients. In bulk: per integration one read of the months it has scheduled and one insert of its new claims;
    all the runs in one insert and one Redis pipeline (:func:`hub.statistics.import_many`)."""
    registry = services().registry
    per_firm: dict[int, list[tuple[int, int, int, list[str]]]] = {}
    for integration in Integration.query.filter_by(enabled=True).order_by(Integration.id):
        vendor = registry.vendors.get(integration.vendor)
        settings = statistics.summary_settings(integration)
        if vendor is None or not vendor.can("statistics") or not settings.get("mapping"):
            continue
        zone = ZoneInfo(integration.firm.timezone)
        today = (now or dt.datetime.now(dt.UTC)).astimezone(zone).date()
        due: dict[int, list[str]] = {}
        for connection in statistics.linked_connections(integration):
            if credentials_owner(integration, connection).status not in (OK, UNTESTED):
                continue
            linked_on = connection.created_at.replace(tzinfo=dt.UTC).astimezone(zone).date()
            periods = due_periods(settings.get("import_day", "last_work_day"), integration.firm.country, linked_on,
                                  today)
            if periods:
                due[connection.id] = [str(p) for p in periods]
        claimed = _claim_all(due)
        db.session.commit()
        per_firm.setdefault(integration.firm_id, []).extend(
            (integration.firm_id, integration.id, connection_id, claimed[connection_id])
            for connection_id in due if claimed.get(connection_id))
    interleaved = [job for round_ in itertools.zip_longest(*per_firm.values()) for job in round_ if job is not None]
    statistics.import_many(interleaved, trigger="schedule")
    return len(interleaved)


def _claim_all(due: dict[int, list[str]]) -> dict[int, list[str]]:
    """Claim the due (connection, month) pairs; returns those this dispatcher got, per connection. Months never
    scheduled are claimed by one insert that skips any another dispatcher inserted meanwhile (the unique
    constraint decides); months scheduled before are re-claimed one by one when stale (:func:`_claim`)."""
    if not due:
        return {}
    periods = sorted({p for ps in due.values() for p in ps})
    known: dict[tuple[int, str], MonthlyImport] = {}
    ids = list(due)
    for chunk in range(0, len(ids), 1000):
        for m in MonthlyImport.query.filter(MonthlyImport.client_connection_id.in_(ids[chunk:chunk + 1000]),
                                            MonthlyImport.period.in_(periods)):
            known[(m.client_connection_id, m.period)] = m
    claimed: dict[int, list[str]] = {}
    fresh = []
    for connection_id, months in due.items():
        for period in months:
            existing = known.get((connection_id, period))
            if existing is None:
                fresh.append({"client_connection_id": connection_id, "period": period, "status": "queued",
                              "created_at": utcnow(), "updated_at": utcnow()})
            elif _claim(connection_id, period, existing):
                claimed.setdefault(connection_id, []).append(period)
    table = MonthlyImport.__table__
    for chunk in range(0, len(fresh), 1000):
        insert = statistics.dialect_insert()(table).values(fresh[chunk:chunk + 1000])
        insert = insert.on_conflict_do_nothing(index_elements=["client_connection_id", "period"])
        for connection_id, period in db.session.execute(insert.returning(table.c.client_connection_id,
                                                                         table.c.period)):
            claimed.setdefault(connection_id, []).append(period)
    return {c: sorted(ps) for c, ps in claimed.items()}
