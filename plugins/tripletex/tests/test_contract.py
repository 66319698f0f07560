"""The hub's shared contract suite against the Tripletex sandbox."""

from decimal import Decimal

import httpx
import hub_tripletex
import pytest
from hub_tripletex import sandbox

from hub.testing import VendorContractTests, sample_invoice
from hub.types import InvoiceLine


class TestContract(VendorContractTests):
    slug = "tripletex"
    plugin = hub_tripletex
    good_credentials = {"employee_token": "sbx-employee-fjord-0001", "environment": "production"}
    bad_credentials = {"employee_token": "sbx-employee-wrong-9999", "environment": "production"}
    settings = sandbox.DEMO_SETTINGS

    @pytest.fixture(autouse=True)
    def _spec_checked(self, spec_check):
        self.spec_check = spec_check  # the conftest's spec check, for make_transport

    def make_transport(self):
        return httpx.WSGITransport(app=self.spec_check.install(sandbox.create_app()))

    def make_export_invoice(self):
        # Norway: NOK and 25 % VAT (Tripletex VAT type 3, outgoing high rate)
        lines = (InvoiceLine("Regnskapsføring, november", Decimal("1"), Decimal("1500.00"), Decimal("25"), tax_id="3"),
                 InvoiceLine("Lønnskjøring, 3 ansatte", Decimal("3"), Decimal("250.00"), Decimal("25"), tax_id="3"))
        return sample_invoice(lines=lines, currency="NOK")

    def count_vendor_invoices(self, transport):
        return len(transport.app.extensions["sandbox"].created_invoices)
