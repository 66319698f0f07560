"""Fixtures shared by the SmartAccounts tests: the sandbox app and its state, contexts and hook calls on it, real
loopback serving, a sample invoice to export and the JSON bodies the sandbox received."""

import datetime as dt
import json
from decimal import Decimal

import httpx
import hub_smartaccounts
import pytest
from hub_smartaccounts import sandbox

from hub.testing import make_context, vendor_registry
from hub.testing.sandbox import serve as serve_app
from hub.types import Address, Invoice, InvoiceLine, InvoiceParty

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


@pytest.fixture
def make_invoice():
    """``make_invoice(**changes)``: the invoice UKU-1001 to a new buyer (one mapped line, one without a product),
    with ``changes`` applied."""

    def make(**changes):
        base = dict(
            reference="uku-inv-1001-smartaccounts", number="UKU-1001",
            client=InvoiceParty(name="Uus Klient OÜ", reg_code="16123456", vat_no="EE102345678",
                                email="arved@uusklient.ee",
                                address=Address(street="Pikk 1", city="Tallinn", postal_code="10123", country="EE")),
            issue_date=dt.date(2026, 11, 20), due_date=dt.date(2026, 12, 4), currency="EUR",
            lines=(InvoiceLine("Raamatupidamisteenus november", Decimal("10"), Decimal("45.00"), Decimal("24"),
                               product_code="SERV", tax_id="24", unit="h"),
                   InvoiceLine("Konsultatsioon", Decimal("1.5"), Decimal("80.00"), Decimal("24"))),
            total_net=Decimal("570.00"), total_vat=Decimal("136.80"), total=Decimal("706.80"), notes="Aitäh!")
        base.update(changes)
        return Invoice(**base)

    return make


@pytest.fixture
def bodies(state):
    """``bodies(suffix)``: the JSON bodies the sandbox received on paths ending in ``suffix``, in order."""

    def sent(suffix):
        return [json.loads(r.body) for r in state.requests if r.path.endswith(suffix)]

    return sent
