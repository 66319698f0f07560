"""The API's marshmallow schemas. Where the pages already have a schema for the same thing it is reused
(:class:`hub.statistics.SummarySettingsSchema`, each vendor's credentials schema rendered as JSON Schema)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import marshmallow
from marshmallow import fields, validate

from hub import exports
from hub.clients import NOT_WHITESPACE, WHITESPACE
from hub.statistics import SummarySettingsSchema

MAX_ID = 2**31 - 1
#: Text that is more than whitespace (the API strips it): the document says so with the same pattern.
NOT_BLANK = validate.Regexp(f"^{WHITESPACE}*{NOT_WHITESPACE}", error="Must not be blank.")
PERIOD = validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="Use a month as YYYY-MM.")


def id_field(**kwargs: Any) -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class UtcDateTime(fields.DateTime):
    """Timestamps are stored as naive UTC; the API says so (``2026-01-31T12:00:00+00:00``)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class JsonBoolean(fields.Boolean):
    """A JSON ``true`` or ``false`` only (marshmallow would also take ``0``, ``1``, ``"yes"``, ``"off"``...)."""

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object) -> bool:
        if not isinstance(value, bool):  # 0 == False in Python: a set lookup would let it through
            raise self.make_error("invalid", input=value)
        return value


class Schema(marshmallow.Schema):
    class Meta:
        ordered = True


# -- shared --------------------------------------------------------------------------------------
class ErrorInfoSchema(Schema):
    """Why something failed, as the hub recorded it (never a stack trace or a secret)."""

    kind = fields.String(metadata={"example": "auth"})
    message = fields.String(metadata={"example": "Example rejected the API key."})
    hint = fields.String(allow_none=True, metadata={"example": "Generate a new key in Example and paste it."})
    field = fields.String(allow_none=True)
    field_messages = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    link = fields.String(metadata={"example": "/settings/apps/merit/invoices",
                                   "description": "The hub page where the cause is fixed (e.g. where a VAT rate is "
                                                  "mapped)."})
    until = fields.String(metadata={"example": "2026-12-08T00:00:00Z",
                                    "description": "A vendor quota's reset (UTC): the run waits until then."})
    quota = fields.String(allow_none=True, metadata={"example": "daily"})


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000), metadata={"example": 1})
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200), metadata={"example": 50})


def page_schema(item: type[marshmallow.Schema], name: str) -> type[marshmallow.Schema]:
    """``{"items": [...], "page": 1, "per_page": 50, "total": 123}``"""
    return type(name, (Schema,), {
        "items": fields.List(fields.Nested(item), required=True),
        "page": fields.Integer(required=True, metadata={"example": 1}),
        "per_page": fields.Integer(required=True, metadata={"example": 50}),
        "total": fields.Integer(required=True, metadata={"example": 1}),
    })


