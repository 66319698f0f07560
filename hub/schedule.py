"""The dispatcher: enqueue what is due and not yet done.

``flask hub schedule`` (or RQ's cron scheduler calling :func:`dispatch`) runs it every few minutes.
Each flow registers a dispatcher with :func:`dispatcher`; every dispatcher must be safe to run
twice at once (deterministic job ids and database constraints), because nothing guarantees a
single scheduler process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from hub.models import CredentialDraft, db, utcnow

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


@dispatcher("expired_drafts")
def _expire_drafts() -> int:
    from hub.connections import DRAFT_TTL

    deleted = CredentialDraft.query.filter(CredentialDraft.created_at < utcnow() - DRAFT_TTL).delete()
    db.session.commit()
    return deleted
