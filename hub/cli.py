"""``flask hub ...``: operator commands."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import click
import redis
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import Column, select, update
from werkzeug.serving import WSGIRequestHandler, make_server, run_simple

import hub
from hub import (
    audit,
    author,
    cli_provisioning,
    demo,
    embedded,
    jobs,
    logs,
    metrics,
    schedule,
    schema,
    sessions,
    statistics,
)
from hub.api import auth
from hub.models import ApiToken, Client, Firm, Integration, User, db, encrypted_columns
from hub.provisioning import PlanRequired, require_integrations
from hub.services import services
from hub.vault import Vault, VaultError

#: Commands that run the hub itself: what their jobs and scheduled work change, the hub did (``system`` in the audit
#: trail). Every other command is an operator at the command line (``cli``).
RUNS_THE_HUB = ("worker", "schedule", "up")


def _operator_acts() -> None:
    """The command line is where an operator authenticates: for the command's duration they are who acts."""
    ctx = click.get_current_context()
    logs.set_kind({"worker": "worker", "schedule": "scheduler", "up": "up"}.get(ctx.invoked_subcommand or "", "cli"))
    if ctx.invoked_subcommand not in RUNS_THE_HUB:
        ctx.with_resource(audit.acting(audit.CLI))


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"hub {hub.__version__} (plugin contract {hub.HUB_API_VERSION})")
    for dist, version in sorted(_plugin_versions().items()):
        click.echo(f"  {dist} {version}")
    ctx.exit()


def _plugin_versions() -> dict[str, str]:
    """The installed distributions that provide vendor plugins, and their versions (read without loading them)."""
    found = {}
    for ep in metadata.entry_points(group="hub.vendors"):
        if ep.dist is not None:
            found[ep.dist.name] = ep.dist.version
    return found


hub_cli = AppGroup("hub", help="Integration Hub operations.", callback=_operator_acts, params=[
    click.Option(["--version"], is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
                 help="The hub's version, its plugin contract's and each installed plugin's.")])
for _command in cli_provisioning.COMMANDS: hub_cli.add_command(_command)  # noqa: E701  firm, user, client, …
SANDBOX_GROUP = "hub.sandboxes"
log = logging.getLogger("hub.cli")


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
    """Create or upgrade the database schema (Alembic migrations). On SQLite the file is copied first and put back
    if a revision fails; on PostgreSQL the pending revisions run in one transaction."""
    _upgrade_schema()
    click.echo(f"database ready: {current_app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")


def _upgrade_schema() -> None:
    """:func:`hub.schema.upgrade`, a failure told in one line (what happened to the data) and exit status 1."""
    try:
        schema.upgrade(say=lambda line: click.echo(line, err=True))
    except schema.UpgradeFailed as exc:
        log.error("%s", exc, exc_info=exc.__cause__)
        raise click.ClickException(str(exc)) from exc


@hub_cli.command("rotate-keys")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(min=1),
              help="Rows re-encrypted per transaction.")
def rotate_keys_cmd(batch_size: int) -> None:
    """Re-encrypt every stored secret with the newest key of HUB_SECRET_KEYS: every row of every column declared
    `Encrypted` in hub.models, in batches (one transaction each). Says per column what was re-encrypted and
    what could not be; exits 1 if any secret was not re-encrypted (then keep the old keys)."""
    vault = services().vault
    columns = encrypted_columns()
    rotated = 0
    left: list[str] = []
    for column in columns:
        outcomes = _rotate_column(column, vault, batch_size)
        done = len(outcomes["rotated"])
        rotated += done
        line = f"{column.table.name}.{column.name}: {done} re-encrypted"
        for outcome, why in ROTATE_FAILURES.items():
            if outcomes[outcome]:
                ids = outcomes[outcome]
                line += f"; {len(ids)} NOT re-encrypted, {why} (id {', '.join(map(str, ids[:20]))}" \
                        f"{', …' if len(ids) > 20 else ''})"
                left += [f"{column.table.name} {i}" for i in ids]
        click.echo(line)
    click.echo(f"re-encrypted {rotated} stored secrets in {len(columns)} columns")
    if left:
        click.echo(f"{len(left)} stored secret(s) NOT re-encrypted: keep the old keys in HUB_SECRET_KEYS until they "
                   "are replaced (enter the credentials or renew the webhook secret again), then run this again.",
                   err=True)
        sys.exit(1)


