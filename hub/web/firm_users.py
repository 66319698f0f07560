"""The firm's users: the list (Owners and Admins), and for the Company Owner inviting a user, changing a role,
deactivating and reactivating (all through :mod:`hub.provisioning`, audited with the Owner as the actor); the
set-password page an invite links to (``/set-password/<token>``).

| page / action                                   | who     | what                                                |
|-------------------------------------------------|---------|-----------------------------------------------------|
| ``GET /settings/users``                         | admins  | the users, their role, status and sessions          |
| ``POST /settings/users/invite``                 | owner   | a new user (e-mail, name, role) and their link      |
| ``POST /settings/users/<id>/invite``            | owner   | a new set-password link for a user                  |
| ``POST /settings/users/<id>/role``              | owner   | Company Owner / Company Admin / Member              |
| ``POST /settings/users/<id>/deactivate``        | owner   | cannot sign in; every session ends                  |
| ``POST /settings/users/<id>/reactivate``        | owner   | can sign in again (their password is unchanged)     |

No password is ever generated or shown: a new user gets a set-password link (signed, valid
``HUB_INVITE_MAX_AGE``, void once used) that the Owner sends them; the hub sends no e-mail itself. An Owner
cannot change their own role or deactivate themselves, and the firm's last active Owner is never demoted or
deactivated (:class:`hub.provisioning.LastOwner`, raised by the provisioning flow itself).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import marshmallow
from flask import abort, flash, g, redirect, render_template, request, url_for

from hub import audit, provisioning, sessions
from hub.models import ROLES, User, db
from hub.web import forms
from hub.web.base import admin_required, bp, login_required, sign_in

OWNER_NOTICE = "Only the Company Owner can invite users, change roles or deactivate users."
ROLE_LABELS = {"owner": "Company Owner", "admin": "Company Admin", "member": "Member"}


def owner_required(view: Callable) -> Callable:
    """The firm's Company Owner only (Admins and Members get 403)."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.user.role != "owner":
            abort(403, OWNER_NOTICE)
        return view(*args, **kwargs)

    return wrapped


def firm_user_or_404(user_id: int) -> User:
    """A user of the signed-in user's firm (another firm's id is a 404)."""
    user = db.session.get(User, user_id)
    if user is None or user.firm_id != g.user.firm_id:
        abort(404)
    return user


def users_page(*, invite: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None,
               status: int = 200) -> Any:
    users = User.query.filter_by(firm_id=g.user.firm_id).order_by(User.email).all()
    rows = [(user, sessions.active_count(user)) for user in users]
    return render_template("users.html", rows=rows, is_owner=g.user.role == "owner", role_labels=ROLE_LABELS,
                           roles=ROLES, invited={u.id for u in users if not provisioning.has_password(u)},
                           invite=invite or {"email": "", "name": "", "role": "member"},
                           invite_errors=errors or {}), status


@bp.route("/settings/users")
@admin_required
def users():  # noqa: ANN201
    """The firm's users (Owners and Admins); the Owner's controls are on the same page."""
    return users_page()


def _link_page(user: User, invite: provisioning.Invite, *, created: bool) -> Any:
    if not provisioning.base_url_set():  # no HUB_BASE_URL: the address the Owner reached the hub at
        path = invite.url[invite.url.index("/set-password/"):]
        invite = provisioning.Invite(url=request.host_url.rstrip("/") + path, expires_at=invite.expires_at)
    response = render_template("user_invite_link.html", user=user, invite=invite, created=created,
                               role_labels=ROLE_LABELS)
    return response, 200, {"Cache-Control": "no-store"}  # the link signs someone in: keep it out of caches


