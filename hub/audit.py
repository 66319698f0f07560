"""The audit trail: who changed what. Never pass secret values in ``details``."""

from __future__ import annotations

from typing import Any

from hub.models import AuditEvent, User, db


def record(firm_id: int, action: str, target: Any, *, user: User | None = None, actor: str | None = None,
           details: dict[str, Any] | None = None) -> AuditEvent:
    event = AuditEvent(
        firm_id=firm_id, user_id=user.id if user else None,
        actor=actor or (f"user:{user.id}" if user else "system"), action=action,
        target_type=type(target).__tablename__ if hasattr(type(target), "__tablename__") else type(target).__name__,
        target_id=getattr(target, "id", None), details=details or {},
    )
    db.session.add(event)
    db.session.commit()
    return event
