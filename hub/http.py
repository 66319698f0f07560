"""The HTTP client plugins get as ``ctx.http``: httpx with the hub's rules applied.

* Timeouts on every request; a timeout or a transport error becomes ``TransientError``.
* Bounded: an overall deadline per request (``HUB_VENDOR_DEADLINE`` seconds, default 60, from sending to the
  last byte) and a maximum response size (``HUB_VENDOR_MAX_BYTES``, default 32 MiB, decoded). The body is
  streamed and counted, never buffered beyond the limit: a deadline passed is a ``TransientError`` (retried),
  a body too large a ``VendorRejected`` (retrying would fetch the same body).
* A 5xx answer becomes ``TransientError``; a 429 becomes ``RateLimited`` (``Retry-After`` honoured:
  a short wait is taken in place, a long one reschedules the job). A vendor that throttles with another
  status passes it per request (``throttle_statuses=(503,)``): that status with a ``Retry-After`` is then
  handled like a 429.
* Every request first takes a slot from the vendor account's request budget (:mod:`hub.ratelimit`).
* Log lines carry method, host, path, status and time only — never the query string, headers or
  bodies, which is where credentials travel.
* ``bearer`` (OAuth 2.0 vendors, contract 1.2): every request carries ``Authorization: Bearer <token>`` unless the
  plugin sets ``Authorization`` itself; the token comes from :mod:`hub.oauth`, refreshed before it expires, and
  refreshed once more when the vendor answers 401 to it (the request is then sent again, once).
* ``origin`` (sandboxes, tests): requests for the vendor's real URL are sent to another origin
  with the real host kept in the ``Host`` header, so a plugin always writes the vendor's real URLs.

Other 4xx answers are returned as they are: only the plugin knows the vendor's error bodies.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client import Counter, Histogram

from hub.errors import HubError, RateLimited, TransientError, VendorRejected, parse_retry_after
from hub.ratelimit import RateBudget

#: Vendor requests by outcome: ``ok`` (any answer below 400 but 429), ``client_error`` (other 4xx),
#: ``rate_limited`` (429), ``server_error`` (5xx), ``timeout``, ``transport``, ``too_large``, ``deadline``.
VENDOR_REQUESTS = Counter("hub_vendor_requests", "Vendor HTTP requests by outcome", ["vendor", "outcome"])
VENDOR_LATENCY = Histogram("hub_vendor_request_seconds", "Vendor HTTP request time to the last byte", ["vendor"],
                           buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
DEFAULT_DEADLINE = 60.0
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
SEND_OPTIONS = ("auth", "follow_redirects")


def env_limits() -> tuple[float, int]:
    """``(deadline seconds, max response bytes)`` from ``HUB_VENDOR_DEADLINE`` / ``HUB_VENDOR_MAX_BYTES``."""
    return (float(os.environ.get("HUB_VENDOR_DEADLINE") or DEFAULT_DEADLINE),
            int(os.environ.get("HUB_VENDOR_MAX_BYTES") or DEFAULT_MAX_BYTES))

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# httpx logs every request with its full URL (query strings carry signatures and API keys): keep its
# loggers quiet; VendorHttp logs its own line without the query.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)
#: A 429 whose Retry-After is at most this many seconds is waited out in place (the vendor did not
#: process the request, so sending it again is safe); a longer one reschedules the job.
MAX_INLINE_WAIT = 10.0
MAX_INLINE_RETRIES = 3


RESET_HEADERS = ("X-Rate-Limit-Reset", "X-RateLimit-Reset", "RateLimit-Reset")


def parse_reset_seconds(headers: httpx.Headers) -> float | None:
    """Seconds until a rate-limit window resets, from the common ``*-Reset`` headers (delta seconds only:
    a value that looks like an epoch timestamp is converted)."""
    for name in RESET_HEADERS:
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        if seconds > 10**9:  # an epoch timestamp
            seconds -= time.time()
        return max(0.0, seconds)
    return None


_ssl_context: ssl.SSLContext | None = None


def shared_ssl_context() -> ssl.SSLContext:
    """One verifying SSL context per process (loading the CA bundle costs ~20 ms; workers create it before
    forking, so every work-horse inherits it)."""
    global _ssl_context
    if _ssl_context is None:
        _ssl_context = httpx.create_ssl_context()
    return _ssl_context


class _SharedTransport(httpx.BaseTransport):
    """The process's connection pool, lent to every vendor client: closing a client leaves it open."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.transport = httpx.HTTPTransport(verify=shared_ssl_context())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.transport.handle_request(request)

    def close(self) -> None:
        """Not closed with a client: the next job's client reuses the open connections."""


_transport: _SharedTransport | None = None
_transport_lock = threading.Lock()


def shared_transport() -> _SharedTransport:
    """One keep-alive connection pool per process (a new one in a forked child: sockets are never shared)."""
    global _transport
    with _transport_lock:
        if _transport is None or _transport.pid != os.getpid():
            _transport = _SharedTransport()
        return _transport


