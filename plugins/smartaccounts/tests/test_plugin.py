"""The credentials schema, the vendor description and the sandbox module interface."""

import inspect

import hub_smartaccounts
import marshmallow
import pytest
from hub_smartaccounts import sandbox

from hub import credentials as creds


def load(data):
    return creds.validate(hub_smartaccounts.Credentials, data)


def test_both_fields_are_secret_and_labelled():
    fields = hub_smartaccounts.Credentials().fields
    assert set(fields) == {"api_key", "api_secret"}
    assert creds.secret_fields(hub_smartaccounts.Credentials) == {"api_key", "api_secret"}
    assert "only once" in fields["api_secret"].metadata["help"]
    assert "both" in fields["api_secret"].metadata["help"]


def test_pasted_whitespace_is_stripped():
    assert load({"api_key": " 5a1d3c9e7f20b846\n", "api_secret": "\tabcdef0123456789 "}) == {
        "api_key": "5a1d3c9e7f20b846", "api_secret": "abcdef0123456789"}


@pytest.mark.parametrize("data, field, text", [
    ({"api_key": "5a1d 3c9e7f20b846", "api_secret": "abcdef0123456789"}, "api_key", "no spaces"),
    ({"api_key": "apikey=5a1d3c9e7f20b846", "api_secret": "abcdef0123456789"}, "api_key", "only the API key"),
    ({"api_key": "5a1d3c9e7f20b846", "api_secret": "abc"}, "api_secret", "too short"),
    ({"api_key": "abcdef0123456789", "api_secret": "abcdef0123456789"}, "api_secret", "two different values"),
    ({"api_key": "abcdef0123456789"}, "api_secret", "required"),
])
def test_friendly_validation(data, field, text):
    with pytest.raises(marshmallow.ValidationError) as caught:
        load(data)
    assert text in " ".join(caught.value.messages[field])


def test_vendor_info():
    info = hub_smartaccounts.hub_vendor()
    assert info.slug == "smartaccounts" and info.per_client_credentials
    assert {(r.requests, r.per_seconds) for r in info.rate_limits} == {(60, 60), (1000, 86400)}
    assert [f.key for f in info.statistic_fields if not f.advanced] == [
        "sale_entries", "purchase_entries", "bank_entries", "documents"]
    assert any("shown only once" in g for g in info.gotchas)


def test_sandbox_module_interface():
    assert set(sandbox.DEMO_CREDENTIALS) == {"api_key", "api_secret"}
    assert len(sandbox.DEMO_CLIENT_CREDENTIALS) == 3
    for account in [sandbox.DEMO_CREDENTIALS, *sandbox.DEMO_CLIENT_CREDENTIALS]:
        load(account)
    params = inspect.signature(sandbox.create_app).parameters
    assert all(p.kind is p.VAR_KEYWORD for p in params.values())
    app = sandbox.create_app(latency_ms=0, rate_limit="60/60", fault=None, fault_every=1, timeout_s=2)
    assert app.extensions["sandbox"].knobs["rate_limit"] == "60/60"
    with pytest.raises(TypeError):
        sandbox.create_app(nonsense=1)
