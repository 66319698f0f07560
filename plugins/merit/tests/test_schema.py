"""The credentials schema: labels, secrets, normalisation, friendly messages; VendorInfo."""

import marshmallow
import pytest
from hub_merit import STATISTIC_KEYS, Credentials, sandbox

from hub import credentials as creds

DEMO = sandbox.DEMO_CREDENTIALS


def test_secret_fields():
    assert creds.secret_fields(Credentials) == {"api_key"}
    assert not creds.unmarked_secret_looking(Credentials)


@pytest.mark.parametrize("typed, stored", [("Estonia", "EE"), ("ee", "EE"), (" fi ", "FI"), ("Suomi", "FI"),
                                           ("fi-legacy", "FI-LEGACY"), ("Polska", "PL"), ("PL", "PL")])
def test_country_is_normalised(typed, stored):
    assert creds.validate(Credentials, {**DEMO, "country": typed})["country"] == stored


def test_unknown_country_has_a_friendly_message():
    with pytest.raises(marshmallow.ValidationError) as caught:
        creds.validate(Credentials, {**DEMO, "country": "LV"})
    assert "separate Merit service" in caught.value.messages["country"][0]


def test_country_is_a_select():
    field = Credentials().fields["country"]
    [one_of] = [v for v in field.validators if isinstance(v, marshmallow.validate.OneOf)]
    assert list(one_of.choices) == ["EE", "FI", "FI-LEGACY", "PL"]


@pytest.mark.parametrize("api_id", ["not-a-guid", "https://aktiva.merit.ee", "1234"])
def test_api_id_must_look_like_a_guid(api_id):
    with pytest.raises(marshmallow.ValidationError) as caught:
        creds.validate(Credentials, {**DEMO, "api_id": api_id})
    assert "Settings → API settings" in caught.value.messages["api_id"][0]


def test_api_key_with_inner_space_is_refused_and_padding_is_stripped():
    with pytest.raises(marshmallow.ValidationError):
        creds.validate(Credentials, {**DEMO, "api_key": DEMO["api_key"][:10] + " " + DEMO["api_key"][10:]})
    assert creds.validate(Credentials, {**DEMO, "api_key": f"\t{DEMO['api_key']}  "})["api_key"] == DEMO["api_key"]


def test_missing_fields_are_reported():
    with pytest.raises(marshmallow.ValidationError) as caught:
        creds.validate(Credentials, {})
    assert set(caught.value.messages) == {"api_id", "api_key", "country"}


def test_vendor_info(registry):
    vendor = registry.get("merit")
    assert set(vendor.capabilities) == {"test_connection", "statistics", "invoice_export", "find_invoice",
                                        "products", "tax_rates", "payments"}
    assert tuple(f.key for f in vendor.info.statistic_fields) == STATISTIC_KEYS
    assert [f.key for f in vendor.info.statistic_fields if not f.advanced] == ["entries", "vat_entries", "documents"]
    assert any("country" in g for g in vendor.info.gotchas)


def test_demo_credentials_are_valid_and_distinct():
    all_creds = [DEMO, *sandbox.DEMO_CLIENT_CREDENTIALS]
    assert len(sandbox.DEMO_CLIENT_CREDENTIALS) == 3
    assert len({c["api_id"] for c in all_creds}) == 4
    assert {c["country"] for c in sandbox.DEMO_CLIENT_CREDENTIALS} == {"EE", "FI", "PL"}
    for c in all_creds + [sandbox.REVOKED_CREDENTIALS, sandbox.LAPSED_LICENCE_CREDENTIALS]:
        assert creds.validate(Credentials, c) == c
