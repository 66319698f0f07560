"""Outbound webhooks: signed events for a firm's endpoints and the host product's, from a database outbox.

* **Endpoints** (:class:`~hub.models.WebhookEndpoint`): a firm's (its events) or the host product's
  (``firm_id`` NULL: every firm's events), optionally limited to some event types. The signing secret
  (``whsec_…``) is shown once, at creation or rotation, and kept encrypted (it is needed to sign).
* **Events** are raised by the flows with one call (:func:`emit`, or the helpers below it). An event becomes one
  :class:`~hub.models.WebhookDelivery` row per matching endpoint, in the flow's own transaction (the outbox):
  an event exists exactly when the change that raised it was committed. Nothing here ever raises into a flow.
* **Delivery** is a run of the job layer (kind ``webhooks``, subject ``webhook_endpoint:<id>``), recorded with
  the event in the same transaction: at most one run per endpoint is live, so an endpoint receives its events in
  order. A failed attempt (not a 2xx, a timeout, a refused connection) ends the run's attempt: the job layer
  retries it with the kind's backoff (``HUB_WEBHOOK_RETRY_BASE`` 30 s, doubling with the endpoint's failures in a
  row, capped at ``HUB_WEBHOOK_RETRY_CAP`` 6 h), due at a time kept in the database — the endpoint is paused
  until then (:func:`paused_until`). A delivery is given up (``failed``) after ``HUB_WEBHOOK_MAX_ATTEMPTS`` (10)
  attempts; an endpoint that failed ``HUB_WEBHOOK_DISABLE_FAILURES`` (50) times in a row over at least
  ``HUB_WEBHOOK_DISABLE_SECONDS`` (one day) is disabled, and its firm notified; so is an endpoint whose signing
  secret can no longer be decrypted (the key that encrypted it was dropped). The job layer's reconciler re-runs a
  lost or dead run; the dispatcher (:func:`sweep`) starts one for an endpoint with due events and none live.
* **Signature** (the Standard Webhooks scheme, as Svix and others use it): headers ``webhook-id`` (the event id),
  ``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` = ``v1,`` + base64(HMAC-SHA256(key,
  ``"{id}.{timestamp}.{body}"``)), where key is the base64-decoded part of the secret after ``whsec_``.
  Receivers reject a timestamp more than :data:`TOLERANCE_SECONDS` from their clock (the replay window) and
  de-duplicate by ``webhook-id`` (a redelivery keeps the id and is signed afresh).
* **Destinations** (SSRF): an endpoint's host must resolve to public addresses only — every address it resolves
  to is checked, at registration and again at every delivery (DNS can change), and the delivery connects to the
  address that was checked (the URL's host stays in ``Host`` and in TLS SNI and certificate checks), so a name
  that re-resolves between the check and the connection cannot redirect it. Loopback, private, link-local (cloud
  metadata), carrier-grade NAT, multicast, reserved and unspecified addresses are refused, IPv4 inside IPv6
  too. ``HUB_WEBHOOKS_ALLOW_PRIVATE=1`` (config or environment) allows them, for on-premises receivers; then
  nothing is resolved or pinned. Redirects are never followed.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import socket
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import httpx
from flask import current_app
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from hub import audit
from hub.errors import NotDone, TransientError
from hub.jobs import Kind, Retry, add_run, enqueue_run, live_run, register, start_run
from hub.models import (
    NEEDS_ATTENTION,
    Client,
    ClientConnection,
    CustomField,
    Firm,
    Integration,
    InvoiceExport,
    SummaryTask,
    SyncRun,
    WebhookDelivery,
    WebhookEndpoint,
    db,
    utcnow,
)
from hub.notify import notify
from hub.services import services
from hub.vault import VaultError

log = logging.getLogger("hub.webhooks")

#: Every event type, with what it means (the OpenAPI document and the README list the payloads).
EVENT_TYPES: dict[str, str] = {
    "statistics.imported": "Summary values were imported for a client's month.",
    "reload.finished": "Reload data finished (with the clients that failed, if any).",
    "export.confirmed": "The vendor confirmed an exported invoice.",
    "export.mismatch": "The vendor booked an exported invoice differently from how it was issued (the differences "
                       "in words).",
    "export.failed": "An invoice export failed for good (the vendor refused it or it could not be sent).",
    "connection.needs_attention": "An integration or a client's own connection needs fresh credentials.",
    "connection.recovered": "A connection that needed attention works again (a test or a vendor call succeeded).",
    "credential.expiring": "Credentials expire within HUB_WEBHOOK_EXPIRY_DAYS (14) days.",
}
QUEUE = "webhooks"
SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300
USER_AGENT = "IntegrationHub-Webhooks/1"
RESPONSE_KEPT = 1000
BATCH = 200
#: Successful deliveries are recorded in commits of this many (a crash in between resends them: receivers
#: de-duplicate by ``webhook-id``); a failure is committed at once.
COMMIT_EVERY = 25

DEFAULTS: dict[str, float] = {
    "HUB_WEBHOOK_TIMEOUT": 10.0, "HUB_WEBHOOK_RETRY_BASE": 30.0, "HUB_WEBHOOK_RETRY_CAP": 6 * 3600.0,
    "HUB_WEBHOOK_MAX_ATTEMPTS": 10, "HUB_WEBHOOK_DISABLE_FAILURES": 50, "HUB_WEBHOOK_DISABLE_SECONDS": 86400.0,
    "HUB_WEBHOOK_EXPIRY_DAYS": 14, "HUB_WEBHOOK_LEASE": 300.0,
}
KIND = "webhooks"

F = TypeVar("F", bound=Callable[..., Any])


def setting(name: str) -> float:
    return float(current_app.config.get(name, DEFAULTS[name]))


# -- signing ----------------------------------------------------------------------------------
def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``"{msg_id}.{timestamp}.{body}"`` (Standard Webhooks)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signed_headers(secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, msg_id, timestamp, body),
            "content-type": "application/json", "user-agent": USER_AGENT}


def verify(secret: str, headers: dict[str, str], body: bytes, *, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    """What a receiver does (for Python receivers and the hub's own tests): the timestamp is inside the replay
    window and one of the ``v1`` signatures matches."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp = int(lower["webhook-timestamp"])
        msg_id = lower["webhook-id"]
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, sig) for sig in lower.get("webhook-signature", "").split())


