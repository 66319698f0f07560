"""``/api/v1/vendors``: the installed vendor plugins, their capabilities and credentials schema."""

from __future__ import annotations

from typing import Any

import marshmallow
from apispec.ext.marshmallow import OpenAPIConverter

from hub import credentials as creds
from hub.api.common import doc_errors, make_blueprint, not_found
from hub.api.schemas import VendorSchema
from hub.plugins import LoadFailure, Vendor
from hub.services import services

blp = make_blueprint("api-vendors", "Installed vendor plugins: capabilities, statistic fields, credentials schema.")
VENDOR_PARAM = {"in": "path", "name": "slug", "example": "example", "description": "The vendor's slug."}


def credentials_component_name(slug: str) -> str:
    """The name of vendor ``slug``'s credentials schema among the document's components."""
    return "Credentials_" + "".join(ch if ch.isalnum() else "_" for ch in slug)


def credentials_json_schema(schema_cls: type[marshmallow.Schema]) -> dict[str, Any]:
    """The vendor's credentials schema as JSON Schema: labels as titles, help as descriptions, secret
    fields ``writeOnly`` (they are never returned)."""
    converter = OpenAPIConverter(openapi_version="3.0.3", schema_name_resolver=lambda _schema: None, spec=None)
    out = converter.schema2jsonschema(schema_cls())
    secrets = creds.secret_fields(schema_cls)
    for name, field in schema_cls().fields.items():
        prop = out.get("properties", {}).get(field.data_key or name)
        if prop is None:
            continue
        meta = field.metadata
        if meta.get("label"):
            prop["title"] = meta["label"]
        if meta.get("help"):
            prop["description"] = meta["help"]
        if meta.get("placeholder"):
            prop["x-placeholder"] = meta["placeholder"]
        if name in secrets:
            prop["writeOnly"] = True
            prop["format"] = "password"
    return out


def vendor_out(vendor: Vendor) -> dict[str, Any]:
    info = vendor.info
    return {
        "slug": vendor.slug, "name": info.name, "loaded": True, "error": None, "distribution": vendor.distribution,
        "version": vendor.version, "regions": list(info.regions), "summary": info.summary,
        "capabilities": list(vendor.capabilities),
        "statistic_fields": [{"key": f.key, "label": f.label, "description": f.description, "advanced": f.advanced}
                             for f in info.statistic_fields],
        "per_client_credentials": info.per_client_credentials, "setup_steps": list(info.setup_steps),
        "gotchas": list(info.gotchas), "credentials_schema": credentials_json_schema(vendor.schema),
    }


def failure_out(failure: LoadFailure) -> dict[str, Any]:
    return {"slug": failure.slug, "name": None, "loaded": False, "error": failure.error,
            "distribution": failure.distribution, "version": failure.version, "regions": [], "summary": "",
            "capabilities": [], "statistic_fields": [], "per_client_credentials": False, "setup_steps": [],
            "gotchas": [], "credentials_schema": {}}


def _all() -> dict[str, dict[str, Any]]:
    registry = services().registry
    rows = {slug: vendor_out(v) for slug, v in registry.vendors.items()}
    rows.update({slug: failure_out(f) for slug, f in registry.failures.items() if slug not in rows})
    return dict(sorted(rows.items()))


@blp.route("/vendors", methods=["GET"])
@blp.response(200, VendorSchema(many=True))
@doc_errors(blp)
def list_vendors() -> Any:
    """Installed vendor plugins, including ones that failed to load (with their error)."""
    return list(_all().values())


@blp.route("/vendors/<vendor:slug>", methods=["GET"], parameters=[VENDOR_PARAM])
@blp.response(200, VendorSchema)
@doc_errors(blp, 404)
def get_vendor(slug: str) -> Any:
    """One vendor plugin: capabilities, statistic fields and the credentials JSON Schema."""
    row = _all().get(slug)
    if row is None:
        not_found("No such vendor plugin is installed.")
    return row
