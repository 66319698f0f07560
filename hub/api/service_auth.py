"""Service tokens (``hubsvc_…``): the host product's credential for the service API (:mod:`hub.api.service`).

Above firm tokens: one service token provisions every firm (and may mint a firm's API tokens); a firm token is
refused by the service API (``403``). Created and revoked with the CLI only (``flask hub service-token``), shown
once, stored as a SHA-256 hash. Bearer only: the session cookie is never read, and a request a browser sends
(``Origin`` or ``Sec-Fetch-*`` headers) is refused, so a service token pasted into a web page does not work.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

import marshmallow
from flask import g, request
from flask_smorest import Blueprint, abort

from hub import audit
from hub.api import auth, common, errors
from hub.clients import CodeTaken
from hub.errors import HubError
from hub.models import ServiceToken, db, utcnow

SERVICE_PREFIX = "hubsvc_"
BROWSER_HEADERS = ("Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest")


def create_service_token(name: str) -> tuple[ServiceToken, str]:
    """A new service token; the secret is returned once and never stored."""
    secret = SERVICE_PREFIX + secrets.token_urlsafe(32)
    token = ServiceToken(name=name.strip()[:100] or "service", prefix=secret[:16], token_hash=auth.hash_token(secret))
    db.session.add(token)
    db.session.commit()
    return token, secret


def revoke_service_token(token: ServiceToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()


def find_service_token(secret: str) -> ServiceToken | None:
    if not secret.startswith(SERVICE_PREFIX):
        return None
    token = ServiceToken.query.filter_by(token_hash=auth.hash_token(secret)).one_or_none()
    return token if token is not None and token.revoked_at is None else None


def _bearer() -> str:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        abort(401, message="Send a service token: Authorization: Bearer <token>.",
              headers={"WWW-Authenticate": 'Bearer realm="hub"'})
    return secret.strip()


def _refuse_browsers() -> None:
    if any(h in request.headers for h in BROWSER_HEADERS):
        abort(403, message="Service tokens are for server-to-server calls; a browser may not use them.")


def _use(token: ServiceToken) -> None:
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= auth.LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.commit()
    g.service_token = token
    audit.act_as(audit.service_token(token))


def authenticate_service() -> None:
    """``before_request`` of the service API: a live service token, from a server."""
    secret = _bearer()
    _refuse_browsers()
    token = find_service_token(secret)
    if token is None:
        if auth.find_token(secret) is not None:
            abort(403, message="This is a firm API token; the service API needs a service token "
                               "(flask hub service-token create).")
        abort(401, message="The service token is unknown or revoked.",
              headers={"WWW-Authenticate": 'Bearer realm="hub"'})
    _use(token)


def authenticate_either() -> None:
    """``before_request`` of resources both kinds use (webhook endpoints): a service token acts for the host
    product (``scope_firm_id() is None``), a firm token of the admin role for its firm."""
    g.service_token = None
    secret = _bearer()
    if secret.startswith(SERVICE_PREFIX):
        _refuse_browsers()
        token = find_service_token(secret)
        if token is None:
            abort(401, message="The service token is unknown or revoked.",
                  headers={"WWW-Authenticate": 'Bearer realm="hub"'})
        _use(token)
        return
    auth.authenticate()
    if auth.current_token().role != "admin":
        abort(403, message="This needs an API token with the admin role.")


def is_service() -> bool:
    return getattr(g, "service_token", None) is not None


def scope_firm_id() -> int | None:
    """``None`` for the host product (service token), else the firm of the API token."""
    return None if is_service() else auth.firm_id()


def make_blueprint(name: str, description: str, *, either: bool = False) -> Blueprint:
    """An API blueprint authenticated with a service token (or, ``either``, a service or a firm admin token)."""
    blp = Blueprint(name, __name__, url_prefix=errors.API_PREFIX, description=description)
    blp.before_request(authenticate_either if either else authenticate_service)
    blp.before_request(common._reject_unstorable_text)
    blp.register_error_handler(marshmallow.ValidationError, errors.handle_validation_error)
    blp.register_error_handler(CodeTaken, errors.handle_conflict)
    blp.register_error_handler(HubError, errors.handle_hub_error)
    return blp


def service_only(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not is_service():
            abort(403, message="This needs a service token.")
        return view(*args, **kwargs)

    return wrapped
