"""The sandbox kit (``hub.testing.sandbox``): recording, each fault knob, limits and credentials, the control
endpoints, serving on loopback and in-process, the seeded-data helpers, and that it sits low."""

import ast
import datetime as dt
import random
import re
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from flask import jsonify, request

from hub.testing import sandbox as kit
from hub.testing.sandbox import Recorded, Sandbox, serve, transport
from hub.types import Period

KEY = "toy-key-0001"


class Toy(Sandbox):
    """A vendor in a few lines: an API key header, a list of items, a greeting knob."""

    name = "toy"
    vendor_knobs = {"greeting": "hello", "retry_after": 7}

    def seed(self) -> None:
        self.items = [{"id": 1, "name": "seeded"}]
        self.seeded = getattr(self, "seeded", 0) + 1

    def request_key(self, record: Recorded) -> str | None:
        return record.headers.get("X-Key")


def toy_app(**knobs):
    state = Toy(**knobs)
    app = state.create_app()

    @state.before_api
    def auth():
        key = request.headers.get("X-Key", "")
        status = state.credential_status(key, expires="2027-01-31") if key == KEY else "unknown"
        if status != "ok":
            return jsonify(error=status), 401
        verdict = state.take_rate(key)
        if verdict is not None and not verdict.allowed:
            return jsonify(error="slow down"), 429, {"Retry-After": str(verdict.retry_after)}
        return None

    @state.after_api
    def vendor_header(response):
        response.headers["X-Toy"] = "1"
        return response

    @app.get("/api/hello")
    def hello():
        return jsonify(greeting=state.knobs["greeting"], record_path=state.current_record().path)

    @app.post("/api/items")
    def add_item():
        with state.lock:
            state.items.append(request.get_json())
        return jsonify(ok=True), 201

    return app


@pytest.fixture
def app():
    return toy_app()


@pytest.fixture
def state(app):
    return app.extensions["sandbox"]


@pytest.fixture
def http(app):
    with httpx.Client(transport=transport(app), base_url="https://api.toy.example", headers={"X-Key": KEY}) as c:
        yield c


# -- recording ---------------------------------------------------------------------------------------------
def test_every_api_request_is_recorded_with_its_answer(http, state):
    http.post("/api/items?b=2&a=1&a=3", json={"name": "new"}, headers={"Host": "API.Toy.Example:8443"})
    http.get("/api/hello", headers={"X-Key": "wrong"})
    http.get("/nowhere")
    first, second, third = state.requests
    assert (first.method, first.host, first.path, first.query) == ("POST", "api.toy.example", "/api/items",
                                                                   "b=2&a=1&a=3")
    assert first.body == b'{"name":"new"}' and first.json() == {"name": "new"}
    assert first.headers["X-Key"] == KEY and first.status == 201
    assert first.args == {"b": "2", "a": "1"} and first.query_string == first.query
    assert first["path"] == "/api/items" and first["status"] == 201  # dict-style reading
    with pytest.raises(KeyError):
        first["nope"]
    assert abs(first.at - time.time()) < 60
    assert (second.status, third.status) == (401, 404)  # unknown paths are recorded too
    counts = {"201": 1, "401": 1, "404": 1}
    assert state.by_status == counts and state.by_status() == counts and type(state.by_status()) is dict
    assert state.api_requests() == state.requests and state.api_requests() is not state.requests
    assert state.current_record() is None  # outside a request


