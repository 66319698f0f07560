"""The sandbox kit: the plumbing every vendor sandbox shares, so that a sandbox keeps only its vendor.

A vendor sandbox subclasses :class:`Sandbox` (its state: knobs, recorded requests, seeded data) and builds
its Flask app with :meth:`Sandbox.create_app`, then adds the vendor's own routes::

    class SandboxState(Sandbox):
        name = "acme"
        vendor_knobs = {"rate_limit": "300/60", "slim_lists": False}   # own knobs, and defaults for the kit's

        def seed(self) -> None:                    # on creation and on POST /_sandbox/reset
            self.invoices = []

    def create_app(**knobs) -> Flask:
        state = SandboxState(**knobs)              # an unknown knob raises TypeError
        app = state.create_app()

        @app.get("/api/v1/me")
        def me(): ...

        return app

The app then has, without a line of vendor code:

* **request recording** — every API request (any path outside ``/_sandbox/``) as a :class:`Recorded` in
  ``state.requests``, with the status it was answered; ``state.by_status``;
* **fault knobs** — ``latency_ms``; ``fault`` (``"429"`` with ``Retry-After: <retry_after>``, ``"500"``,
  ``"timeout"``: sleeps ``timeout_s``, ``"garbage"``: an HTML page with status 200) on every
  ``fault_every``-th request whose path contains ``fault_path`` and whose method is ``fault_method``;
  the answers come from :meth:`Sandbox.fault_response` (override it for the vendor's own error bodies);
* **limits and credentials, where the vendor checks them** — :meth:`Sandbox.take_rate` (knob ``rate_limit``,
  ``"N/S"``), :meth:`Sandbox.credential_status` (knobs ``revoked``, ``expired`` and ``today``);
* **control endpoints** — ``GET /_sandbox/requests`` (``{"total", "by_status"}``), ``POST /_sandbox/reset``,
  ``GET|POST /_sandbox/knobs``, ``GET /_sandbox/timeline``;
* **serving** — :func:`serve` (loopback, threaded, port 0, stoppable) and :func:`transport` (in-process).

Seeded-data helpers: :func:`rng`, :func:`seeded_uuid`, :func:`pick_name`, :func:`random_day`, :func:`money`,
:func:`ascii_fold`, :func:`cached_seed`. The guide is ``docs/plugins/testing.md`` ("The sandbox kit").

This module imports only the standard library, Flask/werkzeug/httpx and :mod:`hub.types`: a plugin's sandbox
may use it without depending on anything else in the hub.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import json
import math
import pickle
import random
import threading
import time
import unicodedata
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import httpx
from flask import Flask, Response, g, has_request_context, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from hub.types import Period

__all__ = ["BASE_KNOBS", "CONTROL_PREFIX", "FAULTS", "GARBAGE_PAGE", "RateVerdict", "Recorded", "RecordedHeaders",
           "Sandbox", "Served", "StatusCounts", "ascii_fold", "cached_seed", "json_response", "money", "parse_rate",
           "pick_name", "random_day", "rng", "seeded_uuid", "serve", "transport"]

#: Paths under this prefix are the kit's control endpoints: never recorded, never faulted.
CONTROL_PREFIX = "/_sandbox/"
#: The faults the ``fault`` knob injects.
FAULTS = ("429", "500", "timeout", "garbage")
#: The kit's knobs and their defaults; a sandbox changes a default in ``vendor_knobs``.
BASE_KNOBS: dict[str, Any] = {
    "latency_ms": 0.0,     # added to every API request
    "fault": None,         # None | "429" | "500" | "timeout" | "garbage"
    "fault_every": 1,      # every Nth matching request (the count restarts when a fault knob changes)
    "fault_path": None,    # only requests whose path contains this
    "fault_method": None,  # only requests with this method
    "timeout_s": 2.0,      # how long "timeout" sleeps
    "retry_after": 1,      # the Retry-After seconds of an injected 429
    "rate_limit": None,    # "N/S": N requests per S seconds per key, where the sandbox calls take_rate()
    "today": None,         # the sandbox's date (ISO); None: the real date in Sandbox.timezone
    "revoked": [],         # credentials (keys, tokens) answered as revoked
    "expired": [],         # credentials answered as expired
}
GARBAGE_PAGE = "<html><body><h1>Service temporarily unavailable</h1></body></html>"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
_OFF = (None, "", "none", "null", "off", False)

T = TypeVar("T")


class RecordedHeaders(dict[str, str]):
    """A request's headers as the sandbox received them, looked up in any case (HTTP header names are
    case-insensitive): ``headers["X-AppSecretToken"]`` finds ``X-Appsecrettoken``."""

    def _key(self, name: object) -> object:
        if not isinstance(name, str) or dict.__contains__(self, name):
            return name
        lower = name.lower()
        return next((key for key in self if key.lower() == lower), name)

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, self._key(name))

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, self._key(name))

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, self._key(name), default)


@dataclasses.dataclass
class Recorded:
    """One API request as the sandbox received it, and the status it was answered with."""

    method: str
    host: str  #: the ``Host`` header's name, lower case, without the port
    path: str
    query: str  #: the raw query string, exactly as sent
    headers: dict[str, str]  #: a :class:`RecordedHeaders`: looked up in any case
    body: bytes
    status: int = 0  #: 0 while the request is being answered
    at: float = dataclasses.field(default_factory=time.time)  #: when it arrived (epoch seconds)

    @property
    def query_string(self) -> str:
        return self.query

    @property
    def args(self) -> dict[str, str]:
        """The query parameters (the first value of each), decoded."""
        return dict(reversed(parse_qsl(self.query, keep_blank_values=True)))

    @property
    def form(self) -> dict[str, str]:
        """The body's form fields (``application/x-www-form-urlencoded``), decoded."""
        return dict(reversed(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)))

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def __getitem__(self, name: str) -> Any:
        """``record["path"]``: dict-style reading, as some sandboxes' tests read their records."""
        if name not in self.__dataclass_fields__:
            raise KeyError(name)
        return getattr(self, name)