def new_client(timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> httpx.Client:
    """An httpx client for vendor traffic (certificate verification on, the shared SSL context).

    Every client of a process sends through one connection pool (:func:`shared_transport`): a job's requests
    reuse the connections the previous jobs opened instead of connecting (and, with TLS, handshaking) again.
    The client itself — its cookies — is the caller's own. With a proxy configured in the environment the
    client gets a pool of its own (httpx applies ``HTTPS_PROXY`` & co. only then)."""
    if httpx._utils.get_environment_proxies():  # noqa: SLF001 — what httpx.Client itself consults
        return httpx.Client(timeout=timeout, verify=shared_ssl_context())
    return httpx.Client(timeout=timeout, transport=shared_transport())


_ROUTES: dict[tuple[str | None, str], tuple[str, str | None, str]] = {}


#: What a transport failure or a timeout was, in words for people (first match; the class stays in the log).
_CONNECT_WORDS = (
    (("name or service not known", "nodename nor servname", "getaddrinfo", "name resolution",
      "no address associated", "name does not resolve"), "the name did not resolve (check the address, or the DNS)"),
    (("refused",), "the connection was refused"),
    (("certificate", "ssl", "tls"), "the secure connection could not be set up (a certificate or TLS problem)"),
    (("unreachable",), "the network is unreachable"),
)
_FAILURE_WORDS: tuple[tuple[type[Exception], str], ...] = (
    (httpx.ConnectTimeout, "no connection could be opened in time"),
    (httpx.WriteTimeout, "the request could not be sent in time"),
    (httpx.PoolTimeout, "the hub had no free connection in time"),
    (httpx.TimeoutException, "no answer arrived in time"),
    (httpx.ConnectError, "the connection could not be opened"),
    (httpx.ProxyError, "the proxy did not pass the connection on"),
    (httpx.UnsupportedProtocol, "the address is not an http or https address"),
    (httpx.RemoteProtocolError, "the connection dropped before a complete answer"),
    (httpx.ReadError, "the connection dropped"),
    (httpx.WriteError, "the connection dropped"),
    (httpx.CloseError, "the connection dropped"),
)


def failure_words(exc: httpx.TransportError) -> str:
    """What went wrong with the connection (or which wait ran out), in words for people."""
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        said = next((words for needles, words in _CONNECT_WORDS if any(n in text for n in needles)), None)
        if said:
            return said
    return next((words for kind, words in _FAILURE_WORDS if isinstance(exc, kind)), "the connection failed")


class VendorHttp:
    """A thin wrapper around ``httpx.Client`` (use ``get``/``post``/``put``/``delete``/``request``)."""

    def __init__(self, vendor: str, client: httpx.Client | None = None, *, budget: RateBudget | None = None,
                 origin: str | None = None, log: logging.Logger | logging.LoggerAdapter | None = None,
                 sleep: Callable[[float], None] = time.sleep, deadline: float | None = None,
                 max_bytes: int | None = None, bearer: Callable[..., str] | None = None,
                 name: str | None = None) -> None:
        self.vendor = vendor  # the slug: metrics and log names
        self.name = name or vendor  # the display name (VendorInfo.name): what messages to people say
        self.bearer = bearer
        default_deadline, default_max = env_limits()
        self.deadline = deadline if deadline is not None else default_deadline
        self.max_bytes = max_bytes if max_bytes is not None else default_max
        self.client = client or new_client()
        self.budget = budget
        self.origin = httpx.URL(origin) if origin else None
        self.log = log or logging.getLogger(f"hub.vendor.{vendor}")
        self.sleep = sleep
        self.requests_sent = 0

    def _route(self, url: str, headers: dict[str, str]) -> tuple[str, str]:
        """``(the URL to send to, "host/path" for the log)``; the real host in ``Host`` when sent to an origin."""
        key = (str(self.origin) if self.origin is not None else None, url)
        route = _ROUTES.get(key)
        if route is None:  # parsed once per process and URL (a job sends the same few URLs many times)
            real = httpx.URL(url)
            target = url if self.origin is None else str(real.copy_with(
                scheme=self.origin.scheme, host=self.origin.host, port=self.origin.port))
            route = (target, real.netloc.decode("ascii") if self.origin is not None else None,
                     f"{real.host}{real.path}")
            if len(_ROUTES) >= 4096:
                _ROUTES.clear()
            _ROUTES[key] = route
        target, host, where = route
        if host is not None:
            headers.setdefault("Host", host)
        return target, where

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request (httpx's arguments). ``throttle_statuses``: statuses besides 429 that mean "too many
        requests" when they carry ``Retry-After`` (e.g. ``(503,)``)."""
        throttle_statuses = tuple(kwargs.pop("throttle_statuses", ()))
        headers = dict(kwargs.pop("headers", None) or {})
        target, where = self._route(url, headers)
        sent_token = None
        if self.bearer is not None and not any(k.lower() == "authorization" for k in headers):
            sent_token = self.bearer()
            headers["Authorization"] = f"Bearer {sent_token}"
        send_options = {k: kwargs.pop(k) for k in SEND_OPTIONS if k in kwargs}
        for attempt in range(1, MAX_INLINE_RETRIES + 1):
            if self.budget is not None:
                self.budget.acquire()
            started = time.monotonic()
            try:
                self.requests_sent += 1
                response = self._send(method, target, headers, kwargs, send_options, started)
            except httpx.TimeoutException as exc:
                self._count("timeout", started)
                self.log.warning("%s %s timed out (%s)", method, where, type(exc).__name__)
                raise TransientError(f"{self.name} did not answer in time: {failure_words(exc)}.",
                                     hint="The hub will try again later.") from None
            except httpx.TransportError as exc:
                self._count("transport", started)
                self.log.warning("%s %s failed: %s", method, where, type(exc).__name__)
                raise TransientError(f"Could not reach {self.name}: {failure_words(exc)}.",
                                     hint="The hub will try again later.") from None
            except HubError as exc:
                self._count("deadline" if isinstance(exc, TransientError) else "too_large", started)
                self.log.warning("%s %s: %s", method, where, exc.message)
                raise
            elapsed = (time.monotonic() - started) * 1000
            self.log.info("%s %s -> %s in %.0f ms", method, where, response.status_code, elapsed)
            throttled = response.status_code in throttle_statuses and "Retry-After" in response.headers
            if response.status_code == 429 or throttled:
                self._count("rate_limited", started)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is None:  # vendors that say it their own way: seconds left in the window
                    retry_after = parse_reset_seconds(response.headers)
                if retry_after is not None and retry_after <= MAX_INLINE_WAIT and attempt < MAX_INLINE_RETRIES:
                    self.sleep(retry_after)
                    continue
                said = f"{response.status_code} with Retry-After (throttled)" if throttled else "429 Too Many Requests"
                raise RateLimited(f"{self.name} answered {said}.", retry_after=retry_after,
                                  headers=response.headers)
            if response.status_code >= 500:
                self._count("server_error", started)
                raise TransientError(f"{self.name} answered HTTP {response.status_code} (a server error on "
                                     "their side).", hint="The hub will try again later.")
            self._count("client_error" if response.status_code >= 400 else "ok", started)
            if response.status_code == 401 and sent_token is not None and attempt < MAX_INLINE_RETRIES:
                # The vendor refused the hub's own bearer token before its expiry: refreshed once (or revoked:
                # hub.oauth raises AuthError) and the request sent again; a second 401 goes to the plugin.
                fresh = self.bearer(rejected=sent_token)
                if fresh != sent_token:
                    self.log.info("%s %s: the access token was refused; sent again with a refreshed one", method, where)
                    headers["Authorization"] = f"Bearer {fresh}"
                    sent_token = None
                    continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, method: str, target: str, headers: dict[str, str], kwargs: dict[str, Any],
              send_options: dict[str, Any], started: float) -> httpx.Response:
        """Send and read the body in chunks, within the deadline and the size limit."""
        ends = started + self.deadline
        timeout = kwargs.pop("timeout", None) or self.client.timeout
        if not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(timeout)
        # no single wait may outlast the deadline (a vendor sending a byte every few seconds still ends in time)
        read = min(timeout.read or self.deadline, self.deadline)
        timeout = httpx.Timeout(connect=timeout.connect, read=read, write=timeout.write, pool=timeout.pool)
        request = self.client.build_request(method, target, headers=headers, timeout=timeout, **kwargs)
        response = self.client.send(request, stream=True, **send_options)
        try:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise self._too_large()
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise self._too_large()
                if time.monotonic() > ends:
                    raise TransientError(
                        f"{self.name} did not finish answering within {self.deadline:g} s (HUB_VENDOR_DEADLINE).",
                        hint="The hub will try again later; raise HUB_VENDOR_DEADLINE if this vendor is slow.")
                chunks.append(chunk)
            response._content = b"".join(chunks)  # what httpx's own read() sets: the body is now loaded
        finally:
            response.close()
        return response

    def _too_large(self) -> VendorRejected:
        return VendorRejected(
            f"{self.name} sent a response larger than {self.max_bytes:,} bytes (HUB_VENDOR_MAX_BYTES); "
            "it was not read.",
            hint="Ask for less at once (a shorter period), or raise HUB_VENDOR_MAX_BYTES if this is expected.")

    def _count(self, outcome: str, started: float) -> None:
        VENDOR_REQUESTS.labels(self.vendor, outcome).inc()
        VENDOR_LATENCY.labels(self.vendor).observe(time.monotonic() - started)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        self.client.close()
