"""What the Trigon plugin relies on about Trigon's API, as data, each fact with where it comes from.

Trigon publishes **no** API documentation, SDK or schema (``public-apis.md`` §6: "No public API material exists
for this vendor", confidence None; §7 has no Trigon correction). Every fact below is therefore ``assumed``: most
come from the assumed design this project wrote down in ``public-apis.md`` §6, the rest were added by this plugin
beyond it. The client (:mod:`hub_trigon.client`, :mod:`hub_trigon`) and the sandbox (:mod:`hub_trigon.sandbox`)
both read them through :func:`fact`; when a partner confirms the real API, this table is what changes.
``tests/test_client.py`` runs :func:`hub.testing.wire.check_wire_facts` over it: every fact here is named in the
plugin's README ("Assumed wire facts").

References: ``public-apis.md`` is ``shared/vendors/public-apis.md`` (§6 Trigon); the product docs
(``shared/product-docs/api-key-integrations.txt``) name the credentials and the per-period volume cache, but no
wire detail.
"""

from __future__ import annotations

from typing import Any

from hub.wire import WireFact

_S6 = "public-apis.md §6 (this project's assumed design; no vendor source)"
_BEYOND = "this plugin, beyond public-apis.md §6"

FACTS: dict[str, WireFact] = {
    # -- transport and auth -----------------------------------------------------------------------------
    "hosts": WireFact({"production": "https://api.trigon.ee/v1", "test": "https://api-test.trigon.ee/v1"},
                      "assumed", _S6 + ": hosts; test credentials are not valid in production and vice versa"),
    "id_token_header": WireFact("X-Trigon-Id-Token", "assumed", _S6 + ": auth, on every call"),
    "api_key_header": WireFact("X-Trigon-Api-Key", "assumed", _S6 + ": auth, on every call"),
    "rate_limit": WireFact((120, 60), "assumed", _S6 + ": 120 requests a minute per API key"),
    "rate_limit_status": WireFact(429, "assumed", _S6 + ": rate limit answered 429"),
    "retry_after_header": WireFact("Retry-After", "assumed", _S6 + ": 429 with Retry-After (seconds)"),
    # -- endpoints (after the host's /v1) -----------------------------------------------------------------
    "path_me": WireFact("/me", "assumed", _S6 + ": connection test"),
    "path_clients": WireFact("/clients", "assumed", _S6 + ": clients"),
    "path_volumes": WireFact("/clients/{id}/volumes", "assumed", _S6 + ": transaction volumes"),
    "path_refresh": WireFact("/clients/{id}/volumes:refresh", "assumed", _S6 + ": cache refresh"),
    "path_refresh_status": WireFact("/refreshes/{id}", "assumed", _S6 + ": cache refresh status"),
    # -- GET /me ------------------------------------------------------------------------------------------
    "me_organisation": WireFact("organisation", "assumed", _S6 + ": connection test answer"),
    "organisation_fields": WireFact({"id": "id", "name": "name", "reg_code": "regCode"}, "assumed",
                                    _S6 + ": connection test answer {organisation: {id, name, regCode}}"),
    "me_token_expires": WireFact("tokenExpiresAt", "assumed", _S6 + ": connection test answer"),
    "date_format": WireFact("%Y-%m-%d", "assumed", _S6 + ": tokenExpiresAt is YYYY-MM-DD"),
    # -- GET /clients -------------------------------------------------------------------------------------
    "page_key": WireFact("page", "assumed", _S6 + ": clients query parameter and answer key"),
    "per_page_param": WireFact("perPage", "assumed", _S6 + ": clients query parameter"),
    "query_param": WireFact("q", "assumed", _S6 + ": clients query parameter (name or reg code)"),
    "first_page": WireFact(1, "assumed", _BEYOND + ": paging starts at page=1"),
    "per_page_max": WireFact(100, "assumed", _S6 + " shows perPage=100; that it is the largest is " + _BEYOND),
    "clients_items": WireFact("items", "assumed", _S6 + ": clients answer"),
    "clients_has_more": WireFact("hasMore", "assumed", _S6 + ": clients answer; " + _BEYOND
                                 + ": paging ends when it is false"),
    "client_fields": WireFact({"id": "id", "name": "name", "reg_code": "regCode", "vat_no": "vatNumber",
                               "addresses": "addresses", "contacts": "contacts"}, "assumed",
                              _S6 + ": clients answer items[]"),
    "address_fields": WireFact({"type": "type", "street": "line1", "city": "city", "postal_code": "postalCode",
                                "country": "country"}, "assumed", _S6 + ": clients answer items[].addresses[]"),
    "contact_fields": WireFact({"name": "name", "email": "email", "phone": "phone", "role": "role"}, "assumed",
                               _S6 + ": clients answer items[].contacts[]"),
    # -- volumes and their cache refresh ------------------------------------------------------------------
    "month_format": WireFact("%Y-%m", "assumed", _S6 + ": from, to and period are YYYY-MM"),
    "window_params": WireFact(("from", "to"), "assumed", _S6 + ": volumes query and refresh body"),
    "max_window_months": WireFact(24, "assumed", _BEYOND + ": §6 gives no limit; 24 months covers a client-year"),
    "volumes_periods": WireFact("periods", "assumed", _S6 + ": volumes answer"),
    "volume_period": WireFact("period", "assumed", _S6 + ": volumes answer periods[]"),
    "volume_fields": WireFact({"incoming_payments": "incomingPayments", "outgoing_payments": "outgoingPayments",
                               "card_transactions": "cardTransactions", "documents": "documents"}, "assumed",
                              _S6 + ": volumes answer periods[] (hub statistic key → Trigon field); that they "
                              "are counts is " + _BEYOND),
    "volume_cached_at": WireFact("cachedAt", "assumed", _S6 + ": volumes answer periods[]"),
    "timestamp_format": WireFact("%Y-%m-%dT%H:%M:%SZ", "assumed", _BEYOND + ": §6 names cachedAt, not its format"),
    "refresh_started_status": WireFact(202, "assumed", _S6 + ": cache refresh answer"),
    "refresh_id_key": WireFact("refreshId", "assumed", _S6 + ": cache refresh answer"),
    "refresh_status_key": WireFact("status", "assumed", _S6 + ": cache refresh status answer"),
    "refresh_statuses": WireFact(("pending", "done", "failed"), "assumed",
                                 _S6 + ": cache refresh status; after done, volumes are fresh"),
    # -- errors -------------------------------------------------------------------------------------------
    "error_keys": WireFact(("error", "message"), "assumed", _S6 + ": errors {error: code, message: text}"),
    "error_fields": WireFact("fields", "assumed", _BEYOND + ": optional per-field messages on validation_failed"),
    "code_invalid_credentials": WireFact("invalid_credentials", "assumed", _S6 + ": wrong key → 401"),
    "code_token_expired": WireFact("token_expired", "assumed", _S6 + ": expired ID token → 401"),
    "code_not_found": WireFact("not_found", "assumed", _S6 + ": error codes"),
    "code_validation_failed": WireFact("validation_failed", "assumed", _S6 + ": error codes"),
    "code_rate_limited": WireFact("rate_limited", "assumed", _S6 + ": error codes"),
    "auth_status": WireFact(401, "assumed", _S6 + ": invalid_credentials and token_expired are 401"),
    "forbidden_status": WireFact(403, "assumed", _BEYOND + ": the API user lacks access"),
    "not_found_status": WireFact(404, "assumed", _BEYOND + ": §6 names not_found, not its status"),
    "validation_statuses": WireFact((422, 400), "assumed",
                                    _BEYOND + ": §6 names validation_failed, not its status; the sandbox answers "
                                    "the first, the client accepts both"),
}


def fact(name: str) -> Any:
    """The value of the wire fact ``name``."""
    return FACTS[name].value
