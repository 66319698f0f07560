"""Booked as issued (issue 27): invoices with rounding-sensitive lines go to the sandbox over real HTTP, are read
back with ``hub_find_invoice`` (Tripletex's own ``Invoice`` answer, in the lookup's one request), and the booked
totals equal the hub's to the cent; a sandbox made to book otherwise shows it in ``booked``."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import hub_tripletex
import pytest
from hub_tripletex import sandbox

from hub import testing
from hub.testing import sample_invoice
from hub.types import Address, Invoice, InvoiceLine, InvoiceParty

SLUG = "tripletex"
CENT = Decimal("0.01")
VAT_TYPE = {Decimal("25"): "3", Decimal("15"): "31", Decimal("12"): "32", Decimal("0"): "5"}


COMPANY = InvoiceParty(name="Brygge Data 002 AS", vendor_client_id="10002")  # the seeded customer 10002
PERSON = InvoiceParty(name="Kari Nordmann", email="kari@example.test", private_person=True,
                      address=Address(street="Veldig lang gatenavn " * 8, city="Bergen", postal_code="5003",
                                      country="NO"))
CASES = {
    "three-dimes": ([("Penn", "1", "0.10", "25")] * 3, COMPANY),
    "zero": ([("Eksport", "1", "400.00", "0")], COMPANY),
    "many-small": ([(f"Linje {n}", "3", "0.333", r) for n in range(25) for r in ("25", "15", "12", "0")], COMPANY),
    "person": ([("Rådgivning", "1.5", "600.00", "25"), ("Bok", "2", "99.99", "15")], PERSON),
}


def invoice(n: int, lines, client) -> Invoice:
    lines = tuple(InvoiceLine(text, Decimal(q), Decimal(p), Decimal(r), tax_id=VAT_TYPE[Decimal(r)])
                  for text, q, p, r in lines)
    return sample_invoice(reference=f"hub-booked-{n}-tripletex", number=f"2026-B{n}", client=client, lines=lines,
                          currency="NOK", vat_rounding=hub_tripletex.hub_vendor().vat_rounding)


def export_and_read_back(origin, inv, good):
    return testing.export_and_read_back(SLUG, hub_tripletex, good, inv, origin=origin,
                                        settings=dict(sandbox.DEMO_SETTINGS))


@pytest.mark.parametrize("case", CASES)
def test_booked_totals_equal_the_hubs_to_the_cent(live_server, good, case):
    lines, client = CASES[case]
    inv = invoice(list(CASES).index(case), lines, client)
    booked = export_and_read_back(live_server, inv, good)
    assert (booked.total_net, booked.total_vat, booked.total) == (inv.total_net, inv.total_vat, inv.total)
    assert (booked.currency, booked.buyer_name) == ("NOK", client.name)
    assert [(b.net, b.vat_rate) for b in booked.lines] == [(line.net.quantize(CENT, ROUND_HALF_UP), line.vat_rate)
                                                           for line in inv.lines]


def test_a_sandbox_booking_vat_per_line_shows_in_the_booked_totals(live_server, state, good):
    state.knobs.update(book_vat_rounding="line")
    inv = invoice(0, *CASES["three-dimes"])
    booked = export_and_read_back(live_server, inv, good)
    assert (inv.total_vat, booked.total_vat, booked.total) == (Decimal("0.08"), Decimal("0.09"), Decimal("0.39"))
