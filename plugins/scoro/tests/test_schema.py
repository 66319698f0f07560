"""The credentials form: the subdomain is one hostname label, a pasted URL names the prefix to use."""

import hub_scoro
import marshmallow
import pytest
from hub_scoro import sandbox

from hub import credentials as creds
from hub.testing import vendor_registry

GOOD = sandbox.DEMO_CREDENTIALS


def load(**changes) -> dict:
    return creds.validate(hub_scoro.Credentials, {**GOOD, **changes})


def subdomain_error(value: str) -> str:
    with pytest.raises(marshmallow.ValidationError) as caught:
        load(subdomain=value)
    assert set(caught.value.messages) == {"subdomain"}
    return caught.value.messages["subdomain"][0]


def test_loads_the_demo_account_with_defaults():
    loaded = creds.validate(hub_scoro.Credentials, {"company_account_id": "acme", "api_key": "k" * 20,
                                                    "subdomain": "acme"})
    assert loaded["domain"] == "scoro.com" and loaded["language"] == "eng"


@pytest.mark.parametrize("value", ["acme", "my-agency", "a", "x1", "a" * 63, "123"])
def test_valid_labels(value):
    assert load(subdomain=value)["subdomain"] == value


@pytest.mark.parametrize("pasted", [
    "https://acme.scoro.com/", "https://acme.scoro.com/invoices/view/12", "http://acme.scoro.com",
    "acme.scoro.com", "ACME.scoro.com/dashboard", "https://acme.scoro.com:443/?x=1",
])
def test_a_pasted_scoro_url_names_the_prefix(pasted):
    message = subdomain_error(pasted)
    assert "use acme" in message and "not the full address" in message


def test_a_pasted_scoro_ee_url_names_prefix_and_domain():
    message = subdomain_error("https://vanatalu.scoro.ee/")
    assert "use vanatalu" in message and "scoro.ee" in message


@pytest.mark.parametrize("value", [
    "acme.evil.example", "evil.example/acme.scoro.com", "acme.scoro.com.evil.example", "acme/../x", "acme:8080",
    "ac me", "-acme", "acme-", "a" * 64, "acme_co", "user@evil.example", "acme%2eevil", "ä-firma", "",
    "https://scoro.com/", "www.scoro.com", "acme\u200b",
])
def test_anything_but_one_label_is_refused(value):
    if value == "":
        with pytest.raises(marshmallow.ValidationError):
            load(subdomain=value)
        return
    message = subdomain_error(value)
    assert "prefix of your Scoro address" in message
    assert "use acme" not in message or value.startswith("https://acme.scoro.com")


def test_capital_letters_get_a_lower_case_hint():
    assert "acme" in subdomain_error("Acme")


def test_domain_and_language_are_choices():
    with pytest.raises(marshmallow.ValidationError) as caught:
        load(domain="evil.example", language="fra")
    assert set(caught.value.messages) == {"domain", "language"}
    schema = hub_scoro.Credentials()
    assert schema.fields["language"].validate.labels == ["English", "Estonian"]
    assert load(language="est", domain="scoro.ee")["language"] == "est"


@pytest.mark.parametrize("value", ["acme corp", "acme/1", "", "x" * 101])
def test_company_account_id_is_checked(value):
    with pytest.raises(marshmallow.ValidationError) as caught:
        load(company_account_id=value)
    assert "company_account_id" in caught.value.messages


def test_api_key_is_secret_and_nothing_else_is():
    assert creds.secret_fields(hub_scoro.Credentials) == {"api_key"}


def test_capabilities_are_outbound_only():
    vendor = vendor_registry("scoro", hub_scoro).get("scoro")
    assert sorted(vendor.capabilities) == ["find_invoice", "invoice_export", "tax_rates", "test_connection"]
    assert vendor.info.statistic_fields == ()
    assert [(r.requests, r.per_seconds) for r in vendor.info.rate_limits] == [(500, 86400)]
