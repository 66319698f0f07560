"""``flask hub ...``: operator commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from importlib import metadata

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from werkzeug.serving import WSGIRequestHandler, make_server, run_simple

from hub import audit, author, cli_provisioning, demo, jobs, schedule, sessions, statistics
from hub.api import auth
from hub.models import ApiToken, Client, ClientConnection, CredentialDraft, Firm, Integration, User, db
from hub.services import services

hub_cli = AppGroup("hub", help="Integration Hub operations.")
for _command in cli_provisioning.COMMANDS: hub_cli.add_command(_command)  # noqa: E701  firm, user, client, …
SANDBOX_GROUP = "hub.sandboxes"


@hub_cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins_cmd(as_json: bool) -> None:
    """List installed vendor plugins: version, capabilities and load errors."""
    rows = services().registry.listing()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No vendor plugins installed (entry-point group hub.vendors).")
    for row in rows:
        head = f"{row['slug']:<14} {row['distribution'] or '-'} {row['version'] or ''}".rstrip()
        if row["error"]:
            click.echo(f"{head}\n    NOT LOADED: {row['error']}")
        else:
            click.echo(f"{head}\n    capabilities: {', '.join(row['capabilities']) or '-'}")


@hub_cli.command("init-db")
def init_db_cmd() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    upgrade()
    click.echo(f"database ready: {current_app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")


@hub_cli.command("rotate-keys")
def rotate_keys_cmd() -> None:
    """Re-encrypt every stored secret with the newest key of HUB_SECRET_KEYS."""
    vault = services().vault
    count = 0
    for model in (Integration, ClientConnection, CredentialDraft):
        for row in model.query.filter(model.secret_credentials.isnot(None)):
            row.secret_credentials = vault.rotate(row.secret_credentials)
            count += 1
    db.session.commit()
    click.echo(f"re-encrypted {count} stored secrets")


@hub_cli.command("worker")
@click.option("--queues", default=",".join(jobs.QUEUES), show_default=True)
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.option("--simple", is_flag=True, help="Run jobs in-process instead of forking (debugging).")
def worker_cmd(queues: str, burst: bool, simple: bool) -> None:
    """Run an RQ worker for the hub's queues (any number may run, on any machine)."""
    jobs.set_worker_app(current_app._get_current_object())
    jobs.prepare_for_forking()
    worker = jobs.make_worker(tuple(q.strip() for q in queues.split(",") if q.strip()), simple=simple)
    worker.work(burst=burst, with_scheduler=True)


class QuietRequestHandler(WSGIRequestHandler):
    """No access log: vendor requests carry API keys and signatures in their query strings."""

    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


def _sandbox_entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=SANDBOX_GROUP)}


@hub_cli.command("sandbox")
@click.argument("vendor")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=0, type=int, help="0 picks a free port.")
@click.option("--option", "options", multiple=True, help="Sandbox knob as key=value (e.g. latency_ms=20).")
def sandbox_cmd(vendor: str, host: str, port: int, options: tuple[str, ...]) -> None:
    """Serve a vendor's sandbox (its API emulator) over HTTP on loopback."""
    eps = _sandbox_entry_points()
    if vendor not in eps:
        raise click.UsageError(f"no sandbox for {vendor!r}; installed: {', '.join(sorted(eps)) or 'none'}")
    kwargs = dict(_parse_option(o) for o in options)
    app = eps[vendor].load().create_app(**kwargs)
    server = make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler)
    click.echo(f"{vendor} sandbox on http://{host}:{server.server_port}", err=True)
    server.serve_forever()


