"""Plugin loading: isolation, strict mode, selection, validation, one-vendor dispatch, core wrappers."""

import sys
import types
from importlib import metadata

import hub_example
import marshmallow
import pytest
from marshmallow import fields

from hub import hookimpl
from hub.errors import ConfigError, NotSupported, UnexpectedError
from hub.plugins import PluginLoadError, VendorRegistry
from hub.testing import make_context
from hub.types import ConnectionInfo, StatisticField, VendorInfo


class Creds(marshmallow.Schema):
    api_key = fields.String(required=True, metadata={"label": "API key", "secret": True})


def make_plugin(slug: str, **extra) -> types.ModuleType:
    """A vendor module built in memory: hub_vendor + schema + a test connection that records calls."""
    module = types.ModuleType(f"fake_{slug}")
    module.calls = []
    info = extra.pop("info", VendorInfo(slug=slug, name=slug.title(), regions=("EE",), setup_steps=("x",)))

    @hookimpl
    def hub_vendor():
        return info

    @hookimpl
    def hub_credentials_schema():
        return extra.pop("schema", Creds)

    @hookimpl
    def hub_test_connection(ctx, credentials):
        module.calls.append(credentials)
        if credentials.get("api_key") == "explode":
            raise KeyError("secret-value-123456")
        return ConnectionInfo(account_name=f"{slug} account")

    module.hub_vendor, module.hub_credentials_schema, module.hub_test_connection = (
        hub_vendor, hub_credentials_schema, hub_test_connection)
    for name, func in extra.items():
        setattr(module, name, hookimpl(func))
    return module


def fake_entry_points(monkeypatch, plugins: dict[str, str]):
    eps = [metadata.EntryPoint(name=name, value=value, group="hub.vendors") for name, value in plugins.items()]
    monkeypatch.setattr("hub.plugins.metadata.entry_points", lambda group: eps if group == "hub.vendors" else [])


@pytest.fixture
def modules(monkeypatch):
    alpha, beta = make_plugin("alpha"), make_plugin("beta")
    broken = types.ModuleType("fake_broken")
    monkeypatch.setitem(sys.modules, "fake_alpha", alpha)
    monkeypatch.setitem(sys.modules, "fake_beta", beta)
    fake_entry_points(monkeypatch, {"alpha": "fake_alpha", "beta": "fake_beta", "broken": "fake_broken_missing"})
    return alpha, beta, broken


def test_broken_plugin_is_isolated(modules, monkeypatch):
    monkeypatch.delenv("HUB_LOAD_PLUGINS", raising=False)
    registry = VendorRegistry.from_entry_points(strict=False)
    assert sorted(registry.vendors) == ["alpha", "beta"]
    assert "import failed: ModuleNotFoundError" in registry.failures["broken"].error
    listing = {row["slug"]: row for row in registry.listing()}
    assert listing["broken"]["error"] and listing["alpha"]["error"] is None
    with pytest.raises(ConfigError, match="failed to load"):
        registry.get("broken")


def test_strict_mode_makes_a_broken_plugin_fatal(modules, monkeypatch):
    monkeypatch.setenv("HUB_STRICT_PLUGINS", "1")
    with pytest.raises(PluginLoadError, match="broken"):
        VendorRegistry.from_entry_points()


@pytest.mark.parametrize("selection, expected", [("alpha", ["alpha"]), ("", []), ("alpha, beta", ["alpha", "beta"])])
def test_hub_load_plugins_selects_a_subset(modules, monkeypatch, selection, expected):
    monkeypatch.setenv("HUB_LOAD_PLUGINS", selection)
    registry = VendorRegistry.from_entry_points(strict=False)
    assert sorted(registry.vendors) == expected
    assert not registry.failures


def test_only_the_named_vendor_is_called(modules):
    alpha, beta, _ = modules
    registry = VendorRegistry.from_entry_points(strict=False, only="alpha,beta")
    info = registry.call("alpha", "hub_test_connection", ctx=make_context("alpha"), credentials={"api_key": "k"})
    assert info.account_name == "alpha account"
    assert len(alpha.calls) == 1 and beta.calls == []
    info = registry.call("beta", "hub_test_connection", ctx=make_context("beta"), credentials={"api_key": "k"})
    assert info.account_name == "beta account" and len(alpha.calls) == 1