#: Why a row was not re-encrypted, by outcome of :func:`_rotate_row`.
ROTATE_FAILURES = {"undecryptable": "cannot be decrypted with the configured keys",
                   "busy": "changed by someone else on every try"}


def _rotate_column(column: Column, vault: Vault, batch_size: int) -> dict[str, list[int]]:
    """Re-encrypt every value of ``column`` in id order, one transaction per ``batch_size`` rows; returns the
    row ids by outcome (``rotated``, ``undecryptable``, ``busy``, ``gone``)."""
    (pk,) = column.table.primary_key.columns
    outcomes: dict[str, list[int]] = {"rotated": [], "undecryptable": [], "busy": [], "gone": []}
    last = None
    while True:
        query = select(pk, column).where(column.isnot(None)).order_by(pk).limit(batch_size)
        rows = db.session.execute(query if last is None else query.where(pk > last)).all()
        if not rows:
            return outcomes
        for row_id, token in rows:
            outcomes[_rotate_row(column, pk, vault, row_id, token)].append(row_id)
        db.session.commit()
        last = rows[-1][0]


def _rotate_row(column: Column, pk: Column, vault: Vault, row_id: int, token: str) -> str:
    """Re-encrypt one value. Written only if the row still holds what was read (a secret saved meanwhile is never
    overwritten with the old one): then it is read again, at most three times."""
    for _ in range(3):
        try:
            new = vault.rotate(token)
        except VaultError:
            return "undecryptable"
        written = db.session.execute(update(column.table).where(pk == row_id, column == token)
                                     .values({column.name: new}))
        if written.rowcount:
            return "rotated"
        token = db.session.execute(select(column).where(pk == row_id)).scalar()
        if token is None:
            return "gone"  # deleted or cleared meanwhile: nothing left to re-encrypt
    return "busy"


@hub_cli.command("worker")
@click.option("--queues", default=",".join(jobs.QUEUES), show_default=True)
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.option("--processes", "-n", default=1, show_default=True, type=click.IntRange(min=1),
              help="Long-lived job processes, supervised (restarted when they exit or die).")
@click.option("--max-jobs", default=500, show_default=True, type=click.IntRange(min=0),
              help="Recycle a job process after this many jobs (0: never).")
@click.option("--fork", is_flag=True, help="Fork a work-horse per job (RQ's classic worker) instead of running "
              "jobs in the long-lived process.")
@click.option("--simple", is_flag=True, hidden=True, help="Kept for old scripts: jobs run in-process by default now.")
@click.option("--in-process", is_flag=True, hidden=True, help="Be one job process (what the supervisor starts).")
def worker_cmd(queues: str, burst: bool, processes: int, max_jobs: int, fork: bool, simple: bool,
               in_process: bool) -> None:
    """Run job processes for the hub's queues (any number may run, on any machine).

    The command supervises PROCESSES job processes: each runs jobs one after the other without forking
    (RQ's SimpleWorker; job time limits still apply), survives Redis blips (reconnects with backoff) and is
    replaced after --max-jobs jobs; one that dies (kill -9, out of memory) is restarted and the run it held is
    settled at once (retried or failed, see `hub.jobs.abandon`)."""
    names = tuple(q.strip() for q in queues.split(",") if q.strip())
    if in_process:
        _work_in_process(names, burst=burst, fork=fork, max_jobs=max_jobs)
        return
    args = [sys.executable, "-m", "flask", "hub", "worker", "--in-process", "--queues", ",".join(names),
            "--max-jobs", str(max_jobs)] + (["--burst"] if burst else []) + (["--fork"] if fork else [])
    supervisor = Supervisor({f"worker-{i}": args for i in range(processes)}, restart_clean_exits=not burst,
                            on_exit=_reap_child)
    supervisor.install_signal_handlers()
    supervisor.start()
    code = supervisor.watch()
    supervisor.stop()
    sys.exit(code)


