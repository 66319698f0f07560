"""THE plugin contract: every hook a vendor plugin may implement, documented where it is declared.

Rules that hold for every hook (read these once):

* A vendor plugin is a module (or object) registered under the entry-point group ``hub.vendors``;
  the entry-point name is the vendor **slug**. Implement hooks with ``@hub.hookimpl``.
* ``hub_vendor`` and ``hub_credentials_schema`` are required. Every other hook is optional, and a
  vendor's **capabilities are the hooks it implements** — the UI and API offer nothing else.
* The core calls each hook on **one named vendor only** (never a broadcast), so an implementation
  never checks "is this call for me?".
* Hooks are synchronous. They run inside RQ worker jobs, never in a web request.
* ``ctx`` (a :class:`hub.types.Context`) comes first: ``ctx.http`` (an httpx client with
  timeouts, rate budget and error mapping — use it for every vendor request), ``ctx.log`` (a logger
  that masks secrets), ``ctx.settings`` (operator settings for this vendor, e.g. a partner token),
  ``ctx.cache`` (a small encrypted key/value store that survives between jobs, e.g. for session
  tokens), ``ctx.now()`` and ``ctx.parallel(calls)`` (independent vendor calls at the same time, e.g. several
  date windows; the request budget still applies to each request).
* ``credentials`` is the dict the vendor's credentials schema loaded: whitespace already stripped,
  validated, secrets decrypted. Never log it, never put it in an error message.
* Raise :mod:`hub.errors` to fail: ``AuthError`` / ``ConfigError`` (not retried; the connection
  needs attention), ``RateLimited`` / ``TransientError`` (retried), ``VendorRejected`` (field
  messages), ``NotSupported``. ``ctx.http`` already raises ``TransientError`` for timeouts,
  transport errors and 5xx, and ``RateLimited`` for 429.
* An implementation may accept fewer arguments than the spec lists (pluggy passes only the ones it
  names). New optional arguments may be added to a hook in a minor release; removing or renaming one
  needs a deprecation cycle (see ``docs/plugins/compatibility.md``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import marshmallow

    from hub.types import (
        ConnectionInfo,
        Context,
        ExportReceipt,
        Invoice,
        Payment,
        Period,
        Product,
        Statistics,
        TaxRate,
        VendorClient,
        VendorInfo,
    )

PROJECT = "hub"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: Version of this contract. Plugins may require a range (see ``hub.plugins``); bumped in the minor
#: part when hooks or optional arguments are added, in the major part when anything is removed.
HUB_API_VERSION = "1.2"


@hookspec(firstresult=True)
def hub_vendor() -> "VendorInfo":
    """Describe the vendor: slug (must equal the entry-point name), display name, regions, API
    version, what syncs in which direction, setup steps and gotchas for the admin, the statistic
    fields it offers (``StatisticField(key, label, advanced=...)``) and its published rate limits.

    Required. Must be cheap: no network, no heavy imports. Statistic fields must be declared if and
    only if ``hub_fetch_statistics`` is implemented.
    """


@hookspec(firstresult=True)
def hub_credentials_schema() -> "type[marshmallow.Schema]":
    """Return the marshmallow ``Schema`` class for this vendor's credentials.

    Required. The one schema drives the admin form, the API, validation and storage. Each field
    carries ``metadata={"label": ..., "help": ..., "secret": bool, "placeholder": ...}``; choices
    use ``validate.OneOf`` (rendered as a select). Fields marked ``secret`` are encrypted at rest
    and never shown again. Put normalisation and friendly validation messages in the schema (e.g.
    "paste only the prefix `acme`, not the full URL").
    """


@hookspec(firstresult=True)
def hub_test_connection(ctx: "Context", credentials: dict) -> "ConnectionInfo":
    """Check the credentials against the vendor and return what the vendor says the account is.

    Return ``ConnectionInfo(account_name=..., expires_on=...)`` — the company or database name the
    admin will recognise, and the credential's expiry date when the vendor tells it. Raise
    ``AuthError`` for wrong/expired/revoked credentials and ``ConfigError`` for a wrong country,
    host or database, each with a message that says how to fix it.
    """


@hookspec(firstresult=True)
def hub_list_clients(ctx: "Context", credentials: dict, query: str) -> "list[VendorClient]":
    """Client lookup: the vendor's client (customer) records matching ``query``.

    ``query`` is free text typed by the admin (a name or registration code); ``""`` means all. Page
    through the vendor's list to the end. Include contacts and addresses when the vendor has them.
    """


@hookspec(firstresult=True)
def hub_fetch_statistics(
    ctx: "Context", credentials: dict, client: "str | None", periods: "list[Period]",
) -> "Statistics":
    """Monthly statistics for one client over a **range of months**.

    ``client`` is the vendor's client id the firm linked, or ``None`` when the credentials are the
    client's own account (per-client credentials). ``periods`` are consecutive months, oldest first.
    Use the vendor's widest date window (fewest requests) and bucket by month. Return
    ``{period: {field_key: int}}`` with every requested period and every declared field key (0 when
    nothing happened).
    """


@hookspec(firstresult=True)
def hub_refresh_statistics(
    ctx: "Context", credentials: dict, client: "str | None", periods: "list[Period]",
) -> None:
    """Ask the vendor to recompute cached statistics before a reload reads them.

    Only for vendors that cache volumes on their side (Trigon). Return when the vendor reports the
    refresh done; raise ``TransientError`` if it does not finish within a bounded wait.
    """


@hookspec(firstresult=True)
def hub_export_invoice(ctx: "Context", credentials: dict, invoice: "Invoice") -> "ExportReceipt":
    """Create ``invoice`` in the vendor system and return the vendor's id and number.

    Must be safe to call again for the same invoice: the core calls ``hub_find_invoice`` first after
    any uncertain outcome, and a vendor answer meaning "already exists" must be returned as the
    existing invoice (``ExportReceipt(already_existed=True)``), not raised. Raise ``VendorRejected``
    with the vendor's field messages when it refuses the data. Never ask the vendor to e-mail the
    invoice to the customer.
    """


@hookspec(firstresult=True)
def hub_find_invoice(ctx: "Context", credentials: dict, invoice: "Invoice") -> "ExportReceipt | None":
    """Look the invoice up in the vendor (by ``invoice.reference`` or number); ``None`` if absent.

    Called before retrying an export whose outcome is uncertain (timeout, crash), and after every export the
    vendor accepted, to read back what it booked. Since 1.2: fill ``ExportReceipt.booked`` with the vendor's
    own figures (:class:`hub.types.BookedInvoice`: currency, totals, lines with their VAT, buyer). The core
    says "Confirmed" only when they equal what was issued; a receipt without ``booked`` is shown as
    "Confirmed (totals not verified)".
    """


@hookspec(firstresult=True)
def hub_list_products(ctx: "Context", credentials: dict) -> "list[Product]":
    """All products / articles of the account (paged to the end)."""


@hookspec(firstresult=True)
def hub_list_tax_rates(ctx: "Context", credentials: dict) -> "list[TaxRate]":
    """All VAT types / tax rates of the account, with the vendor's own ids."""


@hookspec(firstresult=True)
def hub_fetch_payments(ctx: "Context", credentials: dict, since: dt.date) -> "list[Payment]":
    """Paid status of invoices: every payment (or paid invoice) recorded on or after ``since``.

    The core matches them to exported invoices by ``vendor_invoice_id``.
    """


#: Hooks every vendor must implement.
REQUIRED_HOOKS = ("hub_vendor", "hub_credentials_schema")

#: capability name → hook. A vendor's capabilities are the hooks it implements.
CAPABILITIES = {
    "test_connection": "hub_test_connection",
    "client_lookup": "hub_list_clients",
    "statistics": "hub_fetch_statistics",
    "statistics_refresh": "hub_refresh_statistics",
    "invoice_export": "hub_export_invoice",
    "find_invoice": "hub_find_invoice",
    "products": "hub_list_products",
    "tax_rates": "hub_list_tax_rates",
    "payments": "hub_fetch_payments",
}
