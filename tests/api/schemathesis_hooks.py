"""Schemathesis hooks for tests/api/test_conformance.py (loaded through ``SCHEMATHESIS_HOOKS``).

Each hook gives the generator a fact about the run's firm that an OpenAPI document cannot state; none of them
skips a check or a case. Every rule they honour is written in the document's descriptions and has its own
test that the API refuses a request breaking it.

* The runs' own tokens (the admin and the member run side by side) must survive the run: a
  ``DELETE /api/v1/tokens/{id}`` that names one is sent for an id that does not exist instead (a 404, still
  checked against the document).
* ``Idempotency-Key``: the same key with another request is a documented ``422`` (IETF draft
  ``draft-ietf-httpapi-idempotency-key-header``; ``test_api_accuracy`` pins it). A schema cannot say "a key
  not used before", and the generator reuses the document's example key across bodies: a *positive* case
  whose key was already sent with another request gets a fresh key. Repeats of the same request keep the key
  (the replay is exercised).
* Ids in bodies name the firm's objects (``client_id`` of an invoice, ``topic_id`` and the custom-field ids of
  a summary mapping): a document cannot know which ids a firm has, so positive cases use the firm's
  (``HUB_CONFORMANCE_IDS``, as schemathesis advises: "supply the identifiers"). An id of no object of the firm
  is a documented 422 naming the field (tests/api/test_billing_api.py, test_statistics_api.py).
* Rules across fields, stated in the descriptions and not expressible in JSON Schema: an invoice's due date is
  not before its issue date; its lines' amounts (quantity × unit price, and the totals) fit what the hub
  stores; a summary mapping names each custom field at most once; a private person (a client's
  ``customer_type``) has no VAT number. In vendor credentials
  (the plugins' own cross-field checks, each with its plugin test): Trigon's ID token and API key, and
  SmartAccounts' API key and secret, are two different values; a Directo invoice number range has the smaller
  number first; a Tripletex token starting with ``test-`` belongs to the test environment.
"""

import json
import os
import re
from decimal import Decimal

import schemathesis

MAX_AMOUNT = Decimal("999999999999.99")  # hub.exports.MAX_AMOUNT, numeric(14,2)

RUN_TOKEN_IDS = {str(i) for i in json.loads(os.environ.get("HUB_CONFORMANCE_TOKEN_IDS") or "[]")}
IDS: dict[str, list[int]] = json.loads(os.environ.get("HUB_CONFORMANCE_IDS") or "{}")
_keys: dict[str, str] = {}


def _positive(case) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode.is_positive


def _fresh_idempotency_key(case) -> None:
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if not isinstance(key, str):
        return
    request = json.dumps([case.method.upper(), case.formatted_path, case.body], sort_keys=True, default=str)
    if _keys.setdefault(key, request) != request:
        fresh = f"{key[:150]}-{len(_keys)}"
        _keys[fresh] = request
        headers["Idempotency-Key"] = fresh


def _firm_ids(case) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    if case.method.upper() == "POST" and case.path.endswith("/invoices"):
        if isinstance(body.get("client_id"), int) and IDS.get("client"):
            body["client_id"] = IDS["client"][body["client_id"] % len(IDS["client"])]
        issue, due = body.get("issue_date"), body.get("due_date")
        if isinstance(issue, str) and isinstance(due, str) and due < issue:
            body["issue_date"], body["due_date"] = due, issue
        _storable_amounts(body.get("lines"))
    if body.get("customer_type") == "private" and isinstance(body.get("vat_no"), str) and body["vat_no"].strip():
        body["vat_no"] = None
    if case.method.upper() == "PUT" and case.path.endswith("/summary-settings"):
        if isinstance(body.get("topic_id"), int):
            body["topic_id"] = (IDS.get("topic") or [None])[0]
        mapping = body.get("mapping")
        if isinstance(mapping, dict):
            fields = list(IDS.get("custom_field") or [])
            for key, value in mapping.items():
                if isinstance(value, int):
                    mapping[key] = fields.pop(0) if fields else None


def _storable_amounts(lines) -> None:  # noqa: ANN001
    """Unit prices scaled down until every line's net and the invoice's totals fit ``numeric(14,2)``."""
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        return
    try:
        nets = [abs(Decimal(str(line["quantity"])) * Decimal(str(line["unit_price"]))) for line in lines]
    except (KeyError, ArithmeticError, ValueError):
        return
    if sum(nets) * 2 > MAX_AMOUNT:  # VAT is at most 100%
        for line in lines:
            line["unit_price"] = "0.01" if isinstance(line.get("unit_price"), str) else 0.01


#: Credentials whose two secrets must differ (vendor slug in the path → the two fields).
DIFFERENT = {"trigon": ("id_token", "api_key"), "smartaccounts": ("api_key", "api_secret")}


def _credentials(case) -> None:
    body = case.body
    credentials = body.get("credentials") if isinstance(body, dict) else None
    if not isinstance(credentials, dict) or "/integrations/" not in case.path:
        return
    vendor = case.path.split("/integrations/", 1)[1].split("/", 1)[0]
    first, second = DIFFERENT.get(vendor, (None, None))
    if first and isinstance(credentials.get(first), str) and credentials.get(first) == credentials.get(second):
        value = credentials[second]
        credentials[second] = value[:-1] + ("b" if value.endswith("a") else "a")
    numbers = credentials.get("invoice_numbers") if vendor == "directo" else None
    if isinstance(numbers, str):
        low, _, high = re.sub(r"\s+", "", numbers).replace("\u2013", "-").replace("\u2014", "-").partition("-")
        if low.isdigit() and high.isdigit() and int(low) > int(high):
            credentials["invoice_numbers"] = f"{high}-{low}"
    token = credentials.get("employee_token") if vendor == "tripletex" else None
    if isinstance(token, str) and token.strip().startswith("test-"):
        credentials["environment"] = "test"


@schemathesis.hook
def before_call(context, case, kwargs):  # noqa: ANN001, ANN201
    if (case.method.upper() == "DELETE" and case.path.endswith("/tokens/{token_id}")
            and str((case.path_parameters or {}).get("token_id")) in RUN_TOKEN_IDS):
        case.path_parameters["token_id"] = 2**31 - 2
    if _positive(case):
        _firm_ids(case)
        _credentials(case)
        _fresh_idempotency_key(case)
