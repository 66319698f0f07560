"""What the benchmarks share: the Merit sandbox process, CPU clocks from /proc, the bench firm written in bulk,
long-lived non-forking worker processes (``bench/worker.py``) and their counters."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
#: Merit: getinvoices, getpurchorders, getpayments, getglbatches × the 3-month windows of the months asked for.
LISTS = 4


def load() -> str:
    """The machine's load right now (what `uptime` prints), stated with every figure."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def start_sandbox(env: dict, *, netns: str | None = None, host: str = "127.0.0.1",
                  **knobs: object) -> tuple[subprocess.Popen, str]:
    """The Merit sandbox in its own process (optionally inside network namespace ``netns``)."""
    args = [sys.executable, "-m", "flask", "hub", "sandbox", "merit", "--host", host, "--port", "0"]
    for key, value in knobs.items():
        args += ["--option", f"{key}={json.dumps(value)}"]
    if netns:
        args = ["ip", "netns", "exec", netns, *args]
    proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    match = re.search(r"(http://[0-9.]+:\d+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"sandbox did not start: {line}{proc.stderr.read()}")
    return proc, match.group(1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())


def post(url: str, body: dict | None = None) -> None:
    data = json.dumps(body or {}).encode()
    urllib.request.urlopen(urllib.request.Request(url, data=data, method="POST",
                                                  headers={"Content-Type": "application/json"}), timeout=300).read()


def wait_for_sandbox(origin: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            get_json(f"{origin}/_sandbox/requests")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@functools.lru_cache(maxsize=4)
def company_credentials(n: int) -> list[dict]:
    """Credentials of the sandbox's first ``n`` extra companies (generating them costs ~30 ms CPU each; the first
    ``k`` of any ``n`` are the same)."""
    from hub_merit import sandbox as merit_sandbox

    return merit_sandbox.extra_credentials(n)


def setup_firm(*, clients: int, origin: str, name: str = "Bench firm", company_offset: int = 0,
               created_at: object = None) -> tuple[int, list[int]]:
    """One firm with an enabled, tested Merit integration and ``clients`` clients with their own tested Merit
    credentials (the sandbox's extra companies ``company_offset + 1 …``), written in bulk (inside an app
    context). Returns the integration id and the client connection ids."""
    from hub_merit import sandbox as merit_sandbox

    from hub import connections, credentials, statistics, vendor_accounts
    from hub.models import OK, Client, ClientConnection, Firm, db, utcnow
    from hub.services import services

    firm = Firm(name=name, country="EE", timezone="Europe/Tallinn", plan="team")
    db.session.add(firm)
    db.session.commit()
    integration = connections.get_or_create_integration(firm.id, "merit")
    integration.settings = {"origin": origin}
    db.session.commit()
    connections.set_enabled(integration, True)
    connections.save_credentials(integration, dict(merit_sandbox.DEMO_CREDENTIALS))
    integration.status = OK  # the bench does not test the firm's own credentials: no job before the figures
    db.session.commit()
    from hub.models import SyncRun

    SyncRun.query.filter_by(integration_id=integration.id, kind="test_connection").delete()
    db.session.commit()
    services().redis.delete("rq:queue:interactive")
    mapping = {f.key: statistics.create_custom_field(firm.id, f.label).id
               for f in vendor_accounts.vendor_of(integration).info.statistic_fields}
    statistics.save_summary_settings(integration, {"mapping": mapping})
    schema = vendor_accounts.vendor_of(integration).schema
    vault = services().vault
    companies = company_credentials(max(company_offset + clients, 200))[company_offset:company_offset + clients]
    rows = [{"firm_id": firm.id, "name": f"Bench Client {company_offset + i:05d} OÜ"} for i in range(1, clients + 1)]
    db.session.execute(db.insert(Client), rows)
    client_ids = [c for (c,) in db.session.execute(
        db.select(Client.id).where(Client.firm_id == firm.id).order_by(Client.id))]
    now = created_at or utcnow()
    links = []
    for client_id, creds in zip(client_ids, companies, strict=True):
        public, secret = credentials.split(schema, creds)
        links.append({"client_id": client_id, "integration_id": integration.id, "status": OK,
                      "public_credentials": public, "secret_credentials": vault.encrypt(secret),
                      "account_name": "bench", "created_at": now, "updated_at": now})
    db.session.execute(db.insert(ClientConnection), links)
    db.session.commit()
    ids = [c for (c,) in db.session.execute(db.select(ClientConnection.id).where(
        ClientConnection.integration_id == integration.id).order_by(ClientConnection.id))]
    return integration.id, ids


class Workers:
    """N long-lived non-forking worker processes (``bench/worker.py``: ``jobs.make_worker(simple=True)``), each
    with counters of SQL statements and Redis round trips that :meth:`snapshot` reads."""

    def __init__(self, n: int, env: dict, *, queues: str = "interactive,imports", netns: str | None = None,
                 tag: str = "w") -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"workers-{tag}-", dir=env["HUB_INSTANCE_PATH"]))
        args = [sys.executable, str(BENCH_DIR / "worker.py"), "--queues", queues, "--counters"]
        if netns:
            args = ["ip", "netns", "exec", netns, *args]
        self.procs = [subprocess.Popen([*args, str(self.dir / f"{i}.json")], env=env, stdout=subprocess.DEVNULL,
                                       stderr=open(self.dir / f"{i}.log", "w")) for i in range(n)]
        self.pids = [self._python_pid(p) for p in self.procs]

    def _python_pid(self, proc: subprocess.Popen) -> int:
        """The worker's own pid (``ip netns exec`` execs the command, so it is the same pid)."""
        return proc.pid

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        for i, proc in enumerate(self.procs):
            ready = self.dir / f"{i}.json.ready"
            while not ready.exists():
                if proc.poll() is not None:
                    raise SystemExit(f"worker {i} exited: {(self.dir / f'{i}.log').read_text()[-2000:]}")
                if time.monotonic() > deadline:
                    raise SystemExit("workers did not start")
                time.sleep(0.1)

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def snapshot(self) -> dict[str, float]:
        """Counters summed over the workers: ``sql``, ``redis`` (round trips), ``jobs``."""
        for i, pid in enumerate(self.pids):
            (self.dir / f"{i}.json").unlink(missing_ok=True)
            os.kill(pid, signal.SIGUSR1)
        total: dict[str, float] = {}
        deadline = time.monotonic() + 30
        for i in range(len(self.pids)):
            path = self.dir / f"{i}.json"
            while not path.exists():
                if time.monotonic() > deadline:
                    raise SystemExit(f"worker {i} wrote no counters")
                time.sleep(0.02)
            for key, value in json.loads(path.read_text()).items():
                total[key] = total.get(key, 0) + value
        return total

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in after}