class StatusCounts(dict[str, int]):
    """Answered requests per status, ``{"200": 12, "429": 1}``; calling it returns a plain dict."""

    def __call__(self) -> dict[str, int]:
        return dict(self)


@dataclasses.dataclass(frozen=True)
class RateVerdict:
    """What :meth:`Sandbox.take_rate` decided for one request."""

    allowed: bool
    limit: int
    per: float
    remaining: int  #: requests left in the window after this one
    retry_after: int  #: whole seconds until a request is allowed again (0 when allowed)
    reset_in: float  #: seconds until the window resets (fixed) or its oldest request leaves it (sliding)


def parse_rate(spec: Any) -> tuple[int, float] | None:
    """``"60/60"`` → ``(60, 60.0)``; ``"5"`` → ``(5, 1.0)``; ``None``, ``""`` or ``"off"`` → ``None``."""
    if spec in _OFF or str(spec).strip().lower() in _OFF:
        return None
    count, _, seconds = str(spec).partition("/")
    try:
        limit, per = int(count), float(seconds or 1)
    except ValueError:
        raise ValueError(f"rate_limit must look like '60/60' (requests/seconds), not {spec!r}") from None
    if limit < 0 or per <= 0:
        raise ValueError(f"rate_limit needs a count ≥ 0 and seconds > 0, not {spec!r}")
    return limit, per


