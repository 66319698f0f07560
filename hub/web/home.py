"""Sign-in and sign-out, Settings & Apps (a card per vendor) and the Plugins page."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for

from hub import audit
from hub.models import User
from hub.services import services
from hub.web.base import admin_required, bp, firm_integrations, login_required, safe_next


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    if request.method == "POST":
        user = User.query.filter_by(email=request.form.get("email", "").strip().lower()).one_or_none()
        if user and user.active and user.firm.active and user.check_password(request.form.get("password", "")):
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
