"""The contract suite and the helpers to call hooks in tests (re-exported by :mod:`hub.testing`; see there)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import warnings
from decimal import Decimal
from importlib import metadata
from typing import Any, ClassVar

import httpx
import pytest
from authlib.common.security import generate_token

from hub import credentials as creds
from hub import readback
from hub.context import MemoryCache, VendorContext
from hub.errors import AuthError, HubError, TransientError, VendorRejected
from hub.http import VendorHttp
from hub.plugins import VendorRegistry
from hub.types import (
    BookedInvoice,
    ConnectionInfo,
    ExportReceipt,
    Invoice,
    InvoiceLine,
    InvoiceParty,
    Period,
    VendorInfo,
)

with warnings.catch_warnings():  # Authlib 1.9 announces a move of its httpx client (AuthlibDeprecationWarning) on
    # import, on standard error of every process that loads this module: not the operator's concern (it would
    # also break the one log format); the client works as documented.
    import authlib.deprecate  # noqa: F401  (importing it puts an "always" filter first: ours goes after it)

    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import OAuth2Client

#: Version of the contract suite (see the module docstring and docs/plugins/testing.md).
CONTRACT_SUITE_VERSION = "1.2"
#: Where the suite's OAuth flow says the hub is (the sandbox sends the code there; nothing listens).
OAUTH_REDIRECT = "https://hub.test/oauth/callback"
#: An access token no vendor issued (the refused-token check).
REFUSED_TOKEN = "hub-contract-refused-token"
__version__ = CONTRACT_SUITE_VERSION

__all__ = ["CONTRACT_SUITE_VERSION", "VendorContractTests", "export_and_read_back", "invoice_totals", "make_context",
           "sample_invoice", "vendor_registry"]


def make_context(slug: str, transport: httpx.BaseTransport | None = None, *, settings: dict | None = None,
                 origin: str | None = None, now=None, timeout: float | None = None) -> VendorContext:  # noqa: ANN001
    """A ``ctx`` whose HTTP goes through ``transport`` (no rate budget, in-memory cache).

    ``origin`` routes every request to that base URL (a sandbox on loopback) keeping the real Host
    header; ``timeout`` (seconds) replaces the default one, e.g. to test a slow vendor quickly."""
    if transport is not None or timeout is not None:
        client = httpx.Client(transport=transport, timeout=10.0 if timeout is None else timeout)
    else:
        client = None
    log = logging.getLogger(f"hub.vendor.{slug}")
    http = VendorHttp(slug, client, origin=origin, log=log, sleep=lambda s: None)
    ctx = VendorContext(vendor=slug, http=http, log=log, settings=settings or {}, cache=MemoryCache(),
                        account=f"{slug}-test")
    if now is not None:
        ctx.now = now
    return ctx


def oauth_token(info: VendorInfo, transport: httpx.BaseTransport, settings: dict) -> dict[str, Any]:
    """Tokens from the sandbox behind ``transport`` by the authorisation-code flow, as the hub runs it (Authlib,
    ``state``, PKCE when declared), with the client id and secret of ``settings`` (``oauth_client_id``,
    ``oauth_client_secret``: the sandbox's ``DEMO_SETTINGS``). The sandbox's authorisation page must approve at
    once (the kit's :mod:`hub.testing.oauth_server` does)."""
    spec = info.oauth
    assert spec is not None, f"{info.slug} does not declare VendorInfo.oauth"
    client = OAuth2Client(client_id=settings.get("oauth_client_id"), client_secret=settings.get("oauth_client_secret"),
                          token_endpoint_auth_method=spec.client_auth, scope=" ".join(spec.scopes) or None,
                          redirect_uri=OAUTH_REDIRECT, code_challenge_method="S256" if spec.pkce else None,
                          transport=transport)
    try:
        verifier = generate_token(64) if spec.pkce else None
        url, state = client.create_authorization_url(spec.authorize_url, code_verifier=verifier)
        with httpx.Client(transport=transport) as browser:  # the admin's browser at the authorisation page
            answer = browser.get(url)
        location = answer.headers.get("Location", "")
        assert answer.status_code in (302, 303) and location.startswith(OAUTH_REDIRECT), (
            f"the sandbox's authorisation page should send the browser back to the redirect URI, answered "
            f"{answer.status_code} {location or answer.text[:200]}")
        assert f"state={state}" in location, "the authorisation answer must carry the state back"
        return dict(client.fetch_token(spec.token_url, authorization_response=location, code_verifier=verifier))
    finally:
        client.close()


def vendor_registry(slug: str, plugin: Any) -> VendorRegistry:
    """A registry holding only ``plugin`` (validated exactly as the hub validates installed ones)."""
    registry = VendorRegistry()
    registry.register(slug, plugin, strict=True)
    return registry


def export_and_read_back(slug: str, plugin: Any, credentials: dict, invoice: Invoice, *,
                         transport: httpx.BaseTransport | None = None, origin: str | None = None,
                         settings: dict | None = None) -> BookedInvoice | None:
    """Export ``invoice`` and read it back as the hub does (``hub_export_invoice``, then ``hub_find_invoice``), over
    ``transport`` or to ``origin`` (a served sandbox); fails unless the read-back finds the exported invoice.
    Returns what the vendor booked (``ExportReceipt.booked``; None when the plugin reports no figures) — compare it
    with :func:`invoice_totals` of the invoice."""
    registry = vendor_registry(slug, plugin)
    ctx = make_context(slug, transport, origin=origin, settings=settings)
    try:
        receipt = registry.call(slug, "hub_export_invoice", ctx=ctx, credentials=credentials, invoice=invoice)
        found = registry.call(slug, "hub_find_invoice", ctx=ctx, credentials=credentials, invoice=invoice)
    finally:
        ctx.close()
    assert found is not None, f"hub_find_invoice did not find invoice {invoice.number} just exported"
    assert found.vendor_invoice_id == receipt.vendor_invoice_id, (
        f"hub_find_invoice found {found.vendor_invoice_id}, the export made {receipt.vendor_invoice_id}")
    return found.booked


def invoice_totals(lines: tuple[InvoiceLine, ...], vat_rounding: str = "rate") -> tuple[Decimal, Decimal, Decimal]:
    """``(net, vat, total)`` of ``lines`` exactly as the hub totals an invoice for a vendor whose
    ``VendorInfo.vat_rounding`` is ``vat_rounding`` — what a read-back (``ExportReceipt.booked``) must equal for the
    export to be "Confirmed"."""
    return readback.totals(lines, vat_rounding)


def sample_invoice(*, number: str = "HUB-CONTRACT-0001", reference: str = "hub-contract-0001",
                   client: InvoiceParty | None = None, lines: tuple[InvoiceLine, ...] | None = None,
                   currency: str = "EUR", vat_rounding: str = "rate") -> Invoice:
    """A small, valid invoice for export tests, totals computed from its lines as the hub computes them for a
    vendor with this ``vat_rounding`` (:func:`invoice_totals`).

    By default: number ``HUB-CONTRACT-0001``, reference ``hub-contract-0001``, client "Contract Test Client OÜ"
    (reg. code 16000001, invoices@client.test, not linked: no ``vendor_client_id``), issued 2026-11-20, due
    2026-12-04, EUR, two lines at 22 % VAT ("Bookkeeping, November" 1 × 100.00 and "Payroll, 3 employees"
    3 × 12.50): net 137.50, VAT 30.25, total 167.75; no product codes or tax ids (pass ``lines`` or ``client``
    to give your sandbox the ids it needs).
    """
    lines = lines or (InvoiceLine("Bookkeeping, November", Decimal("1"), Decimal("100.00"), Decimal("22")),
                      InvoiceLine("Payroll, 3 employees", Decimal("3"), Decimal("12.50"), Decimal("22")))
    net, vat, total = invoice_totals(lines, vat_rounding)
    return Invoice(reference=reference, number=number,
                   client=client or InvoiceParty(name="Contract Test Client OÜ", reg_code="16000001",
                                                 email="invoices@client.test"),
                   issue_date=dt.date(2026, 11, 20), due_date=dt.date(2026, 12, 4), currency=currency,
                   lines=lines, total_net=net, total_vat=vat, total=total)


class VendorContractTests:
    """The contract every vendor plugin passes. Subclass in ``tests/test_contract.py``::

        class TestContract(VendorContractTests):
            slug = "acme"
            plugin = hub_acme              # the module holding the hookimpls
            good_credentials = {...}       # an account the sandbox knows
            bad_credentials = {...}        # same shape, wrong secret

            def make_transport(self):
                return httpx.WSGITransport(app=hub_acme.sandbox.create_app())

    Optional attributes and their defaults:

    * ``settings = {}`` — operator settings passed as ``ctx.settings``.
    * ``statistics_client = None`` — the vendor client id the statistics checks ask for (``None``: the
      account is the client's own, as with per-client credentials).
    * ``statistics_periods = [Period(2026, 1), Period(2026, 2), Period(2026, 3)]`` — the months asked for.
    * ``statistics_expected = None`` — exact values the sandbox holds for some months
      (``{Period: {field: int}}``); ``None`` checks only the shape and the month bucketing.

    Optional hooks (methods) for exporting vendors: :meth:`make_export_invoice` (an invoice the
    sandbox accepts) and :meth:`count_vendor_invoices` (how many invoices the sandbox behind a
    transport holds); without the latter the idempotency check compares receipts only.
    """

    slug: ClassVar[str]
    plugin: ClassVar[Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """The OAuth checks belong to a suite whose plugin declares ``VendorInfo.oauth``: for any other plugin they
        are not collected at all (a 1.1 plugin's suite runs exactly its checks, nothing skipped)."""
        super().__init_subclass__(**kwargs)
        describe = getattr(getattr(cls, "plugin", None), "hub_vendor", None)
        try:
            oauth = describe is None or describe().oauth is not None
        except Exception:  # the suite's own checks report a plugin that cannot describe itself
            oauth = True
        if not oauth:
            cls.test_oauth_connect_and_refresh = None  # type: ignore[assignment]
    good_credentials: ClassVar[dict]
    bad_credentials: ClassVar[dict]
    settings: ClassVar[dict] = {}
    statistics_client: ClassVar[str | None] = None
    statistics_periods: ClassVar[list[Period]] = [Period(2026, 1), Period(2026, 2), Period(2026, 3)]
    statistics_expected: ClassVar[dict[Period, dict[str, int]] | None] = None

    def make_transport(self) -> httpx.BaseTransport:
        raise NotImplementedError("return an httpx transport that reaches your sandbox")

    def make_export_invoice(self) -> Invoice:
        """The invoice the export checks send. Override when your sandbox needs vendor ids (a linked
        client's ``vendor_client_id``, ``tax_id`` or ``product_code`` on the lines)."""
        return sample_invoice()

    def count_vendor_invoices(self, transport: httpx.BaseTransport) -> int | None:
        """How many invoices the sandbox behind ``transport`` holds (e.g. ``len(transport.app.config[...])``).
        ``None`` (the default) skips the count and checks only that both exports return one invoice."""
        return None

    # -- helpers -----------------------------------------------------------------------------
    @pytest.fixture
    def registry(self) -> VendorRegistry:
        return vendor_registry(self.slug, self.plugin)

    def call(self, registry: VendorRegistry, hook: str, *, transport: httpx.BaseTransport | None = None,
             bearer: str | None = None, **kwargs: Any) -> Any:
        """Call ``hook`` as the hub does. For an OAuth vendor ``ctx.http`` carries a token of the sandbox behind
        ``transport`` (or ``bearer``), as the hub's does."""
        transport = transport or self.make_transport()
        info = registry.get(self.slug).info
        ctx = make_context(self.slug, transport, settings=dict(self.settings))
        ctx.http.name = info.name  # messages name the vendor as the hub's ctx.http does
        if info.oauth is not None:
            ctx.http.bearer = (lambda rejected=None: bearer) if bearer else self._bearer(info, transport)
        try:
            return registry.call(self.slug, hook, ctx=ctx, **kwargs)
        finally:
            ctx.close()

    def _bearer(self, info: VendorInfo, transport: httpx.BaseTransport) -> Any:
        def token(rejected: str | None = None) -> str:  # a refused token: a fresh authorisation, as the hub refreshes
            try:
                return oauth_token(info, transport, dict(self.settings))["access_token"]
            except httpx.TransportError:  # the network is down: the hook's own request fails the same way
                return "unreachable"

        return token

    def secret_values(self, registry: VendorRegistry) -> list[str]:
        schema = registry.get(self.slug).schema
        values = [str(v) for k, v in self.good_credentials.items() if k in creds.secret_fields(schema)]
        values += [str(v) for k, v in self.settings.items() if creds.SECRET_LOOKING.search(k)]
        return [v for v in values if len(v) >= 4]

    # -- the contract ------------------------------------------------------------------------
    def test_vendor_description(self, registry: VendorRegistry) -> None:
        vendor = registry.get(self.slug)
        assert registry.call(self.slug, "hub_vendor") == vendor.info, "describe the vendor the same way every call"
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
        assert registry.call(self.slug, "hub_credentials_schema") is schema, "return the same Schema class every call"
        fields = schema().fields
        oauth = registry.get(self.slug).info.oauth is not None
        assert fields or oauth, "the credentials schema has no fields"
        for name, field in fields.items():
            assert field.metadata.get("label"), f"field {name!r} needs metadata label"
        assert not creds.unmarked_secret_looking(schema)
        assert creds.secret_fields(schema) or oauth, "at least one credential should be secret"
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
        vendor = registry.get(self.slug)
        bearer = REFUSED_TOKEN if vendor.info.oauth is not None else None  # an OAuth vendor's credential
        with pytest.raises(AuthError) as caught:
            self.call(registry, "hub_test_connection", bearer=bearer,
                      credentials=creds.validate(vendor.schema, self.bad_credentials))
        assert caught.value.message.strip()

    def test_oauth_connect_and_refresh(self, registry: VendorRegistry) -> None:
        """(1.2; collected only for a plugin with ``VendorInfo.oauth``) The sandbox runs the authorisation-code
        flow (state, PKCE when declared) and issues a refresh token; the refreshed access token works; a refused
        access token is an ``AuthError`` (the hub then shows "needs attention" and Reconnect)."""
        vendor = registry.get(self.slug)
        credentials = creds.validate(vendor.schema, self.good_credentials)
        transport = self.make_transport()  # one sandbox: it knows the tokens it issued
        token = oauth_token(vendor.info, transport, dict(self.settings))
        assert token.get("access_token") and token.get("refresh_token"), "issue an access and a refresh token"
        spec = vendor.info.oauth
        client = OAuth2Client(client_id=self.settings.get("oauth_client_id"),
                              client_secret=self.settings.get("oauth_client_secret"),
                              token_endpoint_auth_method=spec.client_auth, transport=transport)
        try:
            refreshed = client.refresh_token(spec.token_url, refresh_token=token["refresh_token"])
        finally:
            client.close()
        assert refreshed.get("access_token"), "a refresh gives a new access token"
        info = self.call(registry, "hub_test_connection", transport=transport, bearer=refreshed["access_token"],
                         credentials=credentials)
        assert isinstance(info, ConnectionInfo) and info.account_name.strip()
        with pytest.raises(AuthError):
            self.call(registry, "hub_test_connection", transport=transport, bearer=REFUSED_TOKEN,
                      credentials=credentials)

    def test_connection_network_failure(self, registry: VendorRegistry) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        schema = registry.get(self.slug).schema
        with pytest.raises(TransientError):
            self.call(registry, "hub_test_connection", transport=httpx.MockTransport(refuse),
                      credentials=creds.validate(schema, self.good_credentials))

    def read_calls(self, registry: VendorRegistry) -> list[tuple[str, dict]]:
        """``(hook, arguments)`` of every read-only hook this vendor implements (besides credentials)."""
        vendor = registry.get(self.slug)
        calls = [("hub_test_connection", {})]
        if vendor.can("client_lookup"):
            calls.append(("hub_list_clients", {"query": ""}))
        if vendor.can("statistics"):
            calls.append(("hub_fetch_statistics", {"client": self.statistics_client,
                                                   "periods": list(self.statistics_periods)}))
        if vendor.can("products"):
            calls.append(("hub_list_products", {}))
        if vendor.can("tax_rates"):
            calls.append(("hub_list_tax_rates", {}))
        if vendor.can("payments"):
            calls.append(("hub_fetch_payments", {"since": self.statistics_periods[0].first_day}))
        return calls

    def test_no_secret_in_logs_or_messages(self, registry: VendorRegistry, caplog: pytest.LogCaptureFixture) -> None:
        """Every read hook, with good and bad credentials and with the network down: no credential
        value in a log line, an error message or hint, or a returned value."""
        schema = registry.get(self.slug).schema

        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        caplog.set_level(logging.DEBUG)
        texts = []
        for credentials in (self.good_credentials, self.bad_credentials):
            for transport in (None, httpx.MockTransport(refuse)):
                for hook, kwargs in self.read_calls(registry):
                    try:
                        texts.append(repr(self.call(registry, hook, transport=transport,
                                                    credentials=creds.validate(schema, credentials), **kwargs)))
                    except HubError as exc:
                        texts += [str(exc), repr(exc.as_dict())]
        text = caplog.text + "\n".join(texts)
        bad_secrets = [str(v) for k, v in self.bad_credentials.items() if k in creds.secret_fields(schema)]
        for value in self.secret_values(registry) + [v for v in bad_secrets if len(v) >= 4]:
            assert value not in text, "a credential value reached a log line, an error message or a result"

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

    def test_statistics_month_bucketing(self, registry: VendorRegistry) -> None:
        """Fetching the range at once (the vendor's widest window) and each month alone give the same
        numbers per month: activity lands in the month it happened, never in a neighbour."""
        vendor = registry.get(self.slug)
        if "statistics" not in vendor.capabilities:
            pytest.skip(f"{self.slug} has no statistics")
        credentials = creds.validate(vendor.schema, self.good_credentials)
        periods = list(self.statistics_periods)
        whole = self.call(registry, "hub_fetch_statistics", credentials=credentials,
                          client=self.statistics_client, periods=periods)
        assert all(isinstance(p, Period) for p in whole), "keys are hub.types.Period values"
        assert any(v for values in whole.values() for v in values.values()), (
            "the sandbox has no activity in statistics_periods: seed some so month bucketing is checked")
        for period in periods:
            alone = self.call(registry, "hub_fetch_statistics", credentials=credentials,
                              client=self.statistics_client, periods=[period])
            assert set(alone) == {period}, "a one-month request returns exactly that month"
            assert alone[period] == whole[period], f"{period}: alone {alone[period]} != within range {whole[period]}"
        for period, expected in (self.statistics_expected or {}).items():
            got = {key: whole[period][key] for key in expected}
            assert got == expected, f"{period}: expected {expected}, got {got}"

    def test_export_idempotency(self, registry: VendorRegistry) -> None:
        """The same invoice exported twice (a retry after an uncertain outcome) is one vendor invoice;
        ``hub_find_invoice`` finds it; the second answer is the same invoice, ``already_existed``."""
        vendor = registry.get(self.slug)
        if "invoice_export" not in vendor.capabilities:
            pytest.skip(f"{self.slug} does not export invoices")
        credentials = creds.validate(vendor.schema, self.good_credentials)
        invoice = self.make_export_invoice()
        transport = self.make_transport()  # one sandbox for every call below
        before = self.count_vendor_invoices(transport)
        assert self.call(registry, "hub_find_invoice", transport=transport, credentials=credentials,
                         invoice=invoice) is None, "hub_find_invoice found an invoice that was never exported"
        try:
            first = self.call(registry, "hub_export_invoice", transport=transport, credentials=credentials,
                              invoice=invoice)
        except VendorRejected as exc:
            if type(self).make_export_invoice is not VendorContractTests.make_export_invoice:
                raise
            pytest.skip(f"the sandbox rejected the sample invoice ({exc}): override make_export_invoice")
        assert isinstance(first, ExportReceipt) and first.vendor_invoice_id
        assert not first.already_existed
        found = self.call(registry, "hub_find_invoice", transport=transport, credentials=credentials,
                          invoice=invoice)
        assert isinstance(found, ExportReceipt) and found.vendor_invoice_id == first.vendor_invoice_id
        second = self.call(registry, "hub_export_invoice", transport=transport, credentials=credentials,
                           invoice=invoice)
        assert second.vendor_invoice_id == first.vendor_invoice_id, "the second export created another invoice"
        assert second.already_existed, "report the existing invoice as ExportReceipt(already_existed=True)"
        if before is not None:
            assert self.count_vendor_invoices(transport) == before + 1, "same invoice twice → one vendor invoice"

    def test_types_are_plain_values(self, registry: VendorRegistry) -> None:
        vendor = registry.get(self.slug)
        assert dataclasses.is_dataclass(vendor.info)
