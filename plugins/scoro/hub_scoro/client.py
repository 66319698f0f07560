"""The Scoro API v2 client, on ``ctx.http``.

Wire protocol (``shared/vendors/public-apis.md`` §2):

* every call is ``POST https://{subdomain}.scoro.com/api/v2/{module}/{action}[/{id}]`` (older Estonian
  accounts: ``{subdomain}.scoro.ee``) with a JSON body that carries the credentials
  (``apiKey``, ``company_account_id``), an optional ``lang``, and ``request`` / ``filter`` /
  ``page`` / ``per_page``;
* every answer is the envelope ``{"status", "statusCode", "messages", "errors"?, "data"}``; a reply
  counts as failed when ``errors`` is present or ``statusCode != 200`` (C2) — whatever the HTTP status
  line says, so both "HTTP status mirrors statusCode" and "HTTP 200 with an error envelope" work;
* lists give at most 100 objects per call: page with ``per_page=100`` until a short page;
* an address's ``country`` is ISO 3166-1 **alpha-3** (``EST``) and an invoice's ``no`` is a **number**
  (C2 types, public-apis.md §7): the hub's alpha-2 codes are converted, and a hub invoice number that
  is not all digits is not sent as ``no`` (Scoro numbers the invoice; the hub number and reference go
  in the description, where :meth:`ScoroClient.find_invoice` finds them).

Every fact relied on here is in :mod:`hub_scoro.wire` with its source.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import pycountry

from hub.errors import AuthError, ConfigError, RateLimited, TransientError, VendorRejected, parse_retry_after
from hub.types import (
    BookedInvoice,
    BookedLine,
    ConnectionInfo,
    Context,
    ExportReceipt,
    Invoice,
    InvoiceParty,
    TaxRate,
)
from hub_scoro.wire import (  # the request body's and the answer's names
    ACCOUNT_FIELD,
    API_KEY_FIELD,
    API_PATH,
    DATA,
    DETAILED_FIELD,
    ERROR_KEY,
    ERRORS,
    FILTER_FIELD,
    LANG_FIELD,
    MESSAGES,
    METHOD,
    OK_CODE,
    PAGE_FIELD,
    PER_PAGE_FIELD,
    STATUS,
    STATUS_CODE,
    fact,
)

if TYPE_CHECKING:
    import httpx

#: The most a list call returns (C1), and so the page size asked for.
PAGE_SIZE: int = fact("list_page_max")
#: A safety stop for paging (100 000 objects): a vendor that never returns a short page is a bug.
MAX_PAGES = 1000
DOMAINS: tuple[str, ...] = fact("domains")
DEFAULT_DOMAIN = DOMAINS[0]
COMPANY_ACCOUNT, USERS, VAT_CODES, CONTACTS, INVOICES = fact("modules")
DATE_FORMAT: str = fact("date_format")
#: How many of the day's requests are left (wire fact ``daily_remaining_header``); the daily limit's answer
#: (``daily_limit_answer``) says ``0`` on a 429: the daily quota is used up until it resets, not a short burst limit.
DAILY_HEADER: str = fact("daily_remaining_header")
DAILY_SPENT: str = fact("daily_limit_answer")["remaining"]
DAILY_LIMIT: int = fact("daily_request_limit")
DAILY_RESET: str = fact("daily_limit_resets")
CONTACT_TYPES: dict[str, str] = fact("contact_types")
COUNTRY_LENGTH: int = fact("address_country_length")
LANGUAGES = dict(zip(fact("languages"), ("English", "Estonian"), strict=True))
PAID, UNPAID = fact("invoice_statuses")
#: The field a duplicate invoice number is reported on (wire fact ``duplicate_no_answer``).
DUPLICATE_FIELD: str = fact("duplicate_no_answer")["field"]

SETTINGS_HINT = "In Scoro open Settings → API (an administrator's view)"


class NotFound(ConfigError):
    """Scoro answered 404 for an object or module. Callers that expect it (a fallback, a look-up)
    catch it; anywhere else it reaches the admin as a configuration problem."""


class Forbidden(AuthError):
    """Scoro answered 403: the key may not use this module, or the account is not active."""


def host(credentials: dict) -> str:
    return f"{credentials['subdomain']}.{credentials.get('domain') or DEFAULT_DOMAIN}"


def base_url(credentials: dict) -> str:
    return f"https://{host(credentials)}{API_PATH}"


def to_decimal(value: Any) -> Decimal | None:
    """A Scoro number (JSON number or numeric string, dot decimal separator) as ``Decimal``."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def _messages(body: dict) -> list[str]:
    """Every human message in an error envelope (``messages`` and ``errors``, in any of their shapes)."""
    out: list[str] = []

    def walk(value: Any) -> None:
        if value is None:
            return
        if isinstance(value, str):
            if value.strip():
                out.append(value.strip())
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        else:
            out.append(str(value))

    walk(body.get(MESSAGES))
    walk(body.get(ERRORS))
    return out