def encode_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


# -- endpoints --------------------------------------------------------------------------------
def _check_events(events: list[str] | None) -> list[str]:
    unknown = sorted(set(events or []) - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}")
    return sorted(set(events or []))


ALLOW_PRIVATE = "HUB_WEBHOOKS_ALLOW_PRIVATE"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeDestination(ValueError):
    """An endpoint URL whose host is, or resolves to, an address webhooks are not sent to."""


def allow_private() -> bool:
    """``HUB_WEBHOOKS_ALLOW_PRIVATE`` (app config first, then the environment): deliver to any address."""
    value = current_app.config.get(ALLOW_PRIVATE)
    if value is None:
        value = os.environ.get(ALLOW_PRIVATE, "")
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an IP literal is itself), in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def non_public(address: str) -> str | None:
    """Why ``address`` is not a public unicast address (``None`` when it is)."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):  # an IPv4 address carried inside IPv6 is judged as itself
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            reason = non_public(str(embedded))
            if reason:
                return reason
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private-network address"
    if not ip.is_global:
        return "an address that is not public (a shared, reserved or documentation range)"
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_destination(url: str) -> list[str]:
    """The public addresses ``url``'s host resolves to; :class:`UnsafeDestination` (in words) if it does not
    resolve or any of its addresses is not public."""
    parsed = httpx.URL(url)
    host = parsed.host
    try:
        addresses = [host] if _is_ip(host) else _resolve(host, parsed.port or (443 if parsed.scheme == "https"
                                                                                 else 80))
    except (OSError, UnicodeError) as exc:
        raise UnsafeDestination(f"the host {host} could not be resolved ({exc}); check the URL") from None
    if not addresses:
        raise UnsafeDestination(f"the host {host} could not be resolved; check the URL")
    for address in addresses:
        reason = non_public(address)
        if reason:
            what = f"{host} is {reason}" if _is_ip(host) else f"{host} resolves to {address}, {reason}"
            raise UnsafeDestination(f"{what}: webhooks are sent to public addresses only (an operator allows "
                                    f"private receivers with {ALLOW_PRIVATE}=1)")
    return addresses


#: A host of numbers only (octal, hex or fewer than four parts: ``0177.0.0.1``, ``0x7f.1``, ``2130706433``) that
#: is not a plain IPv4 address: resolvers read such hosts differently, so they are refused.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?$", re.IGNORECASE)
_HOST_FORM = "write an IP address as four decimal numbers without leading zeros, e.g. 203.0.113.5"


def _check_url(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"the URL is not valid ({exc}); {_HOST_FORM}, or use a host name") from None
    if _NUMERIC_HOST.match(parsed.host) and not _is_ip(parsed.host):
        raise ValueError(f"the host {parsed.host} is not a valid IP address; {_HOST_FORM}")
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError("the URL must be absolute http:// or https:// (https in production)")
    if not allow_private():
        check_destination(url)
    return url


def _target(url: str) -> tuple[str | httpx.URL, dict[str, str], dict[str, Any]]:
    """Where a delivery connects: the URL itself when private addresses are allowed; else the checked address
    (raises :class:`UnsafeDestination`), with the URL's host in ``Host`` and in TLS SNI / certificate checks."""
    if allow_private():
        return url, {}, {}
    address = check_destination(url)[0]
    parsed = httpx.URL(url)
    extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
    return parsed.copy_with(host=address), {"host": parsed.netloc.decode("ascii")}, extensions