def _reap_child(slot: str, pid: int, code: int) -> None:
    """A job process ended: settle the run it held (none after a clean exit), then forget its liveness key."""
    name = f"hub.{socket.gethostname()}.{pid}"
    try:
        settled = jobs.reap_worker(name, reason=f"its worker process {pid} ended ({_how(code)})")
        if settled:
            click.echo(f"{slot}: process {pid} ended ({_how(code)}); settled {settled} run(s)", err=True)
        services().redis.delete(jobs.LIVENESS_PREFIX + name)
    except Exception as exc:  # the database or Redis is away: the reconciler settles it later
        log.warning("could not settle the runs of %s now (%s); the reconciler will", name, type(exc).__name__)
    finally:
        db.session.remove()


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Linux: this process gets ``sig`` (SIGKILL unless told) when its parent dies (a supervisor killed with
    ``kill -9`` leaves no job process behind, nor one of theirs). Elsewhere a no-op."""
    try:
        import ctypes  # only for prctl(2)

        libc = ctypes.CDLL(None, use_errno=True)
        parent = os.getppid()
        libc.prctl(1, sig)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before we asked
            os._exit(1)
    except (OSError, AttributeError):
        pass


def _how(code: int) -> str:
    return f"signal {-code}" if code < 0 else f"exit status {code}"


def _work_in_process(queues: tuple[str, ...], *, burst: bool, fork: bool, max_jobs: int) -> None:
    """One job process: an RQ worker that, when its Redis connection drops, waits with backoff and carries on."""
    jobs.set_worker_app(current_app._get_current_object())
    os.register_at_fork(after_in_child=die_with_parent)  # RQ's scheduler process, forked work-horses
    if fork:
        jobs.prepare_for_forking()
    name = jobs.worker_name()
    stop = threading.Event()
    jobs.start_liveness(name, services().redis_url, stop)
    done, wait, started = 0, 1.0, False
    try:
        while True:
            worker = None
            try:
                worker = jobs.make_worker(queues, simple=not fork, name=name)
                worker.connection.ping()
                if started:
                    worker.register_death()  # our own registration, left behind when Redis dropped
                started = True
                left = max_jobs - done if max_jobs else None
                worker.work(burst=burst, with_scheduler=True, max_jobs=left)
            except redis.RedisError as exc:
                log.warning("worker %s: Redis unreachable (%s); retrying in %.0f s", name, type(exc).__name__, wait)
            else:
                # asked to stop (RQ notes when: SIGTERM/SIGINT), or done (burst)
                if burst or worker._stop_requested or getattr(worker, "_shutdown_requested_date", None):
                    return
            if worker is not None:
                done += worker.successful_job_count + worker.failed_job_count
            if max_jobs and done >= max_jobs:
                return  # recycled: the supervisor starts a fresh process
            time.sleep(wait)
            wait = min(wait * 2, 30.0)
    finally:
        stop.set()


class Supervisor:
    """Child processes that are restarted when they exit (with backoff when they keep failing) and stopped —
    SIGTERM to each child's own process group, SIGKILL after ``stop_timeout`` — when the supervisor is told
    to stop (SIGTERM/SIGINT) or fails. Each child leads a process group of its own, so what it started
    (RQ's scheduler process) goes with it; on Linux a child also gets SIGKILL when the supervisor dies (so start
    and watch it from one long-lived thread: the signal follows the thread that started the child)."""

    def __init__(self, commands: dict[str, list[str]], *, env: dict[str, str] | None = None,
                 restart_clean_exits: bool = True, stop_timeout: float = 30.0,
                 on_exit: Callable[[str, int, int], None] | None = None) -> None:
        self.commands = commands
        self.env = env
        self.restart_clean_exits = restart_clean_exits
        self.stop_timeout = stop_timeout
        self.on_exit = on_exit
        self.children: dict[str, subprocess.Popen] = {}
        self.backoff: dict[str, float] = {}
        self.stopping = threading.Event()
        self.failed = False
        self.lock = threading.RLock()
        self.due: dict[str, float] = {}  # slot -> when to start it again

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_args: self.stopping.set())

    def start(self) -> None:
        for slot in self.commands:
            self._spawn(slot)

    def _spawn(self, slot: str) -> None:
        with self.lock:
            self._start_child(slot)

    def _start_child(self, slot: str) -> None:
        self.children[slot] = subprocess.Popen(self.commands[slot], env=self.env, start_new_session=True,
                                               preexec_fn=die_with_parent)
        self.children[slot].started = time.monotonic()  # type: ignore[attr-defined]

    def pids(self) -> list[int]:
        return [child.pid for child in self.children.values()]

    def check(self) -> bool:
        """Restart children that exited; False once every child is done for good (burst workers)."""
        with self.lock:
            return self._check()

    def _check(self) -> bool:
        for slot, child in list(self.children.items()):
            code = child.poll()
            if code is None:
                continue
            _kill_group(child.pid, signal.SIGKILL)  # whatever it left behind
            if self.on_exit is not None:
                self.on_exit(slot, child.pid, code)
            if self.stopping.is_set():
                del self.children[slot]
                continue
            if code == 0 and not self.restart_clean_exits:
                del self.children[slot]
                continue
            lived = time.monotonic() - child.started  # type: ignore[attr-defined]
            delay = self.backoff.get(slot, 0.5) if lived < 10 else 0.5
            self.backoff[slot] = min(delay * 2, 30.0)
            if code != 0:
                self.failed = True
                log.warning("%s (pid %s) ended (%s); restarting in %.1f s", slot, child.pid, _how(code), delay)
            del self.children[slot]
            self.due[slot] = time.monotonic() + delay
        for slot, when in list(self.due.items()):
            # started from the supervising thread itself: a child dies with the thread that started it
            if when <= time.monotonic() and not self.stopping.is_set():
                del self.due[slot]
                self._start_child(slot)
        return bool(self.children) or bool(self.due)

    def watch(self, interval: float = 0.5) -> int:
        """Supervise until told to stop (or, without restarts of clean exits, until every child is done)."""
        while not self.stopping.is_set():
            if not self.check():
                break
            self.stopping.wait(interval)
        return 1 if self.failed and not self.restart_clean_exits else 0

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            self._stop()

    def _stop(self) -> None:
        for child in self.children.values():
            _kill_group(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _kill_group(child.pid, signal.SIGKILL)
            code = child.wait()
            if self.on_exit is not None:
                self.on_exit("stopped", child.pid, code)
        self.children.clear()


def _kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


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
    """Serve a vendor's sandbox (its API emulator) over HTTP on loopback, and print its demo credentials and the
    environment line that routes the hub's traffic for that vendor to it."""
    eps = _sandbox_entry_points()
    if vendor not in eps:
        raise click.UsageError(f"no sandbox for {vendor!r}; installed: {', '.join(sorted(eps)) or 'none'}")
    kwargs = dict(_parse_option(o) for o in options)
    module = eps[vendor].load()
    server = make_server(host, port, module.create_app(**kwargs), threaded=True, request_handler=QuietRequestHandler)
    origin = f"http://{host}:{server.server_port}"
    click.echo(f"{vendor} sandbox on {origin}")
    for line in _sandbox_instructions(vendor, module, origin):
        click.echo(line)
    server.serve_forever()


