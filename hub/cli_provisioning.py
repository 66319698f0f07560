"""Operator commands for provisioning (registered on ``flask hub`` by :mod:`hub.cli`):

``flask hub firm create|list|plan|deactivate``, ``flask hub user create|invite|deactivate``,
``flask hub client import FILE.csv``, ``flask hub service-token create|revoke``,
``flask hub webhook add|list|deliveries|redeliver``.
"""

from __future__ import annotations

import re
from typing import Any

import click
import marshmallow
from flask.cli import AppGroup

from hub import provisioning, webhooks
from hub.api import service_auth
from hub.models import PLANS, ROLES, Firm, ServiceToken, User, WebhookDelivery, WebhookEndpoint, db


def _firm(ref: str) -> Firm:
    firm = provisioning.firm_by_ref(ref)
    if firm is None:
        raise click.UsageError(f"no firm {ref!r} (give its id, external id or name; see `flask hub firm list`)")
    return firm


def _user(ref: str) -> User:
    user = db.session.get(User, int(ref)) if ref.isdigit() else User.query.filter_by(email=ref.lower()).one_or_none()
    if user is None:
        raise click.UsageError(f"no user {ref!r} (give their id or e-mail)")
    return user


def _fail(exc: marshmallow.ValidationError) -> None:
    messages = exc.messages if isinstance(exc.messages, dict) else {"": exc.messages}
    raise click.UsageError("; ".join(f"{k}: {' '.join(map(str, v))}" if k else " ".join(map(str, v))
                                     for k, v in messages.items()))


# -- firms ------------------------------------------------------------------------------------
firm_cli = AppGroup("firm", help="Firms: create, list, plan, deactivate.")


@firm_cli.command("create")
@click.option("--name", required=True)
@click.option("--country", required=True, help="Two-letter country code, e.g. EE (the holiday calendar).")
@click.option("--timezone", default="Europe/Tallinn", show_default=True)
@click.option("--plan", type=click.Choice(PLANS), default="team", show_default=True)
@click.option("--external-id", help="The host product's id: makes the command safe to repeat.")
def firm_create_cmd(name: str, country: str, timezone: str, plan: str, external_id: str | None) -> None:
    """Create a firm (with --external-id: create or update it)."""
    data = {"name": name, "country": country, "timezone": timezone, "plan": plan}
    try:
        if external_id:
            firm, created = provisioning.upsert_firm(external_id, data)
        else:
            firm, created = provisioning.create_firm(data), True
    except marshmallow.ValidationError as exc:
        _fail(exc)
    click.echo(f"firm {firm.id} {'created' if created else 'updated'}: {firm.name} ({firm.country}, {firm.plan})")


@firm_cli.command("list")
def firm_list_cmd() -> None:
    """Every firm with its plan, users and clients."""
    for firm in Firm.query.order_by(Firm.id):
        users = User.query.filter_by(firm_id=firm.id).count()
        state = "" if firm.active else "  DEACTIVATED"
        click.echo(f"{firm.id:>5}  {firm.name:<30} {firm.country} {firm.plan:<6} {firm.timezone:<18} "
                   f"users {users:<3} external id {firm.external_id or '-'}{state}")


@firm_cli.command("plan")
@click.argument("firm")
@click.argument("plan", type=click.Choice(PLANS))
def firm_plan_cmd(firm: str, plan: str) -> None:
    """Set FIRM's plan (integrations need team or above)."""
    found = _firm(firm)
    provisioning.set_plan(found, plan)
    click.echo(f"firm {found.id}: plan {plan}")


@firm_cli.command("deactivate")
@click.argument("firm")
@click.option("--undo", is_flag=True, help="Activate it again.")
def firm_deactivate_cmd(firm: str, undo: bool) -> None:
    """Deactivate FIRM: its integrations are disabled, its users and API tokens stop."""
    found = _firm(firm)
    provisioning.set_firm_active(found, undo)
    click.echo(f"firm {found.id} {'activated' if undo else 'deactivated'}")