def test_form_bodies_are_readable(http, state):
    http.post("/api/items", content=b"token=abc%20d&what=invoice&token=2",
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert state.requests[0].form == {"token": "abc d", "what": "invoice"}


def test_control_requests_are_not_recorded_nor_authenticated(http, state):
    assert http.get("/_sandbox/requests", headers={"X-Key": ""}).status_code == 200
    assert http.get("/_sandbox/knobs", headers={"X-Key": ""}).status_code == 200
    assert state.requests == []
    assert "X-Toy" not in http.get("/_sandbox/requests").headers
    assert http.get("/api/hello").headers["X-Toy"] == "1"
    assert http.get("/api/hello").json()["record_path"] == "/api/hello"


# -- fault knobs -------------------------------------------------------------------------------------------
def test_latency_is_added_to_api_requests_only(http, state):
    state.update_knobs({"latency_ms": 150})
    started = time.monotonic()
    http.get("/_sandbox/requests")
    control = time.monotonic() - started
    started = time.monotonic()
    http.get("/api/hello")
    assert time.monotonic() - started >= 0.15 > control


def test_fault_429_carries_retry_after(http, state):
    state.update_knobs({"fault": 429})  # an int, as `--option fault=429` gives it
    assert state.knobs["fault"] == "429"
    answer = http.get("/api/hello")
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "7"  # the retry_after knob
    assert answer.json() == {"error": "rate_limited", "message": "Too many requests."}
    assert state.requests[-1].status == 429


def test_fault_500(http, state):
    state.knobs["fault"] = "500"  # tests may set knobs directly
    answer = http.get("/api/hello")
    assert answer.status_code == 500 and answer.json()["error"] == "internal_error"


def test_fault_garbage_is_a_200_html_page(http, state):
    state.update_knobs({"fault": "garbage"})
    answer = http.get("/api/hello")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    with pytest.raises(ValueError):
        answer.json()


def test_faults_skip_the_vendor_and_a_vendor_may_answer_them_its_own_way():
    class Vendor(Toy):
        def fault_response(self, fault):
            if fault == "500":
                return jsonify(code=1000, message="java.lang.NullPointerException"), 500
            return super().fault_response(fault)

    app = Vendor(fault="500").create_app()
    called = []
    app.before_request(lambda: called.append(1))
    answer = httpx.Client(transport=transport(app)).get("http://x/api/hello")
    assert answer.json() == {"code": 1000, "message": "java.lang.NullPointerException"}
    assert called == []  # the fault answered before any vendor code ran


def test_fault_every_nth_request_restarts_when_the_fault_changes(http, state):
    state.update_knobs({"fault": "500", "fault_every": 2})
    assert [http.get("/api/hello").status_code for _ in range(4)] == [200, 500, 200, 500]
    state.update_knobs({"fault": "429"})
    assert [http.get("/api/hello").status_code for _ in range(2)] == [200, 429]
    state.update_knobs({"fault": None})
    assert http.get("/api/hello").status_code == 200


def test_fault_path_and_method_narrow_the_fault(http, state):
    state.update_knobs({"fault": "500", "fault_path": "/items", "fault_method": "post"})
    assert http.get("/api/hello").status_code == 200
    assert http.post("/api/items", json={}).status_code == 500
    state.update_knobs({"fault_method": "GET"})
    assert http.post("/api/items", json={}).status_code == 201


def test_bad_fault_knobs_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="fault must be one of 429, 500, timeout, garbage"):
        Toy(fault="503")
    with pytest.raises(ValueError, match="fault_every"):
        Toy(fault_every=0)
    with pytest.raises(ValueError, match="rate_limit must look like"):
        Toy(rate_limit="lots")
    with pytest.raises(ValueError, match="ISO date"):
        Toy(today="22.11.2026")
    with pytest.raises(ValueError, match="latency_ms"):
        Toy(latency_ms=-1)
    with pytest.raises(TypeError, match="unknown toy sandbox knob.*nope.*known: .*greeting"):
        Toy(nope=1)


@pytest.mark.parametrize("late", [False, True])
def test_timeout_before_or_after_the_work(late):
    """Early: the request waits, then is handled. Late (``late_timeout``): handled, then the answer waits —
    the vendor did the work though the caller timed out."""
    toy = type("Late" if late else "Early", (Toy,), {"late_timeout": late})
    state = toy(fault="timeout", timeout_s=1.0)
    app = state.create_app()

    @app.post("/api/items")
    def add_item():
        state.items.append(request.get_json())
        return jsonify(ok=True), 201

    with serve(app) as served:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{served.origin}/api/items", json={"name": "slow"}, timeout=0.3)
        assert (len(state.items) == 2) is late
        deadline = time.monotonic() + 5
        while len(state.items) < 2 or state.requests[-1].status == 0:
            assert time.monotonic() < deadline, "the request never finished"
            time.sleep(0.05)
        assert state.requests[-1].status == 201


# -- limits and credentials --------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_sliding_window_per_key():
    state = Toy(rate_limit="2/60")
    state.clock = clock = Clock()
    assert state.take_rate("a").remaining == 1
    clock.now += 10
    assert state.take_rate("a").remaining == 0
    clock.now += 10
    refused = state.take_rate("a")
    assert not refused.allowed and refused.retry_after == 40 and refused.limit == 2 and refused.per == 60
    assert state.take_rate("b").allowed  # another key has its own window
    clock.now += 40
    assert state.take_rate("a").allowed  # the first request left the window
    assert not state.take_rate("a").allowed  # the second is still in it
    state.reset()
    assert state.take_rate("a").allowed


