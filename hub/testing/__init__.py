"""The test kit for vendor plugins (shipped with the hub, loaded by pytest through ``pytest11``).

* :class:`VendorContractTests` — subclass it once in your plugin's tests; it runs the contract
  every vendor must pass (description, schema, capabilities, test connection good/bad/network,
  statistics shape, no secret in logs or messages).
* :func:`make_context` — a ``ctx`` for calling your hooks directly, over any httpx transport
  (``httpx.WSGITransport(app=your_sandbox)`` or ``httpx.MockTransport(handler)``).
* :func:`vendor_registry` — a registry holding only your plugin, to call hooks the way the hub does.
* Fixtures (see :mod:`hub.testing.pytest_plugin`): ``hub_app``, ``hub_db``, ``run_jobs``,
  ``hub_redis_url``, ``hub_database_url``.

The kit follows the plugin contract version :data:`hub.hookspecs.HUB_API_VERSION`.
"""

from __future__ import annotations

import dataclasses
import logging
from importlib import metadata
from typing import Any, ClassVar

import httpx
import pytest

from hub import credentials as creds
from hub.context import MemoryCache, VendorContext
from hub.errors import AuthError, HubError, TransientError
from hub.http import VendorHttp
from hub.plugins import VendorRegistry
from hub.types import ConnectionInfo, Period

__all__ = ["VendorContractTests", "make_context", "vendor_registry"]


def make_context(slug: str, transport: httpx.BaseTransport | None = None, *, settings: dict | None = None,
                 origin: str | None = None, now=None) -> VendorContext:  # noqa: ANN001
    """A ``ctx`` whose HTTP goes through ``transport`` (no rate budget, in-memory cache)."""
    client = httpx.Client(transport=transport, timeout=10.0) if transport is not None else None
    log = logging.getLogger(f"hub.vendor.{slug}")
    http = VendorHttp(slug, client, origin=origin, log=log, sleep=lambda s: None)
    ctx = VendorContext(vendor=slug, http=http, log=log, settings=settings or {}, cache=MemoryCache(),
                        account=f"{slug}-test")
    if now is not None:
        ctx.now = now
    return ctx


def vendor_registry(slug: str, plugin: Any) -> VendorRegistry:
    """A registry holding only ``plugin`` (validated exactly as the hub validates installed ones)."""
    registry = VendorRegistry()
    registry.register(slug, plugin, strict=True)
    return registry


