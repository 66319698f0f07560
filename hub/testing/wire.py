"""Wire facts: what a plugin relies on about its vendor's API, as data, each with where it comes from.

A sandbox written from the same understanding as its client can share the client's mistakes; only a source
the project did not write catches them. Where a vendor publishes no schema, a plugin keeps the facts it
relies on (field names, date fields, list keys, lengths, codes) in one table that both its client and its
sandbox read, and its tests call :func:`check_wire_facts` so that an unverified fact is either sourced or
owned up to in the plugin's README::

    # hub_acme/wire.py
    from hub.testing.wire import WireFact

    FACTS = {
        "invoice_list_key": WireFact("clientInvoices", "independent client", "github.com/x/acme-go, invoices.go"),
        "description_max": WireFact(100, "vendor page", "api.acme.example/create-invoice"),
        "paging_size": WireFact(50, "assumed"),
    }
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Where a fact may come from, strongest first. ``assumed`` means nobody outside this project confirmed it.
SOURCE_KINDS = ("vendor schema", "vendor page", "independent client", "inferred", "assumed")


@dataclass(frozen=True)
class WireFact:
    """One fact about a vendor's wire format: its ``value``, the ``source`` kind and a reference to it."""

    value: Any
    source: str
    ref: str = ""

    def __post_init__(self) -> None:
        if self.source not in SOURCE_KINDS:
            raise ValueError(f"unknown source kind {self.source!r}; use one of {', '.join(SOURCE_KINDS)}")


def check_wire_facts(facts: Mapping[str, WireFact], readme: str) -> None:
    """Fail (``AssertionError``) unless every fact names its source, and every ``assumed`` fact is named in
    the plugin's README (``readme`` is its text) so a reader knows it is unconfirmed."""
    problems = []
    for name, fact in facts.items():
        if not isinstance(fact, WireFact):
            problems.append(f"{name}: not a WireFact")
        elif fact.source != "assumed" and not fact.ref:
            problems.append(f"{name}: source {fact.source!r} without a reference")
        elif fact.source == "assumed" and f"`{name}`" not in readme:
            problems.append(f"{name}: assumed, but the README does not name `{name}` as assumed")
    assert not problems, "wire facts:\n" + "\n".join(problems)


def vendor_specs(*parts: str) -> Path:
    """The path of a vendor's published artifact (``vendor_specs("tripletex", "openapi.json")``).

    Artifacts written by vendors or independent developers live outside the project, in
    ``shared/vendor-specs/`` beside the checkout (or where ``HUB_VENDOR_SPECS`` points). Where they are absent
    the calling test is **skipped** with the reason — unless ``HUB_REQUIRE_VENDOR_SPECS=1`` (CI), where it fails.
    """
    import pytest  # only tests call this; the rest of the module is plain data

    configured = os.environ.get("HUB_VENDOR_SPECS")
    candidates = [Path(configured)] if configured else [
        parent / "shared" / "vendor-specs" for parent in (Path.cwd(), *Path.cwd().parents)]
    for base in candidates:
        path = base.joinpath(*parts)
        if path.exists():
            return path
    reason = (f"vendor artifact {'/'.join(parts)} not found (looked in "
              f"{', '.join(str(c) for c in candidates[:3])}…; set HUB_VENDOR_SPECS)")
    if os.environ.get("HUB_REQUIRE_VENDOR_SPECS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)