def _field_messages(body: dict) -> dict[str, list[str]]:
    """``errors`` as ``{field: [messages]}`` (``""`` for messages that name no field)."""
    fields: dict[str, list[str]] = {}
    errors = body.get(ERRORS)
    if isinstance(errors, dict):
        for name, value in errors.items():
            items = value if isinstance(value, list) else [value]
            fields.setdefault(str(name), []).extend(str(v) for v in items if v not in (None, ""))
    elif isinstance(errors, list):
        for item in errors:
            if isinstance(item, dict) and "field" in item:
                fields.setdefault(str(item["field"]), []).append(str(item.get("message", "")))
            elif item not in (None, ""):
                fields.setdefault("", []).append(str(item))
    elif isinstance(errors, str) and errors:
        fields[""] = [errors]
    messages = body.get(MESSAGES)
    if isinstance(messages, dict):
        general = messages.get(ERROR_KEY) or messages.get("errors") or []
        general = general if isinstance(general, list) else [general]
        if general and not fields:
            fields[""] = [str(m) for m in general]
    return fields


class ScoroClient:
    """One Scoro account (subdomain + company account id + API key) seen through ``ctx.http``."""

    def __init__(self, ctx: Context, credentials: dict) -> None:
        self.ctx = ctx
        self.credentials = credentials
        self.host = host(credentials)
        self.base = base_url(credentials)

    # -- one call ------------------------------------------------------------------------------
    def call(self, module: str, action: str = "list", object_id: str | int | None = None, *,
             request: dict | list | None = None, filters: dict | None = None,
             page: int | None = None, per_page: int | None = None, lang: str | None = None,
             detailed: bool = False) -> Any:
        """POST one API call and return the envelope's ``data`` (errors mapped onto hub.errors)."""
        url = f"{self.base}/{module}/{action}" + (f"/{object_id}" if object_id is not None else "")
        body: dict[str, Any] = {
            API_KEY_FIELD: self.credentials["api_key"],
            ACCOUNT_FIELD: self.credentials["company_account_id"],
            "request": request if request is not None else {},
        }
        if lang:
            body[LANG_FIELD] = lang
        if filters:
            body[FILTER_FIELD] = filters
        if page is not None:
            body[PAGE_FIELD] = page
        if per_page is not None:
            body[PER_PAGE_FIELD] = per_page
        if detailed:
            body[DETAILED_FIELD] = True
        try:
            response = self.ctx.http.request(METHOD, url, content=json.dumps(body, separators=(",", ":")).encode(),
                                             headers={"Content-Type": "application/json",
                                                      "Accept": "application/json"})
        except RateLimited as exc:
            # ctx.http answers a 429 itself, with its headers (contract 1.2): the 429's own daily reading tells the
            # daily quota (0 left) from a short burst
            if ((exc.headers or {}).get(DAILY_HEADER) or "").strip() == DAILY_SPENT:
                raise self.daily_quota_spent() from None
            raise
        return self._data(response, module)

    def daily_quota_spent(self) -> RateLimited:
        """The daily quota is used up: wait until it resets at 00:00 UTC (wire fact ``daily_limit_resets``)."""
        now = self.ctx.now()
        return RateLimited(
            f"Scoro's daily API request quota for {self.host} is used up ({DAILY_HEADER}: {DAILY_SPENT}); it resets "
            f"at {DAILY_RESET}.", retry_after=seconds_to_reset(now), until=next_reset(now), quota="daily",
            hint=f"The hub waits for Scoro's daily quota until {DAILY_RESET} and then carries on. Scoro allows "
                 f"{DAILY_LIMIT} API requests per day per account by default; ask Scoro for a higher quota if this "
                 "happens often.")

    def _data(self, response: "httpx.Response", module: str) -> Any:
        http_status = response.status_code
        if 300 <= http_status < 400:
            # An unknown subdomain is sent to Scoro's login/landing page [INF].
            raise self._no_such_account()
        try:
            body = json.loads(response.content, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict) or not ({STATUS, STATUS_CODE, DATA} & set(body)):
            if http_status == 404:
                raise self._no_such_account()
            if http_status in (401, 403):
                raise self._auth_error([])
            raise TransientError(f"Scoro ({self.host}) answered HTTP {http_status} with something that is not "
                                 "its JSON API envelope.", hint="The hub will try again later.")
        try:
            code = int(body.get(STATUS_CODE) or http_status)
        except (TypeError, ValueError):
            code = http_status
        status = str(body.get(STATUS) or "").upper()
        if code == OK_CODE and not body.get(ERRORS) and status in ("OK", ""):
            return body.get(DATA)
        if code == OK_CODE:
            code = 400  # "status": "ERROR" or an ``errors`` member under a 200 statusCode
        messages = _messages(body)
        if code == 401:
            raise self._auth_error(messages)
        if code == 403:
            raise Forbidden(f"Scoro refused access ({self._said(messages)}).",
                            hint=f"The API key needs access to the '{module}' module and the Scoro account must be "
                                 f"active. {SETTINGS_HINT} to check the key's permissions, or ask your Scoro "
                                 "administrator.")
        if code == 404:
            raise NotFound(f"Scoro could not find what the hub asked for in '{module}' ({self._said(messages)}).",
                           hint="Check that your Scoro plan and the API key's role include this module.")
        if code == 429:
            if (response.headers.get(DAILY_HEADER) or "").strip() == DAILY_SPENT:
                raise self.daily_quota_spent()
            raise RateLimited(f"Scoro's API request limit for {self.host} was reached ({self._said(messages)}).",
                              retry_after=parse_retry_after(response.headers.get("Retry-After")),
                              hint=f"Scoro allows {DAILY_LIMIT} API requests per day per account by default; "
                                   "the hub will try again later.")
        if code >= 500:
            raise TransientError(f"Scoro answered with a server error ({code}).", hint="The hub will try again later.")
        raise VendorRejected(f"Scoro refused the request: {self._said(messages)}.",
                             field_messages=_field_messages(body))

    @staticmethod
    def _said(messages: list[str]) -> str:
        return "; ".join(m.rstrip(".") for m in messages)[:500] if messages else "no message given"

    def _auth_error(self, messages: list[str]) -> AuthError:
        said = f" Scoro said: {self._said(messages)}." if messages else ""
        return AuthError(f"Scoro did not accept the API key and company account ID for {self.host}.{said}",
                         hint=f"{SETTINGS_HINT}, copy the company account ID and the API key again (generate a "
                              "new key if it was reset or revoked) and paste them here.")

    def _no_such_account(self) -> ConfigError:
        domain = self.credentials.get("domain") or DEFAULT_DOMAIN
        other = next(d for d in DOMAINS if d != domain)
        return ConfigError(f"There is no Scoro account at {self.host}.", field="subdomain",
                           hint=f"Enter only the prefix of your Scoro address (the part before .{domain}, e.g. "
                                f"'acme'). If your Scoro address ends in .{other}, choose {other}.")

    # -- lists ---------------------------------------------------------------------------------
    def iter_list(self, module: str, *, filters: dict | None = None, detailed: bool = False) -> Iterator[dict]:
        """Every object of a list call, page by page (``per_page=100``) until a short page."""
        for page in range(1, MAX_PAGES + 1):
            data = self.call(module, "list", filters=filters, page=page, per_page=PAGE_SIZE, detailed=detailed)
            if data is None:
                return
            if isinstance(data, dict):  # some modules key objects by id
                data = list(data.values())
            if not isinstance(data, list):
                raise TransientError(f"Scoro's {module}/list answer has no list of objects.",
                                     hint="The hub will try again later.")
            yield from (item for item in data if isinstance(item, dict))
            if len(data) < PAGE_SIZE:
                return
        raise TransientError(f"Scoro's {module}/list did not end after {MAX_PAGES} pages.")

    # -- capabilities --------------------------------------------------------------------------
    def connection_info(self) -> ConnectionInfo:
        """``companyAccount/list`` (the business entities: names the admin recognises); when the key may
        not read that module, ``users/list`` (the credential test third-party clients use, C3: wire fact
        ``connection_test_call``)."""
        try:
            data = self.call(COMPANY_ACCOUNT, "list", page=1, per_page=PAGE_SIZE)
        except (Forbidden, NotFound):
            module, action = fact("connection_test_call").split("/")
            self.call(module, action, page=1, per_page=1)
            data = None
        entities = list(data.values()) if isinstance(data, dict) else (data or [])
        names = [name for entity in entities if isinstance(entity, dict) and (name := _entity_name(entity))]
        details = {"host": self.host, "language": LANGUAGES.get(self.credentials.get("language", ""), "")}
        if len(names) > 1:
            details["business_entities"] = ", ".join(names)
        return ConnectionInfo(account_name=names[0] if names else self.host,
                              account_id=str(self.credentials["company_account_id"]),
                              details={k: v for k, v in details.items() if v})

    def vat_codes(self) -> list[dict]:
        return list(self.iter_list(VAT_CODES))

    def tax_rates(self) -> list[TaxRate]:
        """Active sales VAT codes (purchase-only and inactive codes cannot go on a sales invoice)."""
        out = []
        for item in self.vat_codes():
            if not _usable_for_sales(item):
                continue
            code_id = item.get("vat_code_id", item.get("id"))
            if code_id is None:
                continue
            rate = to_decimal(item.get("percent"))
            out.append(TaxRate(id=str(code_id), code=str(item.get("vat_code") or code_id),
                               name=str(item.get("vat_name") or item.get("vat_code") or code_id),
                               rate=rate if rate is not None else Decimal("0")))
        return out

    def export_invoice(self, invoice: Invoice) -> ExportReceipt:
        """Create the invoice. With a numeric hub number Scoro's unique ``no`` guards against a second
        copy; an invoice Scoro numbers itself is looked up (by date and reference) before it is created."""
        address = scoro_address(invoice.client)  # a bad country is refused before anything is sent
        if scoro_number(invoice.number) is None:
            found = self.find_invoice(invoice)
            if found is not None:
                return found
        request = self.invoice_request(invoice, self.company_id(invoice.client, address))
        try:
            data = self.call(INVOICES, "modify", request=request, lang=self.credentials.get("language"))
        except VendorRejected as exc:
            if not _is_duplicate_number(exc.field_messages):
                raise
            found = self.find_invoice(invoice)
            if found is not None:
                return found
            raise VendorRejected(f"Scoro already has an invoice numbered {invoice.number} that the hub did not "
                                 "create.", field_messages=exc.field_messages,
                                 hint="Renumber or delete that invoice in Scoro, or change the number in the hub, "
                                      "then export again.") from None
        if not isinstance(data, dict) or not (data.get("id") or data.get("invoice_id")):
            raise TransientError("Scoro accepted the invoice but its answer has no invoice id.",
                                 hint="The hub will look the invoice up before trying again.")
        return ExportReceipt(vendor_invoice_id=str(data.get("id") or data.get("invoice_id")),
                             number=str(data.get("no") or invoice.number))

    def find_invoice(self, invoice: Invoice) -> ExportReceipt | None:
        """The invoice carrying this invoice's hub reference in its description (so an invoice typed by
        hand with the same number is never taken for ours). Listed by ``no`` when the hub number is
        Scoro's number, else by the issue ``date`` (Scoro numbered it itself)."""
        marker = reference_marker(invoice.reference)
        number = scoro_number(invoice.number)
        if number is not None:
            filters: dict[str, Any] = {"no": number}
        else:
            filters = {"date": invoice.issue_date.strftime(DATE_FORMAT)}
        for item in self.iter_list(INVOICES, filters=filters):
            if _flag(item.get("is_deleted"), False):
                continue
            if number is not None and scoro_number(str(item.get("no", ""))) != number:
                continue
            if number is None and str(item.get("date", "")) != filters["date"]:
                continue
            invoice_id = item.get("id") or item.get("invoice_id")
            description, viewed = item.get("description"), None
            if description is None and invoice_id is not None:  # a slim list answer: read the invoice
                try:
                    viewed = self.view_invoice(invoice_id) or {}
                except NotFound:
                    continue
                description = viewed.get("description")
            if marker in str(description or ""):
                return ExportReceipt(vendor_invoice_id=str(invoice_id), number=str(item.get("no")),
                                     already_existed=True, booked=self.booked(invoice_id, viewed))
        return None

    def booked(self, invoice_id: Any, viewed: dict | None = None) -> BookedInvoice | None:
        """What Scoro booked, from its own ``invoices/view/{id}`` answer (``viewed`` when already read): ``sum``
        (net), ``vat_sum``, ``currency`` and per line its ``sum`` and ``vat`` (a percent; Scoro keeps no VAT amount
        per line). ``None`` when the answer has no totals. The buyer is a contact id only, so none is reported."""
        data = viewed
        if data is None:
            try:
                data = self.view_invoice(invoice_id)
            except NotFound:
                return None
        net, vat = to_decimal((data or {}).get("sum")), to_decimal((data or {}).get("vat_sum"))
        if not isinstance(data, dict) or net is None or vat is None:
            return None
        lines = tuple(BookedLine(net=to_decimal(line.get("sum")) or Decimal(0), vat_rate=to_decimal(line.get("vat")),
                                 description=str(line.get("comment") or "") or None)
                      for line in data.get("lines") or [] if isinstance(line, dict))
        return BookedInvoice(currency=str(data.get("currency") or ""), total_net=net, total_vat=vat,
                             total=net + vat, lines=lines)

    def view_invoice(self, invoice_id: Any) -> Any:
        """One invoice with its lines (wire fact ``invoice_view_call``: ``invoices/view/{id}``)."""
        module, action, _ = fact("invoice_view_call").split("/")
        return self.call(module, action, invoice_id)

    # -- invoice building ----------------------------------------------------------------------
    def company_id(self, party: InvoiceParty, address: dict | None = None) -> int | str:
        """The Scoro contact to invoice: the linked one, else found by registry code / VAT number /
        name, else created (``contacts/modify``, with ``address`` as Scoro spells it). Remembered in
        ``ctx.cache`` for a day."""
        if party.vendor_client_id:
            return _id(party.vendor_client_id)
        identity = json.dumps([party.name, party.reg_code, party.vat_no]).encode()
        key = "contact:" + hashlib.sha256(identity).hexdigest()[:24]
        cached = self.ctx.cache.get(key)
        if cached is not None:
            return cached
        if party.reg_code:
            filters, match = {"id_code": party.reg_code}, lambda c: str(c.get("id_code") or "") == party.reg_code
        elif party.vat_no:
            filters, match = {"vatno": party.vat_no}, lambda c: str(c.get("vatno") or "") == party.vat_no
        else:
            filters = {"name": party.name}
            match = lambda c: str(c.get("name") or "").casefold() == party.name.casefold()  # noqa: E731
        found = next((c.get("contact_id") for c in self.iter_list(CONTACTS, filters=filters)
                      if match(c) and not _flag(c.get("is_deleted"), False)), None)
        if found is None:
            created = self.call(CONTACTS, "modify", request=contact_request(party, address))
            found = created.get("contact_id") if isinstance(created, dict) else None
            if found is None:
                raise TransientError("Scoro created the client contact but its answer has no contact id.",
                                     hint="The hub will try again later.")
        self.ctx.cache.set(key, found, 86400)
        return found

    def sales_vat_code(self, rate: Decimal) -> int | str | None:
        """The active sales VAT code with this percentage (for lines the hub could not map)."""
        codes = self.ctx.cache.get("vat_codes")
        if codes is None:
            codes = [{"id": c.get("vat_code_id"), "percent": str(c.get("percent")), "na": c.get("is_not_applicable")}
                     for c in self.vat_codes() if _usable_for_sales(c)]
            self.ctx.cache.set("vat_codes", codes, 3600)
        for code in codes:
            if to_decimal(code["percent"]) == rate and not _flag(code.get("na"), False):
                return code["id"]
        return None

    def invoice_request(self, invoice: Invoice, company_id: int | str) -> dict:
        lines = []
        for line in invoice.lines:
            vat_code_id = _id(line.tax_id) if line.tax_id else self.sales_vat_code(line.vat_rate)
            item: dict[str, Any] = {
                "comment": line.description,
                "amount": _num(line.quantity),
                "price": _num(line.unit_price),
                "sum": _num(line.net.quantize(CENT)),
                "vat": _num(line.vat_rate),
            }
            if vat_code_id is not None:
                item["vat_code_id"] = vat_code_id
            if line.unit:
                item["unit"] = line.unit
            if line.product_code and line.product_code.isdigit():
                item["product_id"] = int(line.product_code)
            lines.append(item)
        request: dict[str, Any] = {}
        number = scoro_number(invoice.number)
        if number is not None:
            request["no"] = number
        return {
            **request,
            "date": invoice.issue_date.strftime(DATE_FORMAT),
            "deadline": invoice.due_date.strftime(DATE_FORMAT),
            "currency": invoice.currency,
            "company_id": company_id,
            "status": UNPAID,
            "sum": _num(invoice.total_net),
            "vat_sum": _num(invoice.total_vat),
            "description": description(invoice),
            "lines": lines,
        }