def create_endpoint(firm_id: int | None, url: str, *, events: list[str] | None = None,
                    description: str = "") -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its signing secret (the only time the secret is shown)."""
    secret = new_secret()
    endpoint = WebhookEndpoint(firm_id=firm_id, url=_check_url(url), events=_check_events(events),
                               description=description[:200], secret=services().vault.encrypt({"secret": secret}),
                               enabled=True, created_by=audit.current_actor().code[:200])
    db.session.add(endpoint)
    db.session.commit()
    if firm_id is not None:
        audit.record(firm_id, "webhook_endpoint.created", endpoint, details={"url": url})
    return endpoint, secret


def endpoint_secret(endpoint: WebhookEndpoint) -> str:
    return services().vault.decrypt(endpoint.secret)["secret"]


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    """A new signing secret (shown once); the old one stops at once."""
    secret = new_secret()
    endpoint.secret = services().vault.encrypt({"secret": secret})
    db.session.commit()
    if endpoint.firm_id is not None:
        audit.record(endpoint.firm_id, "webhook_endpoint.secret_rotated", endpoint)
    return secret


def update_endpoint(endpoint: WebhookEndpoint, *, url: str | None = None, events: list[str] | None = None,
                    description: str | None = None, enabled: bool | None = None) -> None:
    if url is not None:
        endpoint.url = _check_url(url)
    if events is not None:
        endpoint.events = _check_events(events)
    if description is not None:
        endpoint.description = description[:200]
    if enabled is True and not endpoint.enabled:  # re-enabled: what waited is sent now
        endpoint.enabled, endpoint.disabled_reason = True, None
        endpoint.consecutive_failures, endpoint.failing_since = 0, None
        db.session.execute(update(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status.in_(("pending", "retrying")))
            .values(next_attempt_at=utcnow()))
        db.session.commit()
        kick(endpoint.id, now=True)
    elif enabled is False:
        endpoint.enabled, endpoint.disabled_reason = False, "Disabled by " + audit.current_actor().code
    db.session.commit()
    if endpoint.firm_id is not None:
        audit.record(endpoint.firm_id, "webhook_endpoint.updated", endpoint,
                     details={"url": endpoint.url, "enabled": endpoint.enabled})


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint and its delivery log."""
    firm_id = endpoint.firm_id
    WebhookDelivery.query.filter_by(endpoint_id=endpoint.id).delete()
    db.session.delete(endpoint)
    db.session.commit()
    if firm_id is not None:
        audit.record(firm_id, "webhook_endpoint.deleted", endpoint, details={"url": endpoint.url})


def redeliver(delivery: WebhookDelivery) -> None:
    """Send ``delivery`` again as soon as a worker is free (same event id, a fresh signature), whatever its
    status; the endpoint's backoff is lifted (an operator asked), a disabled endpoint stays disabled."""
    delivery.status = "pending"
    delivery.next_attempt_at = utcnow()
    db.session.commit()
    kick(delivery.endpoint_id, now=True)


