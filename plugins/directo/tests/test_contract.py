"""The hub's shared contract suite, for a firm-level database and for a client's own database."""

import httpx
import hub_directo
from hub_directo import sandbox

from hub.testing import VendorContractTests


class TestContract(VendorContractTests):
    slug = "directo"
    plugin = hub_directo
    good_credentials = dict(sandbox.DEMO_CREDENTIALS)
    bad_credentials = {"token": "dxd-wrong-0000000000", "database": "uku_demo"}
    statistics_client = "K0004"

    def make_transport(self):
        return httpx.WSGITransport(app=sandbox.create_app())


class TestClientDatabaseContract(VendorContractTests):
    """Per-client credentials: the client's own Directo database (statistics for the whole database)."""

    slug = "directo"
    plugin = hub_directo
    good_credentials = dict(sandbox.DEMO_CLIENT_CREDENTIALS[0])
    bad_credentials = dict(sandbox.REVOKED_CREDENTIALS)
    statistics_client = None

    def make_transport(self):
        return httpx.WSGITransport(app=sandbox.create_app())
