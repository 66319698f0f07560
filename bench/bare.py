"""The bare client: exactly the vendor requests of a Reload data, at the hub's concurrency, with plain httpx and
writing nothing — the floor this machine allows for the same work (the sandbox's CPU included).

Like the hub: ``workers`` processes each take one client at a time and fetch Merit's four lists at the same time
(four threads), each list in its 3-month windows one after the other; every request signed (HMAC-SHA256) and
its JSON answer parsed. Unlike the hub: one keep-alive httpx client per process, no database, no Redis, no
job queue.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from hub_merit.client import BASES, MeritAuth, dumps, windows, ymd
from hub_merit.wire import fact

from hub.types import Period

ENDPOINTS = (("endpoint_gl_batches", {"DateType": fact("gl_batch_date_type")}), ("endpoint_invoices", {}),
             ("endpoint_purchases", {}), ("endpoint_payments", {}))


def _requests_of(credentials: dict, periods: list[Period]) -> list[list[tuple[str, bytes]]]:
    """Per list: its ``(url, body)`` requests, in the order the hub sends them."""
    first, last = min(periods).first_day, max(periods).last_day
    start_field, end_field = fact("period_fields")
    base = BASES[credentials["country"]]
    out = []
    for endpoint, extra in ENDPOINTS:
        version, name = fact(endpoint).split("/", 1)
        out.append([(f"{base}/{version}/{name}", dumps({start_field: ymd(s), end_field: ymd(e), **extra}))
                    for s, e in windows(first, last)])
    return out


def _process(origin: str, jobs: mp.Queue, results: mp.Queue, start: mp.Event, periods: list[Period],
             threads: int) -> None:
    target = httpx.URL(origin)
    client = httpx.Client(timeout=30)
    pool = ThreadPoolExecutor(max_workers=threads)
    now = lambda: dt.datetime.now(dt.UTC)  # noqa: E731

    def fetch(auth: MeritAuth, requests: list[tuple[str, bytes]]) -> int:
        rows = 0
        for url, body in requests:
            real = httpx.URL(url)
            response = client.post(real.copy_with(scheme=target.scheme, host=target.host, port=target.port),
                                   content=body, auth=auth,
                                   headers={"Host": real.host, "Content-Type": "application/json; charset=utf-8",
                                            "Accept": "application/json"})
            response.raise_for_status()
            rows += len(response.json() or [])
        return rows

    start.wait()
    cpu = time.process_time()
    done = 0
    while (credentials := jobs.get()) is not None:
        auth = MeritAuth(credentials["api_id"], credentials["api_key"], now)
        futures = [pool.submit(fetch, auth, lists) for lists in _requests_of(credentials, periods)]
        for future in futures:
            future.result()
        done += 1
    results.put((done, time.process_time() - cpu))
    client.close()


def run(origin: str, credentials: list[dict], periods: list[Period], *, workers: int,
        threads: int = 4) -> dict[str, float]:
    """Send every client's requests; return ``wall_s`` and ``cpu_s`` (the bare client's own CPU)."""
    ctx = mp.get_context("fork")
    jobs: mp.Queue = ctx.Queue()
    results: mp.Queue = ctx.Queue()
    start = ctx.Event()
    procs = [ctx.Process(target=_process, args=(origin, jobs, results, start, periods, threads))
             for _ in range(workers)]
    for proc in procs:
        proc.start()
    for creds in credentials:
        jobs.put(creds)
    for _ in procs:
        jobs.put(None)
    time.sleep(0.5)  # every process is waiting at the start line
    started = time.monotonic()
    start.set()
    outcomes = [results.get(timeout=900) for _ in procs]
    wall = time.monotonic() - started
    for proc in procs:
        proc.join(timeout=30)
    if sum(n for n, _ in outcomes) != len(credentials):
        raise SystemExit("the bare client did not finish every client")
    return {"wall_s": wall, "cpu_s": sum(c for _, c in outcomes)}
