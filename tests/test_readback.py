"""Booked as issued: totalling by the vendor's VAT rounding rule, and the comparison with what the vendor booked."""

from decimal import Decimal

import pytest

from hub import readback
from hub import types as t

D = Decimal


def lines(*rows):
    return [t.InvoiceLine(description="x", quantity=D(q), unit_price=D(p), vat_rate=D(r)) for q, p, r in rows]


def issued(rows, rule="rate", currency="EUR", code="10000001", name="Client 01 OÜ"):
    net, vat, total = readback.totals(rows, rule)
    return readback.Issued(lines=rows, currency=currency, total_net=net, total_vat=vat, total=total, rule=rule,
                           buyer_code=code, buyer_name=name)


def booked_as(issue, *, per_line_vat=True, **changes):
    """What a vendor that books exactly as issued reports (VAT per line rounded as the issue's rule)."""
    booked_lines = []
    for line in issue.lines:
        net = readback.line_net(line)
        vat = readback.money(net * D(line.vat_rate) / 100) if per_line_vat else None
        booked_lines.append(t.BookedLine(net=net, vat=vat, vat_rate=D(line.vat_rate)))
    fields = dict(currency=issue.currency, total_net=issue.total_net, total_vat=issue.total_vat, total=issue.total,
                  lines=tuple(booked_lines), buyer_code=issue.buyer_code, buyer_name=issue.buyer_name)
    return t.BookedInvoice(**{**fields, **changes})


def texts(differences):
    return [d.text for d in differences]


def test_vat_once_per_rate_or_per_line():
    rows = lines(("1", "0.10", "22"), ("1", "0.10", "22"), ("1", "0.10", "22"))
    assert readback.totals(rows, "rate") == (D("0.30"), D("0.07"), D("0.37"))  # 0.066 -> 0.07
    assert readback.totals(rows, "line") == (D("0.30"), D("0.06"), D("0.36"))  # 3 x 0.022 -> 3 x 0.02
    two = lines(("1", "10.004", "0"), ("1", "10.004", "0"))
    assert readback.totals(two, "line")[0] == D("20.00"), "line nets are rounded before they are summed"
    with pytest.raises(ValueError, match="unknown VAT rounding rule"):
        readback.totals(rows, "invoice")


def test_booked_as_issued_has_no_differences():
    issue = issued(lines(("3", "33.33", "24"), ("1", "0.05", "9"), ("2", "400", "0")))
    # a vendor that keeps VAT per invoice only: per-rate VAT is not compared, totals are
    assert readback.compare(issue, booked_as(issue, per_line_vat=False)) == []
    line_rule = issued(lines(("1", "0.10", "22"), ("1", "0.10", "22")), rule="line")
    assert readback.compare(line_rule, booked_as(line_rule)) == []


def test_another_vat_is_listed_per_rate_and_in_total():
    issue = issued(lines(("1", "400", "0")))
    booked = booked_as(issue, total_vat=D("96.00"), total=D("496.00"),
                       lines=(t.BookedLine(net=D("400.00"), vat=D("96.00"), vat_rate=D("24")),))
    assert texts(readback.compare(issue, booked)) == [
        "Net at 0 %: issued 400.00, booked 0.00", "Net at 24 %: issued 0.00, booked 400.00",
        "VAT at 24 %: issued 0.00, booked 96.00", "Total VAT: issued 0.00, booked 96.00",
        "Total (gross): issued 400.00, booked 496.00"]


def test_vat_at_one_rate_differs_by_a_cent():
    issue = issued(lines(("1", "0.10", "22"), ("1", "0.10", "22"), ("1", "0.10", "22")))  # rate rule: 0.07
    booked = booked_as(issue, total_vat=D("0.06"), total=D("0.36"))  # per line: 3 x 0.02
    assert texts(readback.compare(issue, booked)) == ["VAT at 22 %: issued 0.07, booked 0.06",
                                                      "Total VAT: issued 0.07, booked 0.06",
                                                      "Total (gross): issued 0.37, booked 0.36"]


