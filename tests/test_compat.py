"""The compatibility policy (docs/plugins/compatibility.md), checked: which ``requires_api`` a hub accepts,
what the loader says when it refuses one, that implementations may take fewer arguments than the spec
(so new optional arguments are safe), and that pluggy's deprecation warnings work for this contract."""

import types

import marshmallow
import pluggy
import pytest
from marshmallow import fields

import hub
from hub import hookimpl, hookspecs
from hub.plugins import PluginLoadError, VendorRegistry, _api_compatible
from hub.testing import make_context
from hub.types import ConnectionInfo, VendorClient, VendorInfo


class Creds(marshmallow.Schema):
    api_key = fields.String(required=True, metadata={"label": "API key", "secret": True})


def make_plugin(slug: str, requires_api: str = hookspecs.HUB_API_VERSION) -> types.ModuleType:
    @hookimpl
    def hub_vendor():
        return VendorInfo(slug=slug, name=slug.title(), regions=("EE",), setup_steps=("x",), requires_api=requires_api)

    @hookimpl
    def hub_credentials_schema():
        return Creds

    @hookimpl
    def hub_test_connection(credentials):  # takes fewer arguments than the spec: no ctx
        return ConnectionInfo(account_name=f"{slug} ({len(credentials)} fields)")

    @hookimpl
    def hub_list_clients(ctx):  # neither credentials nor query
        return [VendorClient(id="1", name=f"{ctx.vendor} client")]

    module = types.ModuleType(f"compat_{slug}")
    module.hub_vendor, module.hub_credentials_schema = hub_vendor, hub_credentials_schema
    module.hub_test_connection, module.hub_list_clients = hub_test_connection, hub_list_clients
    return module


def bump(version: str, major: int = 0, minor: int = 0) -> str:
    hub_major, hub_minor = (int(x) for x in version.split("."))
    return f"{hub_major + major}.{hub_minor + minor if not major else 0}"


HUB_API = hookspecs.HUB_API_VERSION


def test_the_hub_publishes_its_contract_version():
    assert hub.HUB_API_VERSION == HUB_API
    assert len(HUB_API.split(".")) == 2 and all(x.isdigit() for x in HUB_API.split("."))
    assert VendorInfo(slug="x", name="X", regions=()).requires_api == HUB_API, "the default is this contract"


@pytest.mark.parametrize("required, accepted", [
    (HUB_API, True),
    (f"{HUB_API.split('.')[0]}.0", True),  # an older minor of the same major
    (bump(HUB_API, minor=1), False),  # written for hooks this hub does not have yet
    (bump(HUB_API, major=1), False),  # a new major: something was removed or changed
    ("0.9", False),  # an older major
    ("one", False),
])
def test_which_requires_api_this_hub_accepts(required, accepted):
    assert _api_compatible(required) is accepted
    registry = VendorRegistry()
    registry.register("v", make_plugin("v", requires_api=required))
    assert ("v" in registry.vendors) is accepted


@pytest.mark.parametrize("required, advice", [
    (bump(HUB_API, minor=1), "Upgrade the hub"),
    (bump(HUB_API, major=1), "Upgrade the hub"),
    ("0.9", "Install a release of the plugin written for plugin contract"),
    ("one", 'requires_api must be a version like "1.0"'),
])
def test_an_incompatible_plugin_gets_a_clear_message(required, advice):
    registry = VendorRegistry()
    registry.register("v", make_plugin("v", requires_api=required), distribution="hub-v", version="3.1.0")
    failure = registry.failures["v"]
    assert failure.error.startswith("incompatible plugin: ")
    assert f"requires plugin contract {required} (VendorInfo.requires_api)" in failure.error
    assert f"(integration-hub {hub.__version__}) provides plugin contract {HUB_API}" in failure.error
    assert advice in failure.error
    assert "docs/plugins/compatibility.md" in failure.error or "fix the plugin" in failure.error
    assert registry.listing() == [{"slug": "v", "distribution": "hub-v", "version": "3.1.0", "capabilities": [],
                                   "error": failure.error}], "flask hub plugins and the Plugins page show it"


def test_strict_mode_stops_on_an_incompatible_plugin():
    registry = VendorRegistry()
    with pytest.raises(PluginLoadError, match="incompatible plugin: it requires plugin contract 9.0"):
        registry.register("v", make_plugin("v", requires_api="9.0"), strict=True)


def test_implementations_may_take_fewer_arguments_than_the_spec():
    """Why adding an optional argument to a hook is a minor change: existing implementations that do not
    name it keep working, because pluggy passes only the arguments an implementation asks for."""
    registry = VendorRegistry()
    registry.register("lean", make_plugin("lean"), strict=True)
    ctx = make_context("lean")
    assert registry.call("lean", "hub_test_connection", ctx=ctx, credentials={"api_key": "k"}).account_name == (
        "lean (1 fields)")
    assert registry.call("lean", "hub_list_clients", ctx=ctx, credentials={}, query="x")[0].name == "lean client"


def test_deprecated_arguments_warn_through_pluggy():
    """The deprecation cycle of the policy: the spec keeps the old argument for one major with
    ``warn_on_impl_args``; implementations still naming it get a DeprecationWarning when registered."""
    spec = pluggy.HookspecMarker(hookspecs.PROJECT)

    class Spec:
        @spec(firstresult=True, warn_on_impl_args={
            "query": DeprecationWarning("hub_search(query) is deprecated: use text (removed in contract 2.0)")})
        def hub_search(self, ctx, text, query):
            """Search (``query`` is the deprecated name of ``text``)."""

    class Old:
        @hookimpl
        def hub_search(self, query):
            return f"old:{query}"

    class New:
        @hookimpl
        def hub_search(self, text):
            return f"new:{text}"

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(Spec)
    with pytest.warns(DeprecationWarning, match="use text"):
        pm.register(Old())
    pm.unregister(name=pm.get_name(pm.get_plugins().pop()))
    pm.register(New())  # no warning
    assert pm.hook.hub_search(ctx=None, text="a", query="a") == "new:a"


def test_deprecated_hooks_warn_through_pluggy():
    spec = pluggy.HookspecMarker(hookspecs.PROJECT)

    class Spec:
        @spec(warn_on_impl=DeprecationWarning("hub_old_hook is deprecated: implement hub_new_hook"))
        def hub_old_hook(self, ctx):
            """Deprecated."""

    class Plugin:
        @hookimpl
        def hub_old_hook(self, ctx):
            return 1

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(Spec)
    with pytest.warns(DeprecationWarning, match="implement hub_new_hook"):
        pm.register(Plugin())
