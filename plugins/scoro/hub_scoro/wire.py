"""Every fact the Scoro plugin relies on about Scoro's API v2, as data, each with where it comes from.

The client (:mod:`hub_scoro.client`) and the sandbox (:mod:`hub_scoro.sandbox`) both read their shapes
from here (page size, hosts, the request body's fields, the envelope, module names, the daily limit's answer,
the country code's length, date format) with ``fact(name)``, so a fact corrected here corrects both; the
tests hold the rest (object fields, exact-match filters, the numeric invoice number) against the client and
the sandbox. Sources: ``shared/vendors/public-apis.md`` §2 and §7 (C1 is Scoro's own API page, C2 and C3
independent clients). ``tests/test_client.py`` checks that every fact names its source and that every
``assumed`` one is owned up to in the README.
"""

from __future__ import annotations

from typing import Any

from hub.wire import WireFact

C1 = "api.scoro.com/api (Scoro API v2 overview; api.scoro.ee/api for .scoro.ee accounts)"
C2 = "github.com/veljo-meltsas/Scoro-API-v2-SDK (independent TypeScript SDK, HEAD ef9057e)"
C3 = "github.com/rubiconetic/n8n-nodes-scoro (independent n8n node, HEAD f5b3393)"

FACTS: dict[str, WireFact] = {
    # -- transport ---------------------------------------------------------------------------------------------
    "api_path": WireFact("/api/v2", "vendor page", f"{C1}: https://{{company}}.scoro.com/api/v2/{{module}}/{{action}}"),
    "domains": WireFact(("scoro.com", "scoro.ee"), "vendor page", C1),
    "http_method": WireFact("POST", "vendor page", f"{C1}; {C2} src/resources/base.ts (every call is a POST)"),
    "auth_fields": WireFact(("apiKey", "company_account_id"), "vendor page",
                            f"{C1} request body; {C2} src/resources/types/api.type.ts IApiPayload"),
    "lang_field": WireFact("lang", "vendor page", f"{C1} request body (\"lang\": \"eng\")"),
    "languages": WireFact(("eng", "est"), "inferred",
                          f"{C1} shows \"eng\"; \"est\" follows the same ISO 639-2 codes Scoro's UI offers"),
    # -- answers ----------------------------------------------------------------------------------------------
    "envelope_fields": WireFact(("status", "statusCode", "messages", "data"), "independent client",
                                f"{C2} src/resources/types/response.type.ts"),
    # failed: an ``errors`` member is present, or ``statusCode`` is not 200
    "failed_when": WireFact({"member_present": "errors", "statusCode_other_than": 200}, "independent client",
                            f"{C2} src/resources/base.ts validateResponse (errors present or statusCode != 200)"),
    "error_shape": WireFact({"messages": {"error": ["…"]}, "errors": {"field": ["…"]}}, "assumed"),
    # an unknown subdomain: HTTP status → what Scoro answers with it
    "unknown_account_answer": WireFact({404: "an HTML page", 302: "a redirect (any 3xx) to the login page"},
                                       "assumed"),
    # -- lists and limits -------------------------------------------------------------------------------------
    "list_page_max": WireFact(100, "vendor page", f"{C1}: at most 100 results per list call; {C3} pages on 100"),
    "list_paging_fields": WireFact(("page", "per_page"), "vendor page", f"{C1}; {C2} base.ts list()"),
    "list_filter_field": WireFact("filter", "independent client", f"{C2} src/resources/base.ts list()"),
    "list_filters_exact": WireFact(("no", "date", "id_code", "vatno", "name"), "assumed"),
    "detailed_response_field": WireFact("detailed_response", "independent client", f"{C2} base.ts / notes"),
    "daily_request_limit": WireFact(500, "vendor page", f"{C1}: 500 API requests per day per account"),
    # the answer over the daily limit: 429, x-daily-requests-remaining: 0, Retry-After: seconds to the reset
    "daily_limit_answer": WireFact({"status": 429, "remaining": "0", "retry_after": "seconds to the reset"},
                                   "assumed"),
    "daily_remaining_header": WireFact("x-daily-requests-remaining", "inferred",
                                       "issue 27 (checked there against Scoro's documentation and independent "
                                       "clients; not in public-apis.md): 429 with x-daily-requests-remaining: 0"),
    "daily_limit_resets": WireFact("00:00 UTC", "inferred", "issue 27: the daily quota resets at midnight UTC"),
    "contact_types": WireFact({"company": "company", "private": "person"}, "independent client",
                              f"{C2} contact.type.ts contact_type (person/company); public-apis.md §2"),
    "vat_per_rate": WireFact(True, "assumed"),
    "invoice_view_call": WireFact("invoices/view/{id}", "independent client",
                                  f"{C2} services/invoice/* (view fills lines[]); public-apis.md §2"),
    # -- modules ----------------------------------------------------------------------------------------------
    "modules": WireFact(("companyAccount", "users", "vatCodes", "contacts", "invoices"), "independent client",
                        f"{C2} src/resources/services/*; {C3} execute/routingMap.ts"),
    "connection_test_call": WireFact("users/list", "independent client", f"{C3} credentials/ScoroApi.credentials.ts"),
    "date_format": WireFact("%Y-%m-%d", "independent client",
                            f"{C2} invoice.type.ts: date/deadline \"Document date (YYYY-mm-dd)\""),
    # -- objects ----------------------------------------------------------------------------------------------
    "vat_code_fields": WireFact(("vat_code_id", "vat_code", "vat_name", "percent", "is_sales", "is_active",
                                 "is_not_applicable"), "independent client", f"{C2} services/vat-code/*"),
    "contact_fields": WireFact(("contact_id", "contact_type", "name", "is_client", "id_code", "vatno",
                                "means_of_contact", "addresses", "is_deleted"), "independent client",
                               f"{C2} services/contact/types/contact.type.ts IContact"),
    "address_fields": WireFact(("country", "county", "municipality", "city", "street", "zipcode"),
                               "independent client", f"{C2} services/shared/types/address.type.ts IAddress"),
    "address_country_length": WireFact(3, "independent client",
                                       f"{C2} address.type.ts: country \"3-letter ISO 3166 code\"; "
                                       "public-apis.md §7"),
    "invoice_fields": WireFact(("id", "no", "date", "deadline", "currency", "company_id", "status", "sum",
                                "vat_sum", "description", "lines", "is_deleted"), "independent client",
                               f"{C2} services/invoice/types/invoice.type.ts IInvoice"),
    "invoice_no_numeric": WireFact(True, "independent client",
                                   f"{C2} invoice.type.ts: \"no: number // Document number\"; public-apis.md §7"),
    "invoice_no_assigned_when_omitted": WireFact(True, "assumed"),
    "invoice_line_fields": WireFact(("product_id", "comment", "price", "amount", "sum", "vat", "vat_code_id",
                                     "unit"), "independent client", f"{C2} invoice.type.ts IInvoiceLine"),
    "invoice_statuses": WireFact(("paid", "unpaid"), "independent client", f"{C2} invoice.type.ts status"),
    "duplicate_no_answer": WireFact({"field": "no", "says": "the number exists"}, "assumed"),
}


def fact(name: str) -> Any:
    """The value of one fact (``fact("list_page_max")`` → ``100``)."""
    return FACTS[name].value


# -- the request body's and the answer's names, unpacked once for the client and the sandbox ------------------------
API_PATH: str = fact("api_path")
#: Every call is this method (POST), its body carries these fields.
METHOD: str = fact("http_method")
API_KEY_FIELD, ACCOUNT_FIELD = fact("auth_fields")
LANG_FIELD: str = fact("lang_field")
FILTER_FIELD: str = fact("list_filter_field")
PAGE_FIELD, PER_PAGE_FIELD = fact("list_paging_fields")
DETAILED_FIELD: str = fact("detailed_response_field")
#: The answer's envelope, and when it says the call failed: an ``errors`` member, or a ``statusCode`` not 200.
STATUS, STATUS_CODE, MESSAGES, DATA = fact("envelope_fields")
ERRORS: str = fact("failed_when")["member_present"]
OK_CODE: int = fact("failed_when")["statusCode_other_than"]
#: The general messages of an error answer (``messages: {"error": [...]}``, wire fact ``error_shape``).
(ERROR_KEY,) = fact("error_shape")[MESSAGES]