CENT = Decimal("0.01")
MARKER_PREFIX = "Hub reference: "
NUMBER_PREFIX = "Hub invoice number: "
#: Scoro's ``no`` is a number (C2): the longest all-digit hub number sent as one (a 64-bit integer).
MAX_NUMBER_DIGITS = 18


def next_reset(now: dt.datetime) -> dt.datetime:
    """The next 00:00 UTC after ``now``, when Scoro's daily quota resets."""
    now = now.astimezone(dt.UTC)
    return dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def seconds_to_reset(now: dt.datetime) -> float:
    """Seconds from ``now`` to the next 00:00 UTC, when Scoro's daily quota resets."""
    return (next_reset(now) - now.astimezone(dt.UTC)).total_seconds()


def reference_marker(reference: str) -> str:
    return f"{MARKER_PREFIX}{reference}"


def scoro_number(number: str) -> int | None:
    """The hub invoice number as Scoro's numeric ``no``, or ``None`` when it is not all ASCII digits
    (``INV-2026-0001``): such an invoice is sent without ``no`` and Scoro gives it the next number of
    its own series (``"0042"`` becomes ``42``)."""
    text = number.strip()
    if not (text.isascii() and text.isdigit()) or len(text.lstrip("0")) > MAX_NUMBER_DIGITS:
        return None
    return int(text)


