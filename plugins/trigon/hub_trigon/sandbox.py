"""The Trigon sandbox: an emulator of the **assumed** Trigon API (``public-apis.md`` §6) as a Flask app.

* Hosts: ``api.trigon.ee`` (production) and ``api-test.trigon.ee`` (test), told apart by the ``Host``
  header; credentials only work in their own environment. Any other host is treated as production
  (handy for ``curl http://127.0.0.1:8100/v1/me``).
* Auth: ``X-Trigon-Id-Token`` + ``X-Trigon-Api-Key`` on every call; ``401 {"error": "invalid_credentials"}``
  for a wrong/revoked/other-environment pair, ``401 {"error": "token_expired"}`` once the ID token's expiry
  date (sandbox day, knob ``today``) has passed.
* ``GET /v1/me``, ``GET /v1/clients`` (``page``, ``perPage`` ≤ 100, ``q``), ``GET /v1/clients/{id}/volumes``
  (``from``/``to`` ``YYYY-MM``, at most 24 months), ``POST /v1/clients/{id}/volumes:refresh`` (202
  ``{"refreshId"}``) and ``GET /v1/refreshes/{id}`` (``pending`` → ``done``/``failed``).
* Volumes are served from a per-period cache that is **stale** for 2026-08..2026-11 (knob
  ``stale_cache``); a finished refresh recomputes the cache from the true volumes.
* 120 requests per 60 s per API key (knob ``rate_limit``), answered ``429`` + ``Retry-After``.

Recording, the fault knobs (``latency_ms``, ``fault``, ``fault_every``, ``timeout_s``, ``retry_after``, …,
``revoked``/``expired``: lists of API keys), the ``/_sandbox/`` control endpoints and serving come from the
hub's sandbox kit (:mod:`hub.testing.sandbox`); this module is the vendor. Trigon's own knobs: ``stale_cache``,
``refresh_polls``, ``refresh_status``. Run it with ``flask hub sandbox trigon --port 8100``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, jsonify, request

from hub.testing.sandbox import Sandbox, ascii_fold, cached_seed, pick_name, rng
from hub.types import Period

SEED = 20261122
FIRST_PERIOD = "2025-01"
LAST_PERIOD = "2026-12"
#: Months whose cached volumes are seeded stale (late transactions arrived after the cache was built).
STALE_PERIODS = ("2026-08", "2026-09", "2026-10", "2026-11")
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
MAX_WINDOW_MONTHS = 24
HOSTS = {"api.trigon.ee": "production", "api-test.trigon.ee": "test"}
FIELDS = ("incomingPayments", "outgoingPayments", "cardTransactions", "documents")


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str
    reg_code: str
    environment: str
    first_client: int
    n_clients: int


@dataclass(frozen=True)
class Credential:
    id_token: str
    api_key: str
    org_id: str
    environment: str
    expires: str  # YYYY-MM-DD
    revoked: bool = False
    note: str = ""


ORGANISATIONS = (
    Organisation("org-1001", "Demo Raamatupidamine OÜ", "14567890", "production", 1001, 36),
    Organisation("org-2002", "Põhjaranniku Arvestusbüroo OÜ", "12233445", "production", 2001, 230),
    Organisation("org-3003", "Lõuna Konsultatsioonid OÜ", "16677889", "production", 3001, 12),
    Organisation("org-9001", "Demo Raamatupidamine OÜ (test)", "14567890", "test", 9001, 8),
)

CREDENTIALS = (
    Credential("trg-idt-demo-1001-7c4f2a9e3b", "trg-key-demo-1001-5b8d31f0", "org-1001", "production", "2027-05-31",
               note="the demo firm's account"),
    Credential("trg-idt-big-2002-0a9d4c71e2", "trg-key-big-2002-c3e8a915", "org-2002", "production", "2027-02-28",
               note="230 clients (three pages of clients)"),
    Credential("trg-idt-soon-3003-6f2b8d1a04", "trg-key-soon-3003-9e7a2c44", "org-3003", "production", "2026-12-01",
               note="ID token expires within two weeks"),
    Credential("trg-idt-test-9001-d41c7e2b9a", "trg-key-test-9001-71b0f6ad", "org-9001", "test", "2027-01-15",
               note="test environment"),
    Credential("trg-idt-expired-1001-b2e95f07", "trg-key-expired-1001-4d6c0b3e", "org-1001", "production",
               "2026-10-31", note="ID token expired"),
    Credential("trg-idt-revoked-1001-8a3f5c2d", "trg-key-revoked-1001-e1f7a092", "org-1001", "production",
               "2027-05-31", revoked=True, note="API key revoked"),
)

_DEMO, _BIG, _SOON, _TEST, _EXPIRED, _REVOKED = CREDENTIALS


def _as_dict(cred: Credential) -> dict[str, str]:
    return {"id_token": cred.id_token, "api_key": cred.api_key, "environment": cred.environment}


DEMO_CREDENTIALS: dict[str, str] = _as_dict(_DEMO)
BIG_CREDENTIALS = _as_dict(_BIG)
EXPIRING_SOON_CREDENTIALS = _as_dict(_SOON)
TEST_ENV_CREDENTIALS = _as_dict(_TEST)
EXPIRED_CREDENTIALS = _as_dict(_EXPIRED)
REVOKED_CREDENTIALS = _as_dict(_REVOKED)
#: A client of the demo organisation with activity in every month (used by the contract test).
DEMO_CLIENT_ID = "1001"

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_FIRST = ("Kase", "Tamme", "Männi", "Pärna", "Vahtra", "Kuuse", "Saare", "Järve", "Mere", "Rannu", "Õuna",
          "Lepa", "Kivi", "Põllu", "Metsa", "Niidu", "Üla", "Ääre", "Kalda", "Sillu")
_SECOND = ("Ehitus", "Kaubandus", "Logistika", "Tarkvara", "Puidutööd", "Aiandus", "Transport", "Konsult",
           "Toitlustus", "Disain", "Auto", "Kinnisvara", "Meedia", "Energia", "Hooldus")
_FORMS = ("OÜ", "OÜ", "OÜ", "AS", "MTÜ", "FIE")
_CITIES = (("Tallinn", "10111"), ("Tartu", "50090"), ("Pärnu", "80010"), ("Narva", "20308"),
           ("Viljandi", "71020"), ("Rakvere", "44306"), ("Kuressaare", "93812"))
_STREETS = ("Pärnu mnt", "Narva mnt", "Tartu mnt", "Rüütli", "Ülikooli", "Lossi", "Kalda tee", "Järve")
_PEOPLE = ("Mari Tamm", "Jaan Kask", "Kadri Saar", "Peeter Mägi", "Liis Kuusk", "Andres Põld", "Tiina Lepik",
           "Märt Õunapuu", "Kristi Sepp", "Rein Ilves")
_ROLES = ("board member", "accountant", "CFO", "owner")


def periods_between(first: str, last: str) -> list[str]:
    """``"2026-11", "2027-01"`` → ``["2026-11", "2026-12", "2027-01"]``."""
    return [str(p) for p in Period.span(Period.parse(first), Period.parse(last))]


def _ascii(text: str) -> str:
    return ascii_fold(text).lower()


@cached_seed
def _seed_clients(org: Organisation) -> list[dict]:
    rand = rng(SEED, "clients", org.id)
    clients = []
    for n in range(org.n_clients):
        cid = org.first_client + n
        name = pick_name(rand, _FIRST, _SECOND, _FORMS)
        if n % 7 == 3:
            name = f"{name.rsplit(' ', 1)[0]} {n + 1} {name.rsplit(' ', 1)[1]}"
        reg = f"1{rand.randint(0, 9999999):07d}"
        slug = _ascii(name.rsplit(" ", 1)[0]).replace(" ", "")
        contacts, addresses = [], []
        if n % 5 != 4:  # every fifth client has no contacts
            for k in range(1 + (n % 3 == 0)):
                person = rand.choice(_PEOPLE)
                first = _ascii(person.split()[0])
                contacts.append({"name": person, "email": f"{first}@{slug}.ee" if (n + k) % 4 != 2 else None,
                                 "phone": f"+372 5{rand.randint(0, 9999999):07d}", "role": _ROLES[(n + k) % 4]})
        if n % 6 != 5:  # every sixth client has no address
            city, postal = rand.choice(_CITIES)
            addresses.append({"type": "legal", "line1": f"{rand.choice(_STREETS)} {rand.randint(1, 120)}",
                              "city": city, "postalCode": postal, "country": "EE"})
            if n % 4 == 0:
                addresses.append({"type": "postal", "line1": f"Postkast {rand.randint(1, 999)}", "city": city,
                                  "postalCode": postal, "country": "EE"})
        clients.append({"id": str(cid), "name": name, "regCode": reg,
                        "vatNumber": f"EE10{rand.randint(0, 9999999):07d}" if n % 3 != 2 else None,
                        "addresses": addresses, "contacts": contacts})
    return clients


@cached_seed
def _seed_volumes(client_id: str) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """``(true volumes, stale cached volumes)`` per period for one client."""
    rand = rng(SEED, "volumes", client_id)
    level = 0 if int(client_id) % 10 == 7 and client_id != DEMO_CLIENT_ID else rand.choice((1, 2, 3))
    truth, stale = {}, {}
    for period in periods_between(FIRST_PERIOD, LAST_PERIOD):
        if level == 0:
            values = dict.fromkeys(FIELDS, 0)
        else:
            values = {"incomingPayments": rand.randint(2, 20 * level), "outgoingPayments": rand.randint(1, 15 * level),
                      "cardTransactions": rand.randint(0, 40 * level), "documents": rand.randint(1, 10 * level)}
        truth[period] = values
        lagged = {k: max(0, v - rand.randint(1, 4)) for k, v in values.items()}
        stale[period] = lagged if period in STALE_PERIODS else dict(values)
    return truth, stale


def _cached_at(period: str, stale: bool) -> str:
    y, m = map(int, period.split("-"))
    if stale:
        return f"{y:04d}-{m:02d}-15T03:00:00Z"
    nxt = dt.date(y + m // 12, m % 12 + 1, 2)
    return f"{nxt.isoformat()}T03:00:00Z"


class SandboxState(Sandbox):
    """Everything the sandbox holds; tests read it as ``app.extensions["sandbox"]``."""

    name = "trigon"
    vendor_knobs = {
        "rate_limit": "120/60",  # Trigon's (assumed) published limit: 120 requests a minute per API key
        "today": "2026-11-22",  # the sandbox's date: token expiry is checked against it
        "stale_cache": True,  # seed stale cached volumes for STALE_PERIODS
        "refresh_polls": 1,  # status polls answered "pending" before the final status
        "refresh_status": "done",  # final refresh status: "done" | "failed" | "pending" (never finishes)
    }
    knob_error_status = 422  # Trigon's validation status

    def seed(self) -> None:
        """The organisations, credentials and clients; true volumes and the (partly stale) volume cache."""
        self.organisations: dict[str, Organisation] = {o.id: o for o in ORGANISATIONS}
        self.credentials: dict[str, Credential] = {c.api_key: c for c in CREDENTIALS}
        self.clients: dict[str, list[dict]] = {o.id: _seed_clients(o) for o in ORGANISATIONS}
        self.refreshes: dict[str, dict[str, Any]] = {}
        self.truth: dict[tuple[str, str], dict[str, int]] = {}  # (client, period) → volumes
        self.cache: dict[tuple[str, str], dict[str, Any]] = {}  # (client, period) → cached
        for org_clients in self.clients.values():
            for client in org_clients:
                truth, stale = _seed_volumes(client["id"])
                for period, values in truth.items():
                    self.truth[(client["id"], period)] = values
                    is_stale = bool(self.knobs.get("stale_cache")) and period in STALE_PERIODS
                    self.cache[(client["id"], period)] = {"values": dict(stale[period] if is_stale else values),
                                                          "cachedAt": _cached_at(period, is_stale)}

    # -- helpers for tests -------------------------------------------------------------------
    def true_volumes(self, client_id: str, period: str) -> dict[str, int]:
        return dict(self.truth.get((client_id, period), dict.fromkeys(FIELDS, 0)))

    def cached_volumes(self, client_id: str, period: str) -> dict[str, int]:
        entry = self.cache.get((client_id, period))
        return dict(entry["values"]) if entry else dict.fromkeys(FIELDS, 0)

    def client(self, org_id: str, client_id: str) -> dict | None:
        return next((c for c in self.clients.get(org_id, []) if c["id"] == client_id), None)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(error=code, message=message)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_app(**knobs: Any) -> Flask:
    """The sandbox app. Knobs: the kit's and ``SandboxState.vendor_knobs`` (unknown names are refused)."""
    state = SandboxState(**knobs)
    app = state.create_app()
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    def environment() -> str:
        host = (request.headers.get("Host") or request.host or "").split(":")[0].lower()
        return HOSTS.get(host, "production")

    @state.before_api
    def rate_limit() -> Response | None:
        """Per API key, before authentication (after the kit's recording, latency and faults)."""
        key = request.headers.get("X-Trigon-Api-Key", "") or (request.remote_addr or "anonymous")
        verdict = state.take_rate(key)
        if verdict is not None and not verdict.allowed:
            return _error(429, "rate_limited", f"Rate limit of {verdict.limit} requests per {verdict.per:g} s "
                          "exceeded.", {"Retry-After": str(verdict.retry_after)})
        return None

    @app.errorhandler(404)
    def not_found(exc: Exception) -> Response:
        return _error(404, "not_found", "No such endpoint.")

    @app.errorhandler(405)
    def not_allowed(exc: Exception) -> Response:
        return _error(405, "not_found", "Method not allowed on this endpoint.")

    # -- auth ----------------------------------------------------------------------------------
    def authenticate() -> tuple[Credential | None, Response | None]:
        token = request.headers.get("X-Trigon-Id-Token", "")
        key = request.headers.get("X-Trigon-Api-Key", "")
        if not token or not key:
            return None, _error(401, "invalid_credentials",
                                "Both X-Trigon-Id-Token and X-Trigon-Api-Key headers are required.")
        cred = state.credentials.get(key)
        if cred is None or cred.id_token != token or cred.environment != environment():
            return None, _error(401, "invalid_credentials", "The ID token or API key is not valid.")
        status = state.credential_status(key, revoked=cred.revoked, expires=cred.expires)
        if status == "revoked":
            return None, _error(401, "invalid_credentials", "The ID token or API key is not valid.")
        if status == "expired":
            passed = dt.date.fromisoformat(cred.expires) < state.today()
            return None, _error(401, "token_expired", f"The ID token expired on {cred.expires}." if passed
                                else "The ID token has expired.")
        return cred, None

    def period_window(first: Any, last: Any) -> tuple[list[str] | None, Response | None]:
        if not isinstance(first, str) or not _PERIOD.match(first):
            return None, _error(422, "validation_failed", "'from' must be a month formatted YYYY-MM.")
        if not isinstance(last, str) or not _PERIOD.match(last):
            return None, _error(422, "validation_failed", "'to' must be a month formatted YYYY-MM.")
        if first > last:
            return None, _error(422, "validation_failed", "'from' must not be after 'to'.")
        months = periods_between(first, last)
        if len(months) > MAX_WINDOW_MONTHS:
            return None, _error(422, "validation_failed",
                                f"The period range may span at most {MAX_WINDOW_MONTHS} months.")
        return months, None

    # -- endpoints -----------------------------------------------------------------------------
    @app.get("/v1/me")
    def me() -> Response:
        cred, denied = authenticate()
        if denied:
            return denied
        org = state.organisations[cred.org_id]
        return jsonify(organisation={"id": org.id, "name": org.name, "regCode": org.reg_code},
                       tokenExpiresAt=cred.expires)

    @app.get("/v1/clients")
    def clients() -> Response:
        cred, denied = authenticate()
        if denied:
            return denied
        try:
            page = int(request.args.get("page", 1))
            per_page = int(request.args.get("perPage", DEFAULT_PER_PAGE))
        except ValueError:
            return _error(422, "validation_failed", "'page' and 'perPage' must be whole numbers.")
        if page < 1:
            return _error(422, "validation_failed", "'page' starts at 1.")
        if not 1 <= per_page <= MAX_PER_PAGE:
            return _error(422, "validation_failed", f"'perPage' must be between 1 and {MAX_PER_PAGE}.")
        q = request.args.get("q", "").strip().lower()
        found = [c for c in state.clients[cred.org_id]
                 if not q or q in c["name"].lower() or c["regCode"].startswith(q)]
        start = (page - 1) * per_page
        return jsonify(items=found[start:start + per_page], page=page, hasMore=start + per_page < len(found))

    @app.get("/v1/clients/<client_id>/volumes")
    def volumes(client_id: str) -> Response:
        cred, denied = authenticate()
        if denied:
            return denied
        if state.client(cred.org_id, client_id) is None:
            return _error(404, "not_found", f"Client {client_id} not found.")
        months, invalid = period_window(request.args.get("from"), request.args.get("to"))
        if invalid:
            return invalid
        out = []
        with state.lock:
            for period in months:
                entry = state.cache.get((client_id, period))
                if entry is None:  # never cached (outside the seeded range): computed now, cached
                    entry = {"values": state.true_volumes(client_id, period), "cachedAt": _now()}
                    state.cache[(client_id, period)] = entry
                out.append({"period": period, **entry["values"], "cachedAt": entry["cachedAt"]})
        return jsonify(periods=out)

    @app.post("/v1/clients/<client_id>/volumes:refresh")
    def refresh(client_id: str) -> Response:
        cred, denied = authenticate()
        if denied:
            return denied
        if state.client(cred.org_id, client_id) is None:
            return _error(404, "not_found", f"Client {client_id} not found.")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _error(422, "validation_failed", "The body must be a JSON object with 'from' and 'to'.")
        months, invalid = period_window(body.get("from"), body.get("to"))
        if invalid:
            return invalid
        with state.lock:
            refresh_id = f"rf-{len(state.refreshes) + 1:06d}"
            state.refreshes[refresh_id] = {
                "org": cred.org_id, "client": client_id, "periods": months, "applied": False,
                "pending_left": int(state.knobs.get("refresh_polls") or 0),
                "final": str(state.knobs.get("refresh_status") or "done")}
        response = jsonify(refreshId=refresh_id)
        response.status_code = 202
        return response

    @app.get("/v1/refreshes/<refresh_id>")
    def refresh_status(refresh_id: str) -> Response:
        cred, denied = authenticate()
        if denied:
            return denied
        with state.lock:
            job = state.refreshes.get(refresh_id)
            if job is None or job["org"] != cred.org_id:
                return _error(404, "not_found", f"Refresh {refresh_id} not found.")
            if job["pending_left"] > 0 or job["final"] == "pending":
                job["pending_left"] -= 1
                return jsonify(refreshId=refresh_id, status="pending")
            if job["final"] == "done" and not job["applied"]:
                for period in job["periods"]:
                    state.cache[(job["client"], period)] = {
                        "values": state.true_volumes(job["client"], period), "cachedAt": _now()}
                job["applied"] = True
            return jsonify(refreshId=refresh_id, status=job["final"])

    return app