# -- tokens --------------------------------------------------------------------------------------
class TokenSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 7})
    name = fields.String(required=True, validate=validate.Length(min=1, max=100),
                         metadata={"example": "Billing export script"})
    role = fields.String(load_default="member", validate=validate.OneOf(("admin", "member")),
                         metadata={"example": "member", "description": "`admin` may change things, `member` reads."})
    prefix = fields.String(dump_only=True, metadata={"example": "hub_Xy3kP0aB", "description":
                                                     "The token's first characters, to tell tokens apart."})
    created_at = UtcDateTime(dump_only=True)
    last_used_at = UtcDateTime(dump_only=True, allow_none=True)
    revoked_at = UtcDateTime(dump_only=True, allow_none=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(dump_only=True, metadata={
        "description": "The token itself. Shown only in this response: store it now.",
        "example": "hub_Xy3kP0aBexampleexampleexampleexample0000"})


# -- vendors -------------------------------------------------------------------------------------
class StatisticFieldSchema(Schema):
    key = fields.String(metadata={"example": "documents"})
    label = fields.String(metadata={"example": "Documents"})
    description = fields.String()
    advanced = fields.Boolean(metadata={"description": "Offered behind \"Show more\" in the field mapping."})


class VendorSchema(Schema):
    slug = fields.String(metadata={"example": "merit"})
    name = fields.String(allow_none=True, metadata={"example": "Merit Aktiva"})
    loaded = fields.Boolean(metadata={"description": "False when the plugin failed to load (see `error`)."})
    error = fields.String(allow_none=True, metadata={"description": "Why the plugin failed to load."})
    distribution = fields.String(allow_none=True, metadata={"example": "hub-merit"})
    version = fields.String(allow_none=True, metadata={"example": "1.0.0"})
    regions = fields.List(fields.String(), metadata={"example": ["EE", "FI", "PL"]})
    summary = fields.String()
    capabilities = fields.List(fields.String(), metadata={"example": ["test_connection", "client_lookup",
                                                                      "statistics"]})
    statistic_fields = fields.List(fields.Nested(StatisticFieldSchema))
    per_client_credentials = fields.Boolean()
    setup_steps = fields.List(fields.String())
    gotchas = fields.List(fields.String())
    credentials_schema = fields.Dict(metadata={
        "description": "JSON Schema of the credentials; secret fields are `writeOnly` (never returned).",
        "example": {"type": "object", "required": ["api_key"], "properties": {
            "api_key": {"type": "string", "title": "API key", "writeOnly": True}}}})


# -- integrations ----------------------------------------------------------------------------------
class IntegrationSchema(Schema):
    id = fields.Integer(allow_none=True, metadata={"description": "null until the integration is first set up."})
    vendor = fields.String(metadata={"example": "merit"})
    vendor_name = fields.String(metadata={"example": "Merit Aktiva"})
    enabled = fields.Boolean()
    status = fields.String(metadata={"enum": ["not_configured", "untested", "ok", "needs_attention", "disabled"],
                                     "example": "ok"})
    account_name = fields.String(allow_none=True, metadata={"example": "Acme OÜ"})
    expires_on = fields.Date(allow_none=True)
    last_checked_at = UtcDateTime(allow_none=True)
    last_success_at = UtcDateTime(allow_none=True)
    last_error = fields.Nested(ErrorInfoSchema, allow_none=True)
    credentials = fields.Dict(metadata={
        "description": "Saved credentials: public values as they are, each secret only as `{\"set\": bool}`.",
        "example": {"company": "acme", "api_key": {"set": True}}})
    export_invoices = fields.Boolean(metadata={
        "description": "Every issued invoice of the firm is exported here (the firm keeps its own books in this "
                       "vendor), not only those of clients linked to it. Takes effect while the integration is "
                       "enabled.", "example": False})


class IntegrationPatchSchema(Schema):
    enabled = JsonBoolean(metadata={"example": True, "description": "Enable or disable the integration."})
    export_invoices = JsonBoolean(metadata={
        "example": True, "description": "Export every issued invoice here (needs the `invoice_export` "
                                        "capability to turn on)."})

    @marshmallow.validates_schema
    def _something(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise marshmallow.ValidationError("Give `enabled`, `export_invoices` or both.", "_schema")


CREDENTIALS_DESCRIPTION = ("The vendor's credential fields (see `credentials_schema` of `GET /vendors/{vendor}`). "
                           "Every field is optional: a field left out, or a blank secret, keeps the saved value; a "
                           "required field that is neither sent nor saved is a 409 naming it.")


class CredentialsBodySchema(Schema):
    credentials = fields.Dict(keys=fields.String(), required=True, metadata={
        "description": CREDENTIALS_DESCRIPTION, "example": {"company": "acme", "api_key": "ex-key-123"}})
    tested_run_id = id_field(load_default=None, allow_none=True, metadata={
        "description": "A successful test-connection run of exactly these values: the connection becomes `ok` "
                       "at once instead of being tested again."})


class TestConnectionBodySchema(Schema):
    credentials = fields.Dict(keys=fields.String(), load_default=None, allow_none=True, metadata={
        "description": "Unsaved values to test (merged with the saved ones). Omit to test what is saved.",
        "example": {"company": "acme", "api_key": "ex-key-123"}})


class RunItemSchema(Schema):
    client_id = fields.Integer(allow_none=True)
    period = fields.String(allow_none=True, metadata={"example": "2026-01"})
    outcome = fields.String(metadata={"example": "imported"})
    error = fields.Nested(ErrorInfoSchema, allow_none=True)


class RunSchema(Schema):
    """A background job (sync run): what, who, when, outcome; the progress of a reload."""

    id = fields.Integer(metadata={"example": 42})
    url = fields.String(metadata={"example": "/api/v1/runs/42"})
    kind = fields.String(metadata={"example": "test_connection"})
    status = fields.String(metadata={"enum": ["queued", "running", "retrying", "finishing", "succeeded", "failed",
                                              "partial"],
                                     "example": "succeeded"})
    finished = fields.Boolean()
    trigger = fields.String(metadata={"example": "api"})
    vendor = fields.String(allow_none=True, metadata={"example": "merit"})
    client_connection_id = fields.Integer(allow_none=True)
    attempts = fields.Integer()
    progress_done = fields.Integer(metadata={"description": "Reload: clients done."})
    progress_total = fields.Integer(metadata={"description": "Reload: clients in total."})
    result = fields.Dict(allow_none=True, metadata={"example": {"account_name": "Acme OÜ"}})
    error = fields.Nested(ErrorInfoSchema, allow_none=True)
    created_at = UtcDateTime()
    started_at = UtcDateTime(allow_none=True)
    finished_at = UtcDateTime(allow_none=True)
    next_attempt_at = UtcDateTime(allow_none=True, metadata={"description": "When a waiting retry is due."})
    waiting = fields.String(allow_none=True, metadata={
        "example": "waiting for Scoro's daily quota until 00:00 UTC",
        "description": "While the run waits for a vendor quota's reset: what for and until when; else `null`."})


class RunDetailSchema(RunSchema):
    items = fields.List(fields.Nested(RunItemSchema), metadata={"description": "Per-client outcomes."})


class RunArgsSchema(PageArgsSchema):
    vendor = fields.String(validate=validate.Length(max=50), metadata={"example": "merit"})
    kind = fields.String(validate=validate.Length(max=40), metadata={"example": "reload"})
    status = fields.String(validate=validate.Length(max=20), metadata={"example": "failed"})


# -- clients and connections -------------------------------------------------------------------------
class ClientSchema(Schema):
    id = fields.Integer(metadata={"example": 3})
    name = fields.String(metadata={"example": "Acme OÜ"})
    reg_code = fields.String(allow_none=True, metadata={"example": "12345678"})
    vat_no = fields.String(allow_none=True)
    email = fields.String(allow_none=True)


class ConnectionSchema(Schema):
    """A firm client linked to an integration (its vendor record, or its own credentials)."""

    id = fields.Integer(metadata={"example": 5})
    client_id = fields.Integer(metadata={"example": 3})
    client_name = fields.String(metadata={"example": "Acme OÜ"})
    vendor = fields.String(metadata={"example": "merit"})
    vendor_client_id = fields.String(allow_none=True, metadata={"example": "C-1001"})
    vendor_client_name = fields.String(allow_none=True, metadata={"example": "Acme OÜ"})
    vendor_client_reg_code = fields.String(allow_none=True, metadata={"example": "12345678"})
    warnings = fields.List(fields.String(), metadata={
        "description": "Where the linked vendor record disagrees with the hub client (name, registration code)."})
    status = fields.String(metadata={
        "example": "ok", "enum": ["not_configured", "untested", "ok", "needs_attention", "disabled"],
        "description": "The health of the vendor account this client's calls go to — its own when `own_credentials`, "
                       "else the firm's integration's — as are `account_name`, `last_checked_at` and `last_error`."})
    own_credentials = fields.Boolean(metadata={"description": "The client connects with its own credentials."})
    credentials = fields.Dict(allow_none=True, metadata={"description": "The client's own credentials as "
                                                         "`IntegrationSchema.credentials` describes them."})
    account_name = fields.String(allow_none=True)
    last_checked_at = UtcDateTime(allow_none=True)
    last_error = fields.Nested(ErrorInfoSchema, allow_none=True)


class LinkBodySchema(Schema):
    vendor_client_id = fields.String(required=True, allow_none=True, validate=validate.Length(min=1, max=100),
                                     metadata={"example": "C-1001", "description": "null unlinks the client."})
    vendor_client_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                                       metadata={"example": "Acme OÜ"})
    vendor_client_reg_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=50),
                                           metadata={"example": "12345678", "description": "The record's "
                                                     "registration code, compared with the client's (warnings)."})


