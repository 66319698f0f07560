"""Directo XML Direct client, on ``ctx.http``.

Wire protocol (``/work/shared/vendors/public-apis.md`` §5, sources D1 = wiki.directo.ee, D2 = the
``5dvision/directo`` PHP SDK, D3 = a Go client following ``xml_IN_arved.xsd``):

* one endpoint, ``POST https://login.directo.ee/xmlcore/cap_xml_direct/xmlcore.asp``, form-encoded;
* the access token travels as the form field ``token`` (never in the URL);
* read: ``get=1&what=<component>&<filters>``; the whole result comes back at once (no paging, D1);
* write: ``put=1&what=<component>&xmldata=<XML document>``; one ``<Result Type=… Desc=… docid=…>`` per
  document in ``<results>``;
* authentication failures come back as **HTTP 200** with ``<result type="5" desc="Unauthorized"/>``
  (bad token) or ``<err>token required</err>`` (missing token);
* on failure Directo asks for a retry after 60 s or more, so every retryable error carries
  ``retry_after >= 60``.

Every answer is parsed with ``defusedxml`` and DTDs are refused outright: a hostile answer
(billion laughs, external entities) cannot expand entities, read files or reach the network.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from hub.errors import AuthError, ConfigError, RateLimited, TransientError

if TYPE_CHECKING:
    from hub.types import Context

HOST = "login.directo.ee"
XML_DIRECT_URL = f"https://{HOST}/xmlcore/cap_xml_direct/xmlcore.asp"
#: Directo's own advice after a failed call: "retry after 60 s or more" (D1 responses and error codes).
RETRY_AFTER = 60.0
#: A customer code that cannot exist: the cheap connection test reads ``what=customer&code=<this>``.
PROBE_CODE = "UKU-HUB-CONNECTION-TEST"
#: A day with no documents: the per-component permission check reads nothing.
PROBE_DAY = "01.01.1990"
#: Largest document number Directo accepts (int, D1 technical requirements).
MAX_DOC_NUMBER = 2147483647

#: Human names of the components this plugin reads or writes (used in error messages).
COMPONENTS = {
    "customer": "customers",
    "item": "articles (items)",
    "invoice": "sales invoices",
    "purchase": "purchase invoices",
    "receipt": "receipts (customer payments)",
    "transaction": "financial transactions",
}

#: Directo's VAT codes (``vatcode`` on an invoice row): code → (name, percent). XML Direct has no component that
#: lists them (public-apis.md §5 "[gap]") and no published artifact names the values: the XSDs only type them
#: (``vatcode`` xsd:int in xml_IN_kliendid/xml_IN_laekumised, xsd:string in xml_IN_artiklid). These are the Estonian
#: standard codes of a Directo database as this project assumes them (wire fact ``vat_codes``, **assumed**); a
#: database with other codes needs this table extended.
VAT_CODES: dict[str, tuple[str, Decimal]] = {
    "1": ("Käibemaks 24%", Decimal("24")),
    "2": ("Käibemaks 9%", Decimal("9")),
    "3": ("Käibemaks 0%", Decimal("0")),
    "4": ("Käibemaks 13%", Decimal("13")),
    "22": ("Käibemaks 22%", Decimal("22")),
}
#: The buyer's type on an invoice with the buyer put inline (``customer_type``; values of xml_IN_kliendid.xsd
#: ``type``: company = 0, private citizen = 1). The invoice attribute's name is assumed (wire fact
#: ``invoice_buyer_type_field``).
BUYER_TYPE_FIELD = "customer_type"
BUYER_TYPES = {"company": "0", "private": "1"}

AUTH_HINT = ("Check that the access token was copied whole (no spaces), that it has not expired or been revoked, "
             "and that it belongs to this company database; if in doubt, generate a new token in Directo "
             "(Settings → System settings → API access) and paste it here.")


@dataclass(frozen=True)
class PutResult:
    """One ``<Result>`` of a put answer."""

    type: int
    desc: str
    docid: str | None
    doctype: str | None


# -- low level ---------------------------------------------------------------------------------------
def parse_xml(content: bytes, *, what: str) -> Element:
    """Parse a Directo answer safely: DTDs, entities and external references are refused."""
    if not content.strip():
        raise TransientError(f"Directo sent an empty answer when reading {COMPONENTS.get(what, what)}.",
                             hint="The hub will try again later.", retry_after=RETRY_AFTER)
    try:
        return SafeET.fromstring(content, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise TransientError(
            "Directo's answer declared XML entities or a DTD, which the hub refuses to read for safety.",
            hint="This is not a normal Directo answer (a proxy or a misconfigured server may be in between). "
                 "The hub will try again later; contact support if it persists.", retry_after=RETRY_AFTER,
        ) from None
    except (ParseError, ValueError):
        raise TransientError("Directo answered with something that is not XML.",
                             hint="Directo may be under maintenance; the hub will try again later.",
                             retry_after=RETRY_AFTER) from None


def _raise_for_auth(root: Element, what: str, verb: str = "reading") -> None:
    """Authentication failures arrive as HTTP 200 bodies (D1, D2 ``ErrorResponseDetector``)."""
    tag = root.tag.lower()
    if tag == "err":
        text = (root.text or "").strip()
        if "token" in text.lower():
            if "required" in text.lower():
                raise AuthError("Directo did not receive an access token.",
                                hint="Paste the access token from Directo into the connection settings.")
            raise AuthError(f"Directo refused the access token ({text[:100]}).", hint=AUTH_HINT)
        raise TransientError(f"Directo reported an error while reading {COMPONENTS.get(what, what)}: "
                             f"{text[:200] or 'no details'}.", hint="The hub will try again later.",
                             retry_after=RETRY_AFTER)
    candidates = [root] if tag == "result" else [el for el in root if el.tag.lower() == "result"]
    for result in candidates if tag in ("result", "results") else []:
        if _attr(result, "type") == "5":
            raise AuthError(
                f"Directo refused the access token (Unauthorized) when {verb} {COMPONENTS.get(what, what)}.",
                hint=AUTH_HINT + f" If the token is limited to chosen components, allow '{what}' for it.",
            )


def _attr(element: Element, name: str) -> str | None:
    """An attribute, case-insensitively (Directo writes ``Type``/``type``, ``Desc``/``desc``)."""
    if name in element.attrib:
        return element.attrib[name]
    lowered = name.lower()
    for key, value in element.attrib.items():
        if key.lower() == lowered:
            return value
    return None


class DirectoClient:
    """XML Direct calls for one set of credentials."""

    def __init__(self, ctx: "Context", credentials: dict) -> None:
        self.ctx = ctx
        self.token: str = credentials["token"]
        self.database: str = credentials["database"]

    def _post(self, form: dict[str, str], what: str) -> bytes:
        try:
            response = self.ctx.http.post(XML_DIRECT_URL, data={"token": self.token, **form},
                                          headers={"Accept": "application/xml, text/xml"})
        except (RateLimited, TransientError) as exc:  # Directo: "retry after 60 s or more"
            exc.retry_after = max(exc.retry_after or 0.0, RETRY_AFTER)
            raise
        status = response.status_code
        if status in (401, 403):
            raise AuthError(f"Directo refused the access token (HTTP {status}).", hint=AUTH_HINT)
        if status == 404:
            raise ConfigError("Directo's XML Direct address was not found (HTTP 404).",
                              hint="XML Direct may not be enabled for this database; ask your Directo administrator.")
        if status >= 400:
            raise TransientError(f"Directo answered HTTP {status} when reading {COMPONENTS.get(what, what)}.",
                                 hint="The hub will try again later.", retry_after=RETRY_AFTER)
        return response.content

    def _check_database(self, root: Element) -> None:
        """A token belongs to one database. The sandbox (and, we assume, Directo) names it on the
        ``<transport>`` root [INF]; when it names another one than configured, say so."""
        reported = _attr(root, "database")
        if reported and reported.lower() != self.database.lower():
            raise ConfigError(
                f"This access token belongs to the Directo database '{reported}', not '{self.database}'.",
                hint=f"Either correct the company database code to '{reported}', or generate a token in the "
                     f"'{self.database}' database and paste it.", field="database")

    def get(self, what: str, **filters: str) -> Element:
        """``get=1&what=<what>`` with filters; the parsed ``<transport>`` root."""
        content = self._post({"get": "1", "what": what, **filters}, what)
        root = parse_xml(content, what=what)
        _raise_for_auth(root, what)
        if root.tag.lower() != "transport":
            raise TransientError(f"Directo answered with an unexpected document <{root.tag[:40]}> when reading "
                                 f"{COMPONENTS.get(what, what)}.", hint="The hub will try again later.",
                                 retry_after=RETRY_AFTER)
        self._check_database(root)
        return root

    def missing_components(self, used: dict[str, str]) -> list[str]:
        """Of ``used`` (component → what the hub uses it for), the components this token may not read: one
        cheap read each (a filter that matches nothing); a component-limited token answers Unauthorized."""
        missing = []
        for what, purpose in used.items():
            try:
                self.get(what, code=PROBE_CODE, date1=PROBE_DAY, date2=PROBE_DAY)
            except AuthError:
                missing.append(f"{COMPONENTS.get(what, what).capitalize()} ({purpose}): ask your Directo "
                               f"administrator to allow the “{what}” component for this token.")
        return missing

    def records(self, what: str, **filters: str) -> list[Element]:
        """Every ``<what>`` record of the answer, with or without a plural container element
        (both shapes occur: D2 fixtures ``transport-with-container`` / ``-without-container``)."""
        root = self.get(what, **filters)
        return [el for el in root.iter() if el.tag.lower() == what]

    def put(self, what: str, xmldata: str, **params: str) -> list[PutResult]:
        content = self._post({"put": "1", "what": what, "xmldata": xmldata, **params}, what)
        root = parse_xml(content, what=what)
        _raise_for_auth(root, what, "sending")
        results = [el for el in ([root] if root.tag.lower() == "result" else root.iter())
                   if el.tag.lower() == "result"]
        if not results:
            raise TransientError("Directo's answer to the upload had no result.",
                                 hint="The hub will check whether the document arrived and try again.",
                                 retry_after=RETRY_AFTER)
        out = []
        for el in results:
            try:
                code = int(_attr(el, "type") or "")
            except ValueError:
                code = -1
            out.append(PutResult(code, (_attr(el, "desc") or "").strip(), _attr(el, "docid") or None,
                                 _attr(el, "doctype")))
        return out


# -- formats -----------------------------------------------------------------------------------------
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y")


def parse_date(value: str | None) -> dt.date | None:
    """Directo dates: ISO (``2026-01-31``, ``2026-01-31T10:30:00``) or Estonian ``31.01.2026``
    (optionally with a time); both occur in documented answers (D1 curl example, D2 fixtures)."""
    if not value:
        return None
    text = value.strip()
    head = re.split(r"[T ]", text, maxsplit=1)[0]
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(head, fmt).date()
        except ValueError:
            continue
    return None


def format_date(day: dt.date) -> str:
    """Filter dates as in the D1 example (``dd.mm.yyyy``)."""
    return day.strftime("%d.%m.%Y")


def parse_decimal(value: str | None) -> Decimal | None:
    if value is None or not value.strip():
        return None
    try:
        return Decimal(value.strip().replace("\u00a0", "").replace(" ", "").replace(",", "."))
    except InvalidOperation:
        return None


def format_decimal(value: Decimal) -> str:
    """Directo numbers: plain, ``.`` as the decimal separator, no thousands separator."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".") or "0"
    return text


def attr(element: Element, *names: str) -> str | None:
    """The first present, non-empty attribute among ``names`` (case-insensitive)."""
    for name in names:
        value = _attr(element, name)
        if value is not None and value.strip():
            return value.strip()
    return None


def rows(element: Element) -> Iterator[Element]:
    """The ``<row>`` children of a document (inside ``<rows>`` or directly)."""
    for el in element.iter():
        if el is not element and el.tag.lower() == "row":
            yield el