def description(invoice: Invoice) -> str:
    """The invoice description: the notes, then the hub number (only when Scoro numbers the invoice
    itself) and the hub reference, each on a line of its own."""
    lines = [] if scoro_number(invoice.number) is not None else [f"{NUMBER_PREFIX}{invoice.number}"]
    lines.append(reference_marker(invoice.reference))
    notes = invoice.notes.strip()
    return "\n".join([notes, "", *lines] if notes else lines)


def scoro_country(code: str) -> str:
    """An ISO 3166-1 country code as Scoro's address ``country``: alpha-3 (``EE`` → ``EST``). The hub
    carries alpha-2; an alpha-3 code is accepted as it is. Anything else is the caller's data:
    ``VendorRejected`` naming the value, before anything is sent."""
    text = code.strip().upper()
    found = None
    if len(text) == 2:
        found = pycountry.countries.get(alpha_2=text)
    elif len(text) == COUNTRY_LENGTH:
        found = pycountry.countries.get(alpha_3=text)
    if found is None:
        raise VendorRejected(
            f"The client's country {code!r} is not an ISO 3166-1 country code, so Scoro cannot take the address.",
            field_messages={"client.address.country": [f"{code!r} is not an ISO 3166-1 country code."]},
            hint="Fix the country in the client's address in the hub (two letters, e.g. EE for Estonia, GR for "
                 "Greece), then export again.")
    return found.alpha_3