class LookupBodySchema(Schema):
    query = fields.String(load_default="", validate=validate.Length(max=200), metadata={"example": "acme"})


class VendorClientSchema(Schema):
    id = fields.String(metadata={"example": "C-1001"})
    name = fields.String(metadata={"example": "Acme OÜ"})
    reg_code = fields.String(allow_none=True)
    vat_no = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    contacts = fields.List(fields.Dict())
    addresses = fields.List(fields.Dict())


class LookupSchema(Schema):
    run = fields.Nested(RunSchema, required=True)
    clients = fields.List(fields.Nested(VendorClientSchema), allow_none=True,
                          metadata={"description": "null while the lookup is still running."})


# -- statistics -------------------------------------------------------------------------------------
class SummarySettingsBodySchema(SummarySettingsSchema):
    """:class:`hub.statistics.SummarySettingsSchema` (the Settings tab), with ids bounded."""

    topic_id = id_field(allow_none=True, load_default=None, metadata={"label": "Topic", "example": None})

    class Meta:
        ordered = True


class SummarySettingsOutSchema(SummarySettingsBodySchema):
    statistic_fields = fields.List(fields.Nested(StatisticFieldSchema), dump_only=True,
                                   metadata={"description": "The vendor fields that can be mapped."})
    mapping_changed = fields.Boolean(dump_only=True, metadata={
        "description": "After a save: the mapping changed (consider `POST .../reload`)."})


class CustomFieldSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 11})
    name = fields.String(required=True, validate=[validate.Length(min=1, max=100), NOT_BLANK],
                         metadata={"example": "Sale entries"})
    kind = fields.String(dump_only=True, metadata={"example": "number"})


class TopicSchema(Schema):
    id = fields.Integer(metadata={"example": 2})
    name = fields.String(metadata={"example": "Bookkeeping"})


class ReloadBodySchema(Schema):
    client_id = id_field(load_default=None, allow_none=True, metadata={
        "description": "Reload one linked client only; omit for every linked client."})


class SummaryValueSchema(Schema):
    id = fields.Integer()
    field_id = fields.Integer(metadata={"example": 11})
    field = fields.String(allow_none=True, metadata={"example": "Sale entries"})
    vendor_field = fields.String(metadata={"example": "sale_entries"})
    value = fields.Integer(allow_none=True, metadata={"example": 120})
    source = fields.String(metadata={"example": "merit: Acme OÜ"})
    imported_at = UtcDateTime()
    flag = fields.String(allow_none=True)
    pending_value = fields.Integer(allow_none=True)


class SummaryTaskSchema(Schema):
    id = fields.Integer(metadata={"example": 9})
    client_id = fields.Integer(metadata={"example": 3})
    vendor = fields.String(metadata={"example": "merit"})
    period = fields.String(metadata={"example": "2026-01"})
    title = fields.String(metadata={"example": "Monthly summary 2026-01"})
    topic_id = fields.Integer(allow_none=True)
    updated_at = UtcDateTime()
    values = fields.List(fields.Nested(SummaryValueSchema))


class SummaryTaskArgsSchema(PageArgsSchema):
    client_id = id_field(metadata={"example": 3})
    vendor = fields.String(validate=validate.Length(max=50), metadata={"example": "merit"})
    from_ = fields.String(data_key="from", validate=PERIOD, metadata={"example": "2025-01",
                                                                      "description": "First month (YYYY-MM)."})
    to = fields.String(validate=PERIOD, metadata={"example": "2025-12", "description": "Last month (YYYY-MM)."})


RunPageSchema = page_schema(RunSchema, "RunPageSchema")
SummaryTaskPageSchema = page_schema(SummaryTaskSchema, "SummaryTaskPageSchema")