def test_rate_limit_fixed_window_and_several_limits():
    state = Toy()
    state.clock = clock = Clock()
    assert state.take_rate("a") is None  # no limit by default
    assert state.take_rate("a", None) is None
    assert state.take_rate("a", (1, 60), fixed=True).allowed
    clock.now += 59.5
    refused = state.take_rate("a", (1, 60), fixed=True)
    assert not refused.allowed and refused.retry_after == 1 and refused.reset_in == pytest.approx(0.5)
    clock.now += 0.5
    assert state.take_rate("a", (1, 60), fixed=True).allowed  # a new window
    # a minute limit and a day limit: a refusal by one counts against neither
    assert state.take_rate("k", (2, 60), (3, 86400)).allowed
    assert state.take_rate("k", (2, 60), (3, 86400)).allowed
    assert state.take_rate("k", (2, 60), (3, 86400)).per == 60  # refused by the minute
    clock.now += 61
    assert state.take_rate("k", (2, 60), (3, 86400)).allowed
    day = state.take_rate("k", (2, 60), (3, 86400))
    assert not day.allowed and day.per == 86400 and day.retry_after > 80000


def test_rate_limit_knob_through_the_app(http, state):
    state.update_knobs({"rate_limit": "1/60"})
    assert http.get("/api/hello").status_code == 200
    limited = http.get("/api/hello")
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60


def test_revoked_and_expired_credentials(http, state):
    assert state.credential_status(KEY) == "ok"
    assert state.credential_status(KEY, revoked=True) == "revoked"
    state.update_knobs({"revoked": [KEY]})
    assert http.get("/api/hello").json() == {"error": "revoked"}
    state.update_knobs({"revoked": [], "expired": [KEY]})
    assert http.get("/api/hello").json() == {"error": "expired"}
    state.update_knobs({"expired": None, "today": "2027-02-01"})  # past the key's expiry date
    assert http.get("/api/hello").json() == {"error": "expired"}
    assert state.today() == dt.date(2027, 2, 1)
    state.update_knobs({"today": None})
    assert http.get("/api/hello").status_code == 200
    with pytest.raises(ValueError, match="list of credentials"):
        state.update_knobs({"revoked": KEY})


def test_today_defaults_to_the_real_date_in_the_sandbox_zone():
    class Oslo(Toy):
        timezone = "Europe/Oslo"

    from zoneinfo import ZoneInfo

    assert Oslo().today() == dt.datetime.now(ZoneInfo("Europe/Oslo")).date()
    assert Toy(today=dt.date(2026, 1, 2)).today() == dt.date(2026, 1, 2)


# -- control endpoints -------------------------------------------------------------------------------------
def test_control_requests_reset_and_knobs(http, state):
    http.get("/api/hello")
    http.get("/api/hello", headers={"X-Key": "nope"})
    assert http.get("/_sandbox/requests").json() == {"total": 2, "by_status": {"200": 1, "401": 1}}
    knobs = http.post("/_sandbox/knobs", json={"fault": "500", "greeting": "tere"}).json()
    assert knobs["fault"] == "500" and knobs["greeting"] == "tere" and knobs["latency_ms"] == 0.0
    assert http.get("/_sandbox/knobs").json() == knobs
    assert http.get("/api/hello").status_code == 500
    http.post("/_sandbox/knobs", json={"fault": None})
    state.items.append({"id": 2})
    assert state.seeded == 1
    assert http.post("/_sandbox/reset").json() == {"ok": True}
    assert state.items == [{"id": 1, "name": "seeded"}] and state.seeded == 2
    assert http.get("/_sandbox/requests").json() == {"total": 0, "by_status": {}}
    assert http.get("/api/hello").json()["greeting"] == "tere"  # knobs survive a reset


def test_control_knobs_refuses_what_it_cannot_apply(http, state):
    unknown = http.post("/_sandbox/knobs", json={"nope": 1, "fault": "500"})
    assert unknown.status_code == 400 and "nope" in unknown.json()["error"]
    assert state.knobs["fault"] is None  # nothing applied
    bad = http.post("/_sandbox/knobs", json={"fault": "boom"})
    assert bad.status_code == 400 and "fault must be one of" in bad.json()["error"]
    not_object = http.post("/_sandbox/knobs", content=b"[1, 2]")
    assert not_object.status_code == 400 and "JSON object" in not_object.json()["error"]


def test_control_reply_shape_and_status_are_per_sandbox():
    class Wrapped(Toy):
        knobs_reply_key = "knobs"
        knob_error_status = 422

    with httpx.Client(transport=transport(Wrapped().create_app())) as http:
        assert http.post("http://x/_sandbox/knobs", json={"fault": "500"}).json()["knobs"]["fault"] == "500"
        assert http.post("http://x/_sandbox/knobs", json={"nope": 1}).status_code == 422


