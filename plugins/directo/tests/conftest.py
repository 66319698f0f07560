"""Shared fixtures for the Directo plugin tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import httpx
import hub_directo
import pytest
from hub_directo import sandbox

from hub.testing import make_context, vendor_registry
from hub.testing.sandbox import serve
from hub.types import Context, Invoice


@pytest.fixture
def app():
    return sandbox.create_app()


@pytest.fixture
def state(app) -> sandbox.SandboxState:
    return app.extensions["sandbox"]


@pytest.fixture
def registry():  # noqa: ANN201 - hub.testing.vendor_registry's registry
    return vendor_registry("directo", hub_directo)


@pytest.fixture
def ctx(app) -> Iterator[Context]:
    context = make_context("directo", httpx.WSGITransport(app=app))
    yield context
    context.close()


@pytest.fixture
def call(registry, ctx) -> Callable:
    """``call(hook, credentials=..., **kwargs)`` through the registry, as the hub calls hooks."""

    def run(hook: str, **kwargs):
        return registry.call("directo", hook, ctx=ctx, **kwargs)

    return run


@pytest.fixture
def mock_call(registry) -> Callable:
    """``mock_call(handler, hook, **kwargs)``: a hook over ``httpx.MockTransport(handler)``."""

    def run(handler, hook: str, **kwargs):
        context = make_context("directo", httpx.MockTransport(handler))
        try:
            return registry.call("directo", hook, ctx=context, **kwargs)
        finally:
            context.close()

    return run


@pytest.fixture
def live_sandbox() -> Iterator[Callable]:
    """``start(**knobs) -> (origin, app)``: the sandbox on real loopback HTTP for the test's duration."""
    servers = []

    def start(**knobs):
        servers.append(serve(sandbox.create_app(**knobs)))
        return servers[-1].origin, servers[-1].app

    yield start
    for served in servers:
        served.stop()


@pytest.fixture
def mapped() -> Callable[[Invoice], Invoice]:
    """``mapped(invoice)``: the invoice with every line's VAT mapped to a Directo code, as the hub sends it."""
    codes = {rate: code for code, (_, rate) in hub_directo.client.VAT_CODES.items()}

    def run(invoice: Invoice) -> Invoice:
        lines = tuple(dataclasses.replace(line, tax_id=codes[line.vat_rate]) for line in invoice.lines)
        return dataclasses.replace(invoice, lines=lines)

    return run
