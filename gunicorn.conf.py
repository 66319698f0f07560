"""gunicorn's settings for the hub, the one file for every way it runs: from the checkout (gunicorn reads
``gunicorn.conf.py`` from the working directory: ``gunicorn -w 4 -b 0.0.0.0:8000 'hub.app:create_app()'``), in the
image and under systemd (``deploy/entrypoint.sh web`` passes ``--config`` with its copy). Command-line options win.

Proxy trust comes from one setting, ``HUB_PROXY_HOPS`` (see SECURITY.md): the app's ``ProxyFix`` reads exactly
that many ``X-Forwarded-For`` / ``-Proto`` values, and gunicorn trusts none of them itself — by default it would
take ``X-Forwarded-Proto`` from any loopback peer, whatever ``HUB_PROXY_HOPS`` says.

No access log: the hub writes its own request log (``hub.request``, set-password tokens masked; README "Production").
"""

import os

from hub.web.security import proxy_hops

PROXY_HOPS = proxy_hops(dict(os.environ))  # refuses a bad value at start-up, in words

bind = os.environ.get("HUB_BIND", "127.0.0.1:8000")  # the image and the units set HUB_BIND=0.0.0.0:8000
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
accesslog = None
errorlog = "-"
graceful_timeout = 30
forwarded_allow_ips = ""  # no peer may set the scheme for gunicorn: the app's ProxyFix does, for HUB_PROXY_HOPS
secure_scheme_headers: dict[str, str] = {}
# the app answers a request target over hub.web.security.MAX_URI (4094) with a 414 in words (a problem document on
# the API); gunicorn's own plain 414 page is left for lines over 8190 bytes, its maximum
limit_request_line = 8190


def child_exit(server, worker):  # noqa: ANN001, ANN201  (gunicorn's hook)
    """A web process ended: its live gauges leave /metrics (prometheus-client's multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_starting(server):  # noqa: ANN001, ANN201  (gunicorn's hook)
    """The start-up check (``hub.config``) in the master, before any web process is forked: a broken production
    configuration stops gunicorn with one line per problem and exit status 4 — every time, not only when the
    first failing web process is reaped before the second (gunicorn then halts with a traceback and status 1)."""
    from hub import config

    found = config.problems(config.read({}, "sqlite://"))  # no DATABASE_URL: embedded, where nothing is required
    if found:
        config.refuse(found)
