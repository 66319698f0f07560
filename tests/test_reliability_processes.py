"""Nothing gets stuck, with real processes: job processes killed with SIGKILL mid-import and mid-reload, a Redis of
our own killed for 5 s mid-run, Redis down while the API creates a run, and `flask hub up` stopped with SIGTERM."""

import datetime as dt
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from hub import catalog, connections, exports, linking, statistics
from hub.api import auth
from hub.models import Client, InvoiceExport, Notification, SummaryValue, SyncRun

GOOD = {"api_key": "ex-good-key-0001", "company": "acme"}
LINES = [{"description": "Bookkeeping", "quantity": "1", "unit_price": "100.00", "vat_rate": "24"}]
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    """A redis-server of the test's own on a loopback port, without persistence (a restart loses everything)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        wait_until(lambda: _pings(client), 10, "redis-server to start")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.RedisError:
        return False


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    out, todo = set(), [pid]
    while todo:
        current = todo.pop()
        for child, parent in parents.items():
            if parent == current and child not in out:
                out.add(child)
                todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def own_redis(hub_app):
    """The test app and every process it starts use a redis-server of the test's own."""
    server = OwnRedis()
    server.start()
    services = hub_app.extensions["hub"]
    saved = services._redis, services.redis_url
    services._redis, services.redis_url = redis.Redis.from_url(server.url), server.url
    yield server
    services._redis, services.redis_url = saved
    if server.proc and server.proc.poll() is None:
        server.kill()


@pytest.fixture
def env(hub_app, hub_database_url, own_redis, tmp_path):
    return dict(os.environ, FLASK_APP="hub.app:create_app", DATABASE_URL=hub_database_url, REDIS_URL=own_redis.url,
                HUB_SECRET_KEYS=",".join(hub_app.extensions["hub"].vault._keys), HUB_INSTANCE_PATH=str(tmp_path),
                SECRET_KEY="test", HUB_WORKER_HEARTBEAT="0.5", HUB_RETRY_BASE="0.2", HUB_RETRY_CAP="1",
                HUB_RECONCILE_INTERVAL="1", HUB_RECONCILE_GRACE="2", HUB_SCHEDULE_INTERVAL="3600")


