import datetime as dt

import httpx
import hub_merit
import pytest
from hub_merit import sandbox

from hub.testing import make_context, vendor_registry
from hub.testing.sandbox import serve


@pytest.fixture
def app():
    return sandbox.create_app()


@pytest.fixture
def state(app):
    return app.extensions["sandbox"]


@pytest.fixture
def registry():
    return vendor_registry("merit", hub_merit)


@pytest.fixture
def now():
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def call(app, registry, now):
    """``call(hook, credentials=..., **kwargs)`` through the in-process sandbox, the way the hub calls hooks."""
    contexts = []

    def run(hook, *, clock=None, transport=None, **kwargs):
        ctx = make_context("merit", transport or httpx.WSGITransport(app=app), now=clock or (lambda: now))
        contexts.append(ctx)
        return registry.call("merit", hook, ctx=ctx, **kwargs)

    yield run
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def live():
    """Serve a fresh sandbox over real loopback HTTP; yields ``(origin, app)``."""
    with serve(sandbox.create_app()) as served:
        yield served.origin, served.app
