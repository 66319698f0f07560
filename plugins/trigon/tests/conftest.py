"""Fixtures shared by the Trigon tests: the sandbox, a ctx on it, the hooks, and a ctx on a hand-written answer."""

import datetime as dt

import httpx
import hub_trigon
import pytest
from hub_trigon import sandbox

from hub.testing import make_context, vendor_registry

#: The tests' clock: the sandbox's default ``today`` (2026-11-22), in the morning.
FROZEN_NOW = dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def frozen_now():
    """The tests' clock (the sandbox's default ``today``)."""
    return FROZEN_NOW


@pytest.fixture
def registry():
    return vendor_registry("trigon", hub_trigon)


@pytest.fixture
def app():
    return sandbox.create_app()


@pytest.fixture
def state(app):
    return app.extensions["sandbox"]


@pytest.fixture
def ctx(app):
    context = make_context("trigon", httpx.WSGITransport(app=app), now=lambda: FROZEN_NOW)
    yield context
    context.close()


@pytest.fixture
def call(registry, ctx):
    """``call(hook, **kwargs)`` the way the hub calls a hook (demo credentials unless given)."""

    def run(hook, **kwargs):
        kwargs.setdefault("credentials", dict(sandbox.DEMO_CREDENTIALS))
        return registry.call("trigon", hook, ctx=ctx, **kwargs)

    return run



@pytest.fixture
def mock_context():
    """``mock_context(handler)``: a ctx whose requests go to ``handler(request) -> httpx.Response`` (closed after
    the test)."""
    made = []

    def make(handler):
        context = make_context("trigon", httpx.MockTransport(handler), now=lambda: FROZEN_NOW)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def json_response():
    """``json_response(status, body, headers=None)``: an answer with a JSON body."""

    def respond(status, body, headers=None):
        return httpx.Response(status, json=body, headers=headers)

    return respond
