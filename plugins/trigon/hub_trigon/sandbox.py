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

What it answers about the wire — hosts, headers, paths, keys, field names, formats, codes, statuses, limits — it
reads from :mod:`hub_trigon.wire` through ``fact()``, the same table the client reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, request

from hub.testing.sandbox import Sandbox, ascii_fold, cached_seed, pick_name, rng
from hub.types import Period

from .wire import fact

SEED = 20261122
FIRST_PERIOD = "2025-01"
LAST_PERIOD = "2026-12"
#: Months whose cached volumes are seeded stale (late transactions arrived after the cache was built).
STALE_PERIODS = ("2026-08", "2026-09", "2026-10", "2026-11")
#: ``perPage`` when the request sends none (the sandbox's choice; §6 does not say).
DEFAULT_PER_PAGE = 20


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


def _volume_fields() -> tuple[str, ...]:
    """Trigon's volume field names, in the order of ``fact("volume_fields")``."""
    return tuple(fact("volume_fields").values())


def _ascii(text: str) -> str:
    return ascii_fold(text).lower()


@cached_seed
def _seed_clients(org: Organisation) -> list[dict]:
    rand = rng(SEED, "clients", org.id)
    f, a_, c_ = fact("client_fields"), fact("address_fields"), fact("contact_fields")
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
                contacts.append({c_["name"]: person, c_["email"]: f"{first}@{slug}.ee" if (n + k) % 4 != 2 else None,
                                 c_["phone"]: f"+372 5{rand.randint(0, 9999999):07d}", c_["role"]: _ROLES[(n + k) % 4]})
        if n % 6 != 5:  # every sixth client has no address
            city, postal = rand.choice(_CITIES)
            addresses.append({a_["type"]: "legal", a_["street"]: f"{rand.choice(_STREETS)} {rand.randint(1, 120)}",
                              a_["city"]: city, a_["postal_code"]: postal, a_["country"]: "EE"})
            if n % 4 == 0:
                addresses.append({a_["type"]: "postal", a_["street"]: f"Postkast {rand.randint(1, 999)}",
                                  a_["city"]: city, a_["postal_code"]: postal, a_["country"]: "EE"})
        clients.append({f["id"]: str(cid), f["name"]: name, f["reg_code"]: reg,
                        f["vat_no"]: f"EE10{rand.randint(0, 9999999):07d}" if n % 3 != 2 else None,
                        f["addresses"]: addresses, f["contacts"]: contacts})
    return clients


@cached_seed
def _seed_volumes(client_id: str) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """``(true volumes, stale cached volumes)`` per period for one client."""
    rand = rng(SEED, "volumes", client_id)
    level = 0 if int(client_id) % 10 == 7 and client_id != DEMO_CLIENT_ID else rand.choice((1, 2, 3))
    f = fact("volume_fields")
    truth, stale = {}, {}
    for period in periods_between(FIRST_PERIOD, LAST_PERIOD):
        if level == 0:
            values = dict.fromkeys(_volume_fields(), 0)
        else:
            values = {f["incoming_payments"]: rand.randint(2, 20 * level),
                      f["outgoing_payments"]: rand.randint(1, 15 * level),
                      f["card_transactions"]: rand.randint(0, 40 * level), f["documents"]: rand.randint(1, 10 * level)}
        truth[period] = values
        lagged = {k: max(0, v - rand.randint(1, 4)) for k, v in values.items()}
        stale[period] = lagged if period in STALE_PERIODS else dict(values)
    return truth, stale


def _cached_at(period: str, stale: bool) -> str:
    """When the cache of ``period`` was built: mid-month when stale, else early the month after."""
    month = Period.parse(period)
    day = dt.datetime(month.year, month.month, 15, 3, tzinfo=dt.UTC) if stale else \
        dt.datetime(month.next().year, month.next().month, 2, 3, tzinfo=dt.UTC)
    return day.strftime(fact("timestamp_format"))