def _fault(value: Any) -> str | None:
    """The ``fault`` knob normalised: ``429`` (an int from ``--option fault=429``) → ``"429"``; off → ``None``."""
    if value in _OFF or str(value).strip().lower() in _OFF:
        return None
    return str(value).strip().lower()


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON answer (UTF-8, not ASCII-escaped)."""
    return Response(json.dumps(body, ensure_ascii=False, default=str), status=status, headers=dict(headers or {}),
                    mimetype="application/json")


class Sandbox:
    """A vendor sandbox's state (``app.extensions["sandbox"]``): knobs, recorded requests and seeded data.

    Subclass it, set :attr:`name` and :attr:`vendor_knobs`, build the vendor's data in :meth:`seed` and its
    routes on the app :meth:`create_app` returns. Hold the vendor data on ``self``; take :attr:`lock` around
    changes that several requests may make at once (a served sandbox is threaded).
    """

    #: The vendor's slug: in error messages and the Flask app's name.
    name: ClassVar[str] = "vendor"
    #: The vendor's own knobs with their defaults; an entry named like a kit knob changes that default.
    vendor_knobs: ClassVar[dict[str, Any]] = {}
    #: The faults ``fault`` accepts; a sandbox may add its own and answer them in :meth:`fault_response`.
    faults: ClassVar[tuple[str, ...]] = FAULTS
    #: ``True``: a "timeout" fault lets the request be handled and then holds the answer (the vendor did the
    #: work, the answer was lost). ``False``: it waits before handling the request.
    late_timeout: ClassVar[bool] = False
    #: The zone of :meth:`today` when the ``today`` knob is unset.
    timezone: ClassVar[str] = "UTC"
    #: The status ``POST /_sandbox/knobs`` answers an unknown knob or a bad value with.
    knob_error_status: ClassVar[int] = 400
    #: ``None``: the knobs endpoints answer the knobs themselves; ``"knobs"``: ``{"knobs": {...}}``.
    knobs_reply_key: ClassVar[str | None] = None

    def __init__(self, **knobs: Any) -> None:
        self.lock = threading.RLock()
        self.app: Flask | None = None
        self.requests: list[Recorded] = []
        self.clock: Callable[[], float] = time.monotonic  # the rate windows' clock (replaceable in tests)
        defaults = copy.deepcopy({**BASE_KNOBS, **self.vendor_knobs})
        self.knobs: dict[str, Any] = {name: self._check_knob(name, value) for name, value in defaults.items()}
        self.update_knobs(knobs)
        self._windows: dict[tuple, Any] = {}
        self._fault_key: tuple | None = None
        self._fault_seen = 0
        self.reset()

    # -- what a sandbox overrides ------------------------------------------------------------------------------
    def seed(self) -> None:
        """(Re)build the vendor's data: called on creation and by ``POST /_sandbox/reset``."""

    def fault_response(self, fault: str) -> Response:
        """The answer to an injected ``"429"``, ``"500"`` or ``"garbage"`` fault. Override for the vendor's own
        bodies and headers (call ``super().fault_response(fault)`` for the ones you keep)."""
        if fault == "429":
            return json_response({"error": "rate_limited", "message": "Too many requests."}, 429,
                                 {"Retry-After": str(self.knobs.get("retry_after") or 1)})
        if fault == "500":
            return json_response({"error": "internal_error", "message": "Internal server error."}, 500)
        if fault == "garbage":
            return Response(GARBAGE_PAGE, 200, content_type="text/html")
        raise NotImplementedError(f"the {self.name} sandbox has no answer for the fault {fault!r}")

    def request_key(self, record: Recorded) -> str | None:
        """Who sent ``record`` (an API key, a token) for ``GET /_sandbox/timeline``; ``None`` by default."""
        return None

    # -- state ---------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget recorded requests, fault counts and rate windows, and seed the data again (knobs stay)."""
        with self.lock:
            self.requests.clear()
            self._windows.clear()
            self._fault_key, self._fault_seen = None, 0
            self.seed()

    def update_knobs(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Check and apply knob changes; an unknown name raises ``TypeError``, a bad kit value ``ValueError``."""
        unknown = sorted(set(changes) - set(self.knobs))
        if unknown:
            raise TypeError(f"unknown {self.name} sandbox knob(s): {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(self.knobs))}")
        checked = {name: self._check_knob(name, value) for name, value in changes.items()}
        with self.lock:
            self.knobs.update(checked)
        return self.knobs

    def _check_knob(self, name: str, value: Any) -> Any:
        if name == "fault":
            fault = _fault(value)
            if fault is not None and fault not in self.faults:
                raise ValueError(f"fault must be one of {', '.join(self.faults)} or null, not {value!r}")
            return fault
        if name == "fault_every":
            if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit() \
                    or int(value) < 1:
                raise ValueError(f"fault_every must be a whole number ≥ 1, not {value!r}")
            return int(value)
        if name in ("latency_ms", "timeout_s"):
            try:
                number = float(value or 0)
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be a number, not {value!r}") from None
            if number < 0:
                raise ValueError(f"{name} must not be negative, not {value!r}")
            return value
        if name == "rate_limit":
            parse_rate(value)
        elif name == "today" and value not in _OFF:
            try:
                dt.date.fromisoformat(str(value))
            except ValueError:
                raise ValueError(f"today must be an ISO date like 2026-11-22, not {value!r}") from None
        elif name in ("revoked", "expired"):
            if value in _OFF:
                return []
            if not isinstance(value, list | tuple | set):
                raise ValueError(f"{name} must be a list of credentials (keys, tokens), not {value!r}")
            return [str(v) for v in value]
        return value

    @property
    def by_status(self) -> StatusCounts:
        """Answered API requests per status (``state.by_status["429"]`` or ``state.by_status()``)."""
        with self.lock:
            counts = StatusCounts()
            for record in self.requests:
                if record.status:
                    counts[str(record.status)] = counts.get(str(record.status), 0) + 1
            return counts

    def api_requests(self) -> list[Recorded]:
        """The recorded API requests (a copy of :attr:`requests`; control requests are never recorded)."""
        with self.lock:
            return list(self.requests)

    def current_record(self) -> Recorded | None:
        """The record of the API request being answered (inside a request), else ``None``."""
        return g.get("_sandbox_record") if has_request_context() else None

    def today(self) -> dt.date:
        """The sandbox's date: the ``today`` knob, or the real date in :attr:`timezone`."""
        value = self.knobs.get("today")
        if value in _OFF:
            return dt.datetime.now(ZoneInfo(self.timezone)).date()
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))

    def credential_status(self, credential: str, *, revoked: bool = False,
                          expires: dt.date | str | None = None) -> str:
        """``"revoked"``, ``"expired"`` or ``"ok"`` for the credential ``credential`` (a key, a token).

        Revoked when ``revoked`` (the seeded state) or listed in the ``revoked`` knob; expired when listed in
        the ``expired`` knob or when ``expires`` (a date or ISO date) is before :meth:`today`."""
        if revoked or credential in (self.knobs.get("revoked") or ()):
            return "revoked"
        if credential in (self.knobs.get("expired") or ()):
            return "expired"
        if expires is not None:
            day = expires if isinstance(expires, dt.date) else dt.date.fromisoformat(str(expires))
            if day < self.today():
                return "expired"
        return "ok"

    def take_rate(self, key: str, *limits: tuple[int, float] | None, fixed: bool = False) -> RateVerdict | None:
        """Count one request of ``key`` against ``limits`` (``(count, seconds)`` pairs; default: the
        ``rate_limit`` knob) and say whether it is allowed. ``None`` when no limit applies.

        The request is counted only when every limit allows it; a refusal names the limit that frees last.
        ``fixed=False``: sliding windows (the last ``seconds`` seconds); ``fixed=True``: a window starts
        with the first request and resets ``seconds`` later."""
        wanted = [lim for lim in (limits or (parse_rate(self.knobs.get("rate_limit")),)) if lim]
        if not wanted:
            return None
        now = self.clock()
        with self.lock:
            verdicts = [self._look(key, limit, float(per), fixed, now) for limit, per in wanted]
            refused = [v for v in verdicts if not v.allowed]
            if refused:
                return max(refused, key=lambda v: v.reset_in)
            for limit, per in wanted:
                window = self._windows[(key, limit, float(per), fixed)]
                if fixed:
                    window[1] += 1
                else:
                    window.append(now)
            return verdicts[0]

    def _look(self, key: str, limit: int, per: float, fixed: bool, now: float) -> RateVerdict:
        if fixed:
            window = self._windows.get((key, limit, per, fixed))
            if window is None or now >= window[0] + per:
                window = self._windows[(key, limit, per, fixed)] = [now, 0]
            used, reset_in = window[1], window[0] + per - now
        else:
            window = self._windows.setdefault((key, limit, per, fixed), deque())
            while window and window[0] <= now - per:
                window.popleft()
            used = len(window)
            reset_in = (window[0] + per - now) if window else per
        if used >= limit:
            return RateVerdict(False, limit, per, 0, max(1, math.ceil(reset_in)), reset_in)
        return RateVerdict(True, limit, per, limit - used - 1, 0, reset_in)

    # -- the app -------------------------------------------------------------------------------------------
    def create_app(self, import_name: str | None = None) -> Flask:
        """A Flask app with the recording and fault pipeline and the control endpoints, holding this state as
        ``app.extensions["sandbox"]``. Add the vendor's routes to it."""
        app = Flask(import_name or f"{self.name}-sandbox")
        app.extensions["sandbox"] = self
        self.app = app
        app.before_request(self._before)
        app.after_request(self._after)
        app.add_url_rule(f"{CONTROL_PREFIX}requests", "_sandbox_requests", self._control_requests, methods=["GET"])
        app.add_url_rule(f"{CONTROL_PREFIX}reset", "_sandbox_reset", self._control_reset, methods=["POST"])
        app.add_url_rule(f"{CONTROL_PREFIX}knobs", "_sandbox_knobs", self._control_knobs, methods=["GET", "POST"])
        app.add_url_rule(f"{CONTROL_PREFIX}timeline", "_sandbox_timeline", self._control_timeline, methods=["GET"])
        return app

    def before_api(self, func: Callable[[], Any]) -> Callable[[], Any]:
        """Decorator: run ``func`` before each API request (not the control endpoints), after the kit's
        recording and faults; an answer it returns is the request's answer (e.g. a 401 or a 429)."""
        @functools.wraps(func)
        def only_api() -> Any:
            return None if g.get("_sandbox_control") else func()

        self._require_app().before_request(only_api)
        return func

    def after_api(self, func: Callable[[Response], Response]) -> Callable[[Response], Response]:
        """Decorator: ``func(response) -> response`` after each API request (e.g. the vendor's headers)."""
        @functools.wraps(func)
        def only_api(response: Response) -> Response:
            return response if g.get("_sandbox_control") else func(response)

        self._require_app().after_request(only_api)
        return func

    def _require_app(self) -> Flask:
        if self.app is None:
            raise RuntimeError("call create_app() first")
        return self.app

    def _before(self) -> Response | None:
        if request.path.startswith(CONTROL_PREFIX):
            g._sandbox_control = True
            return None
        record = Recorded(request.method, _hostname(request.headers.get("Host") or request.host), request.path,
                          request.query_string.decode("latin-1"), RecordedHeaders(request.headers), b"")
        g._sandbox_record = record
        with self.lock:
            self.requests.append(record)
            fault = self._due_fault()
        record.body = request.get_data(cache=True)  # after appending: a refused body (413) is still recorded
        latency = float(self.knobs.get("latency_ms") or 0)
        if latency:
            time.sleep(latency / 1000)
        if fault is None:
            return None
        if fault == "timeout":
            if self.late_timeout:
                g._sandbox_late_timeout = True
            else:
                time.sleep(float(self.knobs.get("timeout_s") or 0))
            return None
        return self.fault_response(fault)

    def _due_fault(self) -> str | None:
        knobs = self.knobs
        fault = _fault(knobs.get("fault"))
        if fault is None:
            return None
        path, method = knobs.get("fault_path"), knobs.get("fault_method")
        if (path and str(path) not in request.path) or (method and str(method).upper() != request.method):
            return None
        every = max(1, int(knobs.get("fault_every") or 1))
        key = (fault, every, path, method)
        if key != self._fault_key:
            self._fault_key, self._fault_seen = key, 0
        self._fault_seen += 1
        return fault if self._fault_seen % every == 0 else None

    def _after(self, response: Response) -> Response:
        record = g.get("_sandbox_record")
        if record is not None:
            record.status = response.status_code
        if g.get("_sandbox_late_timeout"):
            time.sleep(float(self.knobs.get("timeout_s") or 0))
        return response

    # -- control endpoints ---------------------------------------------------------------------------------
    def _control_requests(self) -> Response:
        with self.lock:
            return json_response({"total": len(self.requests), "by_status": self.by_status()})

    def _control_reset(self) -> Response:
        self.reset()
        return json_response({"ok": True})

    def _control_knobs(self) -> Response:
        if request.method == "POST":
            changes = request.get_json(force=True, silent=True)
            if not isinstance(changes, dict):
                return json_response({"error": 'send a JSON object of knobs, e.g. {"fault": "500"}'},
                                     self.knob_error_status)
            try:
                self.update_knobs(changes)
            except (TypeError, ValueError) as exc:
                return json_response({"error": str(exc)}, self.knob_error_status)
        knobs = dict(self.knobs)
        return json_response({self.knobs_reply_key: knobs} if self.knobs_reply_key else knobs)

    def _control_timeline(self) -> Response:
        with self.lock:
            rows = [{"key": self.request_key(r), "at": r.at, "status": r.status, "method": r.method,
                     "path": r.path} for r in self.requests]
        return json_response(rows)

    # -- reaching it ---------------------------------------------------------------------------------------
    def transport(self) -> httpx.WSGITransport:
        """An httpx transport that calls this sandbox's app in-process."""
        return transport(self._require_app())

    def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> Served:
        """This sandbox's app on loopback HTTP (see :func:`serve`)."""
        return serve(self._require_app(), host=host, port=port)


