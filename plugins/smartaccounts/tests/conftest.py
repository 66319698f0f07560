import httpx
import hub_smartaccounts
import pytest
from hub_smartaccounts import sandbox

from hub.testing import make_context, vendor_registry
from hub.testing.sandbox import serve as serve_app

SLUG = "smartaccounts"


@pytest.fixture
def app():
    return sandbox.create_app()


@pytest.fixture
def state(app):
    return app.extensions["sandbox"]


@pytest.fixture
def registry():
    return vendor_registry(SLUG, hub_smartaccounts)


@pytest.fixture
def make_ctx(app):
    """``make_ctx(**kw)``: a ctx whose HTTP reaches the in-process sandbox."""
    made = []

    def make(target_app=None, **kwargs):
        ctx = make_context(SLUG, httpx.WSGITransport(app=target_app or app), **kwargs)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture
def call(registry, make_ctx):
    """``call(hook, credentials=..., ctx=None, **kwargs)``: call a hook the way the hub does."""

    def run(hook, ctx=None, **kwargs):
        return registry.call(SLUG, hook, ctx=ctx or make_ctx(), **kwargs)

    return run


@pytest.fixture
def serve():
    """``serve(app) -> origin``: the app on real loopback HTTP for the test's duration."""
    servers = []

    def start(wsgi_app):
        servers.append(serve_app(wsgi_app))
        return servers[-1].origin

    yield start
    for served in servers:
        served.stop()
