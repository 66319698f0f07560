"""The Tripletex API v2 client, on ``ctx.http``: requests, answers, and their mapping to and from hub types.

What it relies on about the wire is in :mod:`hub_tripletex.wire` (read with ``fact()``), each fact with its source:

* Hosts: production ``base_url_production``, test ``base_url_test``.
* Auth: ``POST session_create_path`` with the JSON body ``session_create_body`` (no auth header; the spec's
  preferred form, the ``PUT`` + query form is deprecated) → ``201 {value.token}``; then HTTP ``auth_scheme``
  ``<companyId>:<sessionToken>`` (``own_company_id`` = the token owner's own company). The session token is
  cached in ``ctx.cache`` until it lapses (midnight ``session_timezone`` at the start of ``expirationDate``)
  and re-created once on a 401.
* Envelopes: ``single_value_key`` and ``list_envelope``; paging with ``paging_params`` until a page comes back
  shorter than the page size.
* Errors: ``error_body``, with ``validation_message_keys`` per validation message.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import time
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from hub.errors import AuthError, ConfigError, RateLimited, TransientError, VendorRejected
from hub.types import (
    Address,
    BookedInvoice,
    BookedLine,
    ConnectionInfo,
    Context,
    ExportReceipt,
    Invoice,
    InvoiceParty,
    Product,
    TaxRate,
    VendorClient,
)

from .wire import fact

OSLO = ZoneInfo(fact("session_timezone"))
BASE_URLS = {"production": fact("base_url_production"), "test": fact("base_url_test")}
ENV_LABEL = {"production": "Production", "test": "Test"}
#: Sessions are asked to expire this many days ahead (at midnight Europe/Oslo).
SESSION_DAYS = 2
#: A cached session is dropped this long before it lapses.
SESSION_MARGIN = dt.timedelta(minutes=10)
REGENERATE_HINT = ("Generate a new employee token in Tripletex (Company → API access / Selskap → API-tilgang), "
                   "paste it into the integration and click Test connection.")


class TripletexClient:
    """One Tripletex account (an employee token in one environment, acting for one company)."""

    def __init__(self, ctx: Context, credentials: dict, *, page_size: int | None = None) -> None:
        self.ctx = ctx
        self.environment = credentials.get("environment") or "production"
        if self.environment not in BASE_URLS:
            raise ConfigError(f"Unknown Tripletex environment {self.environment!r}.", field="environment",
                              hint="Choose Production or Test.")
        self.base = BASE_URLS[self.environment]
        self.employee_token = credentials["employee_token"]
        self.company_id = str(credentials.get("company_id") or fact("own_company_id"))
        #: The API's default (``count``), our page size for every list call.
        self.page_size = page_size or fact("page_size")
        digest = hashlib.sha256(f"{self.environment}\0{self.employee_token}".encode()).hexdigest()[:24]
        self.cache_key = f"tripletex-session:{digest}"
        #: (X-Rate-Limit-Reset seconds, X-Rate-Limit-Remaining, monotonic time) of the last answer
        self._rate: tuple[float, int | None, float] | None = None

    # -- session tokens ------------------------------------------------------------------------------
    def consumer_token(self) -> str:
        token = (self.ctx.settings or {}).get(f"consumer_token_{self.environment}")
        if not token:
            raise ConfigError(
                f"The hub has no Tripletex consumer token for the {ENV_LABEL[self.environment].lower()} environment.",
                hint=f"Operator: set HUB_TRIPLETEX_CONSUMER_TOKEN_{self.environment.upper()} (the partner token "
                     "Tripletex issued to the hub) and restart the hub and its workers.")
        return str(token)

    def session_token(self, *, fresh: bool = False) -> str:
        if not fresh:
            cached = self.ctx.cache.get(self.cache_key)
            if isinstance(cached, dict) and cached.get("token"):
                return cached["token"]
        self.ctx.cache.delete(self.cache_key)
        token, lapses = self._create_session()
        ttl = (lapses - self.ctx.now() - SESSION_MARGIN).total_seconds()
        if ttl > 0:
            self.ctx.cache.set(self.cache_key, {"token": token, "lapses": lapses.isoformat()}, ttl)
        return token

    def _create_session(self) -> tuple[str, dt.datetime]:
        today = self.ctx.now().astimezone(OSLO).date()
        expiration = today + dt.timedelta(days=SESSION_DAYS)
        # POST with the tokens in a JSON body: the spec (2.74) marks the PUT-with-query-parameters form
        # deprecated, and tokens in a URL end up in access logs.
        body = dict(zip(fact("session_create_body"), (self.consumer_token(), self.employee_token,
                                                        expiration.strftime(fact("date_format"))), strict=True))
        response = self._send("POST", f"{self.base}{fact('session_create_path')}",
                              content=json.dumps(body).encode("utf-8"),
                              headers={"Accept": "application/json", "Content-Type": "application/json"})
        if response.status_code == 401:
            raise self._auth_failure(response)
        if response.status_code not in (200, fact("created_status")):
            self._raise_for(response, "creating a Tripletex session")
        value = self._json(response).get(fact("single_value_key"))
        token = value.get(fact("session_token_key")) if isinstance(value, dict) else None
        if not isinstance(token, str) or not token:
            raise TransientError("Tripletex created a session but sent no session token.",
                                 hint="The hub will try again later.")
        try:
            lapses_on = dt.datetime.strptime(str(value.get(fact("session_expiry_key")) or ""),
                                             fact("date_format")).date()
        except ValueError:
            lapses_on = expiration
        return token, dt.datetime.combine(lapses_on, dt.time(0, 0), tzinfo=OSLO)

    def _auth_failure(self, response: httpx.Response) -> Exception:
        """A 401 from session creation: a token for the other environment, or a dead token."""
        is_test_token = self.employee_token.startswith(fact("test_token_prefix"))
        if self.environment == "production" and is_test_token:
            return ConfigError("This employee token is for the Tripletex test environment (it starts with "
                               "\"test-\") but the integration is set to Production.", field="environment",
                               hint="Choose Test as the environment, or paste a production employee token.")
        if self.environment == "test" and not is_test_token:
            return ConfigError("This employee token looks like a production token (Tripletex test tokens start "
                               "with \"test-\") but the integration is set to Test.", field="environment",
                               hint="Choose Production as the environment, or paste a test employee token.")
        return AuthError("Tripletex did not accept the employee token: it is wrong, has expired or was revoked.",
                         hint=REGENERATE_HINT + self._request_id_note(response))

    def _basic(self, token: str) -> str:
        return f"{fact('auth_scheme')} " + base64.b64encode(f"{self.company_id}:{token}".encode()).decode("ascii")

    # -- requests ------------------------------------------------------------------------------------
    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.ctx.http.request(method, url, **kwargs)
        except RateLimited as exc:
            # Tripletex sends X-Rate-Limit-Reset (seconds left in the period), not Retry-After. The core
            # does not hand us the 429 itself, so when the previous answer said the budget was (nearly)
            # spent, the period's end is the best estimate of when requests are accepted again.
            if exc.retry_after is None and self._rate is not None:
                reset, remaining, seen = self._rate
                if remaining is not None and remaining <= 1:
                    exc.retry_after = max(1.0, reset - (time.monotonic() - seen))
            exc.hint = exc.hint or ("Tripletex limits requests per employee token and API consumer; the hub "
                                    "will try again when the period resets.")
            raise
        _, remaining_header, reset_header = fact("rate_limit_headers")
        try:
            reset = float(response.headers[reset_header])
        except (KeyError, ValueError):
            return response
        try:
            remaining: int | None = int(response.headers[remaining_header])
        except (KeyError, ValueError):
            remaining = None
        self._rate = (reset, remaining, time.monotonic())
        return response

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                body: Any = None) -> httpx.Response:
        """An authenticated call; a 401 re-creates the session once (it may have lapsed early)."""
        kwargs: dict[str, Any] = {"params": params or {}}
        headers = {"Accept": "application/json"}
        if body is not None:
            kwargs["content"] = json.dumps(body, default=_json_default, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        for attempt in (1, 2):
            token = self.session_token(fresh=attempt == 2)
            auth = {**headers, "Authorization": self._basic(token)}
            response = self._send(method, f"{self.base}{path}", headers=auth, **kwargs)
            if response.status_code != 401:
                return response
            self.ctx.cache.delete(self.cache_key)
        raise AuthError("Tripletex no longer accepts the employee token (it has expired or was revoked).",
                        hint=REGENERATE_HINT + self._request_id_note(response))

    def get_value(self, path: str, params: dict[str, Any] | None = None, *, what: str) -> dict[str, Any]:
        response = self.request("GET", path, params=params)
        if response.status_code != 200:
            self._raise_for(response, what)
        value = self._json(response).get(fact("single_value_key"))
        if not isinstance(value, dict):
            raise TransientError(f"Tripletex answered {what} without a value.", hint="The hub will try again later.")
        return value

    def iter_list(self, path: str, params: dict[str, Any] | None = None, *, what: str) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, paging with ``from``/``count`` to the end."""
        start = 0
        from_param, count_param = fact("paging_params")
        while True:
            response = self.request("GET", path, params={**(params or {}), from_param: start,
                                                         count_param: self.page_size})
            if response.status_code != 200:
                self._raise_for(response, what)
            values = self._json(response).get(fact("list_values_key"))
            if not isinstance(values, list):
                raise TransientError(f"Tripletex answered {what} without a list of values.",
                                     hint="The hub will try again later.")
            yield from values
            if len(values) < self.page_size:
                return
            start += len(values)

    # -- answers ---------------------------------------------------------------------------------------
    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise TransientError("Tripletex answered with something that is not the expected JSON "
                                 f"(HTTP {response.status_code}).", hint="The hub will try again later.")
        return body

    @staticmethod
    def _error_body(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def _request_id_note(self, response: httpx.Response) -> str:
        request_id = (self._error_body(response).get(fact("error_request_id_key"))
                      or response.headers.get(fact("request_id_header")))
        return f" (Tripletex request id {request_id}.)" if request_id else ""

    def _raise_for(self, response: httpx.Response, what: str) -> None:
        """Map a non-success answer (other than 429/5xx, which ``ctx.http`` handles) onto hub errors."""
        status = response.status_code
        body = self._error_body(response)
        message = str(body.get(fact("error_message_key")) or "").strip().rstrip(".")
        note = self._request_id_note(response)
        if status == 401:
            raise AuthError("Tripletex did not accept the employee token.", hint=REGENERATE_HINT + note)
        if status == 403:
            if self.company_id != "0":
                raise ConfigError(f"The Tripletex user behind this token has no access to company {self.company_id}.",
                                  field="company_id",
                                  hint="Check the client company id, or leave it at 0 for the token owner's own "
                                       "company." + note)
            raise AuthError(f"The Tripletex user behind this token is not allowed {what}.",
                            hint="Give the user access to this area in Tripletex, or generate the employee token "
                                 "for a user who has it." + note)
        if status == 404:
            raise ConfigError(f"Tripletex could not find what the hub asked for while {what}.", field="environment",
                              hint="Check that the environment (Production/Test) is the one the token belongs "
                                   "to." + note)
        if status in (400, 409, 422) or 400 <= status < 500:
            field_messages: dict[str, list[str]] = {}
            field_key, message_key = fact("validation_message_keys")[:2]
            for item in body.get(fact("error_validation_key")) or []:
                if isinstance(item, dict) and item.get(message_key):
                    field_messages.setdefault(str(item.get(field_key) or ""), []).append(str(item[message_key]))
            if not field_messages and message:
                field_messages[""] = [message]
            if status == 409:
                reason = message or "the object already exists or changed"
                text = f"Tripletex reported a conflict while {what}: {reason}."
            else:
                text = f"Tripletex refused the request while {what}: {message or f'HTTP {status}'}."
            raise VendorRejected(text, field_messages=field_messages, hint=note.strip() or None)
        raise TransientError(f"Tripletex answered HTTP {status} while {what}.", hint="The hub will try again later.")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.strftime(fact("date_format"))
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# -- the hooks' wire work: reads, mapping to hub types, invoice export -------------------------------
def connection_info(client: TripletexClient) -> ConnectionInfo:
    """Who the session acts for (``GET who_am_i_path``)."""
    who = client.get_value(fact("who_am_i_path"), {"fields": fact("who_am_i_fields")}, what="checking the connection")
    company = who.get("company") or {}
    employee = who.get("employee") or {}
    details = {"environment": client.environment}
    if company.get("organizationNumber"):
        details["organization_number"] = str(company["organizationNumber"])
    user = " ".join(str(employee.get(k) or "") for k in ("firstName", "lastName")).strip()
    if user:
        details["user"] = user
    return ConnectionInfo(account_name=str(company.get("name") or f"Tripletex company {who.get('companyId')}"),
                          account_id=str(who.get("companyId") or company.get("id") or ""), details=details)


def _client_from(row: dict) -> VendorClient:
    address = row.get("postalAddress") or {}
    addresses = ()
    street = ", ".join(x for x in (address.get("addressLine1"), address.get("addressLine2")) if x)
    if street or address.get("city"):
        addresses = (Address(street=street or None, city=address.get("city") or None,
                             postal_code=address.get("postalCode") or None,
                             country=(address.get("country") or {}).get("isoAlpha2Code") or None),)
    return VendorClient(id=str(row["id"]), name=str(row.get("name") or ""),
                        reg_code=str(row.get("organizationNumber") or "") or None,
                        email=row.get("invoiceEmail") or row.get("email") or None, addresses=addresses)


def _org_number(text: str | None) -> str | None:
    digits = re.sub(r"[\s.-]", "", text or "").upper().removeprefix("NO").removesuffix("MVA")
    return digits if len(digits) == 9 and digits.isdigit() else None


def list_clients(client: TripletexClient, query: str) -> list[VendorClient]:
    query = (query or "").strip()
    org = _org_number(query)
    params = {"fields": fact("customer_fields")}
    if org:  # the API filters by organisation number ("Equals"); its customerName filter is documented only as
        # "Name" (whether it matches part of a name is not said), so a name, a number or part of either is matched here
        params[fact("org_number_param")] = org
    rows = client.iter_list(fact("customer_path"), params, what="listing customers")
    needle = query.casefold()
    out = []
    for row in rows:
        if not org and needle and needle not in str(row.get("name") or "").casefold() \
                and needle != str(row.get("customerNumber") or "") \
                and needle not in str(row.get("organizationNumber") or ""):
            continue
        out.append(_client_from(row))
    return out


def list_products(client: TripletexClient) -> list[Product]:
    out = []
    for row in client.iter_list(fact("product_path"), {fact("inactive_param"): "false",
                                                       "fields": fact("product_fields")},
                                what="listing products"):
        price = row.get("priceExcludingVatCurrency")
        out.append(Product(id=str(row["id"]), code=str(row.get("number") or row["id"]), name=str(row.get("name") or ""),
                           unit_price=Decimal(str(price)) if price is not None else None,
                           unit=(row.get("productUnit") or {}).get("name") or None,
                           tax_id=str((row.get("vatType") or {}).get("id")) if row.get("vatType") else None))
    return out


def list_tax_rates(client: TripletexClient) -> list[TaxRate]:
    """The VAT types an outgoing (sales) invoice may carry: the spec's ``typeOfVat=OUTGOING`` filter of
    ``GET /ledger/vatType`` leaves out the purchase (input VAT deduction) types, valid today."""
    kind, outgoing = fact("sales_vat_filter")
    return [TaxRate(id=str(row["id"]), code=str(row.get("number") or row["id"]), name=str(row.get("name") or ""),
                    rate=Decimal(str(row.get("percentage") or 0)))
            for row in client.iter_list(fact("vat_type_path"), {kind: outgoing, "fields": fact("vat_type_fields")},
                                        what="listing VAT types")]


# -- invoices ---------------------------------------------------------------------------------------
def find_invoice(client: TripletexClient, invoice: Invoice) -> ExportReceipt | None:
    """The invoice whose order carries ``invoice.reference`` (``Order.reference``), dated on its issue date, with
    what Tripletex booked (one request). What it reads (``find_fields``: fields of the spec's ``Invoice``,
    ``Order``, ``OrderLine``, ``VatType``, ``Customer`` and ``Currency``): the order's reference to find the
    invoice, and what Tripletex booked, for the read-back."""
    date_from, date_to = fact("invoice_date_range")
    day = fact("date_format")
    params = {date_from: invoice.issue_date.strftime(day),
              date_to: (invoice.issue_date + dt.timedelta(days=1)).strftime(day),  # "to" is exclusive
              "fields": fact("find_fields")}
    reference = fact("order_reference_key")
    for row in client.iter_list(fact("invoice_path"), params, what="looking up the invoice"):
        if any((order or {}).get(reference) == invoice.reference for order in row.get("orders") or []):
            return ExportReceipt(vendor_invoice_id=str(row["id"]), number=str(row.get("invoiceNumber") or "") or None,
                                 already_existed=True, booked=_booked(row))
    return None


def _amount(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01")) if value is not None else None
    except InvalidOperation:
        return None


def _booked(row: dict) -> BookedInvoice | None:
    """What Tripletex booked (its own ``Invoice`` answer): ``invoice_net_key`` (net), ``invoice_gross_key``
    (gross; VAT = gross − net), the currency's ``code``, the customer's ``name`` and ``organizationNumber``, and per
    order line its net and gross in the invoice currency (``line_net_key``, ``line_gross_key``) and its VAT type's
    ``percentage``. ``None`` without totals. That ``amountCurrency`` holds no øre rounding
    (``amountRoundoffCurrency``) in the sandbox is the sandbox's choice."""
    net, gross = _amount(row.get(fact("invoice_net_key"))), _amount(row.get(fact("invoice_gross_key")))
    if net is None or gross is None:
        return None
    lines = []
    for order in row.get("orders") or []:
        for line in (order or {}).get("orderLines") or []:
            line_net, line_gross = _amount(line.get(fact("line_net_key"))), _amount(line.get(fact("line_gross_key")))
            if line_net is None:
                continue
            percentage = (line.get("vatType") or {}).get("percentage")
            lines.append(BookedLine(net=line_net, vat=line_gross - line_net if line_gross is not None else None,
                                    vat_rate=Decimal(str(percentage)) if percentage is not None else None,
                                    description=line.get("description") or None))
    customer = row.get("customer") or {}
    return BookedInvoice(currency=str((row.get("currency") or {}).get("code") or ""), total_net=net,
                         total_vat=gross - net, total=gross, lines=tuple(lines),
                         buyer_code=customer.get("organizationNumber") or None, buyer_name=customer.get("name") or None)


def _same_name(a: str | None, b: str | None) -> bool:
    return " ".join(str(a or "").split()).casefold() == " ".join(str(b or "").split()).casefold()


def _existing_customer(client: TripletexClient, party: InvoiceParty, org: str | None) -> int | None:
    """The Tripletex customer that already is ``party``, active or not, or ``None``.

    ``GET /customer`` answers only active customers unless ``isInactive=true`` (its default is false), so
    each lookup is made for active customers first and then for inactive ones: a customer someone
    deactivated in Tripletex is reused rather than created again. By organisation number
    (``organizationNumber``, "Equals"), then by name (``customerName``; whether Tripletex matches it
    exactly or as a part of the name the spec does not say, so the name is compared here too). A name
    match whose organisation number differs is another company and is not taken."""
    org_param, name_param = fact("org_number_param"), fact("customer_name_param")
    lookups: list[dict[str, str]] = []
    if org:
        lookups.append({org_param: org})
    name = " ".join(party.name.split())
    if name:
        lookups.append({name_param: name})
    for params in lookups:
        for inactive in ("false", "true"):
            for row in client.iter_list(fact("customer_path"), {**params, fact("inactive_param"): inactive,
                                                                "fields": fact("customer_lookup_fields")},
                                        what="looking up the customer"):
                row_org = str(row.get("organizationNumber") or "")
                if org_param in params:
                    if row_org == org:
                        return int(row["id"])
                elif _same_name(row.get("name"), party.name) and (not org or not row_org or row_org == org):
                    return int(row["id"])
    return None


def _customer_id(client: TripletexClient, party: InvoiceParty) -> int:
    if party.vendor_client_id:
        try:
            return int(party.vendor_client_id)
        except ValueError:
            raise VendorRejected("The linked Tripletex customer id is not a number.",
                                 field_messages={"client": ["Link the client to a Tripletex customer again."]})
    org = _org_number(party.reg_code)
    existing = _existing_customer(client, party, org)
    if existing is not None:
        return existing
    body: dict[str, Any] = {"name": party.name.strip(), "isPrivateIndividual": org is None and not party.reg_code}
    if org:
        body["organizationNumber"] = org
    if party.email:
        body["email"] = party.email
        body["invoiceEmail"] = party.email
    if party.address:
        body["postalAddress"] = {k: v for k, v in {"addressLine1": party.address.street,
                                                   "postalCode": party.address.postal_code,
                                                   "city": party.address.city}.items() if v}
    response = client.request("POST", fact("customer_path"), body=body)
    if response.status_code != fact("created_status"):
        client._raise_for(response, "creating the customer")
    return int(client._json(response)[fact("single_value_key")]["id"])


def default_vat_types() -> dict[Decimal, int]:
    """The standard outgoing Norwegian VAT type per rate, used when a line has no mapped tax id."""
    return {**{Decimal(rate): vat for rate, vat in fact("vat_type_ids").items()}, Decimal("0"): fact("vat_type_zero")}


def _vat_type(line_no: int, tax_id: str | None, rate: Decimal) -> int:
    if tax_id:
        try:
            return int(tax_id)
        except ValueError:
            pass
        raise VendorRejected("A line's VAT type is not a Tripletex VAT type id.",
                             field_messages={f"lines[{line_no}].tax_id": [f"{tax_id!r} is not a Tripletex VAT type "
                                                                          "id; map the tax rate again."]})
    try:
        vat = default_vat_types().get(Decimal(rate).normalize())
    except InvalidOperation:
        vat = None
    if vat is None:
        raise VendorRejected(f"No Tripletex VAT type is mapped for {rate}% VAT.",
                             field_messages={f"lines[{line_no}].tax_id": ["Map this tax rate to a Tripletex VAT type "
                                                                          "in the integration settings."]})
    return vat


def _invoice_body(client: TripletexClient, invoice: Invoice, customer_id: int) -> dict[str, Any]:
    products: dict[str, int] = {}
    if any(line.product_code for line in invoice.lines):
        for row in client.iter_list(fact("product_path"), {"fields": fact("product_number_fields")},
                                    what="looking up products"):
            if row.get("number"):
                products[str(row["number"])] = int(row["id"])
    lines = []
    for no, line in enumerate(invoice.lines):
        item: dict[str, Any] = {"description": line.description, "count": line.quantity,
                                fact("line_price_key"): line.unit_price,
                                "vatType": {"id": _vat_type(no, line.tax_id, line.vat_rate)}}
        if line.product_code:
            if line.product_code not in products:
                raise VendorRejected(f"Tripletex has no product number {line.product_code!r}.",
                                     field_messages={f"lines[{no}].product_code": [
                                         "Map the line to an existing Tripletex product number."]})
            item["product"] = {"id": products[line.product_code]}
        lines.append(item)
    order: dict[str, Any] = {"customer": {"id": customer_id}, "orderDate": invoice.issue_date,
                             "deliveryDate": invoice.issue_date, fact("order_reference_key"): invoice.reference,
                             fact("prices_include_vat_key"): False, "orderLines": lines}
    if invoice.notes:
        order[fact("order_comment_key")] = invoice.notes
    currency = (invoice.currency or fact("home_currency")).upper()
    if currency != fact("home_currency"):
        found = next(iter(client.iter_list(fact("currency_path"), {fact("currency_code_param"): currency,
                                                                   "fields": fact("currency_fields")},
                                           what="looking up the currency")), None)
        if found is None:
            raise VendorRejected(f"Tripletex does not know the currency {currency}.",
                                 field_messages={"currency": [f"{currency} is not a Tripletex currency."]})
        order["currency"] = {"id": int(found["id"])}
    return {"invoiceDate": invoice.issue_date, "invoiceDueDate": invoice.due_date,
            "customer": {"id": customer_id}, "orders": [order]}


def export_invoice(client: TripletexClient, invoice: Invoice) -> ExportReceipt:
    existing = find_invoice(client, invoice)  # lookup-before-create: an earlier attempt may have got through
    if existing is not None:
        return existing
    body = _invoice_body(client, invoice, _customer_id(client, invoice.client))
    # sendToCustomer defaults to true in Tripletex: always say false, the hub never has Tripletex e-mail it.
    response = client.request("POST", fact("invoice_path"), params={fact("send_to_customer_param"): "false"},
                              body=body)
    if response.status_code == 409:
        existing = find_invoice(client, invoice)
        if existing is not None:
            return existing
    if response.status_code not in (200, fact("created_status")):
        client._raise_for(response, "creating the invoice")
    value = client._json(response).get(fact("single_value_key")) or {}
    if not value.get("id"):
        existing = find_invoice(client, invoice)
        if existing is not None:
            return existing
        raise TransientError("Tripletex answered the invoice export without the new invoice's id.",
                             hint="The hub will look the invoice up and try again later.")
    return ExportReceipt(vendor_invoice_id=str(value["id"]), number=str(value.get("invoiceNumber") or "") or None)
