"""The credentials form: normalisation and friendly validation."""

from __future__ import annotations

import marshmallow
import pytest
from hub_tripletex import Credentials

from hub import credentials as creds


def load(data: dict) -> dict:
    return creds.validate(Credentials, data)


def test_defaults_and_whitespace():
    assert load({"employee_token": "  sbx-employee-fjord-0001\n"}) == {
        "employee_token": "sbx-employee-fjord-0001", "environment": "production", "company_id": "0"}


def test_environment_is_a_select_and_case_insensitive():
    assert load({"employee_token": "test-abcdefgh", "environment": "Test"})["environment"] == "test"
    with pytest.raises(marshmallow.ValidationError) as caught:
        load({"employee_token": "abcdefghij", "environment": "staging"})
    assert caught.value.messages == {"environment": ["Choose production or test."]}
    [one_of] = Credentials().fields["environment"].validators
    assert isinstance(one_of, marshmallow.validate.OneOf) and tuple(one_of.choices) == ("production", "test")


def test_test_token_with_production_is_refused_with_a_hint():
    with pytest.raises(marshmallow.ValidationError) as caught:
        load({"employee_token": "test-abcdefgh", "environment": "production"})
    assert "choose Test" in caught.value.messages["environment"][0]


@pytest.mark.parametrize("token", ["", "has spaces inside", "short", '"quoted-token-value"'])
def test_bad_tokens_are_refused(token):
    with pytest.raises(marshmallow.ValidationError) as caught:
        load({"employee_token": token})
    assert "employee_token" in caught.value.messages


def test_company_id():
    assert load({"employee_token": "abcdefghij", "company_id": ""})["company_id"] == "0"
    assert load({"employee_token": "abcdefghij", "company_id": 42})["company_id"] == "42"
    with pytest.raises(marshmallow.ValidationError) as caught:
        load({"employee_token": "abcdefghij", "company_id": "acme"})
    assert "numeric" in caught.value.messages["company_id"][0]


def test_only_the_token_is_secret():
    assert creds.secret_fields(Credentials) == {"employee_token"}
    assert not creds.unmarked_secret_looking(Credentials)
