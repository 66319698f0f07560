"""Finding, validating and calling vendor plugins.

* Plugins are found through the entry-point group ``hub.vendors`` (name = vendor slug).
* Each is loaded and validated on its own: one that fails to import or validate is recorded with its
  error and everything else keeps working. ``HUB_STRICT_PLUGINS=1`` makes any failure fatal.
* ``HUB_LOAD_PLUGINS=a,b`` loads only those slugs; ``HUB_LOAD_PLUGINS=`` (empty) loads none.
* A hook is always called on one named vendor (``registry.call(slug, hook, ...)``); the core's own
  wrappers (timing, error normalisation, masking) run around it.
"""

from __future__ import annotations

import difflib
import logging
import os
import time
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import marshmallow
import pluggy

from hub import __version__, hookspecs, redaction
from hub import credentials as creds
from hub.errors import ConfigError, HubError, NotSupported, TransientError, UnexpectedError
from hub.types import OAuthSpec, VendorInfo

ENTRY_POINT_GROUP = "hub.vendors"
log = logging.getLogger("hub.plugins")


class PluginLoadError(Exception):
    """Raised in strict mode when a plugin cannot be loaded or validated."""


@dataclass
class Vendor:
    """A loaded, validated vendor plugin."""

    slug: str
    plugin: Any
    info: VendorInfo
    schema: type[marshmallow.Schema]
    capabilities: list[str]
    distribution: str | None = None
    version: str | None = None

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    def as_dict(self) -> dict:
        return {
            "slug": self.slug, "name": self.info.name, "distribution": self.distribution,
            "version": self.version, "regions": list(self.info.regions), "capabilities": self.capabilities,
            "statistic_fields": [f.key for f in self.info.statistic_fields], "error": None,
        }


@dataclass
class LoadFailure:
    slug: str
    error: str
    distribution: str | None = None
    version: str | None = None
    details: str = field(default="", repr=False)

    def as_dict(self) -> dict:
        return {"slug": self.slug, "distribution": self.distribution, "version": self.version,
                "capabilities": [], "error": self.error}


def _core_wrapper(hook_name: str):
    """A pluggy wrapper run around every vendor's ``hook_name``: timing, masking, error normalisation."""

    @hookspecs.hookimpl(wrapper=True)
    def wrapper(ctx: Any):  # noqa: ANN202 - a pluggy hook wrapper (generator)
        started = time.monotonic()
        outcome = "ok"
        try:
            return (yield)
        except HubError as exc:
            outcome = exc.kind
            exc.message = redaction.mask(exc.message)
            exc.hint = redaction.mask(exc.hint) if exc.hint else exc.hint
            exc.args = (exc.message,)
            raise
        except RecursionError:  # an answer nested too deep for the parser: the vendor's format, not a plugin bug
            outcome = "transient"
            raise TransientError(f"{ctx.vendor} sent an answer nested too deeply to read.",
                                 hint="The hub will try again later; if it keeps happening, tell the vendor their "
                                      "answer is malformed.") from None
        except Exception as exc:
            outcome = "unexpected"
            raise UnexpectedError(
                f"The {ctx.vendor} plugin failed unexpectedly ({type(exc).__name__}).",
                hint="This is a bug in the plugin; the details are kept in the job record.",
            ) from exc
        finally:
            ctx.log.info("%s %s: %s in %.0f ms", ctx.vendor, hook_name, outcome,
                         (time.monotonic() - started) * 1000)

    wrapper.__name__ = hook_name
    return wrapper


#: The core's own plugin: one wrapper per hook that takes a ``ctx``.
CoreWrappers = type("CoreWrappers", (), {name: staticmethod(_core_wrapper(name))
                                         for name in hookspecs.CAPABILITIES.values()})
CORE_WRAPPERS = CoreWrappers()


def _api_compatible(required: str) -> bool:
    """``required`` is the contract version a plugin was written for, e.g. "1.0": same major, and a
    minor not newer than the hub's."""
    try:
        req_major, req_minor = (int(x) for x in required.split(".")[:2])
        hub_major, hub_minor = (int(x) for x in hookspecs.HUB_API_VERSION.split(".")[:2])
    except ValueError:
        return False
    return req_major == hub_major and req_minor <= hub_minor


