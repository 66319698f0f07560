"""Credentials as the plugin's marshmallow schema describes them: clean, validate, split, merge.

One schema per vendor drives the form, the API, validation and storage. Fields whose metadata says
``"secret": True`` are encrypted at rest and never shown back; on edit, a blank secret keeps the
stored value.
"""

from __future__ import annotations

import re
from typing import Any

import marshmallow

#: Field names that look like secrets; such a field must be marked ``secret`` (checked at load time).
SECRET_LOOKING = re.compile(r"(token|secret|password|passwd|key)(?!.*_id$)", re.IGNORECASE)


def secret_fields(schema_cls: type[marshmallow.Schema]) -> set[str]:
    return {name for name, f in schema_cls().fields.items() if f.metadata.get("secret")}


def unmarked_secret_looking(schema_cls: type[marshmallow.Schema]) -> list[str]:
    """Field names that look like secrets but are not marked ``secret``."""
    return [name for name, f in schema_cls().fields.items()
            if SECRET_LOOKING.search(name) and not f.metadata.get("secret")]


def strip_whitespace(data: dict[str, Any]) -> dict[str, Any]:
    """Leading/trailing whitespace removed from every pasted string (the most common cause of a
    failed connection test)."""
    return {k: v.strip() if isinstance(v, str) else v for k, v in (data or {}).items()}


def merge_for_edit(schema_cls: type[marshmallow.Schema], submitted: dict[str, Any],
                   stored: dict[str, Any] | None) -> dict[str, Any]:
    """The candidate credentials: ``submitted`` with blank secret fields taken from ``stored``.

    Non-secret fields not submitted at all are kept from ``stored`` too (a partial API update).
    """
    stored = stored or {}
    known = set(schema_cls().fields)
    candidate = {k: v for k, v in stored.items() if k in known}
    secrets = secret_fields(schema_cls)
    for key, value in strip_whitespace(submitted).items():
        if key in secrets and (value is None or value == ""):
            continue  # blank secret on edit: keep the stored one
        candidate[key] = value
    return candidate


def field_label(name: str, f: marshmallow.fields.Field) -> str:
    return f.metadata.get("label") or name.replace("_", " ").capitalize()


def validate(schema_cls: type[marshmallow.Schema], data: dict[str, Any]) -> dict[str, Any]:
    """Strip, then load through the vendor's schema. Raises ``marshmallow.ValidationError`` with
    field-level messages; a required field left blank (or only spaces) is "<Label> is required."."""
    cleaned = strip_whitespace(data)
    schema = schema_cls()
    blank = {name: [f"{field_label(name, f)} is required."] for name, f in schema.fields.items()
             if f.required and not f.dump_only and cleaned.get(name) in (None, "")}
    try:
        loaded = schema.load(cleaned)
    except marshmallow.ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise marshmallow.ValidationError({**messages, **blank}) from None
    if blank:
        raise marshmallow.ValidationError(blank)
    return loaded


def split(schema_cls: type[marshmallow.Schema], data: dict[str, Any]) -> tuple[dict, dict]:
    """``(public, secret)`` parts of loaded credentials."""
    secrets = secret_fields(schema_cls)
    public = {k: v for k, v in data.items() if k not in secrets}
    secret = {k: v for k, v in data.items() if k in secrets}
    return public, secret


def describe(schema_cls: type[marshmallow.Schema], public: dict, secret: dict) -> dict[str, Any]:
    """What may be shown: public values as they are, secrets only as ``{"set": bool}``."""
    out: dict[str, Any] = {}
    for name in schema_cls().fields:
        if name in secret_fields(schema_cls):
            out[name] = {"set": bool(secret.get(name))}
        elif name in public:
            out[name] = public[name]
    return out
