"""Plain values that cross the plugin contract.

Every type here is a frozen dataclass: plugins build them, the core reads them. Money is always
``Decimal``; dates are ``datetime.date``; nothing here carries a secret.

Strings come from the vendor and may be of any length: display text (names, numbers) is cut to
:data:`MAX_NAME` characters with an ellipsis; an id or code longer than :data:`MAX_ID` is refused with a
``ValueError`` (a cut id would name another record), so everything fits where the hub stores it.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    import logging

    import httpx


#: The longest vendor id or code the hub stores (database columns are sized for it).
MAX_ID = 200
#: The longest vendor display text (names) the hub stores; longer text is cut.
MAX_NAME = 300


def clip(text: str | None, limit: int | None = MAX_NAME) -> str | None:
    """``text`` cut to ``limit`` characters (the last one an ellipsis when cut)."""
    if text is None or limit is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def _fit(obj: object, names: tuple[str, ...] = (), ids: tuple[str, ...] = (), limit: int = MAX_NAME) -> None:
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, str) and len(value) > limit:
            object.__setattr__(obj, name, clip(value, limit))
    for name in ids:
        value = getattr(obj, name)
        if value is not None and len(str(value)) > MAX_ID:
            raise ValueError(f"{type(obj).__name__}.{name} from the vendor is {len(str(value))} characters long; "
                             f"the hub keeps ids and codes of at most {MAX_ID}.")


@dataclass(frozen=True, order=True)
class Period:
    """One calendar month, e.g. ``Period(2026, 1)``; ``str(period) == "2026-01"``.

    Attributes:
        year: The year, e.g. ``2026``.
        month: The month, ``1``–``12``.
    """

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1..12, got {self.month}")

    @classmethod
    def parse(cls, text: str) -> "Period":
        """``"2026-01"`` → ``Period(2026, 1)``."""
        year, month = text.split("-")
        return cls(int(year), int(month))

    @classmethod
    def of(cls, day: dt.date) -> "Period":
        return cls(day.year, day.month)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def contains(self, day: dt.date) -> bool:
        return (day.year, day.month) == (self.year, self.month)

    def next(self) -> "Period":
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> "Period":
        return Period(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @classmethod
    def span(cls, first: "Period", last: "Period") -> list["Period"]:
        """Every month from ``first`` to ``last``, both included."""
        out, cur = [], first
        while cur <= last:
            out.append(cur)
            cur = cur.next()
        return out

    @classmethod
    def last_n(cls, n: int, before: "Period") -> list["Period"]:
        """The ``n`` months that end just before ``before`` (oldest first)."""
        out = [before.previous()]
        while len(out) < n:
            out.append(out[-1].previous())
        return list(reversed(out))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def __iter__(self) -> Iterator[int]:  # allows ``year, month = period``
        return iter((self.year, self.month))


@dataclass(frozen=True)
class StatisticField:
    """One number a vendor can report per client per month.

    Attributes:
        key: The field's key in what ``hub_fetch_statistics`` returns (unique per vendor), e.g. ``"sale_entries"``.
        label: What the admin sees in the field mapping, e.g. "Sales invoices".
        description: One sentence on what is counted (shown as help).
        advanced: Offered behind "Show more" in the field mapping.
    """

    key: str
    label: str
    description: str = ""
    advanced: bool = False


@dataclass(frozen=True)
class RateLimit:
    """A published vendor limit: at most ``requests`` per ``per_seconds`` per vendor account.

    A vendor may declare several (``VendorInfo.rate_limits``); they all hold at once — every request needs a
    slot in each (e.g. 60 per minute **and** 1,000 per day).

    Attributes:
        requests: How many requests the window allows.
        per_seconds: The window's length in seconds (``60``, ``86400``).
    """

    requests: int
    per_seconds: int


@dataclass(frozen=True)
class OAuthSpec:
    """How a vendor authorises with OAuth 2.0 (contract 1.2): the authorisation-code flow, run by the hub.

    The admin clicks "Connect with <vendor>" on the Connect tab, signs in at the vendor and is sent back; the hub
    keeps the tokens (encrypted), refreshes them before they expire and hands every hook a ``ctx.http`` that sends
    ``Authorization: Bearer <access token>``. The client id and secret of the hub's app at the vendor are operator
    settings: ``HUB_<SLUG>_OAUTH_CLIENT_ID`` and ``HUB_<SLUG>_OAUTH_CLIENT_SECRET``.

    Attributes:
        authorize_url: The vendor's authorisation endpoint (where the admin's browser is sent).
        token_url: The vendor's token endpoint (code exchange and refresh).
        scopes: The scopes the plugin needs (sent space-separated).
        pkce: Send a PKCE challenge (S256) with the authorisation request (default on; RFC 7636).
        client_auth: How the hub authenticates at the token endpoint: ``"client_secret_basic"`` (default),
            ``"client_secret_post"`` or ``"none"`` (a public client: PKCE only).
        extra_params: Further query parameters of the authorisation request the vendor documents (e.g.
            ``{"access_type": "offline"}``).
    """

    authorize_url: str
    token_url: str
    scopes: tuple[str, ...] = ()
    pkce: bool = True
    client_auth: str = "client_secret_basic"
    extra_params: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.client_auth not in OAUTH_CLIENT_AUTH:
            raise ValueError(f"OAuthSpec.client_auth must be one of {', '.join(OAUTH_CLIENT_AUTH)}, "
                             f"got {self.client_auth!r}")


#: The token-endpoint client authentication methods :class:`OAuthSpec` accepts (RFC 6749 §2.3, as Authlib names them).
OAUTH_CLIENT_AUTH = ("client_secret_basic", "client_secret_post", "none")


@dataclass(frozen=True)
class VendorInfo:
    """What the hub shows about a vendor before anything is connected. Cheap to build: no network.

    Attributes:
        slug: The vendor's id; must equal the entry-point name (``hub.vendors``).
        name: Display name, e.g. "Merit Aktiva".
        regions: ISO 3166-1 alpha-2 country codes the vendor serves.
        api_version: The vendor API version the plugin targets.
        summary: One paragraph for the Settings & Apps card.
        syncs: Human lines on what flows where, e.g. ``"Clients: Tripletex → Integration Hub"``.
        setup_steps: What the admin does in the vendor to get credentials (at least one).
        gotchas: Known pitfalls, shown before connecting.
        statistic_fields: The numbers ``hub_fetch_statistics`` reports (declared if and only if it is implemented).
        rate_limits: The vendor's published limits per account; the hub keeps every worker together under them.
        per_client_credentials: Each client may be **its own vendor account** (a Merit company, a Directo
            database). Firm credentials are then optional: a client with its own credentials is served from its
            own account for every call (statistics, export, find-invoice, catalog, payments), and the ``client``
            argument of such calls is that client's linked record in its own account (or ``None`` when the
            account is the client's alone). Client lookup runs against the firm's account when there is one.
        docs_url: The vendor's API documentation.
        requires_api: The plugin-contract version (``hub.hookspecs.HUB_API_VERSION``) the plugin was written for.
        vat_rounding: How the vendor computes an invoice's VAT (contract 1.2): ``"rate"`` (default) once per VAT
            rate on the sum of that rate's line nets, rounded half-up; ``"line"`` per line, each rounded half-up,
            then summed (Merit Aktiva). The hub totals an invoice the way the vendor it goes to books it, so what
            is issued and what is booked agree to the cent.
        oauth: The vendor authorises with OAuth 2.0 (contract 1.2): an :class:`OAuthSpec`. The Connect tab then
            offers "Connect with <name>"; pasted credentials (``hub_credentials_schema``) may be declared beside
            it (e.g. a company id) or be an empty schema.
        account_kind: (Contract 1.2) What one vendor account is called, in the vendor's words ("company" for Merit,
            "database" for Directo): the per-client credentials help says "a separate <name> <account_kind>".
    """

    slug: str
    name: str
    regions: tuple[str, ...]
    api_version: str = ""
    summary: str = ""
    syncs: tuple[str, ...] = ()
    setup_steps: tuple[str, ...] = ()
    gotchas: tuple[str, ...] = ()
    statistic_fields: tuple[StatisticField, ...] = ()
    rate_limits: tuple[RateLimit, ...] = ()
    per_client_credentials: bool = False
    docs_url: str = ""
    requires_api: str = "1.2"
    vat_rounding: str = "rate"
    oauth: OAuthSpec | None = None
    account_kind: str = "account"


@dataclass(frozen=True)
class ConnectionInfo:
    """What the vendor says the connected account is (``hub_test_connection``).

    Attributes:
        account_name: The company or database name the admin recognises.
        account_id: The vendor's id of the account, when it has one.
        expires_on: When the credential stops working, if the vendor tells (the hub warns before).
        details: Other short facts worth showing (e.g. ``{"licence": "Pro"}``).
        missing: What these credentials may not do that the integration will use, one entry per missing
            permission, in words the admin can act on (e.g. ``"Invoices: allow the 'invoice' data in the
            token's API settings"``). Fill it where the vendor allows a cheap check per capability
            (components, scopes, licence); the test still passes (the credentials work), the page
            lists what is missing. Optional: leave it empty when the vendor cannot tell.
    """

    account_name: str
    account_id: str | None = None
    expires_on: dt.date | None = None  # when the credential stops working, if the vendor tells
    details: dict[str, str] = field(default_factory=dict)
    missing: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _fit(self, ("account_name",), ("account_id",))


@dataclass(frozen=True)
class Contact:
    """A contact person of a vendor's client record.

    Attributes:
        name: The person's name.
        email: E-mail address.
        phone: Phone number as the vendor has it.
        role: What the vendor calls their role (e.g. "Accountant").
    """

    name: str
    email: str | None = None
    phone: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class Address:
    """A postal address.

    Attributes:
        street: Street and house, one line.
        city: City or town.
        postal_code: Postal code.
        country: ISO 3166-1 alpha-2 (``"EE"``); plugins convert to what their vendor wants.
    """

    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2


@dataclass(frozen=True)
class VendorClient:
    """A client (customer) record in the vendor's system, found by ``hub_list_clients``.

    Attributes:
        id: The vendor's id of the record; what a link stores and ``client`` arguments carry.
        name: The record's name.
        reg_code: Registration code (company number).
        vat_no: VAT number.
        email: E-mail address.
        contacts: Contact people.
        addresses: Addresses.
    """

    id: str
    name: str
    reg_code: str | None = None
    vat_no: str | None = None
    email: str | None = None
    contacts: tuple[Contact, ...] = ()
    addresses: tuple[Address, ...] = ()

    def __post_init__(self) -> None:
        _fit(self, ("name",), ("id",))
        _fit(self, ("reg_code", "vat_no"), limit=50)
        _fit(self, ("email",), limit=254)


@dataclass(frozen=True)
class Product:
    """A product/article in the vendor's catalog (``hub_list_products``).

    Attributes:
        id: The vendor's id.
        code: The code invoice lines carry (``InvoiceLine.product_code``).
        name: Its name.
        unit_price: Net price, when the vendor keeps one.
        unit: Unit of measure, e.g. "h", "pcs".
        tax_id: The vendor's default VAT type for it.
    """

    id: str
    code: str
    name: str
    unit_price: Decimal | None = None
    unit: str | None = None
    tax_id: str | None = None

    def __post_init__(self) -> None:
        _fit(self, ("name", "unit"), ("id", "code", "tax_id"))


@dataclass(frozen=True)
class TaxRate:
    """A VAT type / tax rate of the vendor (``hub_list_tax_rates``).

    Attributes:
        id: The vendor's id, what ``InvoiceLine.tax_id`` carries.
        code: The vendor's code.
        name: Its name.
        rate: Percent, e.g. ``Decimal("22")``.
    """

    id: str
    code: str
    name: str
    rate: Decimal  # percent, e.g. Decimal("22")

    def __post_init__(self) -> None:
        _fit(self, ("name",), ("id", "code"))


@dataclass(frozen=True)
class InvoiceParty:
    """The buyer as the hub knows it.

    Attributes:
        name: The client's name.
        reg_code: Registration code.
        vat_no: VAT number.
        email: Where invoices go.
        address: Postal address.
        vendor_client_id: The vendor's record of the client, set when the client is linked in the account the
            export goes to.
        private_person: The buyer is a private person, not a company (no registration code expected; some
            vendors report such sales differently, e.g. Merit's ``NotTDCustomer``). Contract 1.1.
    """

    name: str
    reg_code: str | None = None
    vat_no: str | None = None
    email: str | None = None
    address: Address | None = None
    vendor_client_id: str | None = None
    private_person: bool = False


@dataclass(frozen=True)
class InvoiceLine:
    """One line of an invoice.

    Attributes:
        description: What was sold (any length: a plugin shortens it to what its vendor allows).
        quantity: How many.
        unit_price: Net, in the invoice currency.
        vat_rate: Percent, e.g. ``Decimal("22")``.
        product_code: The vendor's article/product code, mapped by the hub (``None``: not mapped).
        tax_id: The vendor's VAT type / tax id, mapped by the hub (``None``: not mapped).
        unit: Unit of measure as typed in the hub (e.g. "h"), ``None`` when not given.
    """

    description: str
    quantity: Decimal
    unit_price: Decimal  # net, in the invoice currency
    vat_rate: Decimal  # percent
    product_code: str | None = None  # the vendor's article/product code (mapped by the hub)
    tax_id: str | None = None  # the vendor's VAT type / tax id (mapped by the hub)
    unit: str | None = None

    @property
    def net(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class Invoice:
    """An invoice to export.

    Attributes:
        reference: Deterministic per (invoice, vendor): store it with the vendor and use it to find the invoice
            again after an uncertain outcome (``hub_find_invoice``).
        number: The hub's invoice number (e.g. ``"INV-2026-0001"``).
        client: The buyer.
        issue_date: Issue date.
        due_date: Due date.
        currency: ISO 4217 code.
        lines: The lines, at least one.
        total_net: Sum of the lines' net amounts.
        total_vat: VAT total.
        total: ``total_net + total_vat``.
        language: The invoice language as an ISO 639-1 code (``"et"``, ``"en"``), ``None`` for the vendor's default.
        notes: Free text printed on the invoice.
    """

    reference: str
    number: str
    client: InvoiceParty
    issue_date: dt.date
    due_date: dt.date
    currency: str
    lines: tuple[InvoiceLine, ...]
    total_net: Decimal
    total_vat: Decimal
    total: Decimal
    language: str | None = None
    notes: str = ""


@dataclass(frozen=True)
class BookedLine:
    """One line as the vendor booked it (read back after an export; contract 1.2).

    Attributes:
        net: The line's net amount as the vendor holds it, in the invoice currency.
        vat: The line's VAT as the vendor holds it, ``None`` when the vendor keeps VAT only per invoice.
        vat_rate: The VAT percent the vendor applied (e.g. ``Decimal("22")``), ``None`` when it does not say.
        description: The line's text, when the vendor returns it.
    """

    net: Decimal
    vat: Decimal | None = None
    vat_rate: Decimal | None = None
    description: str | None = None


@dataclass(frozen=True)
class BookedInvoice:
    """What the vendor booked, read back from the vendor after an export (contract 1.2).

    Report the vendor's own figures, never the hub's: the core compares them with what was issued (lines, net, VAT
    and gross per VAT rate and in total, currency, buyer) and says "Confirmed" only when they agree. A vendor that
    adds a rounding line reports it as a line like any other.

    Attributes:
        currency: ISO 4217 code of the booked invoice.
        total_net: The vendor's net total.
        total_vat: The vendor's VAT total.
        total: The vendor's gross total (what the buyer owes).
        lines: The booked lines (empty when the vendor does not return them).
        buyer_code: The buyer's registration code as booked, when the vendor returns it.
        buyer_name: The buyer's name as booked, when the vendor returns it.
    """

    currency: str
    total_net: Decimal
    total_vat: Decimal
    total: Decimal
    lines: tuple[BookedLine, ...] = ()
    buyer_code: str | None = None
    buyer_name: str | None = None


@dataclass(frozen=True)
class ExportReceipt:
    """The vendor's record of an exported invoice.

    Attributes:
        vendor_invoice_id: The vendor's id of the invoice.
        number: The number the vendor gave it, if not the hub's.
        url: Where the admin can open it in the vendor.
        already_existed: The invoice was found, not created (an earlier attempt had reached the vendor).
        booked: What the vendor booked, read back (contract 1.2; ``hub_find_invoice`` fills it). ``None``: the
            plugin does not read totals back, and the hub shows "Confirmed (totals not verified)".
    """

    vendor_invoice_id: str
    number: str | None = None
    url: str | None = None
    already_existed: bool = False
    booked: BookedInvoice | None = None

    def __post_init__(self) -> None:
        _fit(self, ("number",), ("vendor_invoice_id",), limit=MAX_ID)


@dataclass(frozen=True)
class Payment:
    """Paid status of an exported invoice (``hub_fetch_payments``).

    Attributes:
        vendor_invoice_id: The vendor's id of the invoice paid.
        invoice_number: Its number, when the vendor reports it.
        paid_amount: How much is paid so far.
        paid_on: Date of the latest payment.
        fully_paid: Nothing is left to pay.
    """

    vendor_invoice_id: str
    invoice_number: str | None
    paid_amount: Decimal
    paid_on: dt.date | None
    fully_paid: bool

    def __post_init__(self) -> None:
        _fit(self, ("invoice_number",), ("vendor_invoice_id",), limit=MAX_ID)


Statistics = dict[Period, dict[str, int]]
"""``{Period(2026, 1): {"sale_entries": 12, ...}, ...}``: what ``hub_fetch_statistics`` returns."""


# -- what a hook's ``ctx`` offers ----------------------------------------------------------------------------
# The hub passes its own implementation (``hub.context.VendorContext``); a plugin annotates with these
# protocols, which are the whole of what it may rely on.
class Http(Protocol):
    """``ctx.http``: send every vendor request through it. It applies timeouts and the vendor account's
    request budget, and raises :class:`hub.errors.TransientError` for timeouts, transport errors and 5xx,
    and :class:`hub.errors.RateLimited` for 429 (with the vendor's ``Retry-After``)."""

    def request(self, method: str, url: str, **kwargs: Any) -> "httpx.Response":
        """Like ``httpx.Client.request``; the keyword arguments are httpx's."""

    def get(self, url: str, **kwargs: Any) -> "httpx.Response":
        """``request("GET", url, ...)``."""

    def post(self, url: str, **kwargs: Any) -> "httpx.Response":
        """``request("POST", url, ...)``."""

    def put(self, url: str, **kwargs: Any) -> "httpx.Response":
        """``request("PUT", url, ...)``."""

    def delete(self, url: str, **kwargs: Any) -> "httpx.Response":
        """``request("DELETE", url, ...)``."""

    def sleep(self, seconds: float) -> None:
        """Wait between polls (tests make it instant)."""


class Cache(Protocol):
    """``ctx.cache``: small JSON values kept between jobs for this vendor account, encrypted (e.g. a
    session token every worker reuses)."""

    def get(self, key: str) -> Any | None:
        """The value stored under ``key``, or ``None`` (missing or expired)."""

    def set(self, key: str, value: Any, ttl: float) -> None:
        """Store a JSON value for ``ttl`` seconds (a string value is also masked in logs from now on)."""

    def delete(self, key: str) -> None:
        """Forget ``key``."""


T = TypeVar("T")


@runtime_checkable
class Context(Protocol):
    """The ``ctx`` every hook gets first (after ``hub_vendor`` and ``hub_credentials_schema``).

    Attributes:
        vendor: Your slug.
        account: A stable, non-reversible id of the vendor account the call goes to (the firm's, or the client's
            own when it has one): the key of the request budget and of ``cache``.
        http: Send every vendor request through it (:class:`Http`).
        log: A logger (``hub.vendor.<slug>``) that masks known secrets; still, never log credentials.
        settings: Operator settings for this vendor: ``HUB_<SLUG>_<NAME>`` environment variables, e.g.
            ``HUB_TRIPLETEX_CONSUMER_TOKEN_TEST`` → ``settings["consumer_token_test"]``.
        cache: Small encrypted values kept between jobs for this account (:class:`Cache`).
    """

    vendor: str
    account: str
    http: Http
    log: "logging.Logger | logging.LoggerAdapter"
    settings: Mapping[str, Any]
    cache: Cache

    def now(self) -> dt.datetime:
        """The current time, timezone-aware UTC (tests may freeze it)."""

    def parallel(self, calls: Sequence[Callable[[], T]], max_workers: int = 4) -> list[T]:
        """Run independent vendor calls (zero-argument callables) at once, in threads; results come back in
        order and the first failure is raised. Every request still takes its slot from the account's request
        budget. Use it where one job waits on several requests (e.g. four lists × four date windows)."""