def _api_incompatibility(required: str) -> str:
    """The load error for a plugin whose ``VendorInfo.requires_api`` this hub cannot serve: what it needs,
    what this hub provides, and which side to change (docs/plugins/compatibility.md)."""
    provided = hookspecs.HUB_API_VERSION
    major = provided.split(".")[0]
    head = (f"incompatible plugin: it requires plugin contract {required} (VendorInfo.requires_api), but this hub "
            f"(integration-hub {__version__}) provides plugin contract {provided}, which serves plugins written "
            f"for {major}.0 to {provided}. ")
    parts = required.split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        return head + 'requires_api must be a version like "1.0"; fix the plugin.'
    if (int(parts[0]), int(parts[1])) > tuple(int(x) for x in provided.split(".")[:2]):
        return head + (f"Upgrade the hub to a release providing plugin contract {required}, or install an older "
                       "release of the plugin. See docs/plugins/compatibility.md.")
    return head + (f"Install a release of the plugin written for plugin contract {major}.x (or ask its author "
                   "for one). See docs/plugins/compatibility.md.")


class VendorRegistry:
    """The vendors this process can use, and the ones that failed to load."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.pm.register(CORE_WRAPPERS, name="hub.core")
        self.vendors: dict[str, Vendor] = {}
        self.failures: dict[str, LoadFailure] = {}
        self._callers: dict[tuple[str, str], Any] = {}

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def from_entry_points(cls, *, strict: bool | None = None, only: str | None | bool = False) -> "VendorRegistry":
        """Load every installed vendor plugin. ``strict`` defaults to ``HUB_STRICT_PLUGINS``;
        ``only`` (a comma list, ``""`` for none) defaults to ``HUB_LOAD_PLUGINS``."""
        registry = cls()
        if strict is None:
            strict = os.environ.get("HUB_STRICT_PLUGINS", "") not in ("", "0", "false", "no")
        if only is False:
            only = os.environ.get("HUB_LOAD_PLUGINS")
        selected = None if only is None else {s.strip() for s in only.split(",") if s.strip()}
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if selected is not None and ep.name not in selected:
                continue
            dist = ep.dist.name if ep.dist else None
            version = ep.dist.version if ep.dist else None
            try:
                plugin = ep.load()
            except Exception as exc:
                registry._fail(ep.name, f"import failed: {type(exc).__name__}: {exc}", dist, version,
                               traceback.format_exc(), strict)
                continue
            registry.register(ep.name, plugin, distribution=dist, version=version, strict=strict)
        return registry

    def _fail(self, slug: str, error: str, dist: str | None, version: str | None, details: str,
              strict: bool) -> None:
        self.failures[slug] = LoadFailure(slug, error, dist, version, details)
        log.error("vendor plugin %r not loaded: %s", slug, error)
        if strict:
            raise PluginLoadError(f"vendor plugin {slug!r}: {error}")

    def register(self, slug: str, plugin: Any, *, distribution: str | None = None, version: str | None = None,
                 strict: bool = False) -> Vendor | None:
        """Register and validate one plugin; on failure record it (or raise, when ``strict``)."""
        if slug in self.vendors:
            self._fail(slug, f"the slug is already used by {self.vendors[slug].distribution}", distribution,
                       version, "", strict)
            return None
        try:
            self.pm.register(plugin, name=slug)
        except Exception as exc:  # pluggy.PluginValidationError and friends
            self._fail(slug, f"invalid hook implementation: {exc}", distribution, version,
                       traceback.format_exc(), strict)
            return None
        try:
            vendor = self._validate(slug, plugin, distribution, version)
        except Exception as exc:
            self.pm.unregister(plugin, name=slug)
            self._fail(slug, str(exc), distribution, version, traceback.format_exc(), strict)
            return None
        self.vendors[slug] = vendor
        self.failures.pop(slug, None)
        self._callers = {}
        return vendor

    def _validate(self, slug: str, plugin: Any, distribution: str | None, version: str | None) -> Vendor:
        implemented = {caller.name for caller in self.pm.get_hookcallers(plugin) or []}
        unknown = [name for name in implemented if not getattr(self.pm.hook, name).has_spec()]
        if unknown:
            hints = []
            for name in sorted(unknown):
                close = difflib.get_close_matches(name, list(hookspecs.CAPABILITIES.values())
                                                  + list(hookspecs.REQUIRED_HOOKS), n=1)
                hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise ValueError("unknown hook " + ", ".join(hints))
        missing = [h for h in hookspecs.REQUIRED_HOOKS if h not in implemented]
        if missing:
            raise ValueError("missing required hook " + ", ".join(missing))
        info = self._only(plugin, "hub_vendor")()
        if not isinstance(info, VendorInfo):
            raise ValueError(f"hub_vendor must return hub.types.VendorInfo, got {type(info).__name__}")
        if info.slug != slug:
            raise ValueError(f"hub_vendor says slug {info.slug!r} but the entry point is named {slug!r}")
        api = info.requires_api
        if not _api_compatible(api):
            raise ValueError(_api_incompatibility(api))
        if info.oauth is not None and not isinstance(info.oauth, OAuthSpec):
            raise ValueError(f"VendorInfo.oauth must be a hub.types.OAuthSpec, got {type(info.oauth).__name__}")
        if info.oauth is not None and tuple(int(x) for x in api.split(".")[:2]) < (1, 2):
            raise ValueError("VendorInfo.oauth is contract 1.2: set requires_api='1.2'")
        schema = self._only(plugin, "hub_credentials_schema")()
        if not (isinstance(schema, type) and issubclass(schema, marshmallow.Schema)):
            raise ValueError("hub_credentials_schema must return a marshmallow.Schema subclass")
        unmarked = creds.unmarked_secret_looking(schema)
        if unmarked:
            raise ValueError("credential fields that look secret must have metadata secret=True: "
                             + ", ".join(unmarked))
        has_stats = "hub_fetch_statistics" in implemented
        if has_stats != bool(info.statistic_fields):
            raise ValueError("statistic_fields must be declared if and only if hub_fetch_statistics is implemented")
        keys = [f.key for f in info.statistic_fields]
        if len(keys) != len(set(keys)):
            raise ValueError("statistic field keys must be unique")
        capabilities = [cap for cap, hook in hookspecs.CAPABILITIES.items() if hook in implemented]
        return Vendor(slug, plugin, info, schema, capabilities, distribution, version)

    def _only(self, plugin: Any, hook: str):
        others = [p for name, p in self.pm.list_name_plugin() if p is not plugin and name != "hub.core"]
        return self.pm.subset_hook_caller(hook, remove_plugins=others)

    # -- calling -------------------------------------------------------------------------------
    def get(self, slug: str) -> Vendor:
        try:
            return self.vendors[slug]
        except KeyError:
            if slug in self.failures:
                raise ConfigError(f"The {slug} plugin failed to load: {self.failures[slug].error}",
                                  hint="See the Plugins page or `flask hub plugins`.") from None
            raise ConfigError(f"No vendor plugin named {slug!r} is installed.",
                              hint="Install it (pip install hub-<vendor>) and restart the hub and its workers."
                              ) from None

    def call(self, slug: str, hook: str, **kwargs: Any) -> Any:
        """Call ``hook`` on vendor ``slug`` only. Raises ``NotSupported`` if it does not implement it."""
        vendor = self.get(slug)
        offered = {hookspecs.CAPABILITIES[c] for c in vendor.capabilities}
        if hook not in hookspecs.REQUIRED_HOOKS and hook not in offered:
            raise NotSupported(f"{vendor.info.name} does not support {hook.removeprefix('hub_').replace('_', ' ')}.")
        caller = self._callers.get((slug, hook))
        if caller is None:
            caller = self._only(vendor.plugin, hook)
            self._callers[(slug, hook)] = caller
        return caller(**kwargs)

    def listing(self) -> list[dict]:
        rows = [v.as_dict() for v in self.vendors.values()] + [f.as_dict() for f in self.failures.values()]
        return sorted(rows, key=lambda r: r["slug"])