def scoro_address(party: InvoiceParty) -> dict | None:
    """The party's address as a Scoro address object (``street``, ``city``, ``zipcode``, ``country``)."""
    if not party.address:
        return None
    country = scoro_country(party.address.country) if party.address.country else None
    address = {"street": party.address.street, "city": party.address.city,
               "zipcode": party.address.postal_code, "country": country}
    return {k: v for k, v in address.items() if v} or None


def contact_request(party: InvoiceParty, address: dict | None = None) -> dict:
    # a private person is a Scoro "person" contact (wire fact contact_types); the hub has one name, sent whole
    kind = CONTACT_TYPES["private" if party.private_person else "company"]
    request: dict[str, Any] = {"contact_type": kind, "name": party.name, "is_client": 1}
    if party.reg_code:
        request["id_code"] = party.reg_code
    if party.vat_no:
        request["vatno"] = party.vat_no
    if party.email:
        request["means_of_contact"] = {"email": [party.email]}
    if address:
        request["addresses"] = [address]
    return request


def _num(value: Decimal) -> int | float:
    """A Decimal as a JSON number. ``float`` repr is the shortest text that round-trips, so the number
    written is exactly the decimal one (2-4 decimals, far below float's 15 significant digits)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _id(value: str) -> int | str:
    return int(value) if str(value).isdigit() else value


def _flag(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no")
    return bool(value)


def _usable_for_sales(item: dict) -> bool:
    return _flag(item.get("is_active"), True) and _flag(item.get("is_sales"), True)


def _entity_name(entity: dict) -> str:
    for key in ("name", "company_name", "account_name", "title"):
        if entity.get(key):
            return str(entity[key]).strip()
    return ""


def _is_duplicate_number(field_messages: dict[str, list[str]]) -> bool:
    words = ("exist", "duplicate", "already", "unique", "in use")
    return any(any(w in message.lower() for w in words) for message in field_messages.get(DUPLICATE_FIELD, []))
