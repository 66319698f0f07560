"""A firm's clients as the hub knows them: the details exports need (one schema for the page, the API and
provisioning services), and how a hub client is compared with a vendor's client record (suggested links,
the mismatch warning on a manual link).

Normalisation for matching:

* registration codes and VAT numbers: letters and digits only, upper case (``"EE 1012-3456"`` → ``"EE10123456"``);
  a VAT number also matches without its two-letter country prefix;
* names: case-folded, accents removed, punctuation dropped and legal-form words (OÜ, AS, Oy, SIA, UAB, Sp. z o.o.,
  Ltd, GmbH …) left out, so ``"Viljandi Veski OÜ"`` equals ``"VILJANDI VESKI, oü"``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import marshmallow
from marshmallow import fields, validate

from hub import audit
from hub.models import CUSTOMER_TYPES, Client, db

LEGAL_FORMS = frozenset({
    "ou", "as", "mtu", "fie", "tu", "uu", "oy", "oyj", "ab", "ky", "tmi", "sia", "uab", "mb", "ii",
    "ltd", "limited", "llc", "inc", "plc", "gmbh", "ag", "kg", "sa", "srl", "bv", "nv", "aps", "asa",
    "sp", "z", "o", "oo", "spzoo", "sk", "zoo",
})


def normalise_code(value: str | None) -> str:
    """Letters and digits of a registration code / VAT number, upper case ("" for none)."""
    return re.sub(r"[^0-9A-Za-z]", "", value or "").upper()


def normalise_name(value: str | None) -> str:
    """A company name reduced to the words that tell companies apart (see the module docstring)."""
    text = unicodedata.normalize("NFKD", (value or "").casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    words = re.findall(r"[0-9a-z]+", text)
    return " ".join(w for w in words if w not in LEGAL_FORMS)


def vat_keys(value: str | None) -> set[str]:
    """A VAT number with and without its country prefix."""
    code = normalise_code(value)
    if not code:
        return set()
    keys = {code}
    if len(code) > 2 and code[:2].isalpha():
        keys.add(code[2:])
    return keys


def mismatches(client: Client, *, name: str | None, reg_code: str | None) -> list[str]:
    """Why a vendor record (``name``, ``reg_code``) may not be this client: empty when nothing disagrees.
    A value the vendor record does not have is not a disagreement."""
    out = []
    if name and normalise_name(name) != normalise_name(client.name):
        out.append(f"the name {name!r} is not {client.name!r}")
    if reg_code and client.reg_code and normalise_code(reg_code) != normalise_code(client.reg_code):
        out.append(f"the registration code {reg_code} is not {client.name}'s {client.reg_code}")
    return out


# -- client details ----------------------------------------------------------------------------
#: The characters ``str.strip()`` removes, spelled out: a pattern with ``\s`` means other characters to other
#: regular-expression engines (ECMAScript's ``\s`` has U+FEFF and lacks U+001C-U+001F and U+0085), so the
#: API document's patterns name these instead.
WHITESPACE = "[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
NOT_WHITESPACE = "[^" + WHITESPACE[1:]


def _blank_to_none(value: Any) -> Any:
    return value.strip() or None if isinstance(value, str) else value


class ClientDetailsSchema(marshmallow.Schema):
    """The details of a client that exports need. ``partial=True`` loads a change of some fields (PATCH);
    blank strings clear a field. Shared by the client page, ``PATCH /api/v1/clients/{id}`` and services that
    provision clients."""

    name = fields.String(validate=validate.Length(min=1, max=200), metadata={"label": "Name"})
    customer_type = fields.String(validate=validate.OneOf(CUSTOMER_TYPES), metadata={
        "label": "Customer type", "help": "A company (with a registration code) or a private person."})
    reg_code = fields.String(allow_none=True, validate=validate.Length(max=50), metadata={
        "label": "Registration code", "help": "The business register code, e.g. 12345678."})
    vat_no = fields.String(allow_none=True, validate=validate.Length(max=50),
                           metadata={"label": "VAT number", "help": "With the country prefix, e.g. EE123456789."})
    email = fields.Email(allow_none=True, validate=validate.Length(max=254),
                         metadata={"label": "E-mail", "help": "Where the client's invoices go.",
                                   "anyOf": [{"format": "email"}, {"pattern": f"^{WHITESPACE}*$"}]})  # blank clears
    address_street = fields.String(allow_none=True, validate=validate.Length(max=200), metadata={"label": "Street"})
    address_city = fields.String(allow_none=True, validate=validate.Length(max=100), metadata={"label": "City"})
    address_postal_code = fields.String(allow_none=True, validate=validate.Length(max=20),
                                        metadata={"label": "Postal code"})
    address_country = fields.String(allow_none=True, validate=validate.Regexp(  # blank clears; any case
        f"^{WHITESPACE}*(?:[A-Za-z]{{2}}{WHITESPACE}*)?$", error="Use the two-letter country code, e.g. EE."),
        metadata={"label": "Country"})

    @marshmallow.pre_load
    def _clean(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = {k: _blank_to_none(v) for k, v in data.items()}
        if isinstance(out.get("address_country"), str):
            out["address_country"] = out["address_country"].upper()
        if out.get("name") is None and "name" in out:
            out["name"] = ""  # a blank name is an error, not a clearing
        return out

    @marshmallow.validates_schema
    def _company_code(self, data: dict[str, Any], partial: Any = None, **kwargs: Any) -> None:
        if data.get("customer_type") == "private" and data.get("vat_no"):
            raise marshmallow.ValidationError({"vat_no": ["A private person has no VAT number; clear it or "
                                                          "make the customer a company."]})


DETAIL_FIELDS = tuple(ClientDetailsSchema().fields)


def details(client: Client) -> dict[str, Any]:
    return {name: getattr(client, name) for name in DETAIL_FIELDS}


def update_details(client: Client, data: dict[str, Any], *, partial: bool = True) -> list[str]:
    """Validate ``data`` (raises ``marshmallow.ValidationError`` with field messages) and store it; returns the
    fields that changed."""
    loaded = ClientDetailsSchema().load(data, partial=partial)
    merged = {**details(client), **loaded}
    if merged.get("customer_type") == "private" and merged.get("vat_no"):
        raise marshmallow.ValidationError({"vat_no": ["A private person has no VAT number; clear it or make the "
                                                      "customer a company."]})
    other = same_code(client.firm_id, loaded.get("reg_code"), exclude=client.id)
    if other is not None:
        raise CodeTaken(code_taken(other))
    changed = sorted(k for k, v in loaded.items() if getattr(client, k) != v)
    for key in changed:
        setattr(client, key, loaded[key])
    db.session.commit()
    if changed:
        audit.record(client.firm_id, "client.details_changed", client,
                     details={"changed_fields": changed})
    return changed


class CodeTaken(marshmallow.ValidationError):
    """Another client of the firm has the registration code: the request is fine, the firm's state refuses it
    (the API answers ``409 Conflict`` with the field message; the pages show it on the field)."""


def code_taken(existing: Client) -> dict[str, list[str]]:
    """The field message when ``existing`` already has the registration code a new or changed client would have:
    one company is one client (a second record would split its history) — New client, the Details page, the
    API, the CSV import (pages, CLI) and the service API all refuse it in these words."""
    return {"reg_code": [f"{existing.name} has this registration code already; edit that client instead."]}


def same_code(firm_id: int, reg_code: str | None, *, exclude: int | None = None) -> Client | None:
    """The firm's client whose registration code is ``reg_code`` once normalised (:func:`normalise_code`)."""
    code = normalise_code(reg_code)
    if not code:
        return None
    candidates = Client.query.filter(Client.firm_id == firm_id, Client.reg_code.isnot(None))
    return next((c for c in candidates if c.id != exclude and normalise_code(c.reg_code) == code), None)


