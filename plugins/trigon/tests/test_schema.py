"""The credentials schema: normalisation, friendly messages, secrets."""

import hub_trigon
import pytest
from hub_trigon import sandbox
from marshmallow import ValidationError

from hub import credentials as creds

SCHEMA = hub_trigon.Credentials


def load(data):
    return creds.validate(SCHEMA, data)


def test_secrets_and_labels():
    assert creds.secret_fields(SCHEMA) == {"id_token", "api_key"}
    fields = SCHEMA().fields
    assert fields["environment"].metadata["label"] == "Environment"
    assert "API access" in fields["id_token"].metadata["help"]


def test_environment_defaults_to_production():
    loaded = load({"id_token": "trg-idt-abcdefgh", "api_key": "trg-key-abcdefgh"})
    assert loaded["environment"] == "production"


@pytest.mark.parametrize("given, expected", [("Production", "production"), (" TEST ", "test"),
                                             ("prod", "production"), ("sandbox", "test"), ("", "production")])
def test_environment_is_normalised(given, expected):
    assert load({**sandbox.DEMO_CREDENTIALS, "environment": given})["environment"] == expected


def test_unknown_environment_is_refused():
    with pytest.raises(ValidationError) as caught:
        load({**sandbox.DEMO_CREDENTIALS, "environment": "staging"})
    assert caught.value.messages == {"environment": ["Choose production or test."]}


@pytest.mark.parametrize("pasted", ["X-Trigon-Id-Token: trg-idt-abcdefgh", "Bearer trg-idt-abcdefgh",
                                    '"trg-idt-abcdefgh"', "  trg-idt-abcdefgh\n"])
def test_pasted_header_lines_keep_only_the_value(pasted):
    assert load({"id_token": pasted, "api_key": "trg-key-abcdefgh"})["id_token"] == "trg-idt-abcdefgh"


def test_inner_whitespace_is_explained():
    with pytest.raises(ValidationError) as caught:
        load({"id_token": "trg-idt-abc defgh", "api_key": "trg-key-abcd\nefgh"})
    assert "spaces or line breaks" in caught.value.messages["id_token"][0]
    assert "spaces or line breaks" in caught.value.messages["api_key"][0]


def test_same_value_twice_is_explained():
    with pytest.raises(ValidationError) as caught:
        load({"id_token": "trg-same-value-1", "api_key": "trg-same-value-1"})
    assert "two different values" in caught.value.messages["api_key"][0]


def test_missing_and_short_values():
    with pytest.raises(ValidationError) as caught:
        load({"id_token": "short"})
    assert set(caught.value.messages) == {"id_token", "api_key"}
