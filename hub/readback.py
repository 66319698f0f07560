"""Booked as issued: totalling an invoice the way its vendor books it, and comparing what the vendor booked
(``ExportReceipt.booked``, read back by ``hub_find_invoice``) with what the hub issued. Pure functions: no
database, no vendor calls (``hub.exports`` calls them and stores the outcome).

Rules (docs/exports.md tells the admin the same):

* **Totalling.** Line nets are rounded to the cent (half-up). VAT follows the vendor's ``VendorInfo.vat_rounding``:
  ``"rate"`` — once per VAT rate on the sum of that rate's nets, rounded half-up; ``"line"`` — per line, each
  rounded half-up, then summed (Merit Aktiva). Gross = net + VAT.
* **Comparison to the cent**, no tolerance: the number of lines (when the vendor returns lines), net and VAT per
  VAT rate (when the vendor's lines say their rate; VAT per rate when every booked line of that rate carries its
  VAT, or when the vendor booked a single rate — its VAT is then the invoice's), net, VAT and gross in total, the
  currency, the buyer's registration code and name (when the vendor returns them). Gross per rate is net + VAT per
  rate, so a gross difference always shows as a net or VAT one.
* **Buyer.** Codes and names compare without case and runs of spaces; a booked name that is the start of the
  issued one (a vendor's field limit cut it) is accepted.
* **A vendor's rounding line** (a booked line without VAT, of at most :data:`ROUNDING_LINE_MAX` either way,
  that is not among the issued lines) is accepted when it is the **only** difference: every other figure agrees
  once it is left out, and the gross totals differ by exactly its amount. It is kept as an *accepted* difference
  ("the vendor added a rounding line of 0.01"), so the export is "Confirmed" and says so. Anything else about it
  is a difference like any other.
* **VAT-included prices** need nothing special: the vendor reports its net, VAT and gross, which are compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from hub import types as t

CENT = Decimal("0.01")
ZERO = Decimal("0")
RULES = ("rate", "line")
ROUNDING_LINE_MAX = Decimal("0.05")


def money(value: Decimal) -> Decimal:
    """``value`` rounded half-up to the cent."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def rate_text(rate: Decimal) -> str:
    """``Decimal("22.00")`` → ``"22"``, ``Decimal("9.50")`` → ``"9.5"``."""
    text = format(Decimal(rate).normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class Line(Protocol):
    quantity: Any
    unit_price: Any
    vat_rate: Any


@dataclass(frozen=True)
class RateTotals:
    net: Decimal
    vat: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


def line_net(line: Line) -> Decimal:
    return money(Decimal(line.quantity) * Decimal(line.unit_price))


def totals_by_rate(lines: Iterable[Line], rule: str = "rate") -> dict[Decimal, RateTotals]:
    """Net and VAT per VAT rate (keys normalised: ``Decimal("22")``), VAT rounded by ``rule`` (``"rate"`` or
    ``"line"``)."""
    if rule not in RULES:
        raise ValueError(f"unknown VAT rounding rule {rule!r} (expected one of {', '.join(RULES)})")
    nets: dict[Decimal, Decimal] = {}
    line_vats: dict[Decimal, Decimal] = {}
    for line in lines:
        rate = Decimal(line.vat_rate).normalize()
        net = line_net(line)
        nets[rate] = nets.get(rate, ZERO) + net
        line_vats[rate] = line_vats.get(rate, ZERO) + money(net * rate / 100)
    return {rate: RateTotals(net, line_vats[rate] if rule == "line" else money(net * rate / 100))
            for rate, net in nets.items()}


def totals(lines: Iterable[Line], rule: str = "rate") -> tuple[Decimal, Decimal, Decimal]:
    """``(net, vat, gross)`` of an invoice's lines, the way the hub totals an invoice: line nets rounded to cents;
    VAT by the vendor's rounding ``rule`` (``VendorInfo.vat_rounding``): ``"rate"`` once per rate on the sum of that
    rate's nets, rounded half-up (the rule most Baltic and Nordic vendors apply), ``"line"`` per line rounded, then
    summed (Merit Aktiva)."""
    by_rate = totals_by_rate(lines, rule)
    net = sum((r.net for r in by_rate.values()), ZERO)
    vat = sum((r.vat for r in by_rate.values()), ZERO)
    return money(net), money(vat), money(net + vat)


@dataclass(frozen=True)
class Difference:
    """One way the booked invoice differs from the issued one. ``accepted``: a vendor rounding line that was the only
    difference (the export is still "Confirmed")."""

    what: str  # lines net vat total currency buyer_code buyer_name rounding_line
    issued: str
    booked: str
    rate: str | None = None  # the VAT rate, for per-rate figures ("22")
    accepted: bool = False

    @property
    def text(self) -> str:
        if self.what == "rounding_line":
            return f"The vendor added a rounding line of {self.booked}; accepted, as it is the only difference."
        label = LABELS[self.what]
        if self.rate is not None:
            label = f"{label[0].upper()}{label[1:]} at {self.rate} %"
        elif self.what in ("net", "vat"):
            label = f"Total {label}"
        return f"{label}: issued {self.issued}, booked {self.booked}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.text}


LABELS = {"lines": "Lines", "net": "net", "vat": "VAT", "total": "Total (gross)", "currency": "Currency",
          "buyer_code": "Buyer's registration code", "buyer_name": "Buyer's name"}


@dataclass(frozen=True)
class Issued:
    """What the hub issued: its lines (quantity, unit price, VAT rate), the totals it issued, the buyer."""

    lines: Sequence[Line]
    currency: str
    total_net: Decimal
    total_vat: Decimal
    total: Decimal
    rule: str = "rate"
    buyer_code: str | None = None
    buyer_name: str | None = None


def issued_from(invoice: t.Invoice, rule: str) -> Issued:
    """The contract invoice as the comparison takes it."""
    return Issued(lines=invoice.lines, currency=invoice.currency, total_net=invoice.total_net,
                  total_vat=invoice.total_vat, total=invoice.total, rule=rule,
                  buyer_code=invoice.client.reg_code, buyer_name=invoice.client.name)


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def _amount(value: Decimal) -> str:
    return f"{money(Decimal(value)):.2f}"


def _compare_figures(issued: Issued, booked: t.BookedInvoice, lines: Sequence[t.BookedLine]) -> list[Difference]:
    out: list[Difference] = []
    if lines:
        if len(lines) != len(issued.lines):
            out.append(Difference("lines", str(len(issued.lines)), str(len(lines))))
        if all(b.vat_rate is not None for b in lines):
            mine = totals_by_rate(issued.lines, issued.rule)
            theirs: dict[Decimal, list[t.BookedLine]] = {}
            for b in lines:
                theirs.setdefault(Decimal(b.vat_rate).normalize(), []).append(b)
            for rate in sorted(set(mine) | set(theirs)):
                ours = mine.get(rate, RateTotals(ZERO, ZERO))
                booked_lines = theirs.get(rate, [])
                net = sum((Decimal(b.net) for b in booked_lines), ZERO)
                if money(net) != money(ours.net):
                    out.append(Difference("net", _amount(ours.net), _amount(net), rate=rate_text(rate)))
                vat = None
                if booked_lines and all(b.vat is not None for b in booked_lines):
                    vat = sum((Decimal(b.vat) for b in booked_lines), ZERO)
                elif len(theirs) == 1 and booked_lines:  # one rate booked: its VAT is the invoice's
                    vat = Decimal(booked.total_vat)
                elif not booked_lines:
                    vat = ZERO
                if vat is not None and money(vat) != money(ours.vat):
                    out.append(Difference("vat", _amount(ours.vat), _amount(vat), rate=rate_text(rate)))
    for what, mine_total, theirs_total in (("net", issued.total_net, booked.total_net),
                                           ("vat", issued.total_vat, booked.total_vat),
                                           ("total", issued.total, booked.total)):
        if money(Decimal(mine_total)) != money(Decimal(theirs_total)):
            out.append(Difference(what, _amount(mine_total), _amount(theirs_total)))
    return out


def _compare_other(issued: Issued, booked: t.BookedInvoice) -> list[Difference]:
    out: list[Difference] = []
    if (booked.currency or "").upper() != issued.currency.upper():
        out.append(Difference("currency", issued.currency.upper(), (booked.currency or "").upper()))
    if booked.buyer_code and issued.buyer_code and _norm(booked.buyer_code) != _norm(issued.buyer_code):
        out.append(Difference("buyer_code", issued.buyer_code, booked.buyer_code))
    if booked.buyer_name and issued.buyer_name and not _norm(issued.buyer_name).startswith(_norm(booked.buyer_name)):
        out.append(Difference("buyer_name", issued.buyer_name, booked.buyer_name))
    return out


def _rounding_line(issued: Issued, booked: t.BookedInvoice) -> tuple[int, t.BookedLine] | None:
    """The booked line that may be the vendor's rounding line: one more line than issued, and one line without VAT
    of at most :data:`ROUNDING_LINE_MAX` that makes up the whole gross difference."""
    if len(booked.lines) != len(issued.lines) + 1:
        return None
    gap = money(Decimal(booked.total)) - money(Decimal(issued.total))
    for i, b in enumerate(booked.lines):
        amount = money(Decimal(b.net) + Decimal(b.vat or 0))
        if not b.vat and not (b.vat_rate or ZERO) and ZERO < abs(amount) <= ROUNDING_LINE_MAX and amount == gap:
            return i, b
    return None


def compare(issued: Issued, booked: t.BookedInvoice) -> list[Difference]:
    """Every way ``booked`` differs from ``issued`` (see the module's rules); empty when it was booked as issued.
    An accepted rounding line comes back as the only entry, with ``accepted=True``."""
    differences = _compare_figures(issued, booked, booked.lines) + _compare_other(issued, booked)
    if not differences:
        return []
    found = _rounding_line(issued, booked)
    if found is not None:
        i, b = found
        amount = money(Decimal(b.net) + Decimal(b.vat or 0))
        rest = booked.lines[:i] + booked.lines[i + 1:]
        without = t.BookedInvoice(currency=booked.currency, total_net=booked.total_net - Decimal(b.net),
                                  total_vat=booked.total_vat - Decimal(b.vat or 0), total=booked.total - amount,
                                  lines=rest, buyer_code=booked.buyer_code, buyer_name=booked.buyer_name)
        if not _compare_figures(issued, without, rest) + _compare_other(issued, without):
            return [Difference("rounding_line", "0.00", _amount(amount), accepted=True)]
    return differences


def booked_as_dict(booked: t.BookedInvoice) -> dict[str, Any]:
    """The vendor's figures as stored on the export (JSON: amounts as strings)."""
    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {"currency": booked.currency, "total_net": text(booked.total_net), "total_vat": text(booked.total_vat),
            "total": text(booked.total), "buyer_code": booked.buyer_code, "buyer_name": booked.buyer_name,
            "lines": [{"net": text(b.net), "vat": text(b.vat), "vat_rate": text(b.vat_rate),
                       "description": b.description} for b in booked.lines]}


def mismatched(differences: Iterable[dict[str, Any]] | None) -> bool:
    """Whether stored differences (``Difference.as_dict``) hold one that was not accepted."""
    return any(not d.get("accepted") for d in differences or ())
