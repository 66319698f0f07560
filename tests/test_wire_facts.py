"""hub.testing.wire: the check a plugin's tests run over its table of wire facts."""

import pytest

from hub.testing.wire import WireFact, check_wire_facts


def test_sourced_facts_and_owned_assumptions_pass() -> None:
    facts = {"list_key": WireFact("clientInvoices", "independent client", "go client, invoices.go"),
             "page_size": WireFact(50, "assumed")}
    check_wire_facts(facts, "Assumed: `page_size` (nobody confirmed it).")


def test_assumed_fact_missing_from_readme_fails() -> None:
    with pytest.raises(AssertionError, match="page_size: assumed"):
        check_wire_facts({"page_size": WireFact(50, "assumed")}, "nothing here")


def test_sourced_fact_without_reference_fails() -> None:
    with pytest.raises(AssertionError, match="without a reference"):
        check_wire_facts({"date_field": WireFact("BatchDate", "vendor page")}, "")


def test_unknown_source_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown source kind"):
        WireFact("x", "a blog")
