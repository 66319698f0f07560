"""The set-password page a provisioning invite links to (``/set-password/<token>``; hub.provisioning)."""

from __future__ import annotations

import marshmallow
from flask import abort, flash, redirect, render_template, request, session, url_for

from hub import provisioning
from hub.web.base import bp


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str):  # noqa: ANN201
    """Choose a password from an invite or reset link (signed, expires, void once used)."""
    user = provisioning.user_for_link(token)
    if user is None or not user.firm.active:
        abort(404, "This link has expired or was used already; ask for a new one.")
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("confirm", ""):
            flash("The two passwords differ.", "error")
        else:
            try:
                provisioning.set_password(user, password)
            except marshmallow.ValidationError as exc:
                flash(" ".join(exc.messages.get("password", [])), "error")
            else:
                session.clear()
                session["user_id"] = user.id
                return redirect(url_for("web.apps"))
    return render_template("set_password.html", user=user)
