"""The shared contract suite every vendor plugin passes."""

import httpx
import hub_merit
from hub_merit import sandbox

from hub.testing import VendorContractTests


class TestContract(VendorContractTests):
    slug = "merit"
    plugin = hub_merit
    good_credentials = dict(sandbox.DEMO_CREDENTIALS)
    bad_credentials = {**sandbox.DEMO_CREDENTIALS, "api_key": "AAAAwrongwrongwrongwrongwrongwrongwrongwr0="}
    statistics_client = None  # per-client credentials: the account is the client

    def make_transport(self):
        return httpx.WSGITransport(app=sandbox.create_app())

    def count_vendor_invoices(self, transport):
        return len(transport.app.extensions["sandbox"].created)
