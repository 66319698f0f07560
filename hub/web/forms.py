"""HTML form fields generated from a plugin's marshmallow credentials schema.

The schema's field metadata drives the form: ``label``, ``help``, ``placeholder``, ``secret`` (→ a
password input that is never filled in), and ``validate.OneOf`` (→ a select, with the validator's
``labels`` when given). Secret values are never put into a page: a secret input is always empty and
says whether a value is stored ("leave blank to keep").
"""

from __future__ import annotations

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
    secret_state: str = ""  # secrets only: "" (nothing stored) | "saved" | "entered" (typed, kept in a draft)
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
            errors=[str(m) for m in (messages if isinstance(messages, list) else [messages])],
        ))
    return out


def submitted(schema_cls: type[marshmallow.Schema], form: Any) -> dict[str, Any]:
    """The schema's fields as posted (checkboxes become booleans; absent fields are left out)."""
    out: dict[str, Any] = {}
    for name, f in schema_cls().fields.items():
        if f.dump_only:
            continue
        if isinstance(f, fields.Boolean):
            out[name] = name in form
        elif name in form:
            out[name] = form.get(name)
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
