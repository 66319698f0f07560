"""The hub's shared contract suite, run against the Scoro sandbox."""

import httpx
import hub_scoro
from hub_scoro import sandbox

from hub.testing import VendorContractTests


class TestContract(VendorContractTests):
    slug = "scoro"
    plugin = hub_scoro
    good_credentials = dict(sandbox.DEMO_CREDENTIALS)
    bad_credentials = {**sandbox.DEMO_CREDENTIALS, "api_key": "scoro-acme-wrong-key-000000000000"}
    statistics_client = None

    def make_transport(self):
        return httpx.WSGITransport(app=sandbox.create_app())