def test_timeline_lists_every_request_with_its_key(http, state):
    http.get("/api/hello")
    http.get("/api/hello", headers={"X-Key": "other"})
    rows = http.get("/_sandbox/timeline").json()
    assert [(r["key"], r["status"], r["method"], r["path"]) for r in rows] == [
        (KEY, 200, "GET", "/api/hello"), ("other", 401, "GET", "/api/hello")]
    assert rows[0]["at"] <= rows[1]["at"]


def test_vendor_hooks_need_the_app_first():
    with pytest.raises(RuntimeError, match="create_app"):
        Toy().before_api(lambda: None)


# -- serving -----------------------------------------------------------------------------------------------
def test_serve_on_loopback_and_stop(app, state):
    served = serve(app)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", served.origin) and served.port > 0
        assert served.state is state
        answer = httpx.get(f"{served.origin}/api/hello", headers={"X-Key": KEY, "Host": "api.toy.example"})
        assert answer.json()["greeting"] == "hello"
        assert state.requests[0].host == "api.toy.example"
    finally:
        served.stop()
    served.stop()  # idempotent
    assert not served.thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{served.origin}/_sandbox/requests", timeout=2)


def test_serve_is_threaded():
    state = Toy(latency_ms=400)
    app = state.create_app()

    @app.get("/api/slow")
    def slow():
        return jsonify(ok=True)

    with state.serve() as served:
        answers = []
        threads = [threading.Thread(target=lambda: answers.append(httpx.get(f"{served.origin}/api/slow")))
                   for _ in range(3)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert time.monotonic() - started < 1.1  # three 0.4 s requests at once, not one after another


def test_serve_refuses_anything_but_loopback(app):
    with pytest.raises(ValueError, match="loopback"):
        serve(app, host="0.0.0.0")


def test_in_process_transport(state):
    with httpx.Client(transport=state.transport()) as http:
        assert http.get("http://any.host/_sandbox/requests").json() == {"total": 0, "by_status": {}}


# -- seeded-data helpers -----------------------------------------------------------------------------------
def test_seeded_data_helpers_are_deterministic():
    assert kit.rng(20261122, "clients", "org-1").random() == random.Random("20261122-clients-org-1").random()
    one, two = kit.rng(1), kit.rng(1)
    ids = [kit.seeded_uuid(one) for _ in range(3)]
    assert ids == [kit.seeded_uuid(two) for _ in range(3)] and len(set(ids)) == 3
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", ids[0])
    assert kit.pick_name(kit.rng(2), ["Kase"], ["Puit", "Puit"], ["OÜ"]) == "Kase Puit OÜ"
    days = {kit.random_day(kit.rng(3, n), Period(2024, 2)) for n in range(300)}
    assert min(days) == dt.date(2024, 2, 1) and max(days) == dt.date(2024, 2, 29)
    assert kit.money(Decimal("2.345")) == Decimal("2.35") and kit.money("2.344") == Decimal("2.34")
    assert kit.ascii_fold("Põllu Ääre Jūrmala Šokk") == "Pollu Aare Jurmala Sokk"


def test_cached_seed_builds_once_and_hands_out_copies():
    built = []

    @kit.cached_seed
    def companies(n):
        built.append(n)
        return [{"id": i, "rows": [i]} for i in range(n)]

    first, second = companies(2), companies(2)
    assert first == second and first is not second and first[0]["rows"] is not second[0]["rows"]
    first[0]["rows"].append(99)
    assert companies(2)[0]["rows"] == [0]
    companies(3)
    assert built == [2, 3]


def test_parse_rate():
    assert kit.parse_rate("60/60") == (60, 60.0) and kit.parse_rate("5") == (5, 1.0)
    assert kit.parse_rate(None) is None and kit.parse_rate("") is None and kit.parse_rate("off") is None
    with pytest.raises(ValueError):
        kit.parse_rate("1/0")


def test_the_kit_imports_nothing_of_the_hub_but_the_contract():
    """Plugins' sandboxes import it: it stands on the standard library, third-party libraries, hub.types
    and hub.errors only."""
    tree = ast.parse(Path(kit.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0}
    assert not any(isinstance(node, ast.ImportFrom) and node.level for node in ast.walk(tree))
    hub_modules = {name for name in imported if name == "hub" or name.startswith("hub.")}
    assert hub_modules <= {"hub.types", "hub.errors"}, hub_modules


def test_every_public_name_is_documented_for_plugin_authors():
    docs = (Path(__file__).resolve().parents[1] / "docs" / "plugins" / "testing.md").read_text(encoding="utf-8")
    section = docs.split("## The sandbox kit", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in kit.__all__ if not re.search(rf"\b{name}\b", section)]
    assert not missing, f"docs/plugins/testing.md, 'The sandbox kit', does not mention {missing}"
