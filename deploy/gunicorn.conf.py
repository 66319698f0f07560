"""gunicorn settings for the hub's web role (deploy/entrypoint.sh `web`, deploy/systemd/hub-web.service).

No access log: the hub writes its own request log (``hub.request``, set-password tokens masked; README "Production").
Proxy trust (``forwarded_allow_ips``) is set by the operator for their proxies (README "Production").
"""

import os

bind = os.environ.get("HUB_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
accesslog = None
errorlog = "-"
graceful_timeout = 30


def child_exit(server, worker):  # noqa: ANN001, ANN201  (gunicorn's hook)
    """A web process ended: its live gauges leave /metrics (prometheus-client's multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