def test_misspelt_hook_is_reported():
    plugin = make_plugin("typo", hub_test_conection=lambda ctx, credentials: None)
    registry = VendorRegistry()
    assert registry.register("typo", plugin) is None
    error = registry.failures["typo"].error
    assert "hub_test_conection" in error and "did you mean 'hub_test_connection'" in error
    assert "typo" not in registry.vendors


def test_wrong_argument_name_is_reported():
    plugin = make_plugin("args", hub_list_clients=lambda ctx, credentials, search: [])
    registry = VendorRegistry()
    registry.register("args", plugin)
    assert "search" in registry.failures["args"].error


@pytest.mark.parametrize("change, message", [
    ({"info": VendorInfo(slug="other", name="X", regions=("EE",))}, "entry point is named"),
    ({"info": VendorInfo(slug="v", name="X", regions=("EE",), requires_api="2.0")}, "plugin contract 2.0"),
    ({"info": VendorInfo(slug="v", name="X", regions=("EE",), statistic_fields=(StatisticField("a", "A"),))},
     "statistic_fields"),
])
def test_invalid_plugins_are_rejected(change, message):
    registry = VendorRegistry()
    registry.register("v", make_plugin("v", **change))
    assert message in registry.failures["v"].error


def test_secret_looking_fields_must_be_marked_secret():
    class Leaky(marshmallow.Schema):
        api_token = fields.String(metadata={"label": "API token"})

    registry = VendorRegistry()
    registry.register("leaky", make_plugin("leaky", schema=Leaky))
    assert "api_token" in registry.failures["leaky"].error


def test_duplicate_slug_is_refused():
    registry = VendorRegistry()
    registry.register("dup", make_plugin("dup"), distribution="one")
    registry.register("dup", make_plugin("dup"), distribution="two")
    assert registry.vendors["dup"].distribution == "one"
    assert "already used" in registry.failures["dup"].error


def test_capabilities_are_the_implemented_hooks():
    registry = VendorRegistry()
    vendor = registry.register("example", hub_example)
    assert vendor.capabilities == ["test_connection", "client_lookup", "statistics", "invoice_export",
                                   "find_invoice", "tax_rates"]
    with pytest.raises(NotSupported, match="list products"):
        registry.call("example", "hub_list_products", ctx=make_context("example"), credentials={})


def test_core_wrapper_normalises_unexpected_errors_and_masks_secrets():
    from hub import redaction

    registry = VendorRegistry()
    registry.register("alpha", make_plugin("alpha"))
    redaction.register_secret("secret-value-123456")
    with pytest.raises(UnexpectedError) as caught:
        registry.call("alpha", "hub_test_connection", ctx=make_context("alpha"), credentials={"api_key": "explode"})
    assert "failed unexpectedly (KeyError)" in caught.value.message
    assert "secret-value-123456" not in str(caught.value)
    assert isinstance(caught.value.__cause__, KeyError)


def test_unknown_vendor_is_a_clear_config_error():
    with pytest.raises(ConfigError, match="No vendor plugin named 'nope'"):
        VendorRegistry().get("nope")


@pytest.mark.parametrize("body", [b"[" * 200_000 + b"]" * 200_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000])
def test_a_vendor_answer_nested_too_deep_is_a_vendor_format_error(body, serve):
    """A 400 KB answer of nested arrays breaks the JSON parser with RecursionError: the vendor's format (an
    unreadable answer, retried), not "the plugin failed unexpectedly"."""
    from hub.errors import TransientError

    origin = serve(lambda environ, start: (start("200 OK", [("Content-Type", "application/json")]), [body])[1])

    def hub_test_connection(ctx, credentials):
        ctx.http.get(origin + "/account").json()

    registry = VendorRegistry()
    registry.register("deep", make_plugin("deep", hub_test_connection=hub_test_connection))
    with pytest.raises(TransientError, match="deep sent an answer nested too deeply to read"):
        registry.call("deep", "hub_test_connection", ctx=make_context("deep"), credentials={})
