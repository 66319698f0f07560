"""Sign-in and sign-out, signing a user out everywhere (the users page is ``firm_users.py``), the password page,
Settings & Apps (a card per vendor) and the Plugins page.

Sign-in is throttled (:mod:`hub.web.security`) and costs the same whether the e-mail exists or not (a
password hash is checked either way), so neither the answer nor its timing tells which e-mails have an
account. Sessions live on the server (:mod:`hub.sessions`).
"""

from __future__ import annotations

from functools import cache

from flask import abort, flash, g, redirect, render_template, request, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from hub import audit, sessions
from hub.models import User, db
from hub.services import services
from hub.web.base import admin_required, bp, firm_integrations, login_required, safe_next, sign_in, sign_out

MIN_PASSWORD_LENGTH = 10


@cache
def _unknown_user_hash() -> str:
    """A hash made the way users' hashes are, to check an unknown e-mail's password against."""
    return generate_password_hash("not-a-user-password")


def authenticate(email: str, password: str) -> User | None:
    """The user with ``email`` and ``password``, else ``None`` — in the same time either way."""
    user = User.query.filter_by(email=email.strip().lower()).one_or_none()
    if user is None:
        check_password_hash(_unknown_user_hash(), password)  # the same work as for a real account
        return None
    if not user.check_password(password):
        return None
    return user if user.active and user.firm.active else None  # deactivated users and firms cannot sign in


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    if request.method == "POST":
        user = authenticate(request.form.get("email", ""), request.form.get("password", ""))
        if user is not None:
            sign_in(user)
            audit.record(user.firm_id, "user.signed_in", user)
            return redirect(safe_next(request.args.get("next"), url_for("web.apps")))
        flash("Wrong e-mail or password.", "error")
    return render_template("login.html")


@bp.route("/logout", methods=["POST"])
def logout():  # noqa: ANN201
    sign_out()
    return redirect(url_for("web.login"))


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
def password():  # noqa: ANN201
    """Change one's own password: every session of the user ends (a stolen cookie too); this browser signs
    in again with the new one."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        current, new = request.form.get("current", ""), request.form.get("new", "")
        if not g.user.check_password(current):
            errors["current"] = "That is not your current password."
        if len(new) < MIN_PASSWORD_LENGTH:
            errors["new"] = f"Use at least {MIN_PASSWORD_LENGTH} characters."
        elif new != request.form.get("confirm", ""):
            errors["confirm"] = "The two new passwords differ; type the same one twice."
        if not errors:
            user = g.user
            sessions.set_password(user, new)
            audit.record(user.firm_id, "user.password_changed", user)
            sign_in(user)
            flash("Password changed. Every other browser signed in as you has been signed out.", "success")
            return redirect(url_for("web.apps"))
    return render_template("password.html", errors=errors)


@bp.route("/settings/users/<int:user_id>/sign-out", methods=["POST"])
@admin_required
def sign_out_user(user_id: int):  # noqa: ANN201
    """Sign ``user_id`` (of the admin's firm) out of every browser."""
    user = db.session.get(User, user_id)
    if user is None or user.firm_id != g.user.firm_id:
        abort(404)
    ended = sessions.end_all(user)
    audit.record(user.firm_id, "user.signed_out_everywhere", user, details={"sessions": ended})
    if user.id == g.user.id:
        return redirect(url_for("web.login"))
    flash(f"{user.email} is signed out everywhere ({ended} session{'s' if ended != 1 else ''} ended).", "success")
    return redirect(url_for("web.users"))


@bp.route("/")
@login_required
def index():  # noqa: ANN201
    return redirect(url_for("web.apps"))


@bp.route("/favicon.ico")
def favicon():  # noqa: ANN201
    """Browsers ask for it whatever the page says: the hub's icon (the pages link it as ``favicon.svg``)."""
    return redirect(url_for("web.static", filename="favicon.svg"), 301)


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


CAPABILITY_WORDS = {"test_connection": "test connection", "client_lookup": "client lookup",
                    "statistics": "monthly statistics", "statistics_refresh": "recount statistics",
                    "invoice_export": "invoice export", "find_invoice": "find exported invoices",
                    "products": "products", "tax_rates": "tax rates", "payments": "paid status"}


@bp.app_template_filter("capability")
def _capability(name: str) -> str:
    """A plugin capability in words (the Plugins page)."""
    return CAPABILITY_WORDS.get(name, name.replace("_", " "))

