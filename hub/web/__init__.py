"""The admin pages (server-rendered). This module holds sign-in and the pages every firm user sees;
the integration dialog and client pages grow here as their flows land."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFProtect

from hub.app import services
from hub.models import Integration, User, db

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static/hub")
csrf = CSRFProtect()


@bp.record_once
def _init(state) -> None:  # noqa: ANN001
    csrf.init_app(state.app)


@bp.before_app_request
def _load_user() -> None:
    user_id = session.get("user_id")
    g.user = db.session.get(User, user_id) if user_id else None


def login_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if g.user is None:
            return redirect(url_for("web.login", next=request.path))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view: Callable) -> Callable:
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if not g.user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    if request.method == "POST":
        user = User.query.filter_by(email=request.form.get("email", "").strip().lower()).one_or_none()
        if user and user.check_password(request.form.get("password", "")):
            session.clear()
            session["user_id"] = user.id
            target = request.args.get("next", "")
            return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("web.apps"))
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
    integrations = {i.vendor: i for i in Integration.query.filter_by(firm_id=g.user.firm_id)}
    cards = [(vendor, integrations.get(slug)) for slug, vendor in sorted(registry.vendors.items())]
    return render_template("apps.html", cards=cards, failures=registry.failures)


@bp.route("/settings/plugins")
@admin_required
def plugins():  # noqa: ANN201
    return render_template("plugins.html", rows=services().registry.listing())
