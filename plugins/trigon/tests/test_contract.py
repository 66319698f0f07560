"""The shared contract suite (hub.testing) against the Trigon sandbox."""

import httpx
import hub_trigon
from hub_trigon import sandbox

from hub.testing import VendorContractTests


class TestContract(VendorContractTests):
    slug = "trigon"
    plugin = hub_trigon
    good_credentials = dict(sandbox.DEMO_CREDENTIALS)
    bad_credentials = {**sandbox.DEMO_CREDENTIALS, "id_token": "trg-idt-wrong-0000-000000000"}
    statistics_client = sandbox.DEMO_CLIENT_ID

    def make_transport(self):
        return httpx.WSGITransport(app=sandbox.create_app())
