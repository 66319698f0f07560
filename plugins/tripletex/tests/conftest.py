"""Fixtures and the spec check: a sandbox app, contexts on it (in-process or over loopback HTTP), the registry,
the test data (``good`` credentials, ``make_invoice``), and Tripletex's own OpenAPI spec as a check on the wire.

Every test here is also a check against Tripletex's own OpenAPI spec (``shared/vendor-specs/tripletex/openapi.json``,
found through ``hub.testing.wire.vendor_specs``; written by Tripletex, not by this project, so it catches mistakes
the client and the sandbox share): the sandbox app is served behind a WSGI layer that checks each request it
receives and each answer it gives, and transports a test hands to ``make_ctx`` (mocks) check what the plugin sends.
A test that passes its own assertions still fails at teardown when anything on the wire disagrees with the spec.
Without ``shared/vendor-specs`` beside the checkout the tests run unchecked and the direct spec tests
(``test_spec.py``, the spec checks of ``test_client.py``) skip, saying why; in CI (``HUB_REQUIRE_VENDOR_SPECS=1``)
a missing spec fails the session.

What is checked, per exchange:

* **request**: the method and path exist in the spec (under the server's ``/v2``) and the operation is not
  deprecated; path parameters have the declared type; every query parameter is declared for that operation,
  has the declared type and the required ones are there; ``fields`` and ``sorting`` name real fields of the
  operation's response model (nested ``a(b,c)`` included); a JSON body is allowed by the operation and
  validates against its schema, where an unknown key anywhere in it, a wrong type or a ``readOnly`` field fails;
* **answer**: a 2xx status is one the operation declares, its JSON body validates against the declared schema
  (unknown keys and wrong types fail; ``null`` is allowed because Tripletex sends it, see the README), and any
  error status carries the spec's ``ApiError`` body.

The spec never says ``additionalProperties: false`` (nor ``required``), so plain schema validation would let
any unknown field through: :func:`_strict` closes every object schema that lists ``properties`` before the
schemas are handed to ``jsonschema``. The document is parsed and transformed once per test session.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import hub_tripletex
import jsonschema
import pytest
from hub_tripletex import sandbox
from jsonschema.exceptions import ValidationError

from hub.testing import make_context, vendor_registry
from hub.testing.sandbox import serve
from hub.testing.wire import vendor_specs
from hub.types import Invoice, InvoiceLine, InvoiceParty

SLUG = "tripletex"
GOOD = {"employee_token": "sbx-employee-fjord-0001", "environment": "production", "company_id": "0"}
#: A fixed "now" (2026-11-22 12:00 Europe/Oslo) so expiration dates are predictable.
NOW = dt.datetime(2026, 11, 22, 11, 0, tzinfo=dt.UTC)


#: Hosts whose answers are Tripletex's (the sandbox treats loopback as production).
TRIPLETEX_HOSTS = {"tripletex.no", "api-test.tripletex.tech", "127.0.0.1", "localhost", "::1", "[::1]"}
BASE_PATH = "/v2"  # the path of the spec's server URL, https://tripletex.no/v2
_REF = "#/components/schemas/"


def _readonly_keyword(validator: Any, names: list[str], instance: Any, schema: dict) -> Iterator[ValidationError]:
    if validator.is_type(instance, "object"):
        for name in names:
            if name in instance:
                yield ValidationError(f"{name!r} is readOnly in the spec: Tripletex does not take it in a request")


def _writeonly_keyword(validator: Any, names: list[str], instance: Any, schema: dict) -> Iterator[ValidationError]:
    if validator.is_type(instance, "object"):
        for name in names:
            if name in instance:
                yield ValidationError(f"{name!r} is writeOnly in the spec: Tripletex never answers with it")


Validator = jsonschema.validators.extend(jsonschema.Draft4Validator,
                                         {"x-readOnly": _readonly_keyword, "x-writeOnly": _writeonly_keyword})


def _strict(node: Any, mode: str, *, in_all_of: bool = False) -> Any:
    """An OpenAPI 3.0 schema as a closed JSON Schema (draft 4) for ``mode`` ``"request"`` or ``"response"``.

    Objects that list ``properties`` get ``additionalProperties: false`` (except the members and bases of an
    ``allOf``/``discriminator``, where that would refuse the subtype's own fields); ``readOnly`` properties are
    refused in requests and ``writeOnly`` ones in answers; in answers every value may also be ``null``."""
    if isinstance(node, list):
        return [_strict(item, mode) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _strict(sub, mode) for name, sub in value.items()}
        elif key == "allOf":
            out[key] = [_strict(sub, mode, in_all_of=True) for sub in value]
        elif key in ("description", "example", "default", "discriminator", "nullable", "readOnly", "writeOnly"):
            continue
        else:
            out[key] = _strict(value, mode)
    properties = node.get("properties")
    if isinstance(properties, dict):
        if "additionalProperties" not in node and "discriminator" not in node and not in_all_of:
            out["additionalProperties"] = False
        flag = "readOnly" if mode == "request" else "writeOnly"
        flagged = [name for name, sub in properties.items() if isinstance(sub, dict) and sub.get(flag)]
        if flagged:
            out[f"x-{flag}"] = flagged
    if mode == "response":
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if isinstance(out.get("enum"), list):
            out["enum"] = [*out["enum"], None]
    elif node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def parse_fields(text: str) -> dict[str, Any]:
    """``"a,b(c,d(*))"`` → ``{"a": None, "b": {"c": None, "d": {"*": None}}}`` (Tripletex's fields filter)."""
    stack: list[dict[str, Any]] = [{}]
    name = ""
    for ch in text + ",":
        if ch == "(":
            if not name.strip():
                raise ValueError(f"empty field name before '(' in {text!r}")
            child: dict[str, Any] = {}
            stack[-1][name.strip()] = child
            stack.append(child)
            name = ""
        elif ch in ",)":
            if name.strip():
                stack[-1][name.strip()] = None
            name = ""
            if ch == ")":
                if len(stack) == 1:
                    raise ValueError(f"unbalanced ')' in {text!r}")
                stack.pop()
        else:
            name += ch
    if len(stack) != 1:
        raise ValueError(f"unbalanced '(' in {text!r}")
    return stack[0]


class Operation:
    """One method on one path of the spec."""

    def __init__(self, method: str, path: str, item: dict[str, Any], op: dict[str, Any]) -> None:
        self.method, self.path, self.op = method, path, op
        params = [*item.get("parameters", []), *op.get("parameters", [])]
        self.query = {p["name"]: p for p in params if p.get("in") == "query"}
        self.path_params = {p["name"]: p for p in params if p.get("in") == "path"}
        self.deprecated = bool(op.get("deprecated"))
        self.body = op.get("requestBody")
        self.responses: dict[str, Any] = op.get("responses") or {}

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def response_schema(self, status: str) -> dict[str, Any] | None:
        answer = self.responses.get(status) or self.responses.get("default") or {}
        content = answer.get("content") or {}
        for media, item in content.items():
            if media.split(";")[0].strip() == "application/json":
                return item.get("schema")
        return None

    def ok_schema(self) -> dict[str, Any] | None:
        """The schema of the operation's (first) 2xx answer."""
        for status in sorted(self.responses):
            if status.startswith("2"):
                return self.response_schema(status)
        return None


class TripletexSpec:
    """The parsed spec: operations by path, closed schemas for requests and answers, and the checks."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.version = str(document.get("info", {}).get("version", "?"))
        self.schemas: dict[str, Any] = document["components"]["schemas"]
        self._roots = {mode: {"components": {"schemas": {name: _strict(schema, mode)
                                                           for name, schema in self.schemas.items()}}}
                       for mode in ("request", "response")}
        self._validators: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._literal: dict[str, dict[str, Operation]] = {}
        self._templated: list[tuple[re.Pattern[str], list[str], dict[str, Operation]]] = []
        for path, item in document["paths"].items():
            ops = {m.upper(): Operation(m.upper(), path, item, op) for m, op in item.items()
                   if m in ("get", "put", "post", "delete", "patch", "head", "options")}
            if "{" in path:
                names = re.findall(r"{([^}]+)}", path)
                pattern = re.compile("^" + re.sub(r"\\{[^}]+\\}", "([^/]+)", re.escape(path)) + "$")
                self._templated.append((pattern, names, ops))
            else:
                self._literal[path] = ops
        # paths with fewer parameters first: /customer/>something beats /customer/{id}
        self._templated.sort(key=lambda entry: (len(entry[1]), -len(entry[0].pattern)))

    @classmethod
    def load(cls, path: Path) -> TripletexSpec:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    # -- lookups -------------------------------------------------------------------------------
    def operation(self, method: str, path: str) -> tuple[Operation | None, dict[str, str], str]:
        """``(operation, path parameters, problem)`` for a request path under ``/v2``."""
        if not (path == BASE_PATH or path.startswith(BASE_PATH + "/")):
            return None, {}, f"{method} {path}: not under {BASE_PATH}, the spec's server path"
        local = path[len(BASE_PATH):] or "/"
        candidates: list[tuple[dict[str, Operation], dict[str, str]]] = []
        if local in self._literal:
            candidates.append((self._literal[local], {}))
        for pattern, names, ops in self._templated:
            match = pattern.match(local)
            if match:
                candidates.append((ops, dict(zip(names, match.groups(), strict=True))))
        if not candidates:
            return None, {}, f"{method} {path}: the spec has no such path"
        for ops, params in candidates:
            if method in ops:
                return ops[method], params, ""
        allowed = sorted({m for ops, _ in candidates for m in ops})
        return None, {}, f"{method} {path}: the spec allows only {', '.join(allowed)} on this path"

    def resolve(self, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        while isinstance(schema, dict) and "$ref" in schema:
            schema = self.schemas.get(schema["$ref"].removeprefix(_REF))
        return schema

    def model(self, op: Operation) -> tuple[str, dict[str, Any] | None]:
        """The DTO a ``fields`` filter applies to: the items of ``values`` or the ``value`` of the envelope."""
        envelope = op.ok_schema() or {}
        resolved = self.resolve(envelope) or {}
        props = resolved.get("properties") or {}
        inner = props.get("values", {}).get("items") if "values" in props else props.get("value")
        if inner is None:
            return envelope.get("$ref", "?").removeprefix(_REF), resolved
        return (inner.get("$ref", "?").removeprefix(_REF), self.resolve(inner))

    def _validator(self, mode: str, schema: dict[str, Any]) -> Any:
        key = (mode, json.dumps(schema, sort_keys=True))
        with self._lock:
            found = self._validators.get(key)
            if found is None:
                root = {**_strict(schema, mode), **self._roots[mode]}
                found = self._validators[key] = Validator(root)
        return found

    def validate(self, mode: str, schema: dict[str, Any], instance: Any, what: str) -> list[str]:
        errors = sorted(self._validator(mode, schema).iter_errors(instance), key=lambda e: list(e.absolute_path))
        name = schema.get("$ref", "inline schema").removeprefix(_REF)
        return [f"{what} ({name}) at {e.json_path}: {e.message}" for e in errors[:5]]

    # -- requests --------------------------------------------------------------------------------
    def check_request(self, method: str, path: str, query: str, content_type: str | None, body: bytes) -> list[str]:
        """Problems with one request as the plugin sent it (``path`` decoded, ``query`` raw)."""
        method = method.upper()
        op, path_values, problem = self.operation(method, path)
        if op is None:
            return [problem]
        where = f"{method} {path}"
        problems = []
        if op.deprecated:
            summary = str(op.op.get("description") or op.op.get("summary") or "").strip()
            problems.append(f"{where}: the spec marks {op} deprecated ({summary})")
        for name, raw in path_values.items():
            param = op.path_params.get(name) or {}
            problems += _param_problems(where, f"path parameter {name}", param.get("schema") or {}, [raw])
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        seen: dict[str, list[str]] = {}
        for name, value in pairs:
            seen.setdefault(name, []).append(value)
        for name, values in seen.items():
            param = op.query.get(name)
            if param is None:
                problems.append(f"{where}: query parameter {name!r} is not declared for {op} "
                                f"(declared: {', '.join(sorted(op.query)) or 'none'})")
                continue
            problems += _param_problems(where, f"query parameter {name}", param.get("schema") or {}, values)
        for name, param in op.query.items():
            if param.get("required") and name not in seen:
                problems.append(f"{where}: required query parameter {name!r} is missing")
        if "fields" in seen or "sorting" in seen:
            model_name, model = self.model(op)
            for text in seen.get("fields", []):
                problems += self._fields_problems(where, text, model_name, model)
            for text in seen.get("sorting", []):
                for key in filter(None, (s.strip().lstrip("-") for s in text.split(","))):
                    if key.split(".")[0] not in ((model or {}).get("properties") or {}):
                        problems.append(f"{where}: sorting names {key!r}, which is not a field of {model_name}")
        problems += self._body_problems(where, op, content_type, body)
        return problems

    def fields_problems(self, path: str, text: str) -> list[str]:
        """Problems with the ``fields`` selection ``text`` of ``GET path`` (``path`` under the server, e.g.
        ``/customer``)."""
        op, _, problem = self.operation("GET", BASE_PATH + path)
        if op is None:
            return [problem]
        model_name, model = self.model(op)
        return self._fields_problems(f"GET {BASE_PATH}{path}", text, model_name, model)

    def _fields_problems(self, where: str, text: str, model_name: str, model: dict[str, Any] | None) -> list[str]:
        try:
            tree = parse_fields(text)
        except ValueError as exc:
            return [f"{where}: fields {text!r} does not parse: {exc}"]
        problems: list[str] = []

        def walk(node: dict[str, Any], name: str, schema: dict[str, Any] | None, trail: str) -> None:
            props = (schema or {}).get("properties")
            if props is None:
                problems.append(f"{where}: fields {text!r} selects inside {trail or name}, which has no fields")
                return
            for key, sub in node.items():
                if key == "*":
                    continue
                if key not in props:
                    problems.append(f"{where}: fields {text!r} names {trail + key!r}, which is not a field of "
                                    f"{name}")
                    continue
                if sub is not None:
                    target = props[key]
                    target = target.get("items", target) if target.get("type") == "array" else target
                    walk(sub, target.get("$ref", key).removeprefix(_REF), self.resolve(target), f"{trail}{key}.")

        walk(tree, model_name, model, "")
        return problems

    def _body_problems(self, where: str, op: Operation, content_type: str | None, body: bytes) -> list[str]:
        if not op.body:
            return [f"{where}: {op} takes no request body, but one was sent"] if body else []
        if not body:
            return [f"{where}: {op} needs a request body"] if op.body.get("required") else []
        content = op.body.get("content") or {}
        media = (content_type or "").split(";")[0].strip().lower()
        declared = {key.split(";")[0].strip().lower(): item for key, item in content.items()}
        if media not in declared:
            return [f"{where}: body sent as {content_type!r}; the spec takes {', '.join(content)}"]
        try:
            instance = json.loads(body)
        except ValueError as exc:
            return [f"{where}: the body is not JSON ({exc})"]
        schema = declared[media].get("schema") or {}
        return self.validate("request", schema, instance, f"{where}: request body")

    # -- answers ---------------------------------------------------------------------------------
    def check_response(self, method: str, path: str, status: int, content_type: str | None,
                       body: bytes) -> list[str]:
        """Problems with one answer the sandbox gave to ``method path``."""
        method = method.upper()
        op, _, _ = self.operation(method, path)
        where = f"{method} {path} → {status}"
        media = (content_type or "").split(";")[0].strip().lower()
        if status >= 400:
            if media != "application/json":
                return [f"{where}: an error answer must be the spec's ApiError JSON, not {content_type!r}"]
            return self._json_problems(where, {"$ref": _REF + "ApiError"}, body)
        if op is None:
            return [f"{where}: the sandbox answered {status} to an operation the spec lacks"]
        code = str(status)
        if code not in op.responses and "default" not in op.responses:
            return [f"{where}: the spec declares only {', '.join(sorted(op.responses))} for {op}"]
        schema = op.response_schema(code)
        if schema is None:
            return [f"{where}: {op} answers {status} without a body, but one was sent"] if body else []
        if media != "application/json":
            return [f"{where}: answered {content_type!r}; the spec answers application/json"]
        return self._json_problems(where, schema, body)

    def _json_problems(self, where: str, schema: dict[str, Any], body: bytes) -> list[str]:
        try:
            instance = json.loads(body)
        except ValueError as exc:
            return [f"{where}: the answer is not JSON ({exc})"]
        return self.validate("response", schema, instance, f"{where}: answer")


def _param_problems(where: str, what: str, schema: dict[str, Any], values: list[str]) -> list[str]:
    kind = schema.get("type", "string")
    if kind != "array" and len(values) > 1:
        return [f"{where}: {what} is sent {len(values)} times but is not an array"]
    if kind == "array":
        kind = (schema.get("items") or {}).get("type", "string")
    problems = []
    for value in values:
        ok = {"integer": lambda v: re.fullmatch(r"-?\d+", v) is not None,
              "number": lambda v: re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", v) is not None,
              "boolean": lambda v: v in ("true", "false")}.get(kind, lambda v: True)(value)
        if not ok:
            problems.append(f"{where}: {what} is {value!r}, not a {kind} as the spec declares")
        enum = schema.get("enum") or (schema.get("items") or {}).get("enum")
        if enum and value not in [str(e) for e in enum]:
            problems.append(f"{where}: {what} is {value!r}; the spec allows {', '.join(map(str, enum))}")
    return problems


# -- where the checks hook in ------------------------------------------------------------------------
class SpecCheck:
    """Collects the spec problems of one test; the conftest fails the test at teardown if there are any."""

    def __init__(self, spec: TripletexSpec | None) -> None:
        self.spec = spec
        self.problems: list[str] = []
        self.exchanges = 0
        self._lock = threading.Lock()

    def add(self, problems: Iterable[str]) -> None:
        with self._lock:
            for problem in problems:
                if problem not in self.problems:
                    self.problems.append(problem)

    def request(self, method: str, host: str, path: str, query: str, content_type: str | None,
                body: bytes) -> None:
        if self.spec is not None and _host(host) in TRIPLETEX_HOSTS:
            self.add(self.spec.check_request(method, path, query, content_type, body))

    def install(self, app: Any, *, check_requests: bool = True) -> Any:
        """Put the checks in front of a sandbox Flask ``app`` (every request and answer through it); returns it."""
        if self.spec is not None:
            app.wsgi_app = _CheckingWsgi(app.wsgi_app, self, check_requests, app.extensions.get("sandbox"))
        return app

    def wrap(self, transport: httpx.BaseTransport) -> httpx.BaseTransport:
        """A transport that checks what the plugin sends before ``transport`` (e.g. a ``MockTransport``) sees it."""
        return transport if self.spec is None else _CheckingTransport(transport, self)


def _host(header: str) -> str:
    header = (header or "").lower()
    return header.split("]")[0] + "]" if header.startswith("[") else header.rsplit(":", 1)[0]


class _CheckingTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, check: SpecCheck) -> None:
        self.inner, self.check = inner, check

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.check.request(request.method, request.headers.get("Host", request.url.netloc.decode("ascii")),
                           request.url.path, request.url.query.decode("ascii"),
                           request.headers.get("Content-Type"), body)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class _CheckingWsgi:
    """WSGI middleware: the request as the sandbox received it, and the answer it gave."""

    def __init__(self, inner: Callable, check: SpecCheck, check_requests: bool, state: Any) -> None:
        self.inner, self.check, self.check_requests, self.state = inner, check, check_requests, state

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        if path.startswith("/_sandbox/") or _host(host) not in TRIPLETEX_HOSTS:
            return self.inner(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        # WSGI hands over the path as latin-1 decoded bytes; the spec's paths are text
        path = path.encode("latin-1").decode("utf-8", "replace")
        method, query = environ.get("REQUEST_METHOD", "GET"), environ.get("QUERY_STRING", "")
        if self.check_requests:
            self.check.request(method, host, path, query, environ.get("CONTENT_TYPE"), body)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            captured.update(status=status, headers=headers, exc_info=exc_info)
            return lambda data: None  # the sandbox (Flask) returns its body instead of writing it

        chunks = self.inner(environ, capture)
        try:
            answer = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        status = int(captured["status"].split()[0])
        content_type = next((v for k, v in captured["headers"] if k.lower() == "content-type"), None)
        if not self._injected_garbage(content_type):
            with self.check._lock:
                self.check.exchanges += 1
            self.check.add(self.check.spec.check_response(method, path, status, content_type, answer))
        start_response(captured["status"], captured["headers"], captured["exc_info"])
        return [answer]

    def _injected_garbage(self, content_type: str | None) -> bool:
        """The ``fault="garbage"`` knob answers HTML on purpose (a proxy page, not Tripletex)."""
        knobs = getattr(self.state, "knobs", {}) or {}
        return knobs.get("fault") == "garbage" and not (content_type or "").startswith("application/json")


# -- fixtures -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def _spec_or_reason() -> tuple[TripletexSpec | None, str]:
    """The spec, parsed once per session, or why it is absent (a CI run fails here instead)."""
    try:
        path = vendor_specs("tripletex", "openapi.json")
    except pytest.skip.Exception as exc:
        return None, str(exc)
    return TripletexSpec.load(path), ""


@pytest.fixture
def tripletex_spec(_spec_or_reason) -> TripletexSpec:
    """The spec itself, for tests that are nothing but spec checks (skipped, with the reason, without it)."""
    spec, reason = _spec_or_reason
    if spec is None:
        pytest.skip(reason)
    return spec


@pytest.fixture
def check_requests() -> bool:
    """Whether the requests reaching the sandbox are checked too (test_sandbox.py sends bad ones on purpose)."""
    return True


@pytest.fixture(autouse=True)
def spec_check(_spec_or_reason):
    """This test's spec problems; any at all fail the test at teardown."""
    check = SpecCheck(_spec_or_reason[0])
    yield check
    assert not check.problems, ("the wire disagrees with Tripletex's OpenAPI spec:\n  "
                                + "\n  ".join(check.problems))


@pytest.fixture
def app(spec_check, check_requests):
    return spec_check.install(sandbox.create_app(today="2026-11-22"), check_requests=check_requests)


@pytest.fixture
def state(app):
    return app.extensions["sandbox"]


@pytest.fixture
def registry():
    return vendor_registry(SLUG, hub_tripletex)


@pytest.fixture
def make_ctx(app, spec_check):
    """``make_ctx(**kw)``: a ctx whose HTTP reaches the in-process sandbox (or ``transport``, whose requests
    are checked against the spec on the way out)."""
    made = []

    def factory(transport=None, settings=None, now=NOW):
        transport = spec_check.wrap(transport) if transport is not None else httpx.WSGITransport(app=app)
        ctx = make_context(SLUG, transport,
                           settings=dict(sandbox.DEMO_SETTINGS if settings is None else settings),
                           now=(lambda: now))
        made.append(ctx)
        return ctx

    yield factory
    for ctx in made:
        ctx.close()


@pytest.fixture
def call(registry, make_ctx):
    """``call(hook, ctx=None, credentials=GOOD, **kwargs)`` through the registry, as the hub calls it."""

    def do(hook, ctx=None, credentials=None, **kwargs):
        return registry.call(SLUG, hook, ctx=ctx or make_ctx(), credentials=dict(credentials or GOOD), **kwargs)

    return do


@pytest.fixture
def live_server(app):
    """The sandbox over real loopback HTTP; yields its origin."""
    with serve(app) as served:
        yield served.origin


@pytest.fixture
def good() -> dict[str, str]:
    """The demo firm's credentials (Fjord Regnskap AS, production, its own company)."""
    return dict(GOOD)


@pytest.fixture
def make_invoice() -> Callable[..., Invoice]:
    """``make_invoice(**overrides)``: a two-line NOK invoice to the seeded customer 10002."""

    def make(**overrides: Any) -> Invoice:
        values = dict(
            reference="hub-inv-000042-tripletex", number="2026-0042",
            client=InvoiceParty(name="Havbris Eiendom AS", vendor_client_id="10002"),
            issue_date=dt.date(2026, 11, 20), due_date=dt.date(2026, 12, 4), currency="NOK",
            lines=(InvoiceLine("Bookkeeping November", Decimal("2"), Decimal("1000.50"), Decimal("25")),
                   InvoiceLine("Payroll", Decimal("1.5"), Decimal("800"), Decimal("15"))),
            total_net=Decimal("3201.00"), total_vat=Decimal("680.25"), total=Decimal("3881.25"),
            notes="Thank you",
        )
        values.update(overrides)
        return Invoice(**values)

    return make
