"""In-app notifications: the one way a flow tells a firm's people that something happened (the bell, the
notifications page). A notification joins the caller's transaction: it exists exactly when what it tells of was
committed."""

from __future__ import annotations

from hub.models import Notification, db

LEVELS = ("info", "warning", "error")


def notify(firm_id: int, title: str, *, body: str = "", level: str = "info", link: str | None = None,
           user_id: int | None = None) -> Notification:
    """Tell the firm (``user_id``: one person of it; ``None``: everyone in it) ``title``, with ``body`` and a
    ``link`` to where it can be seen or fixed. Added to the session; the caller commits."""
    if level not in LEVELS:
        raise ValueError(f"unknown notification level {level!r}")
    notification = Notification(firm_id=firm_id, user_id=user_id, level=level, title=title[:200], body=body,
                                link=link)
    db.session.add(notification)
    return notification
