"""The shared contract suite from hub.testing, against the SmartAccounts sandbox."""

import httpx
import hub_smartaccounts
from hub_smartaccounts import sandbox

from hub.testing import VendorContractTests
from hub.types import Period


class TestContract(VendorContractTests):
    slug = "smartaccounts"
    plugin = hub_smartaccounts
    good_credentials = dict(sandbox.DEMO_CREDENTIALS)
    bad_credentials = {"api_key": sandbox.DEMO_CREDENTIALS["api_key"], "api_secret": "0" * 32}
    statistics_client = None  # per-client credentials: the key pair is the client's own company
    statistics_periods = Period.span(Period(2025, 11), Period(2026, 10))

    def make_transport(self):
        return httpx.WSGITransport(app=sandbox.create_app())
