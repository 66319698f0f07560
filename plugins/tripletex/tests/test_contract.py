"""The hub's shared contract suite against the Tripletex sandbox."""

import httpx
import hub_tripletex
from hub_tripletex import sandbox

from hub.testing import VendorContractTests


class TestContract(VendorContractTests):
    slug = "tripletex"
    plugin = hub_tripletex
    good_credentials = {"employee_token": "sbx-employee-fjord-0001", "environment": "production"}
    bad_credentials = {"employee_token": "sbx-employee-wrong-9999", "environment": "production"}
    settings = sandbox.DEMO_SETTINGS

    def make_transport(self):
        return httpx.WSGITransport(app=sandbox.create_app())
