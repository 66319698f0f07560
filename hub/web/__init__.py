"""The admin pages (server-rendered).

Page map (every page needs a signed-in user; every query is scoped to the user's firm, so another
firm's id in a URL is a 404; every form carries a CSRF token; changes need Company Owner / Company
Admin and integrations need the Team plan or above):

| page                                   | module          | what                                              |
|----------------------------------------|-----------------|---------------------------------------------------|
| ``/login`` ``/logout``                 | here            | sign-in with sessions                             |
| ``/settings/apps``                     | here            | Settings & Apps: a card per vendor with status    |
| ``/settings/plugins``                  | here            | installed plugins and load errors (admins)        |
| ``/settings/apps/<vendor>``            | integrations.py | the integration dialog: Overview (Enable/Disable, |
| ``…/connect`` ``…/settings``           |                 | checklist), Connect (credentials, Test connection,|
| ``…/reload`` ``…/invoices``            |                 | Save), Settings (summary task, Configure data     |
|                                        |                 | fields, Reload data with confirmation), Invoices  |
|                                        |                 | (export switch, products / tax rates mapping)     |
| ``/clients`` ``/clients/<id>``         | clients.py      | client list with the Integration column, client   |
| ``/clients/<id>/integration``          |                 | page (summary tasks, flags, exported invoices),   |
|                                        |                 | link / lookup / per-client credentials            |
| ``/history`` ``/history/runs/<id>``    | history.py      | sync runs (progress, outcome, errors),            |
| ``/notifications``                     |                 | notifications                                     |
| ``/clients/<id>/invoices``             | invoices.py     | new invoice (draft) on the client page, Issue     |
| ``…/invoices/<id>/issue``              |                 | (exports to every target integration)             |
| ``/clients/<id>/integration/reload``   | clients.py      | Reload data for one client (confirmation)         |
| ``/clients/<id>/integration/unlink``   |                 | remove a link that nothing came through yet       |
| ``/settings/audit``                    | trail.py        | the firm's audit trail, newest first (admins)     |

Long lists (history runs, audit trail) are paginated ``PER_PAGE`` rows a page (``?page=N``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

from hub import audit
from hub.app import services
from hub.models import Firm, Integration, Notification, User, db

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static/hub")
csrf = CSRFProtect()

READ_ONLY_NOTICE = "Only a Company Owner or Company Admin can change integrations."
PLAN_NOTICE = "Integrations are available on the Team plan and above."


@bp.record_once
def _init(state) -> None:  # noqa: ANN001
    csrf.init_app(state.app)


@bp.before_app_request
def _load_user() -> None:
    user_id = session.get("user_id")
    g.user = db.session.get(User, user_id) if user_id else None


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
    return render_template("error.html", error=exc), exc.code


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
    """Integrations need the Team plan or above."""
    if not current_firm().integrations_allowed:
        abort(403, f"{PLAN_NOTICE} Upgrade the firm's plan to use them.")


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
    return target if target and target.startswith("/") and not target.startswith("//") else default


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    if request.method == "POST":
        user = User.query.filter_by(email=request.form.get("email", "").strip().lower()).one_or_none()
        if user and user.check_password(request.form.get("password", "")):
            session.clear()
            session["user_id"] = user.id
            audit.record(user.firm_id, "user.signed_in", user, user=user)
            return redirect(safe_next(request.args.get("next"), url_for("web.apps")))
        flash("Wrong e-mail or password.", "error")
    return render_template("login.html")


@bp.route("/logout", methods=["POST"])
def logout():  # noqa: ANN201
    session.clear()
    return redirect(url_for("web.login"))


@bp.route("/")
@login_required
def index():  # noqa: ANN201
    return redirect(url_for("web.apps"))


@bp.route("/settings/apps")
@login_required
def apps():  # noqa: ANN201
    registry = services().registry
    by_vendor = firm_integrations()
    cards = [(vendor, by_vendor.get(slug)) for slug, vendor in sorted(registry.vendors.items(),
                                                                         key=lambda kv: kv[1].info.name.lower())]
    return render_template("apps.html", cards=cards, failures=registry.failures)


@bp.route("/settings/plugins")
@admin_required
def plugins():  # noqa: ANN201
    return render_template("plugins.html", rows=services().registry.listing())


import hub.web.clients  # noqa: E402, F401  (these add their routes to bp)
import hub.web.history  # noqa: E402, F401
import hub.web.integrations  # noqa: E402, F401
import hub.web.invoices  # noqa: E402, F401
import hub.web.trail  # noqa: E402, F401