def create(firm_id: int, data: dict[str, Any]) -> Client:
    """A new client of firm ``firm_id`` from ``data`` (:class:`ClientDetailsSchema`; a name is needed). Raises
    ``marshmallow.ValidationError`` with field messages, also when another client of the firm has the same
    registration code (a second record of one company would split its history)."""
    unnamed = not (data.get("name") or "").strip() if isinstance(data.get("name"), str | None) else False
    try:
        loaded = ClientDetailsSchema().load(data)
    except marshmallow.ValidationError as exc:
        messages = exc.normalized_messages()
        if unnamed:
            messages["name"] = ["A new client needs a name."]
        raise marshmallow.ValidationError(messages) from None
    if unnamed or not loaded.get("name"):
        raise marshmallow.ValidationError({"name": ["A new client needs a name."]})
    existing = same_code(firm_id, loaded.get("reg_code"))
    if existing is not None:
        raise CodeTaken(code_taken(existing))
    client = Client(firm_id=firm_id, customer_type="company", active=True)
    for key, value in loaded.items():
        if value is not None:
            setattr(client, key, value)
    db.session.add(client)
    db.session.commit()
    audit.record(firm_id, "client.created", client,
                 details={"name": client.name, "fields": sorted(k for k, v in loaded.items() if v is not None)})
    return client
