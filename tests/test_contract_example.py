"""The shared contract suite, run against the example vendor that lives in the tests."""

import httpx
import hub_example
from hub_example import sandbox

from hub.testing import VendorContractTests


class TestExampleContract(VendorContractTests):
    slug = "example"
    plugin = hub_example
    good_credentials = {"api_key": "ex-good-key-0001", "company": "acme"}
    bad_credentials = {"api_key": "ex-wrong-key-9999", "company": "acme"}
    statistics_client = "3"

    def make_transport(self):
        return httpx.WSGITransport(app=sandbox.create_app())