def _sandbox_instructions(vendor: str, module: object, origin: str) -> list[str]:
    """What an operator needs to use a sandbox: the settings that route to it and the credentials it accepts."""
    data = demo.demo_data(vendor, module)
    prefix = f"HUB_{vendor.upper()}_"
    lines = ["route the hub's requests for this vendor here (every firm; set it on the web, worker and scheduler "
             "processes, then restart them):", f"  {prefix}ORIGIN={origin}"]
    lines += [f"  {prefix}{key.upper()}={value}" for key, value in data["settings"].items()]
    if data["credentials"]:
        lines += ["credentials it accepts (enter them on the integration's Connect page, or with the API):",
                  *(f"  {key}: {value}" for key, value in data["credentials"].items())]
    for number, account in enumerate(data["client_credentials"][:2], start=1):
        lines.append(f"client account {number}: " + ", ".join(f"{k}: {v}" for k, v in account.items()))
    return lines


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
    audit.record(user.firm_id, "user.signed_out_everywhere", user, details={"sessions": ended})
    click.echo(f"{user.email}: {ended} session(s) ended")


@hub_cli.command("seed-demo")
@click.option("--origins", default="{}", help='JSON {vendor: sandbox origin}.')
def seed_demo_cmd(origins: str) -> None:
    """Create the demo firm (idempotent) and print the admin login."""
    login = demo.seed(json.loads(origins))
    click.echo(f"demo admin: {login['email']} / {login['password']}")
    click.echo(f"also: {login['member_email']} (a Member) and {login['basic_email']} (Owner of a Basic-plan firm), "
               "same password")