class SandboxState(Sandbox):
    """Everything the sandbox holds; tests read it as ``app.extensions["sandbox"]``."""

    name = "trigon"
    vendor_knobs = {
        "rate_limit": "{}/{}".format(*fact("rate_limit")),  # Trigon's (assumed) limit: "120/60" per API key
        "today": "2026-11-22",  # the sandbox's date: token expiry is checked against it
        "stale_cache": True,  # seed stale cached volumes for STALE_PERIODS
        "refresh_polls": 1,  # status polls answered "pending" before the final status
        "refresh_status": "done",  # final refresh status: "done" | "failed" | "pending" (never finishes)
    }
    knob_error_status = fact("validation_statuses")[0]  # Trigon's validation status

    def seed(self) -> None:
        """The organisations, credentials and clients; true volumes and the (partly stale) volume cache."""
        self.organisations: dict[str, Organisation] = {o.id: o for o in ORGANISATIONS}
        self.credentials: dict[str, Credential] = {c.api_key: c for c in CREDENTIALS}
        self.clients: dict[str, list[dict]] = {o.id: _seed_clients(o) for o in ORGANISATIONS}
        self.refreshes: dict[str, dict[str, Any]] = {}
        self.truth: dict[tuple[str, str], dict[str, int]] = {}  # (client, period) → volumes
        self.cache: dict[tuple[str, str], dict[str, Any]] = {}  # (client, period) → cached
        client_id_field = fact("client_fields")["id"]
        for org_clients in self.clients.values():
            for client in org_clients:
                client_id = client[client_id_field]
                truth, stale = _seed_volumes(client_id)
                for period, values in truth.items():
                    self.truth[(client_id, period)] = values
                    is_stale = bool(self.knobs.get("stale_cache")) and period in STALE_PERIODS
                    self.cache[(client_id, period)] = {"values": dict(stale[period] if is_stale else values),
                                                       "cached_at": _cached_at(period, is_stale)}

    # -- helpers for tests -------------------------------------------------------------------
    def true_volumes(self, client_id: str, period: str) -> dict[str, int]:
        return dict(self.truth.get((client_id, period), dict.fromkeys(_volume_fields(), 0)))

    def cached_volumes(self, client_id: str, period: str) -> dict[str, int]:
        entry = self.cache.get((client_id, period))
        return dict(entry["values"]) if entry else dict.fromkeys(_volume_fields(), 0)

    def client(self, org_id: str, client_id: str) -> dict | None:
        ident = fact("client_fields")["id"]
        return next((c for c in self.clients.get(org_id, []) if c[ident] == client_id), None)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    error_key, message_key = fact("error_keys")
    response = jsonify({error_key: code, message_key: message})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _invalid(message: str) -> Response:
    """Trigon's answer to a request it refuses as invalid."""
    return _error(fact("validation_statuses")[0], fact("code_validation_failed"), message)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime(fact("timestamp_format"))


def _wire_month(period: str) -> str:
    """A sandbox period (``"2026-01"``) as Trigon writes a month."""
    return Period.parse(period).first_day.strftime(fact("month_format"))


def _read_month(value: Any) -> str | None:
    """A month as Trigon reads it (exactly ``fact("month_format")``) as a sandbox period, or None."""
    if not isinstance(value, str):
        return None
    try:
        day = dt.datetime.strptime(value, fact("month_format"))
    except ValueError:
        return None
    return str(Period.of(day)) if day.strftime(fact("month_format")) == value else None