# -- raising events ---------------------------------------------------------------------------
def _never_raises(func: F) -> F:
    """An event must never break the flow that raised it: errors are logged, the savepoint rolled back."""

    @wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception:
            log.exception("webhook event not recorded (%s)", func.__name__)
            return None

    return wrapped  # type: ignore[return-value]


def event_id(key: str) -> str:
    return "evt_" + hashlib.sha256(key.encode()).hexdigest()[:28]


def listening(firm_id: int | None, event_type: str) -> list[WebhookEndpoint]:
    """The enabled endpoints (the firm's and the host product's) that want ``event_type``: one query."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    query = WebhookEndpoint.query.filter(WebhookEndpoint.enabled.is_(True))
    query = query.filter(or_(WebhookEndpoint.firm_id.is_(None), WebhookEndpoint.firm_id == firm_id)) \
        if firm_id is not None else query.filter(WebhookEndpoint.firm_id.is_(None))
    return [e for e in query.order_by(WebhookEndpoint.id) if not e.events or event_type in e.events]


@_never_raises
def emit(firm_id: int | None, event_type: str, data: dict[str, Any], *, key: str | None = None,
         commit: bool = True) -> list[int]:
    """Record event ``event_type`` of firm ``firm_id`` for every matching enabled endpoint.

    ``key`` makes the event idempotent (the same key is one event: e.g. ``export.confirmed:<export id>``).
    With ``commit=False`` the rows join the caller's transaction and are sent once it commits (use it where the
    caller commits later, e.g. inside a job action); otherwise the session is committed here, so call it after
    your own commit. Returns the new deliveries' ids (``[]`` when no endpoint wants the event)."""
    endpoints = listening(firm_id, event_type)
    if not endpoints:
        return []
    now = utcnow()
    msg_id = event_id(key) if key else "evt_" + secrets.token_hex(14)
    firm = db.session.get(Firm, firm_id) if firm_id is not None else None
    envelope = {"id": msg_id, "type": event_type, "created_at": now.isoformat(timespec="milliseconds") + "Z",
                "firm": {"id": firm.id, "external_id": firm.external_id} if firm else None, "data": data}
    rows = []
    for endpoint in endpoints:
        if key and WebhookDelivery.query.filter_by(endpoint_id=endpoint.id, event_id=msg_id).first():
            continue  # this event was recorded already
        rows.append(WebhookDelivery(endpoint_id=endpoint.id, firm_id=firm_id, event_id=msg_id,
                                    event_type=event_type, payload=envelope, next_attempt_at=now, created_at=now))
    if not rows:
        return []
    try:
        with db.session.begin_nested():
            db.session.add_all(rows)
    except IntegrityError:  # the same keyed event, recorded at the same moment elsewhere
        return []
    for endpoint in {e.id: e for e in endpoints if any(r.endpoint_id == e.id for r in rows)}.values():
        add_run(KIND, firm_id=endpoint.firm_id, subject=subject(endpoint.id), params={"endpoint_id": endpoint.id})
    if commit:
        db.session.commit()
    return [r.id for r in rows]


def subject(endpoint_id: int) -> str:
    """The unit of work of an endpoint's delivery runs (at most one live: events arrive in order)."""
    return f"webhook_endpoint:{endpoint_id}"


def kick(endpoint_id: int, *, now: bool = False) -> None:
    """Start the endpoint's delivery run (commits); with one live already, that run sends what is due — and with
    ``now`` (an operator asked) its waiting retry is brought forward."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or not endpoint.enabled:
        return
    run = start_run(KIND, firm_id=endpoint.firm_id, subject=subject(endpoint_id), params={"endpoint_id": endpoint_id},
                    trigger="system")
    if now and run.status == "retrying":
        enqueue_run(run)  # the retry that was due later runs now (its attempt is claimed once)


def paused_until(endpoint: WebhookEndpoint) -> dt.datetime | None:
    """Until when nothing is sent to the endpoint: the due time of its delivery run's retry, if it waits for one."""
    run = live_run(KIND, subject(endpoint.id))
    return run.next_attempt_at if run is not None and run.status == "retrying" else None


# -- delivering -------------------------------------------------------------------------------
def _due(endpoint_id: int, now: dt.datetime) -> list[WebhookDelivery]:
    return (WebhookDelivery.query.filter(
        WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status.in_(("pending", "retrying")),
        WebhookDelivery.next_attempt_at <= now).order_by(WebhookDelivery.id).limit(BATCH).all())