@bp.route("/settings/users/invite", methods=["POST"])
@owner_required
def invite_user():  # noqa: ANN201
    """A new user of the firm with no password, and the set-password link to send them."""
    submitted = {k: (request.form.get(k) or "").strip() for k in ("email", "name", "role")}
    existing = User.query.filter_by(email=submitted["email"].lower()).one_or_none() if submitted["email"] else None
    if existing is not None and existing.firm_id == g.user.firm_id:
        return users_page(invite=submitted, status=422, errors={"email": [
            f"{existing.email} is a user of this firm already: use New set-password link on their row"
            + (" (reactivate them first)." if not existing.active else ".")]})
    if submitted["role"] not in ROLES:
        return users_page(invite=submitted, status=422, errors={"role": ["Pick Company Owner, Company Admin or "
                                                                         "Member."]})
    try:
        user, _ = provisioning.upsert_user(g.user.firm, None, submitted)
        invite = provisioning.invite_link(user)
    except marshmallow.ValidationError as exc:
        errors = forms.messages_in_words(provisioning.UserSchema, exc.normalized_messages(), submitted)
        return users_page(invite=submitted, errors=errors, status=422)
    return _link_page(user, invite, created=True)


@bp.route("/settings/users/<int:user_id>/invite", methods=["POST"])
@owner_required
def reinvite_user(user_id: int):  # noqa: ANN201
    """A new set-password link (an invitation that was lost or expired, or a forgotten password)."""
    user = firm_user_or_404(user_id)
    try:
        invite = provisioning.invite_link(user)
    except marshmallow.ValidationError:
        flash(f"{user.email} is deactivated: reactivate them first, then make a new link.", "error")
        return redirect(url_for("web.users"))
    return _link_page(user, invite, created=False)


def _refused(exc: marshmallow.ValidationError) -> Any:
    for messages in exc.normalized_messages().values():
        for message in messages:
            flash(message, "error")
    return redirect(url_for("web.users"))


@bp.route("/settings/users/<int:user_id>/role", methods=["POST"])
@owner_required
def change_role(user_id: int):  # noqa: ANN201
    user = firm_user_or_404(user_id)
    role = request.form.get("role", "")
    if role not in ROLES:
        flash("Pick Company Owner, Company Admin or Member.", "error")
        return redirect(url_for("web.users"))
    if user.id == g.user.id:
        flash("You cannot change your own role: another Company Owner can.", "error")
        return redirect(url_for("web.users"))
    if role == user.role:
        flash(f"{user.email} is a {ROLE_LABELS[role]} already.", "info")
        return redirect(url_for("web.users"))
    try:
        provisioning.set_role(user, role)
    except provisioning.LastOwner as exc:  # the firm's last active Owner
        return _refused(exc)
    flash(f"{user.email} is now a {ROLE_LABELS[role]}.", "success")
    return redirect(url_for("web.users"))


@bp.route("/settings/users/<int:user_id>/deactivate", methods=["POST"])
@owner_required
def deactivate_user(user_id: int):  # noqa: ANN201
    """The user cannot sign in any more and every browser signed in as them is signed out at once."""
    user = firm_user_or_404(user_id)
    if user.id == g.user.id:
        flash("You cannot deactivate yourself: another Company Owner can.", "error")
        return redirect(url_for("web.users"))
    try:
        provisioning.set_user_active(user, False)
    except provisioning.LastOwner as exc:
        return _refused(exc)
    ended = sessions.end_all(user)
    flash(f"{user.email} is deactivated and cannot sign in"
          + (f" ({ended} session{'s' if ended != 1 else ''} ended)." if ended else "."), "success")
    return redirect(url_for("web.users"))


@bp.route("/settings/users/<int:user_id>/reactivate", methods=["POST"])
@owner_required
def reactivate_user(user_id: int):  # noqa: ANN201
    user = firm_user_or_404(user_id)
    provisioning.set_user_active(user, True)
    flash(f"{user.email} can sign in again"
          + ("." if provisioning.has_password(user) else ": they have no password yet, so make them a new "
             "set-password link."), "success")
    return redirect(url_for("web.users"))


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str):  # noqa: ANN201
    """Choose a password from an invite or reset link (signed, expires, void once used)."""
    user = provisioning.user_for_link(token)
    if user is None or not user.firm.active:
        abort(404, "This link has expired or was used already; ask for a new one.")
    audit.act_as(audit.person(user))  # the link signs them in for this request: they act
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
                sessions.end_all(user)  # a reset link: every browser signed in as them is signed out
                sign_in(user)  # a server-side session, like the sign-in page's
                return redirect(url_for("web.apps"))
    return render_template("set_password.html", user=user)
