"""API tokens: created by firm admins (or the CLI), shown once, stored as a SHA-256 hash, scoped to one
firm, with a role, revocable, with a last-used time.

Requests authenticate with ``Authorization: Bearer <token>``. A missing, unknown or revoked token is a
``401`` (with ``WWW-Authenticate: Bearer``); a valid token whose role may not do the thing is a ``403``.
Objects of other firms are never found (``404``), exactly like missing ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import g, request
from flask_smorest import abort

from hub import audit
from hub.models import ApiToken, Firm, db, utcnow

TOKEN_PREFIX = "hub_"
TOKEN_ROLES = ("admin", "member")
#: ``last_used_at`` is written at most this often per token (one write per request would not scale).
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass
class NewToken:
    """A freshly created token: ``secret`` is the only time the token itself is available."""

    token: ApiToken
    secret: str


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(firm_id: int, *, name: str, role: str = "member") -> NewToken:
    """Create an API token for ``firm_id``; the returned secret is shown once and never stored. A person who
    creates it (the current actor) is kept as its creator."""
    if role not in TOKEN_ROLES:
        raise ValueError(f"role must be one of {', '.join(TOKEN_ROLES)}")
    if db.session.get(Firm, firm_id) is None:
        raise ValueError(f"no firm {firm_id}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(firm_id=firm_id, name=name.strip() or "API token", prefix=secret[:12],
                     token_hash=hash_token(secret), role=role, created_by_id=audit.current_actor().user_id)
    db.session.add(token)
    db.session.commit()
    audit.record(firm_id, "api_token.created", token,
                 details={"name": token.name, "role": role, "prefix": token.prefix})
    return NewToken(token, secret)


def revoke_token(token: ApiToken) -> None:
    """Revoke ``token`` (idempotent); it stops working at once."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
        audit.record(token.firm_id, "api_token.revoked", token,
                     details={"name": token.name, "prefix": token.prefix})


def find_token(secret: str) -> ApiToken | None:
    """The live token for ``secret`` (``None`` if unknown or revoked)."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.query.filter_by(token_hash=hash_token(secret)).one_or_none()
    if token is None or token.revoked_at is not None:
        return None
    return token


def _unauthorized(message: str) -> None:
    abort(401, message=message, headers={"WWW-Authenticate": 'Bearer realm="hub"'})


def authenticate() -> None:
    """``before_request`` of every API blueprint: resolve the bearer token into ``g.api_token``; the token is
    who acts (:func:`hub.audit.act_as`)."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        _unauthorized("Send an API token: Authorization: Bearer <token>.")
    token = find_token(secret.strip())
    if token is None:
        _unauthorized("The API token is unknown or revoked.")
    if not db.session.get(Firm, token.firm_id).active:
        abort(403, message="This firm is deactivated.")
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.commit()
    g.api_token = token
    audit.act_as(audit.api_token(token))


def current_token() -> ApiToken:
    return g.api_token


def firm_id() -> int:
    """The firm the request's token belongs to: every query is scoped to it."""
    return g.api_token.firm_id


def admin_required(view: Callable) -> Callable:
    """Only tokens with the admin role (firm admins' scripts) may change things."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_token().role != "admin":
            abort(403, message="This needs an API token with the admin role.")
        return view(*args, **kwargs)

    wrapped.hub_admin_only = True  # type: ignore[attr-defined]  # read by the request checks: 403 before 422
    return wrapped
