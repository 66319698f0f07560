"""The audit trail: who changed what. Never pass secret values in ``details``.

Who acted is established once, where authentication happens, with :func:`act_as`: the signed-in person (the web
session, an invite link), a firm's API token, the host product's service token (:mod:`hub.api`), an operator at
the command line (:mod:`hub.cli`). Outside those — jobs, the scheduler — the hub itself acts (``system``).
:func:`record` writes the current actor, so no flow passes it along.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from hub.models import ApiToken, AuditEvent, ServiceToken, User, db


@dataclass(frozen=True)
class Actor:
    """Who acts: ``code`` as ``AuditEvent.actor`` stores it, and the person if one acted (``AuditEvent.user_id``)."""

    code: str
    user_id: int | None = None


SYSTEM = Actor("system")
CLI = Actor("cli")


def person(user: User) -> Actor:
    return Actor(f"user:{user.id}", user.id)


def api_token(token: ApiToken) -> Actor:
    return Actor(f"api-token:{token.id}")


def service_token(token: ServiceToken) -> Actor:
    return Actor(f"service-token:{token.id}")


_current: ContextVar[Actor] = ContextVar("hub_audit_actor", default=SYSTEM)


def act_as(actor: Actor | None) -> None:
    """Who acts for the rest of this request (``None``: the hub itself; the web layer resets it after each)."""
    _current.set(actor or SYSTEM)


@contextmanager
def acting(actor: Actor) -> Iterator[None]:
    """Who acts inside the ``with`` block (a command; a test), as before it afterwards."""
    token = _current.set(actor)
    try:
        yield
    finally:
        _current.reset(token)


def current_actor() -> Actor:
    return _current.get()


def record(firm_id: int, action: str, target: Any, *, details: dict[str, Any] | None = None,
           user: User | None = None, actor: str | None = None) -> AuditEvent:
    """Record ``action`` on ``target`` by the current actor. ``user`` / ``actor`` name someone else: only for work
    done later on a person's behalf (a worker storing the credentials a person saved)."""
    who = person(user) if user is not None else Actor(actor) if actor else current_actor()
    event = AuditEvent(
        firm_id=firm_id, user_id=who.user_id, actor=who.code, action=action,
        target_type=type(target).__tablename__ if hasattr(type(target), "__tablename__") else type(target).__name__,
        target_id=getattr(target, "id", None), details=details or {},
    )
    db.session.add(event)
    db.session.commit()
    return event
