"""As production runs it (issue 21 item 5): the workers reach PostgreSQL and Redis over a network with a real
round-trip time.

Set up and torn down here (root; ``ip``/``tc`` from iproute2): a network namespace ``hubbench21`` joined to this
one by a veth pair with link-local addresses of its own (169.254.21.1 here, 169.254.21.2 inside — they are never
routed off the machine), ``tc netem`` delaying each direction by half the RTT. The workers and the Merit sandbox
run inside the namespace (the sandbox on the namespace's own side, so vendor traffic is not delayed twice);
PostgreSQL and Redis stay where they are, reached through a small TCP relay on 169.254.21.1 (the shared
PostgreSQL listens on 127.0.0.1 only). The same run without the delay (same namespace, same relay) is the baseline.

Fallbacks, each named in the report with the error that forced it: when the kernel has no netem qdisc (this
development machine: a Firecracker kernel without ``sch_netem`` and no loadable modules — ``tc`` answers "Specified
qdisc kind is unknown"), the namespace and veth pair stay and the relay delays every chunk by half the RTT in each
direction; when no namespace can be created (no CAP_NET_ADMIN, no iproute2), the delaying relay runs on loopback.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
import urllib.parse

NS, HOST_IF, NS_IF = "hubbench21", "hb21h", "hb21n"
HOST_IP, NS_IP = "169.254.21.1", "169.254.21.2"


def _sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def setup_namespace() -> None:
    teardown_namespace()
    _sh("ip", "netns", "add", NS)
    _sh("ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF)
    _sh("ip", "link", "set", NS_IF, "netns", NS)
    _sh("ip", "addr", "add", f"{HOST_IP}/30", "dev", HOST_IF)
    _sh("ip", "link", "set", HOST_IF, "up")
    _sh("ip", "netns", "exec", NS, "ip", "addr", "add", f"{NS_IP}/30", "dev", NS_IF)
    _sh("ip", "netns", "exec", NS, "ip", "link", "set", NS_IF, "up")
    _sh("ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up")


def set_delay(rtt_ms: float) -> None:
    half = f"{rtt_ms / 2:.3f}ms"
    _sh("tc", "qdisc", "replace", "dev", HOST_IF, "root", "netem", "delay", half)
    _sh("ip", "netns", "exec", NS, "tc", "qdisc", "replace", "dev", NS_IF, "root", "netem", "delay", half)


def teardown_namespace() -> None:
    _sh("ip", "link", "del", HOST_IF, check=False)  # deletes its peer too
    _sh("ip", "netns", "del", NS, check=False)


class Relay:
    """A TCP relay, in a thread: a free port on ``host`` per target (``host:port`` or a unix socket path);
    optionally delaying every chunk by ``delay_s`` (the loopback fallback)."""

    def __init__(self, host: str, routes: list[str], delay_s: float = 0.0) -> None:
        self.host, self.routes, self.delay_s = host, routes, delay_s
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.ports: dict[str, int] = {}
        self.thread = threading.Thread(target=self._run, daemon=True, name="bench-relay")
        self.thread.start()
        if not self.ready.wait(10):
            raise SystemExit("the relay did not start")

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        self.servers = []
        for target in self.routes:
            server = await asyncio.start_server(lambda r, w, t=target: self._handle(r, w, t), self.host, 0)
            self.ports[target] = server.sockets[0].getsockname()[1]
            self.servers.append(server)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: str) -> None:
        try:
            if target.startswith("/"):
                up_reader, up_writer = await asyncio.open_unix_connection(target)
            else:
                host, port = target.rsplit(":", 1)
                up_reader, up_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    def close(self) -> None:
        for server in self.servers:
            self.loop.call_soon_threadsafe(server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def _targets(env) -> tuple[str | None, str]:  # noqa: ANN001
    """(PostgreSQL ``host:port`` or None for SQLite, Redis ``host:port`` or unix socket path)."""
    db = urllib.parse.urlsplit(env.database_url)
    pg = f"{db.hostname or '127.0.0.1'}:{db.port or 5432}" if env.database_url.startswith("postgres") else None
    redis = urllib.parse.urlsplit(env.redis_url)
    rd = redis.path if redis.scheme == "unix" else f"{redis.hostname or '127.0.0.1'}:{redis.port or 6379}"
    return pg, rd


def _worker_env(env, relay: Relay, host: str, pg: str | None, rd: str) -> dict:  # noqa: ANN001
    wenv = dict(env.base)
    if pg:
        db = urllib.parse.urlsplit(env.database_url)
        wenv["DATABASE_URL"] = db._replace(netloc=f"{db.username or 'postgres'}@{host}:{relay.ports[pg]}").geturl()
    redis_db = urllib.parse.urlsplit(env.redis_url).path.strip("/") if not rd.startswith("/") else "0"
    wenv["REDIS_URL"] = f"redis://{host}:{relay.ports[rd]}/{redis_db or 0}"
    return wenv


def part(env, args) -> None:  # noqa: ANN001
    from bench.reload import QUICK, hub_reload

    rtt_ms = 2.0
    clients = 50 if QUICK else 200
    pg, rd = _targets(env)
    routes = [t for t in (pg, rd) if t]
    mode, reason = "netns", ""
    if shutil.which("ip") is None or shutil.which("tc") is None:
        mode, reason = "loopback", "iproute2 (ip, tc) is not installed"
    else:
        try:
            setup_namespace()
        except subprocess.CalledProcessError as exc:
            mode, reason = "loopback", f"`{' '.join(exc.cmd)}` failed: {exc.stderr.strip()}"
            teardown_namespace()
        else:
            try:
                set_delay(0.0)
            except subprocess.CalledProcessError as exc:
                mode, reason = "netns-relay", f"`{' '.join(exc.cmd)}` failed: {exc.stderr.strip()}"
    results = {}
    try:
        for label, delay in (("no delay", 0.0), (f"{rtt_ms:.0f} ms RTT", rtt_ms)):
            if mode == "netns":
                set_delay(delay)
            relay_host = "127.0.0.1" if mode == "loopback" else HOST_IP
            relay = Relay(relay_host, routes, delay_s=0.0 if mode == "netns" else delay / 2000)
            wenv = _worker_env(env, relay, relay_host, pg, rd)
            kwargs = {} if mode == "loopback" else {"netns": NS, "sandbox_host": NS_IP}
            try:
                results[label] = hub_reload(env, clients=clients, workers=args.workers, latency_ms=args.latency_ms,
                                            worker_env=wenv, **kwargs)
            finally:
                relay.close()
    finally:
        if mode != "loopback":
            teardown_namespace()
    base, slow = results["no delay"], results[f"{rtt_ms:.0f} ms RTT"]
    where = {"netns": f"network namespace {NS}, a veth pair ({HOST_IP} ↔ {NS_IP}) and tc netem",
             "netns-relay": f"network namespace {NS} and a veth pair ({HOST_IP} ↔ {NS_IP}); the delay in the relay, "
                            f"not tc netem: {reason}",
             "loopback": f"FALLBACK, a delaying TCP relay on loopback: {reason}"}[mode]
    print(f"\n== as production runs it: workers reach {'PostgreSQL' if pg else 'Redis (SQLite stays local)'}"
          f"{' and Redis' if pg else ''} over {where}")
    for label, r in results.items():
        print(f"{label:<10} wall {r['wall_s']:.2f} s, workers' CPU {r['cpu_workers_s']:.1f} s, {r['sql_per_job']:.1f} "
              f"SQL + {r['redis_per_job']:.1f} Redis round trips per client job, mean job "
              f"{r['mean_job_s'] * 1000:.0f} ms ({r['load']})")
    trips = slow["sql_per_job"] + slow["redis_per_job"]
    print(f"delay costs {slow['wall_s'] - base['wall_s']:+.2f} s wall ({slow['wall_s'] / base['wall_s']:.2f}×); "
          f"{trips:.0f} round trips × {rtt_ms:.0f} ms = {trips * rtt_ms:.0f} ms per client job, "
          f"÷ {args.workers} workers → {trips * rtt_ms * clients / args.workers / 1000:.2f} s expected")