def _deliver(run: SyncRun) -> dict[str, int]:
    """One attempt of an endpoint's delivery run: send its due deliveries in order until none is left. The first
    that fails ends the attempt (the job layer retries the run with the endpoint's backoff)."""
    endpoint = db.session.get(WebhookEndpoint, run.params["endpoint_id"])
    if endpoint is None or not endpoint.enabled:
        return {"delivered": 0, "skipped": "the endpoint is deleted or disabled"}
    try:
        secret = endpoint_secret(endpoint)
    except VaultError:
        _disable(endpoint, "its signing secret cannot be decrypted with the hub's keys (the key that encrypted it was "
                           "dropped)", hint="Rotate the endpoint's secret and give the new one to the receiver, "
                                            "then enable the endpoint again.")
        db.session.commit()
        raise NotDone("The endpoint's signing secret cannot be decrypted: the endpoint is disabled.",
                      hint="Rotate its secret and enable it again.") from None
    delivered = 0
    with httpx.Client(timeout=setting("HUB_WEBHOOK_TIMEOUT"), follow_redirects=False) as client:
        deadline = time.monotonic() + setting("HUB_WEBHOOK_LEASE") / 2
        while time.monotonic() < deadline:
            rows = _due(endpoint.id, utcnow())
            if not rows:
                break
            for row in rows:
                if not attempt(client, endpoint, row, secret, commit=False):
                    if not endpoint.enabled:
                        raise NotDone(f"Not delivered: {endpoint.disabled_reason}")
                    raise TransientError(f"Event {row.event_id} was not delivered: {row.last_error}.",
                                         hint="The hub tries again later (the endpoint's events wait in order).")
                delivered += 1
                if delivered % COMMIT_EVERY == 0:
                    db.session.commit()
            db.session.commit()
    return {"delivered": delivered}


def _endpoint_failures(run: SyncRun) -> int:
    endpoint = db.session.get(WebhookEndpoint, run.params["endpoint_id"])
    return endpoint.consecutive_failures if endpoint is not None else run.attempts


def _delivered(run: SyncRun) -> None:
    """The run ended: what became due meanwhile (an event recorded while it was finishing, more than one attempt
    could send) gets a run of its own."""
    if run.status == "succeeded" and _due(run.params["endpoint_id"], utcnow()):
        kick(run.params["endpoint_id"])