# -- invoices and exports ------------------------------------------------------------------------------
class MoneyField(fields.Decimal):
    """Exact decimals travel as strings (``"12.50"``); input may be a string or a number."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"type": "string", "format": "decimal", **kwargs.pop("metadata", {})}
        super().__init__(as_string=True, allow_nan=False, metadata=metadata, **kwargs)


BIG = Decimal("1000000000")
#: Up to 1000000000 with at most four decimals (the document's patterns state the ranges the checks apply).
_UP_TO_BIG = r"(\d{1,9}(\.\d{1,4})?|1000000000(\.0{1,4})?)"
DECIMAL_TEXT = rf"^-?{_UP_TO_BIG}$"
#: As DECIMAL_TEXT, above zero (a quantity is at least 0.0001).
POSITIVE_DECIMAL_TEXT = rf"^(?!0*(\.0*)?$){_UP_TO_BIG}$"
#: 0 to 100 with at most two decimals.
PERCENT_TEXT = r"^(\d{1,2}(\.\d{1,2})?|100(\.0{1,2})?)$"


class _Between(validate.Validator):
    """A decimal range (apispec would document ``validate.Range`` as numeric bounds on a string)."""

    def __init__(self, low: Decimal, high: Decimal) -> None:
        self.low, self.high = low, high

    def __call__(self, value: Decimal) -> Decimal:
        if not self.low <= value <= self.high:
            raise marshmallow.ValidationError(f"Must be between {self.low} and {self.high}.")
        return value


def _decimal_range(low: Decimal, high: Decimal) -> _Between:
    return _Between(low, high)


class InvoiceLineSchema(Schema):
    description = fields.String(required=True, validate=validate.Length(min=1, max=500),
                                metadata={"example": "Bookkeeping, January"})
    quantity = MoneyField(required=True, places=4, validate=_decimal_range(Decimal("0.0001"), BIG),
                          metadata={"example": "1", "pattern": POSITIVE_DECIMAL_TEXT})
    unit_price = MoneyField(required=True, places=4, validate=_decimal_range(-BIG, BIG),
                            metadata={"example": "150.00", "pattern": DECIMAL_TEXT})
    vat_rate = MoneyField(required=True, places=2, validate=_decimal_range(Decimal("0"), Decimal("100")),
                          metadata={"example": "22", "pattern": PERCENT_TEXT,
                                    "description": "Percent."})
    product_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100),
                                 metadata={"example": "BK-01"})


class DifferenceSchema(Schema):
    """One way the vendor booked an invoice differently from how it was issued."""

    what = fields.String(metadata={"example": "vat", "description": "lines net vat total currency buyer_code "
                                                                    "buyer_name rounding_line"})
    rate = fields.String(allow_none=True, metadata={"example": "22", "description": "The VAT rate, per-rate figures."})
    issued = fields.String(metadata={"example": "88.00"})
    booked = fields.String(metadata={"example": "96.00"})
    accepted = fields.Boolean(metadata={"description": "A vendor rounding line that was the only difference."})
    text = fields.String(metadata={"example": "VAT at 22 %: issued 88.00, booked 96.00"})


class ExportSchema(Schema):
    """One invoice's export to one vendor (the outbox row)."""

    id = fields.Integer(metadata={"example": 4})
    url = fields.String(metadata={"example": "/api/v1/exports/4"})
    invoice_id = fields.Integer(metadata={"example": 12})
    vendor = fields.String(metadata={"example": "merit"})
    reference = fields.String(metadata={"example": "HUB-12-3"})
    status = fields.String(metadata={"enum": ["pending", "uncertain", "sent", "confirmed", "booked_with_differences",
                                              "failed"],
                                     "example": "confirmed"})
    state = fields.String(metadata={"example": "Confirmed", "description": "The status in words, e.g. \"Booked with "
                                    "differences\", \"Confirmed (totals not verified)\" (the plugin does not read "
                                    "back what the vendor booked)."})
    booked = fields.Dict(allow_none=True, metadata={
        "description": "What the vendor booked, read back after the export (amounts as strings: `currency`, "
                       "`total_net`, `total_vat`, `total`, `buyer_code`, `buyer_name`, `lines`); `null` when not "
                       "read back."})
    differences = fields.List(fields.Nested(DifferenceSchema), allow_none=True, metadata={
        "description": "How the booked invoice differs from the issued one; `null` when booked as issued."})
    attempts = fields.Integer()
    vendor_invoice_id = fields.String(allow_none=True, metadata={"example": "INV-1001"})
    vendor_number = fields.String(allow_none=True, metadata={"example": "2026-0012"})
    last_error = fields.Nested(ErrorInfoSchema, allow_none=True)
    paid_amount = MoneyField(allow_none=True, metadata={
        "example": "183.00", "description": "Paid so far, as the vendor last reported it (vendors with the "
                                            "`payments` capability; `null` until reported)."})
    paid_on = fields.Date(allow_none=True, metadata={"example": "2026-02-10",
                                                     "description": "When it was paid in full; `null` until then."})
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class InvoiceSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 12})
    client_id = id_field(required=True, metadata={"example": 3})
    number = fields.String(required=True, validate=[validate.Length(min=1, max=50), NOT_BLANK],
                           metadata={"example": "2026-0012"})
    issue_date = fields.Date(required=True, metadata={"example": "2026-02-01"})
    due_date = fields.Date(required=True, metadata={"example": "2026-02-15"})
    currency = fields.String(load_default="EUR", validate=validate.Regexp(r"^[A-Za-z]{3}$"),
                             metadata={"example": "EUR"})
    notes = fields.String(load_default="", validate=validate.Length(max=5000))
    lines = fields.List(fields.Nested(InvoiceLineSchema), required=True, validate=validate.Length(min=1, max=500),
                        metadata={"description": "Each line's net (quantity × unit price) and the invoice's net, VAT "
                                                 "and total stay within ±999,999,999,999.99, what the hub stores "
                                                 "(`numeric(14,2)`); more is a `422` naming `lines`."})
    status = fields.String(dump_only=True, metadata={"enum": ["draft", "issued"], "example": "draft"})
    total_net = MoneyField(dump_only=True, metadata={"example": "150.00"})
    total_vat = MoneyField(dump_only=True, metadata={"example": "33.00"})
    total = MoneyField(dump_only=True, metadata={"example": "183.00"})
    exports = fields.List(fields.Nested(ExportSchema), dump_only=True)

    @marshmallow.validates_schema
    def _dates(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("issue_date") and data.get("due_date") and data["due_date"] < data["issue_date"]:
            raise marshmallow.ValidationError("Must be on or after the issue date.", "due_date")

    @marshmallow.validates_schema(skip_on_field_errors=True)
    def _amounts(self, data: dict[str, Any], **kwargs: Any) -> None:
        problem = exports.amount_problem(data.get("lines") or [])
        if problem is not None:
            raise marshmallow.ValidationError(problem, "lines")


class InvoiceArgsSchema(PageArgsSchema):
    client_id = id_field(metadata={"example": 3})
    status = fields.String(validate=validate.OneOf(("draft", "issued")), metadata={"example": "issued"})


InvoicePageSchema = page_schema(InvoiceSchema, "InvoicePageSchema")


class ExportArgsSchema(PageArgsSchema):
    vendor = fields.String(validate=validate.Length(max=50), metadata={"example": "merit"})
    status = fields.String(validate=validate.OneOf(("pending", "sent", "confirmed", "booked_with_differences",
                                                    "failed", "uncertain")),
                           metadata={"example": "failed"})
    paid = fields.Boolean(metadata={"example": False, "description": "Only paid (`true`) or unpaid (`false`) "
                                                                     "exports; paid status flows back from vendors "
                                                                     "with the `payments` capability."})
    client_id = id_field(metadata={"example": 3})
    invoice_id = id_field(metadata={"example": 12})


ExportPageSchema = page_schema(ExportSchema, "ExportPageSchema")


# -- products and tax rates -------------------------------------------------------------------------------
class CatalogItemSchema(Schema):
    vendor_id = fields.String(metadata={"example": "T22"})
    code = fields.String(metadata={"example": "22%"})
    name = fields.String(metadata={"example": "VAT 22%"})
    rate = MoneyField(allow_none=True, metadata={"example": "22.000", "description": "Tax rates: percent."})
    unit_price = MoneyField(allow_none=True, metadata={"description": "Products: the vendor's price."})
    fetched_at = UtcDateTime()


class CatalogSchema(Schema):
    kind = fields.String(metadata={"enum": ["product", "tax_rate"]})
    items = fields.List(fields.Nested(CatalogItemSchema), metadata={"description": "The cached vendor list."})
    mappings = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "Hub product code or VAT rate → the vendor's code (products: `code`; tax rates: "
                       "`vendor_id`). Unmapped keys fall back to matching by code / rate.",
        "example": {"22": "T22"}})


class CatalogScopeSchema(Schema):
    client_id = fields.Integer(load_default=None, validate=validate.Range(min=1), metadata={
        "description": "A client with its own vendor account (per-client credentials): its own products or tax "
                       "rates and mappings. Without it: the firm's account."})


class MappingBodySchema(Schema):
    hub_key = fields.String(required=True, validate=[validate.Length(min=1, max=100), NOT_BLANK], metadata={
        "example": "22", "description": "A hub product code, or a VAT rate in percent."})
    vendor_code = fields.String(required=True, allow_none=True, validate=validate.Length(min=1, max=100),
                                metadata={"example": "T22", "description": "null removes the mapping."})
