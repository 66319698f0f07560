import httpx
import hub_trigon
import pytest
from hub_trigon import sandbox

from hub.testing import make_context, vendor_registry

from .helpers import FROZEN_NOW


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

