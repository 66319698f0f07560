"""Fixtures: a sandbox app, contexts on it (in-process or over loopback HTTP), the registry.

Every test here is also a check against Tripletex's own OpenAPI spec (:mod:`.spec`): the sandbox app is served
behind a WSGI layer that checks each request it receives and each answer it gives, and transports a test hands
to ``make_ctx`` (mocks) check what the plugin sends. A test that passes its own assertions still fails at
teardown when anything on the wire disagrees with the spec. Without ``shared/vendor-specs`` beside the checkout
the tests run unchecked and the direct spec tests (``test_spec.py``) skip, saying why; in CI
(``HUB_REQUIRE_VENDOR_SPECS=1``) a missing spec fails the session.
"""

from __future__ import annotations

import httpx
import hub_tripletex
import pytest
from hub_tripletex import sandbox

from hub.testing import make_context, vendor_registry
from hub.testing.sandbox import serve
from hub.testing.wire import vendor_specs

from .kit import GOOD, NOW, SLUG
from .spec import SpecCheck, TripletexSpec


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