# -- users ------------------------------------------------------------------------------------
user_cli = AppGroup("user", help="Users of a firm: create, invite, deactivate.")


@user_cli.command("create")
@click.option("--firm", "firm_ref", required=True, help="Firm id, external id or name.")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.option("--external-id", help="The host product's id: makes the command safe to repeat.")
def user_create_cmd(firm_ref: str, email: str, name: str, role: str, external_id: str | None) -> None:
    """Create a user (no password: print a set-password link with `flask hub user invite`)."""
    firm = _firm(firm_ref)
    existing = None if external_id else User.query.filter_by(email=email.strip().lower(), firm_id=firm.id).first()
    try:
        user, created = provisioning.upsert_user(firm, external_id, {"email": email, "name": name, "role": role},
                                                 user=existing)
    except marshmallow.ValidationError as exc:
        _fail(exc)
    click.echo(f"user {user.id} {'created' if created else 'updated'}: {user.email} ({user.role}) in firm {firm.id}")


@user_cli.command("invite")
@click.argument("user")
@click.option("--base-url", help="The hub's address as the user reaches it, e.g. https://hub.example.com "
              "(default: HUB_BASE_URL).")
def user_invite_cmd(user: str, base_url: str | None) -> None:
    """Print a set-password link for USER (id or e-mail); it works once."""
    found = _user(user)
    if base_url is not None and not re.match(r"^https?://[^/\s]+/?$", base_url):
        raise click.BadParameter("give the hub's address only, e.g. https://hub.example.com", param_hint="--base-url")
    try:
        invite = provisioning.invite_link(found, base_url=base_url)
    except marshmallow.ValidationError as exc:
        _fail(exc)
    click.echo(f"set-password link for {found.email} (valid until {invite.expires_at:%Y-%m-%d %H:%M} UTC):")
    click.echo(invite.url)
    if base_url is None and not provisioning.base_url_set():
        click.echo(f"note: HUB_BASE_URL is not set, so the link assumes the hub at {provisioning.DEFAULT_BASE_URL}; "
                   "if it runs elsewhere, give --base-url (or set HUB_BASE_URL) and print the link again.", err=True)


@user_cli.command("deactivate")
@click.argument("user")
@click.option("--undo", is_flag=True, help="Activate them again.")
def user_deactivate_cmd(user: str, undo: bool) -> None:
    """Deactivate USER (id or e-mail): they cannot sign in."""
    found = _user(user)
    try:
        provisioning.set_user_active(found, undo)
    except marshmallow.ValidationError as exc:
        _fail(exc)
    click.echo(f"user {found.id} {'activated' if undo else 'deactivated'}")


# -- clients ----------------------------------------------------------------------------------
client_cli = AppGroup("client", help="Clients of a firm.")


