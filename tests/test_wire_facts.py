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


def test_vendor_specs_finds_the_shared_artifacts_or_skips(monkeypatch, tmp_path) -> None:  # noqa: ANN001
    from hub.testing.wire import vendor_specs

    (tmp_path / "tripletex").mkdir()
    (tmp_path / "tripletex" / "openapi.json").write_text("{}")
    monkeypatch.setenv("HUB_VENDOR_SPECS", str(tmp_path))
    assert vendor_specs("tripletex", "openapi.json") == tmp_path / "tripletex" / "openapi.json"
    monkeypatch.setenv("HUB_REQUIRE_VENDOR_SPECS", "1")
    with pytest.raises(pytest.fail.Exception, match="not found"):
        vendor_specs("nowhere.xsd")
    monkeypatch.delenv("HUB_REQUIRE_VENDOR_SPECS")
    with pytest.raises(pytest.skip.Exception, match="set HUB_VENDOR_SPECS"):
        vendor_specs("nowhere.xsd")
