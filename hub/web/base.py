"""What every admin page shares: the blueprint, CSRF, the signed-in user, role and plan guards, the firm's
integrations, pagination and a few lookups (a firm's client, a vendor's display name)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException, NotFound

from hub import audit, provisioning, sessions
from hub.models import Client, Firm, Integration, Notification, User, db
from hub.services import services

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static/hub")
csrf = CSRFProtect()

READ_ONLY_NOTICE = "Only a Company Owner or Company Admin can change integrations."
PLAN_NOTICE = provisioning.PLAN_NOTICE


@bp.record_once
def _init(state) -> None:  # noqa: ANN001
    csrf.init_app(state.app)


@bp.before_app_request
def _load_user() -> None:
    """The signed-in user, from the server-side session the cookie names (:mod:`hub.sessions`): a session
    that was ended (sign-out, password change, "sign out everywhere") or expired signs the browser out.
    Runs first for every request (the API's token checks come after it): the person, if any, is who acts."""
    token = session.get("sid")
    _set_user(sessions.resolve(token) if isinstance(token, str) and token else None)
    if g.user is not None and not (g.user.active and g.user.firm.active):  # deactivated since signing in
        sign_out()
    if g.user is None and ("sid" in session or "user_id" in session):
        session.pop("sid", None)
        session.pop("user_id", None)  # a cookie from before server-side sessions: sign in again


@bp.teardown_app_request
def _forget_actor(_exc: BaseException | None) -> None:
    audit.act_as(None)  # nothing after the request acts as its user or token


def _set_user(user: User | None) -> None:
    g.user = user
    audit.act_as(audit.person(user) if user is not None else None)


def sign_in(user: User) -> None:
    """Start a new session for ``user`` in this browser (a fresh cookie: no fixation)."""
    session.clear()
    session["sid"] = sessions.start(user)
    _set_user(user)


def sign_out() -> None:
    """End this browser's session on the server and clear its cookie."""
    token = session.get("sid")
    if isinstance(token, str) and token:
        sessions.end(token)
    session.clear()
    _set_user(None)


@bp.app_context_processor
def _page_globals() -> dict:
    user = getattr(g, "user", None)
    if user is None:
        return {"can_change": False, "unread_count": 0}
    unread = Notification.query.filter(Notification.firm_id == user.firm_id, Notification.read_at.is_(None),
                                       (Notification.user_id == user.id) | Notification.user_id.is_(None)).count()
    return {"can_change": user.is_admin, "unread_count": unread, "firm": user.firm}


@bp.app_errorhandler(403)
@bp.app_errorhandler(404)
def _error_page(exc: HTTPException):  # noqa: ANN202
    if request.blueprint != "web":
        return exc
    return render_template("error.html", error=exc, default_404=NotFound.description), exc.code


def login_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if g.user is None:
            return redirect(url_for("web.login", next=request.path))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view: Callable) -> Callable:
    """Company Owner / Company Admin only (others get 403)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if not g.user.is_admin:
            abort(403, READ_ONLY_NOTICE)
        return view(*args, **kwargs)

    return wrapped


def current_firm() -> Firm:
    return g.user.firm


def require_plan() -> None:
    """Integrations need the Team plan or above (every door's rule: :func:`hub.provisioning.require_integrations`)."""
    try:
        provisioning.require_integrations(current_firm())
    except provisioning.PlanRequired:
        abort(403, f"{PLAN_NOTICE} " + ("As the Company Owner, you can upgrade the firm to the Team plan in its "
                                        "subscription." if g.user.role == "owner" else
                                        "Ask your Company Owner to upgrade the firm to the Team plan."))


def firm_integrations() -> dict[str, Integration]:
    return {i.vendor: i for i in Integration.query.filter_by(firm_id=g.user.firm_id)}


PER_PAGE = 50


@dataclass
class Page:
    """One page of a long list (``page`` is 1-based and clamped to the pages there are)."""

    items: list[Any]
    page: int
    pages: int
    total: int
    per_page: int = PER_PAGE

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.page * self.per_page, self.total)


def paginate(query: Any, per_page: int = PER_PAGE) -> Page:
    """``query`` (already ordered) cut to the page named by ``?page=``; a page past the end shows the last."""
    total = query.order_by(None).count()
    pages = max(1, math.ceil(total / per_page))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    items = query.limit(per_page).offset((page - 1) * per_page).all()
    return Page(items=items, page=page, pages=pages, total=total, per_page=per_page)


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirect).

    Judged on what a browser would follow: it drops tabs and line breaks and reads a backslash as ``/``, so
    ``/<tab>/evil.example`` and ``/<backslash>evil.example`` are other hosts. Anything with control
    characters or whitespace, a backslash, a scheme or a host is refused."""
    if not target or not target.startswith("/") or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127
                                                       for ch in target):
        return default
    if "\\" in target or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def client_or_404(client_id: int) -> Client:
    """The signed-in user's firm's client ``client_id`` (another firm's id is a 404)."""
    client = db.session.get(Client, client_id)
    if client is None or client.firm_id != g.user.firm_id:
        abort(404)
    return client


def vendor_name(slug: str) -> str:
    vendor = services().registry.vendors.get(slug)
    return vendor.info.name if vendor else slug


@bp.app_template_filter("vendor_name")
def _vendor_name_filter(slug: str) -> str:
    return vendor_name(slug)