class VendorContractTests:
    """The contract every vendor plugin passes. Subclass in ``tests/test_contract.py``::

        class TestContract(VendorContractTests):
            slug = "acme"
            plugin = hub_acme              # the module holding the hookimpls
            good_credentials = {...}       # an account the sandbox knows
            bad_credentials = {...}        # same shape, wrong secret

            def make_transport(self):
                return httpx.WSGITransport(app=hub_acme.sandbox.create_app())

    Optional: ``statistics_client`` (the vendor client id used for the statistics check, ``None``
    for per-client accounts), ``statistics_periods``, ``settings`` (operator settings).
    """

    slug: ClassVar[str]
    plugin: ClassVar[Any]
    good_credentials: ClassVar[dict]
    bad_credentials: ClassVar[dict]
    settings: ClassVar[dict] = {}
    statistics_client: ClassVar[str | None] = None
    statistics_periods: ClassVar[list[Period]] = [Period(2026, 1), Period(2026, 2), Period(2026, 3)]

    def make_transport(self) -> httpx.BaseTransport:
        raise NotImplementedError("return an httpx transport that reaches your sandbox")

    # -- helpers -----------------------------------------------------------------------------
    @pytest.fixture
    def registry(self) -> VendorRegistry:
        return vendor_registry(self.slug, self.plugin)

    def call(self, registry: VendorRegistry, hook: str, *, transport: httpx.BaseTransport | None = None,
             **kwargs: Any) -> Any:
        ctx = make_context(self.slug, transport or self.make_transport(), settings=dict(self.settings))
        try:
            return registry.call(self.slug, hook, ctx=ctx, **kwargs)
        finally:
            ctx.close()

    def secret_values(self, registry: VendorRegistry) -> list[str]:
        schema = registry.get(self.slug).schema
        values = [str(v) for k, v in self.good_credentials.items() if k in creds.secret_fields(schema)]
        values += [str(v) for k, v in self.settings.items() if creds.SECRET_LOOKING.search(k)]
        return [v for v in values if len(v) >= 4]

    # -- the contract ------------------------------------------------------------------------
    def test_vendor_description(self, registry: VendorRegistry) -> None:
        vendor = registry.get(self.slug)
        assert vendor.info.slug == self.slug
        assert vendor.info.name and vendor.info.regions, "name and regions are shown on the card"
        assert vendor.info.setup_steps, "admins need the vendor's setup steps"
        assert "test_connection" in vendor.capabilities, "every vendor must support Test connection"

    def test_entry_point_is_installed(self) -> None:
        eps = {ep.name: ep for ep in metadata.entry_points(group="hub.vendors")}
        assert self.slug in eps, f"no entry point {self.slug!r} in group hub.vendors (pip install -e the plugin)"
        assert eps[self.slug].load() is self.plugin

    def test_credentials_schema(self, registry: VendorRegistry) -> None:
        schema = registry.get(self.slug).schema
        fields = schema().fields
        assert fields, "the credentials schema has no fields"
        for name, field in fields.items():
            assert field.metadata.get("label"), f"field {name!r} needs metadata label"
        assert not creds.unmarked_secret_looking(schema)
        assert creds.secret_fields(schema), "at least one credential should be secret"
        loaded = creds.validate(schema, self.good_credentials)
        padded = {k: f"  {v}\t " if isinstance(v, str) else v for k, v in self.good_credentials.items()}
        assert creds.validate(schema, padded) == loaded, "pasted whitespace must be stripped"

    def test_capabilities_match_hooks(self, registry: VendorRegistry) -> None:
        vendor = registry.get(self.slug)
        has_stats = "statistics" in vendor.capabilities
        assert has_stats == bool(vendor.info.statistic_fields)
        if "invoice_export" in vendor.capabilities:
            assert "find_invoice" in vendor.capabilities, "an exporting vendor must implement hub_find_invoice"

    def test_connection_with_good_credentials(self, registry: VendorRegistry) -> None:
        schema = registry.get(self.slug).schema
        info = self.call(registry, "hub_test_connection", credentials=creds.validate(schema, self.good_credentials))
        assert isinstance(info, ConnectionInfo)
        assert info.account_name.strip(), "say which account/company/database this is"

    def test_connection_with_bad_credentials(self, registry: VendorRegistry) -> None:
        schema = registry.get(self.slug).schema
        with pytest.raises(AuthError) as caught:
            self.call(registry, "hub_test_connection", credentials=creds.validate(schema, self.bad_credentials))
        assert caught.value.message.strip()

    def test_connection_network_failure(self, registry: VendorRegistry) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        schema = registry.get(self.slug).schema
        with pytest.raises(TransientError):
            self.call(registry, "hub_test_connection", transport=httpx.MockTransport(refuse),
                      credentials=creds.validate(schema, self.good_credentials))

    def test_no_secret_in_logs_or_messages(self, registry: VendorRegistry, caplog: pytest.LogCaptureFixture) -> None:
        schema = registry.get(self.slug).schema
        caplog.set_level(logging.DEBUG)
        messages = []
        for credentials in (self.good_credentials, self.bad_credentials):
            try:
                self.call(registry, "hub_test_connection", credentials=creds.validate(schema, credentials))
            except HubError as exc:
                messages.append(str(exc))
        text = caplog.text + "\n".join(messages)
        bad_secrets = [str(v) for k, v in self.bad_credentials.items() if k in creds.secret_fields(schema)]
        for value in self.secret_values(registry) + [v for v in bad_secrets if len(v) >= 4]:
            assert value not in text, "a credential value reached a log line or an error message"

    def test_statistics_shape(self, registry: VendorRegistry) -> None:
        vendor = registry.get(self.slug)
        if "statistics" not in vendor.capabilities:
            pytest.skip(f"{self.slug} has no statistics")
        credentials = creds.validate(vendor.schema, self.good_credentials)
        stats = self.call(registry, "hub_fetch_statistics", credentials=credentials,
                          client=self.statistics_client, periods=list(self.statistics_periods))
        keys = {f.key for f in vendor.info.statistic_fields}
        assert set(stats) == set(self.statistics_periods), "one entry per requested month"
        for period, values in stats.items():
            assert set(values) == keys, f"{period}: every declared field, nothing else"
            assert all(isinstance(v, int) and v >= 0 for v in values.values())

    def test_types_are_plain_values(self, registry: VendorRegistry) -> None:
        vendor = registry.get(self.slug)
        assert dataclasses.is_dataclass(vendor.info)