@client_cli.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@click.option("--firm", "firm_ref", required=True, help="Firm id, external id or name.")
@click.option("--partial", is_flag=True, help="Write the valid rows even if some are refused.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
def client_import_cmd(file: Any, firm_ref: str, partial: bool, dry_run: bool) -> None:
    """Import clients from a CSV FILE (header: external_id,name,reg_code,vat_no,email,address_street,
    address_city,address_postal_code,address_country,customer_type). Nothing is written if a row is refused,
    unless --partial."""
    firm = _firm(firm_ref)
    try:
        rows = provisioning.parse_csv(file.read())
    except marshmallow.ValidationError as exc:
        _fail(exc)
    report = provisioning.import_clients(firm, rows, partial=partial, dry_run=dry_run)
    counts = report.as_dict()["counts"]
    click.echo(f"{'written' if report.applied else 'NOTHING WRITTEN'}: created {counts['created']}, updated "
               f"{counts['updated']}, unchanged {counts['unchanged']}, refused {counts['refused']}")
    for entry in report.refused:
        messages = "; ".join(f"{k}: {' '.join(v)}" for k, v in entry["errors"].items())
        click.echo(f"  row {entry['row']} (line {entry['row'] + 1 if entry['row'] else '-'}): {messages}")
    if report.refused and not report.applied:
        raise SystemExit(1)


# -- service tokens ---------------------------------------------------------------------------
service_token_cli = AppGroup("service-token", help="Service tokens of the host product (the service API).")


@service_token_cli.command("create")
@click.option("--name", required=True, help="Who uses it, e.g. 'practice-management product'.")
def service_token_create_cmd(name: str) -> None:
    """Create a service token and print it (the only time it is shown)."""
    token, secret = service_auth.create_service_token(name)
    click.echo(f"service token {token.id} ({token.name}); store it now, it is not shown again:")
    click.echo(secret)


@service_token_cli.command("revoke")
@click.argument("token_id", type=int)
def service_token_revoke_cmd(token_id: int) -> None:
    """Revoke service token TOKEN_ID (it stops working at once)."""
    token = db.session.get(ServiceToken, token_id)
    if token is None:
        raise click.UsageError(f"no service token {token_id}")
    service_auth.revoke_service_token(token)
    click.echo(f"service token {token_id} revoked")


@service_token_cli.command("list")
def service_token_list_cmd() -> None:
    """Service tokens (never the tokens themselves)."""
    for token in ServiceToken.query.order_by(ServiceToken.id):
        state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "live"
        click.echo(f"{token.id:>4}  {token.prefix}…  {token.name:<30} {state}")


# -- webhooks ---------------------------------------------------------------------------------
webhook_cli = AppGroup("webhook", help="Webhook endpoints and their delivery log.")


@webhook_cli.command("add")
@click.argument("url")
@click.option("--firm", "firm_ref", help="The firm's endpoint (default: the host product's, every firm).")
@click.option("--event", "events", multiple=True, type=click.Choice(list(webhooks.EVENT_TYPES)),
              help="Only these events (repeat); default every event.")
def webhook_add_cmd(url: str, firm_ref: str | None, events: tuple[str, ...]) -> None:
    """Register an endpoint and print its signing secret (the only time it is shown)."""
    firm_id = _firm(firm_ref).id if firm_ref else None
    try:
        endpoint, secret = webhooks.create_endpoint(firm_id, url, events=list(events))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"webhook endpoint {endpoint.id} -> {url}; signing secret (store it now):")
    click.echo(secret)


@webhook_cli.command("list")
def webhook_list_cmd() -> None:
    """Every endpoint with its state."""
    for e in WebhookEndpoint.query.order_by(WebhookEndpoint.id):
        state = "enabled" if e.enabled else f"DISABLED: {e.disabled_reason}"
        click.echo(f"{e.id:>4}  firm {e.firm_id or '*':<5} {e.url}  {state}  failures {e.consecutive_failures}")


@webhook_cli.command("deliveries")
@click.argument("endpoint_id", type=int)
@click.option("--limit", default=20, show_default=True)
def webhook_deliveries_cmd(endpoint_id: int, limit: int) -> None:
    """The delivery log of ENDPOINT_ID, newest first."""
    for d in WebhookDelivery.query.filter_by(endpoint_id=endpoint_id).order_by(WebhookDelivery.id.desc()).limit(limit):
        click.echo(f"{d.id:>6}  {d.event_type:<27} {d.status:<9} attempts {d.attempts}  last "
                   f"{d.last_status_code or '-'} {d.last_error or ''}")


@webhook_cli.command("redeliver")
@click.argument("delivery_id", type=int)
def webhook_redeliver_cmd(delivery_id: int) -> None:
    """Send delivery DELIVERY_ID again (a worker does it)."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise click.UsageError(f"no delivery {delivery_id}")
    webhooks.redeliver(delivery)
    click.echo(f"delivery {delivery_id} queued again")


COMMANDS = [firm_cli, user_cli, client_cli, service_token_cli, webhook_cli]