class Processes:
    def __init__(self, env) -> None:
        self.env = env
        self.procs: list[subprocess.Popen] = []
        self.log = Path(env["HUB_INSTANCE_PATH"]) / "processes.log"

    def start(self, *args: str) -> subprocess.Popen:
        with self.log.open("a") as out:
            proc = subprocess.Popen([sys.executable, "-m", "flask", "hub", *args], env=self.env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop(self) -> set[int]:
        """SIGTERM each, wait; return the pids of whatever they left running."""
        tree = {p.pid for p in self.procs}
        for proc in self.procs:
            tree |= descendants(proc.pid)
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        time.sleep(0.3)
        return {pid for pid in tree if alive(pid)}

    def tail(self, size: int | None = 4000) -> str:
        text = self.log.read_text() if self.log.exists() else ""
        return text[-size:] if size else text


@pytest.fixture
def procs(env):
    group = Processes(env)
    yield group
    left = group.stop()
    assert not left, f"left running: {left}"


def slow_sandbox(serve, *, stats_s: float = 1.5, **knobs):
    """The example sandbox, answering statistics slowly (so there is a 'mid-import' to kill)."""
    from hub_example import sandbox

    app = sandbox.create_app(**knobs)

    def slow(environ, start_response):
        if environ["PATH_INFO"].endswith("/stats"):
            time.sleep(stats_s)
        return app(environ, start_response)

    return app, serve(slow)


def linked(integration, firm, hub_db, origin, *, clients: int = 3):
    integration.settings = {"origin": origin}
    hub_db.session.commit()
    connections.save_credentials(integration, GOOD)  # untested is enough to import
    docs = statistics.create_custom_field(firm.id, "Documents")
    statistics.save_summary_settings(integration, {"mapping": {"documents": docs.id}})
    for i in range(4, clients + 1):
        hub_db.session.add(Client(firm_id=firm.id, name=f"Client {i}"))
    hub_db.session.commit()
    for i, client in enumerate(Client.query.filter_by(firm_id=firm.id).order_by(Client.id), start=1):
        linking.link_client(None, client_id=client.id, integration=integration, vendor_client_id=str(i),
                            vendor_client_name=f"Client {i}")
    return docs


def refreshed(hub_db, model, id_):
    hub_db.session.expire_all()
    return hub_db.session.get(model, id_)


def horse_of(job_process: int, before: set[int]) -> int | None:
    new = descendants(job_process) - before
    return max(new) if new else None  # forked after RQ's scheduler process


@pytest.mark.parametrize("mode", ["simple", "fork"])
def test_a_job_process_killed_mid_reload_is_retried_and_the_parent_notifies(mode, example_integration, firm, hub_db,
                                                                             serve, procs):
    _, origin = slow_sandbox(serve, stats_s=4)  # a wide "mid-import" window, also on a loaded machine
    linked(example_integration, firm, hub_db, origin)
    supervisor = procs.start("worker", "--processes", "2", "--queues", "imports", *(["--fork"] if mode == "fork"
                                                                                    else []))
    conn = redis.Redis.from_url(procs.env["REDIS_URL"])
    wait_until(lambda: conn.exists("rq:scheduler-lock:imports") and conn.scard("rq:workers") == 2, 60,
               "the job processes and RQ's scheduler")
    time.sleep(1)
    before = descendants(supervisor.pid)
    parent = statistics.reload(example_integration)

    def victim() -> SyncRun | None:
        hub_db.session.expire_all()
        return SyncRun.query.filter(SyncRun.kind == "import", SyncRun.status == "running").first()

    wait_until(lambda: victim() is not None, 30, "an import to start")
    run = victim()
    job_process = int(run.worker.rsplit(".", 1)[1])
    if mode == "fork":
        horse = []
        wait_until(lambda: horse.append(horse_of(job_process, before)) or horse[-1] is not None, 10, "the horse")
        os.kill(horse[-1], signal.SIGKILL)
    else:
        os.kill(job_process, signal.SIGKILL)
    wait_until(lambda: refreshed(hub_db, SyncRun, parent.id).finished, 45, "the reload to finish\n" + procs.tail())
    killed = refreshed(hub_db, SyncRun, run.id)
    assert killed.status == "succeeded" and killed.attempts == 2, (killed.status, killed.error)
    parent = refreshed(hub_db, SyncRun, parent.id)
    assert parent.status == "succeeded" and parent.result == {"clients": 3, "failed": 0}
    assert "3 of 3 clients imported" in Notification.query.one().body
    assert SummaryValue.query.count() == 3 * 12


def test_redis_killed_for_5_s_mid_run_loses_nothing_and_duplicates_nothing(example_integration, firm, hub_db, serve,
                                                                           procs, own_redis):
    app, origin = slow_sandbox(serve, stats_s=1.0)
    docs = linked(example_integration, firm, hub_db, origin, clients=6)
    refresh = catalog.refresh(example_integration, "tax_rate")  # the workers run it
    procs.start("worker", "--processes", "2")
    procs.start("schedule", "--loop")
    client = Client.query.filter_by(firm_id=firm.id).order_by(Client.id).first()
    wait_until(lambda: refreshed(hub_db, SyncRun, refresh.id).finished, 30, "the catalog refresh\n" + procs.tail())
    invoice = exports.create_invoice(firm.id, client.id, number="2026-200", issue_date=dt.date(2026, 11, 20),
                                     due_date=dt.date(2026, 12, 4), lines=LINES)
    [export] = exports.issue_invoice(invoice)
    parent = statistics.reload(example_integration)
    wait_until(lambda: SyncRun.query.filter_by(kind="import", status="running").count() > 0, 30, "imports to run")
    own_redis.kill()
    time.sleep(5)
    own_redis.start()
    started = time.monotonic()
    wait_until(lambda: refreshed(hub_db, SyncRun, parent.id).finished, 50, "the reload to finish\n" + procs.tail())
    try:
        # the confirmation waits for a job queued while Redis was down: the reconciler (every 30 s) enqueues it
        wait_until(lambda: refreshed(hub_db, InvoiceExport, export.id).status == "confirmed", 90, "the export")
    except AssertionError:
        hub_db.session.expire_all()
        raise AssertionError(str([(r.id, r.kind, r.status, r.attempts, r.job_id, r.worker, r.error)
                                  for r in SyncRun.query.filter_by(kind="export")]) + str(
            refreshed(hub_db, InvoiceExport, export.id).__dict__) + "\n" + "\n".join(
                line for line in procs.tail(None).splitlines() if re.search("export|invoice|WARNING|ERROR", line)
            )) from None
    recovered = time.monotonic() - started
    hub_db.session.expire_all()
    assert all(r.finished for r in SyncRun.query.filter(SyncRun.kind != "test_connection")), \
        [(r.id, r.kind, r.status) for r in SyncRun.query if not r.finished]
    parent = hub_db.session.get(SyncRun, parent.id)
    assert parent.status == "succeeded" and parent.result == {"clients": 6, "failed": 0}, parent.result
    assert SummaryValue.query.filter_by(field_id=docs.id).count() == 6 * 12, "nothing lost"
    assert len(app.config["invoices"]) == 1, "no duplicate invoice"
    print(f"recovered in {recovered:.1f} s after Redis came back")


def test_redis_down_while_the_api_creates_a_run_answers_503_and_the_run_happens_later(example_integration, firm,
                                                                                     hub_db, hub_app, serve, procs,
                                                                                     own_redis):
    _, origin = slow_sandbox(serve, stats_s=0)
    linked(example_integration, firm, hub_db, origin)
    procs.start("worker")
    procs.start("schedule", "--loop")
    token = auth.create_token(firm.id, name="script", role="admin").secret
    own_redis.kill()
    response = hub_app.test_client().post("/api/v1/integrations/example/reload", json={},
                                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503, response.get_data(as_text=True)
    assert "starts automatically once the queue is back" in response.get_json()["detail"]
    own_redis.start()
    parent = SyncRun.query.filter_by(kind="reload").one()
    wait_until(lambda: refreshed(hub_db, SyncRun, parent.id).finished, 45, "the reload\n" + procs.tail())
    assert refreshed(hub_db, SyncRun, parent.id).status == "succeeded"
    assert SyncRun.query.filter_by(kind="import").count() == 3, "each client once"
    assert "3 of 3 clients imported" in Notification.query.one().body


def test_hub_up_stopped_with_sigterm_leaves_no_process(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(FLASK_APP="hub.app:create_app", HUB_INSTANCE_PATH=str(tmp_path), HUB_LOAD_PLUGINS="merit",
               HUB_INSECURE_COOKIES="1")
    log = (tmp_path / "up.log").open("w")
    up = subprocess.Popen([sys.executable, "-m", "flask", "hub", "up", "--port", str(port), "--workers", "2"],
                          env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def answers() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return True
            except OSError:
                return False

        wait_until(answers, 60, "flask hub up to serve")
        wait_until(lambda: len(descendants(up.pid)) >= 4, 30, "the worker processes and the scheduler")
        tree = descendants(up.pid)
        redis_pid = _redis_server_pid(tree)
        assert redis_pid, "the embedded redis-server"
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=45)
        time.sleep(0.5)
        left = {pid for pid in tree | {redis_pid} if alive(pid)}
        assert not left, f"left running after SIGTERM: {left}\n{(tmp_path / 'up.log').read_text()[-3000:]}"
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)


def _redis_server_pid(tree: set[int]) -> int | None:
    """The embedded redis-server (daemonised, so not a descendant): ask it, over the socket the children use."""
    for pid in tree:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for item in environ:
            if item.startswith(b"REDIS_URL="):
                url = item.split(b"=", 1)[1].decode()
                return int(redis.Redis.from_url(url).info("server")["process_id"])
    return None
