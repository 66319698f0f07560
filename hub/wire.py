"""Wire facts: what a plugin relies on about its vendor's API, as data, each with where it comes from.

Part of the public surface for plugins (contract 1.2, additive). Every plugin of the standard layout keeps the
facts its client relies on — field names, date formats, list keys, lengths, codes, endpoints — in one table in
``hub_<slug>/wire.py``, and both its client and its sandbox read them from there through ``fact(name)``, never
spelling them out again::

    # hub_acme/wire.py
    from hub.wire import WireFact

    FACTS = {
        "invoice_list_key": WireFact("clientInvoices", "independent client", "github.com/x/acme-go, invoices.go"),
        "description_max": WireFact(100, "vendor page", "api.acme.example/create-invoice"),
        "paging_size": WireFact(50, "assumed"),
    }

    def fact(name: str) -> Any:
        return FACTS[name].value

A sandbox written from the same understanding as its client can share the client's mistakes; only a source the
project did not write catches them. The table makes each such understanding visible with its source, and the
plugin's tests (``tests/test_client.py``) run :func:`hub.testing.wire.check_wire_facts` over it: every fact names
its source, and every ``assumed`` one is owned up to in the plugin's README.

This module is plain data (no pytest, no Flask): the plugin imports it at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Where a fact may come from, strongest first. ``assumed`` means nobody outside this project confirmed it.
SOURCE_KINDS = ("vendor schema", "vendor page", "independent client", "inferred", "assumed")


@dataclass(frozen=True)
class WireFact:
    """One fact about a vendor's wire format: its ``value``, the ``source`` kind (one of :data:`SOURCE_KINDS`)
    and ``ref``, where a reader finds that source (required unless ``assumed``)."""

    value: Any
    source: str
    ref: str = ""

    def __post_init__(self) -> None:
        if self.source not in SOURCE_KINDS:
            raise ValueError(f"unknown source kind {self.source!r}; use one of {', '.join(SOURCE_KINDS)}")
