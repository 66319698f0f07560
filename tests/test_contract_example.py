"""The shared contract suite, run against the example vendor that lives in the tests."""

from decimal import Decimal

import httpx
import hub_example
from hub_example import sandbox

from hub.testing import VendorContractTests, export_and_read_back, invoice_totals, sample_invoice
from hub.types import InvoiceLine


class TestExampleContract(VendorContractTests):
    slug = "example"
    plugin = hub_example
    good_credentials = {"api_key": "ex-good-key-0001", "company": "acme"}
    bad_credentials = {"api_key": "ex-wrong-key-9999", "company": "acme"}
    statistics_client = "3"

    def make_transport(self):
        return httpx.WSGITransport(app=sandbox.create_app())


def test_export_and_read_back_gives_what_the_vendor_booked() -> None:
    lines = (InvoiceLine("Bookkeeping", Decimal("3"), Decimal("0.10"), Decimal("24"), tax_id="T24"),
             InvoiceLine("Payroll", Decimal("1"), Decimal("12.50"), Decimal("9"), tax_id="T9"))
    invoice = sample_invoice(number="KIT-RB-1", reference="kit-rb-1", lines=lines)
    transport = httpx.WSGITransport(app=sandbox.create_app())
    booked = export_and_read_back("example", hub_example, dict(sandbox.DEMO_CREDENTIALS), invoice, transport=transport)
    assert booked is not None
    assert (booked.total_net, booked.total_vat, booked.total) == invoice_totals(invoice.lines)