def attempt(client: httpx.Client, endpoint: WebhookEndpoint, row: WebhookDelivery, secret: str, *,
            commit: bool = True) -> bool:
    """One HTTP attempt of ``row``; records it (a success is committed by the caller with ``commit=False``);
    a failure is committed at once, counted on the endpoint (its backoff grows with failures in a row)."""
    body = encode_body(row.payload)
    status_code, text, error = None, None, None
    try:
        target, host, extensions = _target(endpoint.url)
        response = client.post(target, content=body, headers={**signed_headers(secret, row.event_id, body), **host},
                               extensions=extensions)
        status_code, text = response.status_code, response.text[:RESPONSE_KEPT]
        if not 200 <= status_code < 300:
            error = f"the endpoint answered {status_code}"
    except UnsafeDestination as exc:  # nothing was sent
        error = f"not delivered: {exc}"
    except httpx.TimeoutException:
        error = f"no answer within {setting('HUB_WEBHOOK_TIMEOUT'):g} s"
    except httpx.HTTPError as exc:
        error = f"could not deliver: {type(exc).__name__}: {str(exc)[:300]}"
    now = utcnow()
    row.attempts += 1
    row.last_attempt_at, row.last_status_code, row.last_response, row.last_error = now, status_code, text, error
    if error is None:
        row.status, row.delivered_at = "delivered", now
        row.lag_ms = int((now - row.created_at).total_seconds() * 1000)
        endpoint.consecutive_failures, endpoint.failing_since = 0, None
        if commit:
            db.session.commit()
        return True
    endpoint.consecutive_failures += 1
    endpoint.failing_since = endpoint.failing_since or now
    row.status = "failed" if row.attempts >= setting("HUB_WEBHOOK_MAX_ATTEMPTS") else "retrying"
    log.info("webhook %s to endpoint %s failed (attempt %s): %s", row.event_id, endpoint.id, row.attempts, error)
    if (endpoint.consecutive_failures >= setting("HUB_WEBHOOK_DISABLE_FAILURES")
            and (now - endpoint.failing_since).total_seconds() >= setting("HUB_WEBHOOK_DISABLE_SECONDS")):
        _disable(endpoint, f"after {endpoint.consecutive_failures} failed deliveries in a row since "
                           f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC; the last: {error}")
    db.session.commit()
    return False


def _disable(endpoint: WebhookEndpoint, why: str, *,
             hint: str = "Fix the receiver and enable it again: the events that waited are sent then.") -> None:
    endpoint.enabled = False
    endpoint.disabled_reason = f"Disabled {why}"[:300]
    log.warning("webhook endpoint %s disabled: %s", endpoint.id, endpoint.disabled_reason)
    if endpoint.firm_id is not None:
        notify(endpoint.firm_id, f"Webhook endpoint {endpoint.url} was disabled", level="error",
               body=f"{endpoint.disabled_reason} {hint}")


def sweep() -> int:
    """Dispatcher: start the delivery run of every enabled endpoint with something due and no live run (a run that
    ended failed, a restart)."""
    now = utcnow()
    ids = [eid for (eid,) in db.session.query(WebhookDelivery.endpoint_id).join(WebhookEndpoint).filter(
        WebhookEndpoint.enabled.is_(True), WebhookDelivery.status.in_(("pending", "retrying")),
        WebhookDelivery.next_attempt_at <= now).distinct()]
    started = 0
    for eid in ids:
        if live_run(KIND, subject(eid)) is None:
            kick(eid)
            started += 1
    return started


register(Kind(KIND, _deliver, queue="webhooks", timeout=int(DEFAULTS["HUB_WEBHOOK_LEASE"]),
              retry=Retry(prefix="HUB_WEBHOOK", base=DEFAULTS["HUB_WEBHOOK_RETRY_BASE"],
                          cap=DEFAULTS["HUB_WEBHOOK_RETRY_CAP"], attempts=None),
              failures=_endpoint_failures, on_finish=_delivered))


# -- the events the flows raise (each one line in its flow) -----------------------------------
def client_ref(client: Client | None) -> dict[str, Any] | None:
    if client is None:
        return None
    return {"id": client.id, "external_id": client.external_id, "name": client.name}


@_never_raises
def months_imported(run: SyncRun, connection: ClientConnection, periods: list[Any]) -> None:
    """``statistics.imported``, one event per month written by import run ``run``, recorded in the caller's
    transaction (the import's commit also commits its events). Nothing is read when no endpoint listens (one
    query: an import's cost stays fixed)."""
    integration = connection.integration
    if not listening(integration.firm_id, "statistics.imported"):
        return
    client = db.session.get(Client, connection.client_id)
    names = {f.id: f.name for f in CustomField.query.filter_by(firm_id=integration.firm_id)}
    tasks = SummaryTask.query.options(selectinload(SummaryTask.values)).filter(
        SummaryTask.client_id == connection.client_id, SummaryTask.integration_id == integration.id,
        SummaryTask.period.in_([str(p) for p in periods])).all()
    for task in sorted(tasks, key=lambda t: t.period):
        emit(integration.firm_id, "statistics.imported", {
            "client": client_ref(client), "vendor": integration.vendor, "period": task.period, "task_id": task.id,
            "run_id": run.id, "values": [{"field": names.get(v.field_id), "field_id": v.field_id,
                                          "vendor_field": v.vendor_field, "value": v.value,
                                          "flagged": v.flag is not None} for v in task.values],
        }, key=f"statistics.imported:{run.id}:{task.period}", commit=False)


@_never_raises
def reload_finished(parent: SyncRun, *, commit: bool = True) -> None:
    """``reload.finished`` for a reload parent run in its final state."""
    integration = db.session.get(Integration, parent.integration_id)
    failures = []
    for item in sorted((i for i in parent.items if i.outcome == "failed"), key=lambda i: i.id or 0):
        error = item.error or {}
        failures.append({"client": client_ref(db.session.get(Client, item.client_id) if item.client_id else None),
                         "error": {"kind": error.get("kind"), "message": error.get("message")}})
    result = parent.result or {}
    emit(parent.firm_id, "reload.finished", {
        "run_id": parent.id, "vendor": integration.vendor if integration else None, "status": parent.status,
        "clients": result.get("clients", parent.progress_total), "failed": len(failures), "failures": failures,
        "periods": (parent.params or {}).get("periods", []),
        "started_at": _iso(parent.started_at), "finished_at": _iso(parent.finished_at),
    }, key=f"reload.finished:{parent.id}", commit=commit)


def _export_data(export: InvoiceExport) -> dict[str, Any]:
    integration = db.session.get(Integration, export.integration_id)
    invoice = export.invoice
    return {"export_id": export.id, "invoice_id": invoice.id, "invoice_number": invoice.number,
            "client": client_ref(db.session.get(Client, invoice.client_id)), "vendor": integration.vendor,
            "status": export.status, "reference": export.reference, "vendor_invoice_id": export.vendor_invoice_id,
            "vendor_number": export.vendor_number, "error": export.last_error}


@_never_raises
def export_confirmed(export: InvoiceExport) -> None:
    """``export.confirmed`` (once per export)."""
    firm_id = db.session.get(Integration, export.integration_id).firm_id
    emit(firm_id, "export.confirmed", _export_data(export), key=f"export.confirmed:{export.id}")


@_never_raises
def export_mismatch(export: InvoiceExport) -> None:
    """``export.mismatch`` (once per export): the vendor booked it differently; ``differences`` lists how."""
    firm_id = db.session.get(Integration, export.integration_id).firm_id
    emit(firm_id, "export.mismatch", {**_export_data(export), "booked": export.booked,
                                      "differences": export.differences}, key=f"export.mismatch:{export.id}")


@_never_raises
def export_failed(export: InvoiceExport, run: SyncRun, *, commit: bool = True) -> None:
    """``export.failed`` (once per failed run of an export: a retry that fails again is a new event)."""
    firm_id = db.session.get(Integration, export.integration_id).firm_id
    emit(firm_id, "export.failed", {**_export_data(export), "run_id": run.id, "error": run.error},
         key=f"export.failed:{export.id}:{run.id}", commit=commit)


def _owner_data(owner: Integration | ClientConnection) -> tuple[int, dict[str, Any]]:
    if isinstance(owner, ClientConnection):
        integration = owner.integration
        return integration.firm_id, {"owner": "client_connection", "vendor": integration.vendor,
                                     "integration_id": integration.id, "client_connection_id": owner.id,
                                     "client": client_ref(db.session.get(Client, owner.client_id))}
    return owner.firm_id, {"owner": "integration", "vendor": owner.vendor, "integration_id": owner.id,
                           "client_connection_id": None, "client": None}


@_never_raises
def connection_changed(owner: Integration | ClientConnection, previous_status: str) -> None:
    """``connection.needs_attention`` / ``connection.recovered`` when ``owner`` moved into or out of
    ``needs_attention``. Joins the caller's transaction (the job layer commits it with the run)."""
    if previous_status == owner.status or NEEDS_ATTENTION not in (previous_status, owner.status):
        return
    firm_id, data = _owner_data(owner)
    kind = "connection.needs_attention" if owner.status == NEEDS_ATTENTION else "connection.recovered"
    data.update(status=owner.status, previous_status=previous_status, error=owner.last_error,
                account_name=owner.account_name)
    emit(firm_id, kind, data, commit=False)


def credentials_expiring(today: dt.date | None = None) -> int:
    """Dispatcher: ``credential.expiring`` once per owner and expiry date, ``HUB_WEBHOOK_EXPIRY_DAYS`` ahead."""
    today = today or utcnow().date()
    horizon = today + dt.timedelta(days=int(setting("HUB_WEBHOOK_EXPIRY_DAYS")))
    count = 0
    for model in (Integration, ClientConnection):
        for owner in model.query.filter(model.expires_on.isnot(None), model.expires_on <= horizon,
                                        model.expires_on >= today):
            firm_id, data = _owner_data(owner)
            data.update(expires_on=owner.expires_on.isoformat(), days_left=(owner.expires_on - today).days)
            if emit(firm_id, "credential.expiring", data,
                    key=f"credential.expiring:{model.__tablename__}:{owner.id}:{owner.expires_on}"):
                count += 1
    return count


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None
