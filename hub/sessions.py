"""Sign-in sessions, kept on the server so that they can be ended.

The browser's (signed) cookie holds only a random session id; the database keeps its SHA-256 with the
user and an expiry (:class:`hub.models.UserSession`). Every page request looks the id up, so:

* signing out deletes that session — a copy of the cookie taken before stops working at once;
* a password change (:func:`set_password`) and an admin's "sign out everywhere" (:func:`end_all`) delete
  every session of the user;
* a session lasts at most ``PERMANENT_SESSION_LIFETIME`` (Flask's setting; 31 days unless configured)
  from sign-in, however it is used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app

from hub.models import User, UserSession, db, utcnow

#: ``last_seen_at`` is written at most this often per session (one write per page view would not scale).
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _lifetime() -> dt.timedelta:
    lifetime = current_app.permanent_session_lifetime
    return lifetime if isinstance(lifetime, dt.timedelta) else dt.timedelta(seconds=int(lifetime))


def start(user: User) -> str:
    """A new session for ``user`` (committed); returns the id to put in the cookie. The user's expired
    sessions are cleared on the way."""
    now = utcnow()
    UserSession.query.filter(UserSession.user_id == user.id, UserSession.expires_at <= now).delete()
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, token_hash=_hash(token), created_at=now, last_seen_at=now,
                               expires_at=now + _lifetime()))
    db.session.commit()
    return token


def resolve(token: str) -> User | None:
    """The user of the live session ``token`` (``None`` if unknown, ended or expired)."""
    row = UserSession.query.filter_by(token_hash=_hash(token)).one_or_none()
    now = utcnow()
    if row is None or row.expires_at <= now:
        return None
    if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        row.last_seen_at = now
        db.session.commit()
    return db.session.get(User, row.user_id)


def end(token: str) -> None:
    """End the session ``token`` (sign-out; idempotent)."""
    UserSession.query.filter_by(token_hash=_hash(token)).delete()
    db.session.commit()


def end_all(user: User) -> int:
    """End every session of ``user`` (sign out everywhere); returns how many there were."""
    count = UserSession.query.filter_by(user_id=user.id).delete()
    db.session.commit()
    return count


def active_count(user: User) -> int:
    return UserSession.query.filter(UserSession.user_id == user.id, UserSession.expires_at > utcnow()).count()


def set_password(user: User, password: str) -> None:
    """Change ``user``'s password and end every session they had (a stolen cookie dies with the old
    password). Whoever changes their own password signs in again."""
    user.set_password(password)
    UserSession.query.filter_by(user_id=user.id).delete()
    db.session.commit()