def _parse_option(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def start_sandboxes(host: str = "127.0.0.1") -> dict[str, str]:
    """Start every installed sandbox in this process (threads); return ``{vendor: origin}``."""
    origins = {}
    for name, ep in sorted(_sandbox_entry_points().items()):
        if name not in services().registry.vendors:
            continue
        server = make_server(host, 0, ep.load().create_app(), threaded=True, request_handler=QuietRequestHandler)
        threading.Thread(target=server.serve_forever, daemon=True, name=f"sandbox-{name}").start()
        origins[name] = f"http://{host}:{server.server_port}"
    return origins


@hub_cli.command("sign-out")
@click.argument("email")
def sign_out_cmd(email: str) -> None:
    """End every session of the user EMAIL (sign them out of every browser at once)."""
    user = User.query.filter_by(email=email.strip().lower()).one_or_none()
    if user is None:
        raise click.ClickException(f"No user has the e-mail {email!r}; check the address.")
    ended = sessions.end_all(user)
    audit.record(user.firm_id, "user.signed_out_everywhere", user, actor="cli", details={"sessions": ended})
    click.echo(f"{user.email}: {ended} session(s) ended")


@hub_cli.command("seed-demo")
@click.option("--origins", default="{}", help='JSON {vendor: sandbox origin}.')
def seed_demo_cmd(origins: str) -> None:
    """Create the demo firm (idempotent) and print the admin login."""
    login = demo.seed(json.loads(origins))
    click.echo(f"demo admin: {login['email']} / {login['password']}")


@hub_cli.command("up")
@click.option("--port", default=5000, show_default=True)
@click.option("--workers", default=1, show_default=True)
def up_cmd(port: int, workers: int) -> None:
    """Embedded mode: migrate, start the vendor sandboxes, seed the demo firm, a worker, the scheduler
    and the admin on http://127.0.0.1:PORT — one command."""
    upgrade()
    origins = start_sandboxes()
    for vendor, origin in origins.items():
        click.echo(f"sandbox {vendor:<14} {origin}")
    demo.apply_sandbox_settings(list(origins))
    login = demo.seed(origins)
    env = dict(os.environ, REDIS_URL=services().redis_url, HUB_INSTANCE_PATH=current_app.instance_path,
               FLASK_APP="hub.app:create_app")
    children = [subprocess.Popen([sys.executable, "-m", "flask", "hub", "worker"], env=env)
                for _ in range(workers)]
    children.append(subprocess.Popen([sys.executable, "-m", "flask", "hub", "schedule", "--loop"], env=env))

    def stop(*_args: object) -> None:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    click.echo(f"\nIntegration Hub on http://127.0.0.1:{port}\n  sign in as {login['email']} / {login['password']}\n")
    current_app.config["SESSION_COOKIE_SECURE"] = False  # plain HTTP on loopback: Secure follows the scheme
    try:
        run_simple("127.0.0.1", port, current_app._get_current_object(), threaded=True)
    finally:
        stop()


@hub_cli.command("summary")
@click.argument("client")
def summary_cmd(client: str) -> None:
    """Show a client's monthly summary tasks with imported values (CLIENT: id or name)."""
    found = db.session.get(Client, int(client)) if client.isdigit() else Client.query.filter_by(name=client).first()
    if found is None:
        raise click.UsageError(f"no client {client!r}")
    rows = statistics.summary_rows(found.id)
    if not rows:
        click.echo(f"{found.name}: no summary tasks yet (link the client and run Reload data).")
    for row in rows:
        click.echo(f"{row['period']}  {row['title']}")
        for v in row["values"]:
            flag = f"  [FLAGGED: {v['flag']}]" if v["flag"] else ""
            click.echo(f"    {v['field']:<28} {v['value']!s:>8}   from {v['source']} at {v['imported_at']}{flag}")


@hub_cli.command("reload")
@click.argument("vendor")
@click.option("--firm", "firm_id", type=int, help="Firm id (default: the only/first firm).")
def reload_cmd(vendor: str, firm_id: int | None) -> None:
    """Reload data: back-fill the last 12 months for every linked client of VENDOR (overwrites)."""
    firm = db.session.get(Firm, firm_id) if firm_id else Firm.query.order_by(Firm.id).first()
    integration = Integration.query.filter_by(firm_id=firm.id, vendor=vendor).one_or_none() if firm else None
    if integration is None:
        raise click.UsageError(f"no {vendor} integration")
    run = statistics.reload(integration, trigger="cli")
    click.echo(f"reload run {run.id}: {run.progress_total} clients queued")


@hub_cli.command("schedule")
@click.option("--loop", is_flag=True, help="Keep running, every HUB_SCHEDULE_INTERVAL seconds.")
def schedule_cmd(loop: bool) -> None:
    """Enqueue every scheduled job that is due and not yet done (safe to run from several places)."""
    while True:
        counts = schedule.dispatch()
        click.echo(f"dispatched: {counts}")
        if not loop:
            return
        time.sleep(current_app.config["HUB_SCHEDULE_INTERVAL"])


# --- plugin author kit: the same commands as the `hub-plugin` console script (hub.author) -----------------
hub_cli.add_command(author.new_command, "new-plugin")
hub_cli.add_command(author.check_command, "check-plugin")
# --- end plugin author kit --------------------------------------------------------------------------------


# -- API tokens (hub.api) ---------------------------------------------------------------------------
@hub_cli.group("api-token")
def api_token_cli() -> None:
    """API tokens for /api/v1 (shown once, stored hashed)."""


@api_token_cli.command("create")
@click.option("--firm", "firm_id", type=int, required=True, help="Firm id.")
@click.option("--role", type=click.Choice(["admin", "member"]), default="member", show_default=True)
@click.option("--name", required=True, help="What the token is for, e.g. 'billing script'.")
def api_token_create_cmd(firm_id: int, role: str, name: str) -> None:
    """Create an API token and print it (this is the only time it is shown)."""
    try:
        new = auth.create_token(firm_id, name=name, role=role, actor="cli")
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"API token {new.token.id} ({new.token.role}) for firm {firm_id}; store it now, it is not shown again:")
    click.echo(new.secret)


@api_token_cli.command("revoke")
@click.argument("token_id", type=int)
def api_token_revoke_cmd(token_id: int) -> None:
    """Revoke API token TOKEN_ID."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.UsageError(f"no API token {token_id}")
    auth.revoke_token(token, actor="cli")
    click.echo(f"API token {token_id} revoked")
# -- end API tokens ---------------------------------------------------------------------------------
