"""The shared contract suite against the example OAuth vendor (contract 1.2): every check runs through a bearer
token its sandbox (the kit's authorisation server) issued by the authorisation-code flow."""

import httpx
import hub_oauthexample
from hub_oauthexample import sandbox

from hub.testing import VendorContractTests


class TestOAuthExampleContract(VendorContractTests):
    slug = "oauthexample"
    plugin = hub_oauthexample
    good_credentials = {}
    bad_credentials = {}
    settings = dict(sandbox.DEMO_SETTINGS)
    statistics_client = "3"

    def make_transport(self):
        return httpx.WSGITransport(app=sandbox.create_app())

    def count_vendor_invoices(self, transport):
        return len(transport.app.extensions["sandbox"].invoices)