def test_lines_currency_and_buyer():
    issue = issued(lines(("1", "100", "24"), ("1", "50", "24")))
    merged = booked_as(issue, lines=(t.BookedLine(net=D("150.00"), vat=D("36.00"), vat_rate=D("24")),),
                       currency="usd", buyer_code="999", buyer_name="Someone Else")
    assert texts(readback.compare(issue, merged)) == [
        "Lines: issued 2, booked 1", "Currency: issued EUR, booked USD",
        "Buyer's registration code: issued 10000001, booked 999",
        "Buyer's name: issued Client 01 OÜ, booked Someone Else"]
    # case, spaces and a name cut at the vendor's field limit are not differences; absent facts are not compared
    same = booked_as(issue, buyer_code=" 10000001 ", buyer_name="CLIENT  01")
    assert readback.compare(issue, same) == []
    assert readback.compare(issue, booked_as(issue, lines=(), buyer_code=None, buyer_name=None)) == []


def test_a_rounding_line_alone_is_accepted_and_said():
    issue = issued(lines(("1", "10.02", "0")))
    rounding = t.BookedLine(net=D("-0.02"), vat=None, vat_rate=None, description="Rounding")
    booked = booked_as(issue, total_net=D("10.00"), total=D("10.00"),
                       lines=(t.BookedLine(net=D("10.02"), vat=D("0"), vat_rate=D("0")), rounding))
    [only] = readback.compare(issue, booked)
    assert only.accepted and only.text == ("The vendor added a rounding line of -0.02; accepted, as it is the "
                                           "only difference.")
    assert not readback.mismatched([only.as_dict()])


def test_a_rounding_line_with_another_difference_is_not_accepted():
    issue = issued(lines(("1", "10.02", "24")))
    rounding = t.BookedLine(net=D("-0.02"), vat=None, vat_rate=None)
    booked = booked_as(issue, total_net=D("10.00"), total_vat=D("2.50"), total=D("12.50"),
                       lines=(t.BookedLine(net=D("10.02"), vat=D("2.52"), vat_rate=D("25")), rounding))
    differences = readback.compare(issue, booked)
    assert differences and not any(d.accepted for d in differences)
    assert "Lines: issued 1, booked 2" in texts(differences)
    assert readback.mismatched([d.as_dict() for d in differences])


def test_a_large_extra_line_is_no_rounding_line():
    issue = issued(lines(("1", "10", "0")))
    extra = t.BookedLine(net=D("1.00"), vat=None, vat_rate=None)
    booked = booked_as(issue, total_net=D("11.00"), total=D("11.00"),
                       lines=(t.BookedLine(net=D("10.00"), vat=D("0"), vat_rate=D("0")), extra))
    assert not any(d.accepted for d in readback.compare(issue, booked))


def test_stored_form_of_booked_and_differences():
    booked = t.BookedInvoice(currency="EUR", total_net=D("1.00"), total_vat=D("0.24"), total=D("1.24"),
                             lines=(t.BookedLine(net=D("1.00"), vat=D("0.24"), vat_rate=D("24")),))
    assert readback.booked_as_dict(booked)["lines"] == [{"net": "1.00", "vat": "0.24", "vat_rate": "24",
                                                        "description": None}]
    difference = readback.Difference("vat", "88.00", "96.00", rate="22")
    assert difference.as_dict()["text"] == "VAT at 22 %: issued 88.00, booked 96.00"


def test_vat_per_rate_without_line_vat():
    """A vendor whose lines carry no VAT: one booked rate's VAT is the invoice's; a rate not booked has none."""
    issue = issued(lines(("1", "400", "22")))
    one_rate = booked_as(issue, per_line_vat=False, total_vat=D("96.00"), total=D("496.00"),
                         lines=(t.BookedLine(net=D("400.00"), vat_rate=D("24")),))
    assert "VAT at 24 %: issued 0.00, booked 96.00" in texts(readback.compare(issue, one_rate))
    assert "VAT at 22 %: issued 88.00, booked 0.00" in texts(readback.compare(issue, one_rate))
    mixed = issued(lines(("1", "100", "22"), ("1", "100", "9")))
    two_rates = booked_as(mixed, per_line_vat=False, total_vat=D("30.00"), total=D("230.00"))
    assert texts(readback.compare(mixed, two_rates)) == ["Total VAT: issued 31.00, booked 30.00",
                                                         "Total (gross): issued 231.00, booked 230.00"]