@hub_cli.command("up")
@click.option("--port", default=5000, show_default=True)
@click.option("--workers", default=1, show_default=True, help="Job processes.")
def up_cmd(port: int, workers: int) -> None:
    """Embedded mode: migrate, start the vendor sandboxes, seed the demo firm, a worker, the scheduler
    and the admin on http://127.0.0.1:PORT — one command.

    The worker and the scheduler are supervised (restarted if they die); SIGTERM/SIGINT, or a failure at any
    step, stops them and the embedded Redis: nothing is left running."""
    supervisor: Supervisor | None = None
    stop = threading.Event()

    def on_signal(*_args: object) -> None:
        stop.set()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_signal)
    die_with_parent(signal.SIGTERM)  # `make run` signalled: make dies, this process stops as on SIGTERM
    try:
        _upgrade_schema()
        origins = start_sandboxes()
        for vendor, origin in origins.items():
            click.echo(f"sandbox {vendor:<14} {origin}")
        demo.apply_sandbox_settings(list(origins))
        login = demo.seed(origins)
        metrics_dir = Path(current_app.instance_path) / "metrics"
        metrics_dir.mkdir(exist_ok=True)
        for stale in metrics_dir.glob("*.db"):
            stale.unlink()
        env = dict(os.environ, REDIS_URL=services().redis_url, HUB_INSTANCE_PATH=current_app.instance_path,
                   FLASK_APP="hub.app:create_app", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)  # this process's /metrics reads the children's
        supervisor = Supervisor({
            "worker": [sys.executable, "-m", "flask", "hub", "worker", "--processes", str(workers)],
            "scheduler": [sys.executable, "-m", "flask", "hub", "schedule", "--loop"],
        }, env=env)
        supervisor.start()
        threading.Thread(target=supervisor.watch, daemon=True, name="supervisor").start()
        click.echo(f"\nIntegration Hub on http://127.0.0.1:{port}\n"
                   f"  sign in as {login['email']} / {login['password']}\n"
                   f"  also {login['member_email']} (a Member) and {login['basic_email']} (Owner of a Basic-plan "
                   "firm), same password\n")
        current_app.config["SESSION_COOKIE_SECURE"] = False  # plain HTTP on loopback
        run_simple("127.0.0.1", port, current_app._get_current_object(), threaded=True,
                   request_handler=QuietRequestHandler)  # the request lines are the hub's own (hub.logs)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not interrupt the clean-up
        if supervisor is not None:
            supervisor.stop()
        embedded.shutdown()


