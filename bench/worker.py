"""One long-lived, non-forking bench worker: ``jobs.make_worker(simple=True).work()`` in the hub's app, with
counters of the SQL statements it sends and of its Redis round trips (one per command sent, one per pipeline).

    python bench/worker.py --queues interactive,imports --counters /tmp/w0.json

SIGUSR1 writes the counters so far to the ``--counters`` file; SIGTERM stops the worker after its job. The file
``<counters>.ready`` appears once the worker waits for jobs.
"""

from __future__ import annotations

import argparse
import json
import signal
from pathlib import Path

import redis.connection
from sqlalchemy import event
from sqlalchemy.engine import Engine

COUNTERS = {"sql": 0, "redis": 0}


def _count_sql(*args: object) -> None:
    COUNTERS["sql"] += 1


def _count_redis(send):  # noqa: ANN001, ANN202 — wraps AbstractConnection.send_packed_command
    def counted(self, command, check_health=True):  # noqa: ANN001, ANN202
        COUNTERS["redis"] += 1
        return send(self, command, check_health)

    return counted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queues", default="interactive,imports")
    parser.add_argument("--counters", required=True)
    args = parser.parse_args()
    event.listen(Engine, "before_cursor_execute", _count_sql)
    connection_class = redis.connection.AbstractConnection
    connection_class.send_packed_command = _count_redis(connection_class.send_packed_command)

    from hub import jobs
    from hub.app import create_app

    app = create_app()
    jobs.set_worker_app(app)
    counters = Path(args.counters)

    def dump(*_: object) -> None:
        tmp = counters.with_suffix(".tmp")
        tmp.write_text(json.dumps(COUNTERS))
        tmp.rename(counters)

    signal.signal(signal.SIGUSR1, dump)
    with app.app_context():
        worker = jobs.make_worker(tuple(q for q in args.queues.split(",") if q), simple=True)
        Path(f"{counters}.ready").write_text("")
        worker.work(burst=False, with_scheduler=False, logging_level="WARNING")


if __name__ == "__main__":
    main()
