"""Fixtures: a sandbox app, contexts on it (in-process or over loopback HTTP), the registry."""

from __future__ import annotations

import threading

import httpx
import hub_tripletex
import pytest
from hub_tripletex import sandbox
from werkzeug.serving import make_server

from hub.testing import make_context, vendor_registry

from .kit import GOOD, NOW, SLUG


@pytest.fixture
def app():
    return sandbox.create_app(today="2026-11-22")


@pytest.fixture
def state(app):
    return app.extensions["sandbox"]


@pytest.fixture
def registry():
    return vendor_registry(SLUG, hub_tripletex)


@pytest.fixture
def make_ctx(app):
    """``make_ctx(**kw)``: a ctx whose HTTP reaches the in-process sandbox (or ``transport``)."""
    made = []

    def factory(transport=None, settings=None, now=NOW):
        ctx = make_context(SLUG, transport or httpx.WSGITransport(app=app),
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
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