@hub_cli.command("check")
def check_cmd() -> None:
    """The whole start-up check: the mode, each setting, the database (reachable, at head), Redis, workers and
    plugins. Exit status 1 when something would stop or hamper the hub (`/readyz` checks the same at run time)."""
    settings = current_app.extensions["hub_settings"]
    problems = list(current_app.extensions["hub_config_problems"])
    click.echo(f"mode: {settings.mode}")
    for name, value, fallback in (("HUB_SECRET_KEYS", settings.secret_keys, "instance/secret.keys"),
                                  ("REDIS_URL", settings.redis_url, "an embedded redis-server"),
                                  ("SECRET_KEY", settings.secret_key, "instance/flask.key")):
        shown = "set" if value else ("NOT SET" if settings.production else f"not set: {fallback} (embedded mode)")
        click.echo(f"{name}: {shown}")
    state = metrics.readiness() if not problems else {"checks": {}}
    for name, verdict in state["checks"].items():
        click.echo(f"{name}: {verdict}")
        if verdict != "ok" and name != "workers":  # no worker yet is normal before `flask hub worker` starts
            problems.append(f"{name}: {verdict}")
    for row in services().registry.listing():
        click.echo(f"plugin {row['slug']} {row['version'] or ''}".rstrip()
                   + (f": NOT LOADED: {row['error']}" if row["error"] else ": loaded"))
    for problem in problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    click.echo(f"hub {hub.__version__}: {'ready to start' if not problems else f'{len(problems)} problem(s)'}")
    if problems:
        raise SystemExit(1)


@hub_cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status_cmd(as_json: bool) -> None:
    """Runs by kind and state, queue depths, live workers and stuck-run candidates (what /metrics reports)."""
    state = metrics.snapshot()
    if as_json:
        runs = None if state["runs"] is None else [{"kind": k, "state": s, "count": n}
                                                   for (k, s), n in sorted(state["runs"].items())]
        click.echo(json.dumps({**state, "runs": runs}, indent=2))
        return
    if state["runs"] is None:
        raise click.ClickException("the database does not answer (`flask hub check` says more)")
    click.echo("runs (non-final, and final ones of the last 24 h):")
    for (kind, status), count in sorted(state["runs"].items()):
        click.echo(f"  {kind:<18} {status:<10} {count:>7}")
    if not state["runs"]:
        click.echo("  none")
    click.echo(f"running longer than their time limit: {state['stuck_candidates']} (the reconciler settles them)")
    if state["queues"] is None:
        click.echo("Redis: NOT REACHABLE")
        return
    click.echo(f"workers alive: {state['workers_alive']}")
    click.echo("queues:            queued scheduled  started   failed")
    for name, counts in state["queues"].items():
        click.echo(f"  {name:<14} {counts['queued']:>8} {counts['scheduled']:>9} {counts['started']:>8} "
                   f"{counts['failed']:>8}")


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
    try:
        require_integrations(firm)  # the plan's gate, as on the pages and the API
    except PlanRequired as exc:
        raise click.UsageError(str(exc)) from None
    run = statistics.reload(integration, trigger="cli")
    click.echo(f"reload run {run.id}: {run.progress_total} clients queued")


@hub_cli.command("schedule")
@click.option("--loop", is_flag=True, help="Keep running: dispatch every HUB_SCHEDULE_INTERVAL seconds, reconcile "
              "every HUB_RECONCILE_INTERVAL seconds.")
def schedule_cmd(loop: bool) -> None:
    """Enqueue every scheduled job that is due and not yet done, and settle stuck runs (safe to run from several
    places). In the loop a database or Redis blip is waited out with backoff."""
    if not loop:
        click.echo(f"dispatched: {schedule.dispatch()}")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_args: stop.set())
    interval = float(current_app.config["HUB_SCHEDULE_INTERVAL"])
    every = min(float(current_app.config.get("HUB_RECONCILE_INTERVAL", 30)), interval)
    next_dispatch, wait = 0.0, 1.0
    while not stop.is_set():
        try:
            if time.monotonic() >= next_dispatch:
                log.info("dispatched: %s", schedule.dispatch())  # includes the reconciler
                next_dispatch = time.monotonic() + interval
            else:
                schedule.reconcile()
            wait = 1.0
        except Exception as exc:  # the database or Redis is away: try again soon
            db.session.rollback()
            log.warning("schedule: %s; trying again in %.0f s", type(exc).__name__, wait)
            stop.wait(wait)
            wait = min(wait * 2, 30.0)
            continue
        finally:
            db.session.remove()
        stop.wait(every)


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
        new = auth.create_token(firm_id, name=name, role=role)
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
    auth.revoke_token(token)
    click.echo(f"API token {token_id} revoked")
# -- end API tokens ---------------------------------------------------------------------------------
