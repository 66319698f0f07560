"""The hub's shared contract suite, for a firm-level database and for a client's own database."""

import dataclasses

import httpx
import hub_directo
from hub_directo import sandbox
from hub_directo.client import VAT_CODES

from hub.testing import VendorContractTests, sample_invoice
from hub.types import Invoice


def mapped_sample_invoice() -> Invoice:
    """The contract's sample invoice with each line's VAT mapped to a Directo code, as the hub sends it."""
    codes = {rate: code for code, (_, rate) in VAT_CODES.items()}
    invoice = sample_invoice()
    return dataclasses.replace(invoice, lines=tuple(dataclasses.replace(line, tax_id=codes[line.vat_rate])
                                                    for line in invoice.lines))


class TestContract(VendorContractTests):
    slug = "directo"
    plugin = hub_directo
    good_credentials = dict(sandbox.DEMO_CREDENTIALS)
    bad_credentials = {"token": "dxd-wrong-0000000000", "database": "uku_demo"}
    statistics_client = "K0004"

    def make_transport(self):
        return httpx.WSGITransport(app=sandbox.create_app())

    def make_export_invoice(self) -> Invoice:
        return mapped_sample_invoice()


class TestClientDatabaseContract(VendorContractTests):
    """Per-client credentials: the client's own Directo database (statistics for the whole database)."""

    slug = "directo"
    plugin = hub_directo
    good_credentials = dict(sandbox.DEMO_CLIENT_CREDENTIALS[0])
    bad_credentials = dict(sandbox.REVOKED_CREDENTIALS)
    statistics_client = None

    def make_transport(self):
        return httpx.WSGITransport(app=sandbox.create_app())

    def make_export_invoice(self) -> Invoice:
        return mapped_sample_invoice()
