"""HTML form fields generated from a plugin's marshmallow credentials schema.

The schema's field metadata drives the form: ``label``, ``help``, ``placeholder``, ``secret`` (→ a
password input that is never filled in), and ``validate.OneOf`` (→ a select, with the validator's
``labels`` when given). Secret values are never put into a page: a secret input is always empty and
says whether a value is stored ("leave blank to keep").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import marshmallow
from marshmallow import fields, validate


@dataclass
class FormField:
    name: str
    label: str
    kind: str  # text | password | select | checkbox | number | email | url
    required: bool = False
    help: str = ""
    placeholder: str = ""
    value: Any = None  # never set for secrets
    choices: list[tuple[str, str]] = field(default_factory=list)
    secret_state: str = ""  # secrets only: "" (nothing stored) | "saved" | "entered" (new, typed, kept in a draft)
    # | "kept" (the field was left blank: the draft holds the saved value)
    errors: list[str] = field(default_factory=list)


def _one_of(f: fields.Field) -> validate.OneOf | None:
    validators = f.validators if isinstance(f.validators, list | tuple) else [f.validators]
    return next((v for v in validators if isinstance(v, validate.OneOf)), None)


def _default(f: fields.Field) -> Any:
    default = f.load_default
    if default is marshmallow.missing:
        return None
    return default() if callable(default) else default


def _kind(f: fields.Field, secret: bool, one_of: validate.OneOf | None) -> str:
    if secret:
        return "password"
    if one_of is not None:
        return "select"
    if isinstance(f, fields.Boolean):
        return "checkbox"
    if isinstance(f, fields.Integer | fields.Float | fields.Decimal):
        return "number"
    if isinstance(f, fields.Email):
        return "email"
    if isinstance(f, fields.Url):
        return "url"
    return "text"


def form_fields(schema_cls: type[marshmallow.Schema], values: dict[str, Any] | None = None, *,
                secret_state: str = "", errors: dict[str, Any] | None = None,
                secret_states: dict[str, str] | None = None) -> list[FormField]:
    """The schema's fields as form fields, filled with ``values`` (public values only: secrets are
    dropped here whatever is passed in). ``secret_states`` sets the state of single secret fields
    (otherwise ``secret_state``)."""
    values = values or {}
    secret_states = secret_states or {}
    errors = errors or {}
    out = []
    for name, f in schema_cls().fields.items():
        if f.dump_only:
            continue
        meta = f.metadata
        secret = bool(meta.get("secret"))
        one_of = _one_of(f)
        choices: list[tuple[str, str]] = []
        if one_of is not None:
            choices = [(str(value), str(label or value)) for value, label in one_of.options()]
        value = None if secret else values.get(name, _default(f))
        messages = errors.get(name) or []
        out.append(FormField(
            name=name, label=meta.get("label") or name.replace("_", " ").capitalize(),
            kind=_kind(f, secret, one_of), required=bool(f.required), help=meta.get("help", ""),
            placeholder=meta.get("placeholder", ""), value=value, choices=choices,
            secret_state=secret_states.get(name, secret_state) if secret else "",
            errors=[in_words(m, meta.get("label") or name.replace("_", " ").capitalize(), values.get(name))
                    for m in (messages if isinstance(messages, list) else [messages])],
        ))
    return out


def submitted(schema_cls: type[marshmallow.Schema], form: Any) -> dict[str, Any]:
    """The schema's fields as posted (checkboxes become booleans; absent fields are left out, and so is a blank
    optional field that is not text — or it is None where the field allows none)."""
    out: dict[str, Any] = {}
    for name, f in schema_cls().fields.items():
        if f.dump_only:
            continue
        if isinstance(f, fields.Boolean):
            out[name] = name in form
        elif name in form:
            value = form.get(name)
            if not f.required and not isinstance(f, fields.String) and not (value or "").strip():
                if f.allow_none:  # a blank optional number, date, …: "none", as the API's null (issue 30)
                    out[name] = None
                continue  # otherwise left out, as the API's absent field
            out[name] = value
    return out


def general_errors(errors: dict[str, Any], schema_cls: type[marshmallow.Schema]) -> list[str]:
    """Messages that belong to no field of the form (``_schema`` or unknown keys)."""
    known = set(schema_cls().fields)
    out = []
    for key, messages in errors.items():
        if key in known:
            continue
        for message in messages if isinstance(messages, list) else [messages]:
            out.append(str(message))
    return out


# -- validation messages in words ---------------------------------------------------------------------------
_BETWEEN = re.compile(r"^Length must be between (\d+) and (\d+)\.$")
_LONGER = re.compile(r"^Longer than maximum length (\d+)\.$")
_SHORTER = re.compile(r"^Shorter than minimum length (\d+)\.$")
_ONE_OF = re.compile(r"^Must be one of: .*\.$")


def in_words(message: str, label: str, value: Any = None) -> str:
    """marshmallow's generic messages as a sentence naming the field ("Task title is required." rather
    than "Length must be between 1 and 200."); a plugin's or the hub's own wording passes unchanged."""
    message = str(message)
    blank = value is None or (isinstance(value, str) and not value.strip())
    if message in ("Missing data for required field.", "Field may not be null."):
        return f"{label} is required."
    if (_BETWEEN.match(message) or _SHORTER.match(message)) and blank:
        return f"{label} is required."
    if found := _BETWEEN.match(message):
        return f"{label} must be {found.group(1)} to {found.group(2)} characters long."
    if found := _LONGER.match(message):
        return f"{label} can be at most {found.group(1)} characters long."
    if found := _SHORTER.match(message):
        return f"{label} must be at least {found.group(1)} characters long."
    if message == "Not a valid email address.":
        return f"{label}: enter an e-mail address such as name@example.com."
    if message == "Not a valid integer.":
        return f"{label} must be a whole number."
    if message in ("Not a valid string.", "Not a valid number.", "Not a valid boolean."):
        return f"{label}: enter it again, this value was not understood."
    if _ONE_OF.match(message):
        return f"{label}: choose one of the options in the list."
    if message == "Unknown field.":
        return f"{label} is not part of this form."
    return message


def messages_in_words(schema_cls: type[marshmallow.Schema], errors: dict[str, Any],
                      values: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """A schema's error dict (field → messages) with each message in words, labelled from the schema."""
    values = values or {}
    labels = {name: f.metadata.get("label") or name.replace("_", " ").capitalize()
              for name, f in schema_cls().fields.items()}
    out: dict[str, list[str]] = {}
    for key, messages in errors.items():
        listed = messages if isinstance(messages, list) else [messages]
        label = labels.get(key, key.replace("_", " ").capitalize())
        out[key] = [in_words(m, label, values.get(key)) if not isinstance(m, dict) else str(m) for m in listed]
    return out
