"""Booked as issued (issue 27): invoices with rounding-sensitive lines go to the sandbox over real HTTP, are read
back with ``hub_find_invoice`` (SmartAccounts' own ``clientinvoices:get`` row), and the booked totals equal the
hub's to the cent when the hub totals them SmartAccounts' way (``vat_rounding="line"``); a sandbox made to book
otherwise shows it; address lines fit SmartAccounts' 64 characters."""

import json
from decimal import ROUND_HALF_UP, Decimal

import hub_smartaccounts
import pytest
from hub_smartaccounts import sandbox
from hub_smartaccounts.client import SmartAccountsApi, address_lines

from hub import testing
from hub.errors import VendorRejected
from hub.testing import sample_invoice
from hub.types import Address, Invoice, InvoiceLine, InvoiceParty

DEMO = sandbox.DEMO_CREDENTIALS
CENT = Decimal("0.01")


LONG_STREET = "Väga pika nimega tänav 12-34, Kesklinna linnaosa, Tallinn, Harju maakond, Eesti Vabariik, postkast 7"
COMPANY = InvoiceParty(name="Põhja Puit OÜ", reg_code="12345678", email="arved@pohja.example",
                       address=Address(street=LONG_STREET, city="Tallinn", postal_code="10111", country="EE"))
PERSON = InvoiceParty(name="Mari Maasikas", email="mari@example.test", private_person=True,
                      address=Address(street=LONG_STREET, city="Tartu", postal_code="50090", country="EE"))
CASES = {
    "three-dimes": ([("Pastakas", "1", "0.10", "22")] * 3, COMPANY),
    "zero": ([("Eksport", "1", "400.00", "0")], COMPANY),
    "many-small": ([(f"Rida {n}", "3", "0.333", r) for n in range(25) for r in ("24", "9", "0", "13")], COMPANY),
    "person": ([("Konsultatsioon", "1.5", "60.00", "24"), ("Raamat", "2", "9.99", "9")], PERSON),
}


def invoice(n: int, lines, client) -> Invoice:
    lines = tuple(InvoiceLine(text, Decimal(q), Decimal(p), Decimal(r), tax_id=r) for text, q, p, r in lines)
    return sample_invoice(reference=f"hub-booked-{n}", number=f"B-{n}", client=client, lines=lines,
                          vat_rounding=hub_smartaccounts.hub_vendor().vat_rounding)


def export_and_read_back(origin, inv):
    return testing.export_and_read_back("smartaccounts", hub_smartaccounts, DEMO, inv, origin=origin)


@pytest.mark.parametrize("case", CASES)
def test_booked_totals_equal_the_hubs_to_the_cent(serve, case):
    lines, client = CASES[case]
    inv = invoice(list(CASES).index(case), lines, client)
    booked = export_and_read_back(serve(sandbox.create_app()), inv)
    assert (booked.total_net, booked.total_vat, booked.total) == (inv.total_net, inv.total_vat, inv.total)
    assert (booked.currency, booked.buyer_name) == ("EUR", client.name)
    assert [(b.net, b.vat_rate) for b in booked.lines] == [(line.net.quantize(CENT, ROUND_HALF_UP), line.vat_rate)
                                                           for line in inv.lines]
    assert sum(b.vat for b in booked.lines) == inv.total_vat


def test_a_long_street_goes_over_both_address_lines_within_64(serve):
    app = sandbox.create_app()
    export_and_read_back(serve(app), invoice(3, *CASES["person"]))
    [added] = [json.loads(r.body) for r in app.extensions["sandbox"].requests if r.path.endswith("clients:add")]
    line1, line2 = added["address"]["address1"], added["address"]["address2"]
    assert len(line1) <= 64 and len(line2) <= 64 and LONG_STREET.startswith(f"{line1} {line2}"[:64])
    assert address_lines("Pikk 1") == ("Pikk 1", None)
    assert address_lines("x" * 200) == ("x" * 64, "x" * 64)


def test_a_sandbox_booking_vat_once_per_rate_shows_in_the_booked_totals(serve):
    inv = invoice(0, *CASES["three-dimes"])
    booked = export_and_read_back(serve(sandbox.create_app(book_vat_rounding="rate")), inv)
    assert (inv.total_vat, booked.total_vat, booked.total) == (Decimal("0.06"), Decimal("0.07"), Decimal("0.37"))



def test_the_sandbox_refuses_an_address_line_over_64(make_ctx):
    """What SmartAccounts enforces (wire fact ``address_line_max``): the sandbox refuses a longer line."""
    api = SmartAccountsApi(make_ctx(), DEMO)
    with pytest.raises(VendorRejected) as refused:
        api.write("purchasesales/clients:add", {"name": "Pikk Aadress OÜ", "address": {"address1": "x" * 65}})
    assert "at most 64" in refused.value.message + str(refused.value.field_messages)