# -- reaching a sandbox ------------------------------------------------------------------------------------
def transport(app: Any) -> httpx.WSGITransport:
    """``httpx.Client(transport=transport(app))`` calls ``app`` in-process (no socket)."""
    return httpx.WSGITransport(app=app)


class _QuietHandler(WSGIRequestHandler):
    """No access log: vendor requests carry API keys and signatures in their query strings."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class Served:
    """A WSGI app served on loopback by a background thread. ``with serve(app) as served: ...`` stops it."""

    def __init__(self, app: Any, server: BaseWSGIServer) -> None:
        self.app, self.server = app, server
        self.host = server.server_address[0]
        self.port: int = server.server_port
        self.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                                       name=f"sandbox-{self.port}")
        self._stopped = False

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``: give it to ``make_context(origin=...)`` or an integration's settings."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def state(self) -> Any:
        """The served sandbox's state (``app.extensions["sandbox"]``), if it is a kit sandbox."""
        return getattr(self.app, "extensions", {}).get("sandbox")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and close the socket (idempotent); waits up to ``timeout`` s for the thread."""
        if self._stopped:
            return
        self._stopped = True
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout)

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(app: Any, *, host: str = "127.0.0.1", port: int = 0) -> Served:
    """Serve ``app`` on loopback HTTP from a background thread (threaded: requests run concurrently) and return
    at once; ``port=0`` picks a free port (``served.origin``). No access log. Stop it with ``served.stop()``."""
    if host not in LOOPBACK:
        raise ValueError(f"a sandbox serves on loopback only ({', '.join(LOOPBACK)}), not {host!r}")
    served = Served(app, make_server(host, port, app, threaded=True, request_handler=_QuietHandler))
    served.thread.start()
    return served


# -- seeded-data helpers -----------------------------------------------------------------------------------
def rng(*parts: object) -> random.Random:
    """A deterministic generator for one piece of seeded data: ``rng(SEED, "clients", org_id)`` is
    ``random.Random("20261122-clients-org-1")``, the same on every run and machine."""
    return random.Random("-".join(str(p) for p in parts))


def seeded_uuid(generator: random.Random) -> str:
    """A UUID4 string drawn from ``generator`` (deterministic ids)."""
    return str(uuid.UUID(int=generator.getrandbits(128), version=4))


def pick_name(generator: random.Random, *words: tuple[str, ...] | list[str]) -> str:
    """One word from each list, joined by spaces: ``pick_name(g, FIRST, TRADES, FORMS)`` → ``"Kase Puit OÜ"``."""
    return " ".join(generator.choice(choices) for choices in words)


def random_day(generator: random.Random, period: Period) -> dt.date:
    """A day of ``period`` drawn from ``generator`` (``randint(1, days in the month)``)."""
    return dt.date(period.year, period.month, generator.randint(1, period.last_day.day))


def money(value: Decimal | int | str) -> Decimal:
    """``value`` rounded to cents, half up (as accounting software rounds)."""
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def ascii_fold(text: str) -> str:
    """``"Põllu Ääre"`` → ``"Pollu Aare"``: for e-mail addresses and slugs made from seeded names."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def cached_seed(build: Callable[..., T]) -> Callable[..., T]:
    """Decorator: build the seeded data once per argument tuple; every call returns a fresh copy, so a reset
    is cheap and no two sandboxes share what one of them changes."""
    built: dict[tuple, bytes] = {}
    lock = threading.Lock()

    @functools.wraps(build)
    def fresh(*args: Any) -> T:
        with lock:
            if args not in built:
                built[args] = pickle.dumps(build(*args))
            data = built[args]
        return pickle.loads(data)

    return fresh