def create_app(**knobs: Any) -> Flask:
    """The sandbox app. Knobs: the kit's and ``SandboxState.vendor_knobs`` (unknown names are refused)."""
    state = SandboxState(**knobs)
    app = state.create_app()
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    hosts = {urlsplit(url).hostname: env for env, url in fact("hosts").items()}
    base = urlsplit(fact("hosts")["production"]).path  # "/v1": the same on every host
    token_header, key_header = fact("id_token_header"), fact("api_key_header")
    start, end = fact("window_params")
    pending, done, failed = fact("refresh_statuses")
    #: the refresh_status knob ("pending" | "done" | "failed") → Trigon's word for it
    final_status = {"pending": pending, "done": done, "failed": failed}
    client_fields = fact("client_fields")

    def route(path: str, placeholder: str = "") -> str:
        """A ``path_*`` fact as a Flask rule under the hosts' base path (``{id}`` → ``<placeholder>``)."""
        return base + path.format(id=f"<{placeholder}>")

    def environment() -> str:
        host = (request.headers.get("Host") or request.host or "").split(":")[0].lower()
        return hosts.get(host, "production")

    @state.before_api
    def rate_limit() -> Response | None:
        """Per API key, before authentication (after the kit's recording, latency and faults)."""
        key = request.headers.get(key_header, "") or (request.remote_addr or "anonymous")
        verdict = state.take_rate(key)
        if verdict is not None and not verdict.allowed:
            return _error(fact("rate_limit_status"), fact("code_rate_limited"),
                          f"Rate limit of {verdict.limit} requests per {verdict.per:g} s exceeded.",
                          {fact("retry_after_header"): str(verdict.retry_after)})
        return None

    @app.errorhandler(404)
    def not_found(exc: Exception) -> Response:
        return _error(fact("not_found_status"), fact("code_not_found"), "No such endpoint.")

    @app.errorhandler(405)
    def not_allowed(exc: Exception) -> Response:
        return _error(405, fact("code_not_found"), "Method not allowed on this endpoint.")

    # -- auth ----------------------------------------------------------------------------------
    def authenticate() -> tuple[Credential | None, Response | None]:
        token = request.headers.get(token_header, "")
        key = request.headers.get(key_header, "")
        rejected = fact("auth_status"), fact("code_invalid_credentials")
        if not token or not key:
            return None, _error(*rejected, f"Both {token_header} and {key_header} headers are required.")
        cred = state.credentials.get(key)
        if cred is None or cred.id_token != token or cred.environment != environment():
            return None, _error(*rejected, "The ID token or API key is not valid.")
        status = state.credential_status(key, revoked=cred.revoked, expires=cred.expires)
        if status == "revoked":
            return None, _error(*rejected, "The ID token or API key is not valid.")
        if status == "expired":
            passed = dt.date.fromisoformat(cred.expires) < state.today()
            return None, _error(fact("auth_status"), fact("code_token_expired"),
                                f"The ID token expired on {cred.expires}." if passed else "The ID token has expired.")
        return cred, None

    def period_window(first: Any, last: Any) -> tuple[list[str] | None, Response | None]:
        first, last = _read_month(first) if first else None, _read_month(last) if last else None
        if first is None:
            return None, _invalid(f"'{start}' must be a month formatted YYYY-MM.")
        if last is None:
            return None, _invalid(f"'{end}' must be a month formatted YYYY-MM.")
        if first > last:
            return None, _invalid(f"'{start}' must not be after '{end}'.")
        months = periods_between(first, last)
        if len(months) > fact("max_window_months"):
            return None, _invalid(f"The period range may span at most {fact('max_window_months')} months.")
        return months, None

    def unknown_client(client_id: str) -> Response:
        return _error(fact("not_found_status"), fact("code_not_found"), f"Client {client_id} not found.")

    # -- endpoints -----------------------------------------------------------------------------
    @app.get(route(fact("path_me")))
    def me() -> Response:
        cred, denied = authenticate()
        if denied:
            return denied
        org = state.organisations[cred.org_id]
        names = fact("organisation_fields")
        expires = dt.date.fromisoformat(cred.expires).strftime(fact("date_format"))
        return jsonify({fact("me_organisation"): {names["id"]: org.id, names["name"]: org.name,
                                                  names["reg_code"]: org.reg_code},
                        fact("me_token_expires"): expires})

    @app.get(route(fact("path_clients")))
    def clients() -> Response:
        cred, denied = authenticate()
        if denied:
            return denied
        page_key, per_page_key = fact("page_key"), fact("per_page_param")
        first, most = fact("first_page"), fact("per_page_max")
        try:
            page = int(request.args.get(page_key, first))
            per_page = int(request.args.get(per_page_key, DEFAULT_PER_PAGE))
        except ValueError:
            return _invalid(f"'{page_key}' and '{per_page_key}' must be whole numbers.")
        if page < first:
            return _invalid(f"'{page_key}' starts at {first}.")
        if not 1 <= per_page <= most:
            return _invalid(f"'{per_page_key}' must be between 1 and {most}.")
        q = request.args.get(fact("query_param"), "").strip().lower()
        found = [c for c in state.clients[cred.org_id]
                 if not q or q in c[client_fields["name"]].lower() or c[client_fields["reg_code"]].startswith(q)]
        start_at = (page - first) * per_page
        return jsonify({fact("clients_items"): found[start_at:start_at + per_page], page_key: page,
                        fact("clients_has_more"): start_at + per_page < len(found)})

    @app.get(route(fact("path_volumes"), "client_id"))
    def volumes(client_id: str) -> Response:
        cred, denied = authenticate()
        if denied:
            return denied
        if state.client(cred.org_id, client_id) is None:
            return unknown_client(client_id)
        months, invalid = period_window(request.args.get(start), request.args.get(end))
        if invalid:
            return invalid
        out = []
        with state.lock:
            for period in months:
                entry = state.cache.get((client_id, period))
                if entry is None:  # never cached (outside the seeded range): computed now, cached
                    entry = {"values": state.true_volumes(client_id, period), "cached_at": _now()}
                    state.cache[(client_id, period)] = entry
                out.append({fact("volume_period"): _wire_month(period), **entry["values"],
                            fact("volume_cached_at"): entry["cached_at"]})
        return jsonify({fact("volumes_periods"): out})

    @app.post(route(fact("path_refresh"), "client_id"))
    def refresh(client_id: str) -> Response:
        cred, denied = authenticate()
        if denied:
            return denied
        if state.client(cred.org_id, client_id) is None:
            return unknown_client(client_id)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _invalid(f"The body must be a JSON object with '{start}' and '{end}'.")
        months, invalid = period_window(body.get(start), body.get(end))
        if invalid:
            return invalid
        with state.lock:
            refresh_id = f"rf-{len(state.refreshes) + 1:06d}"
            knob = str(state.knobs.get("refresh_status") or "done")
            state.refreshes[refresh_id] = {
                "org": cred.org_id, "client": client_id, "periods": months, "applied": False,
                "pending_left": int(state.knobs.get("refresh_polls") or 0),
                "final": final_status.get(knob, knob)}
        response = jsonify({fact("refresh_id_key"): refresh_id})
        response.status_code = fact("refresh_started_status")
        return response

    @app.get(route(fact("path_refresh_status"), "refresh_id"))
    def refresh_status(refresh_id: str) -> Response:
        cred, denied = authenticate()
        if denied:
            return denied
        id_key, status_key = fact("refresh_id_key"), fact("refresh_status_key")
        with state.lock:
            job = state.refreshes.get(refresh_id)
            if job is None or job["org"] != cred.org_id:
                return _error(fact("not_found_status"), fact("code_not_found"), f"Refresh {refresh_id} not found.")
            if job["pending_left"] > 0 or job["final"] == pending:
                job["pending_left"] -= 1
                return jsonify({id_key: refresh_id, status_key: pending})
            if job["final"] == done and not job["applied"]:
                for period in job["periods"]:
                    state.cache[(job["client"], period)] = {
                        "values": state.true_volumes(job["client"], period), "cached_at": _now()}
                job["applied"] = True
            return jsonify({id_key: refresh_id, status_key: job["final"]})

    return app
