"""What the client and the sandbox rely on about Tripletex's API v2, each fact with where it comes from.

Most facts are in Tripletex's own OpenAPI document (2.74.00, ``shared/vendor-specs/tripletex/openapi.json``):
``tests/test_client.py`` holds every "vendor schema" fact against that document, so a wrong one fails. The rest
come from ``shared/vendors/public-apis.md`` §1 (vendor pages and public clients) or are assumed; the assumed ones
are listed in the README ("Assumed wire facts").
"""

from __future__ import annotations

from typing import Any

from hub.wire import WireFact

SPEC = "shared/vendor-specs/tripletex/openapi.json"
RESEARCH = "shared/vendors/public-apis.md §1"

FACTS: dict[str, WireFact] = {
    # -- hosts and sessions -----------------------------------------------------------------------------
    "base_url_production": WireFact("https://tripletex.no/v2", "vendor schema", f"{SPEC}, servers[0].url"),
    "base_url_test": WireFact("https://api-test.tripletex.tech/v2", "vendor page",
                              f"{RESEARCH}, Base URLs (S1 README; changelog 2.71.19: api.tripletex.io is gone)"),
    "test_token_prefix": WireFact("test-", "vendor page",
                                  f"{RESEARCH}, Base URLs (S1 changelog 2020-03-17; S3 authentication page)"),
    "session_create_path": WireFact("/token/session/:create", "vendor schema",
                                    f"{SPEC}, paths./token/session/:create post (the PUT form is deprecated)"),
    "session_create_body": WireFact(("consumerToken", "employeeToken", "expirationDate"), "vendor schema",
                                    f"{SPEC}, PostSessionTokenBody"),
    "session_token_key": WireFact("token", "vendor schema", f"{SPEC}, SessionToken.token"),
    "session_expiry_key": WireFact("expirationDate", "vendor schema", f"{SPEC}, SessionToken.expirationDate"),
    "session_timezone": WireFact("Europe/Oslo", "independent client",
                                 f"github.com/jbevanac/tripletex src/TripletexSDK.php ({RESEARCH}, S5): a session "
                                 "lapses at midnight Europe/Oslo at the start of its expirationDate"),
    "auth_scheme": WireFact("Basic", "vendor schema", f"{SPEC}, components.securitySchemes.tokenAuthScheme"),
    "own_company_id": WireFact("0", "vendor schema",
                               f"{SPEC}, components.securitySchemes.tokenAuthScheme.description "
                               "(\"or 0 for default\")"),
    "who_am_i_path": WireFact("/token/session/>whoAmI", "vendor schema", f"{SPEC}, paths./token/session/>whoAmI"),
    "who_am_i_fields": WireFact("companyId,company(id,name,organizationNumber),employee(id,firstName,lastName)",
                                "vendor schema", f"{SPEC}, LoggedInUserInfo, Company, Employee"),
    # -- envelopes, paging, dates -----------------------------------------------------------------------
    "single_value_key": WireFact("value", "vendor schema", f"{SPEC}, ResponseWrapper* (e.g. ResponseWrapperInvoice)"),
    "list_envelope": WireFact(("fullResultSize", "from", "count", "versionDigest", "values"), "vendor schema",
                              f"{SPEC}, ListResponse* (e.g. ListResponseCustomer)"),
    "list_values_key": WireFact("values", "vendor schema", f"{SPEC}, ListResponse*.values"),
    "paging_params": WireFact(("from", "count"), "vendor schema", f"{SPEC}, paths./customer get parameters"),
    "page_size": WireFact(1000, "vendor schema", f"{SPEC}, paths./customer get parameters: count default"),
    "created_status": WireFact(201, "vendor schema",
                               f"{SPEC}, responses of POST /token/session/:create, /customer, /invoice"),
    "date_format": WireFact("%Y-%m-%d", "vendor schema", f"{SPEC}, info.description (Date: YYYY-MM-DD)"),
    # -- errors and headers -----------------------------------------------------------------------------
    "error_body": WireFact(("status", "code", "message", "link", "developerMessage", "validationMessages",
                            "requestId"), "vendor schema", f"{SPEC}, ApiError"),
    "error_message_key": WireFact("message", "vendor schema", f"{SPEC}, ApiError.message"),
    "error_validation_key": WireFact("validationMessages", "vendor schema", f"{SPEC}, ApiError.validationMessages"),
    "error_request_id_key": WireFact("requestId", "vendor schema", f"{SPEC}, ApiError.requestId"),
    "validation_message_keys": WireFact(("field", "message", "path", "rootId"), "vendor schema",
                                        f"{SPEC}, ApiValidationMessage"),
    "error_codes": WireFact({"exception": 1000, "authentication": 3000, "bad_request": 4000, "not_found": 6000,
                             "security": 9000, "illegal_filter": 11000, "value_validation": 15000, "mapping": 16000,
                             "sorting": 17000, "param": 21000, "invalid_json": 22000,
                             "result_set_too_large": 23000},
                            "vendor schema", f"{SPEC}, info.description (Status codes / Error codes)"),
    "docs_link": WireFact("https://tripletex.no/v2-docs/", "vendor page",
                          f"{RESEARCH}, Base URLs and Errors (S1; the error bodies' link, S6)"),
    "request_id_header": WireFact("x-tlx-request-id", "vendor schema", f"{SPEC}, info.description (Request ID)"),
    "rate_limit_headers": WireFact(("X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset"),
                                   "vendor schema", f"{SPEC}, info.description (Rate limiting; Reset is the seconds "
                                   "left in the period)"),
    # -- customers --------------------------------------------------------------------------------------
    "customer_path": WireFact("/customer", "vendor schema", f"{SPEC}, paths./customer"),
    "customer_fields": WireFact("id,name,organizationNumber,customerNumber,email,invoiceEmail,phoneNumber,"
                                "postalAddress(addressLine1,addressLine2,postalCode,city,country(isoAlpha2Code))",
                                "vendor schema", f"{SPEC}, Customer, Address, Country"),
    "customer_lookup_fields": WireFact("id,name,organizationNumber,isInactive", "vendor schema", f"{SPEC}, Customer"),
    "customer_name_param": WireFact("customerName", "vendor schema", f"{SPEC}, paths./customer get parameters"),
    "org_number_param": WireFact("organizationNumber", "vendor schema",
                                 f"{SPEC}, paths./customer get parameters (\"Equals\")"),
    "inactive_param": WireFact("isInactive", "vendor schema", f"{SPEC}, paths./customer and /product get parameters"),
    "inactive_default": WireFact(False, "vendor schema",
                                 f"{SPEC}, paths./customer get parameters: isInactive default false"),
    # -- products, VAT types, currencies ----------------------------------------------------------------
    "product_path": WireFact("/product", "vendor schema", f"{SPEC}, paths./product"),
    "product_fields": WireFact("id,number,name,priceExcludingVatCurrency,vatType(id),productUnit(name)",
                               "vendor schema", f"{SPEC}, Product, VatType, ProductUnit"),
    "product_number_fields": WireFact("id,number", "vendor schema", f"{SPEC}, Product"),
    "vat_type_path": WireFact("/ledger/vatType", "vendor schema", f"{SPEC}, paths./ledger/vatType"),
    "vat_type_fields": WireFact("id,number,name,percentage", "vendor schema", f"{SPEC}, VatType"),
    "sales_vat_filter": WireFact(("typeOfVat", "OUTGOING"), "vendor schema",
                                 f"{SPEC}, paths./ledger/vatType get parameters: typeOfVat enum"),
    "vat_type_ids": WireFact({"25": 3, "15": 31, "12": 32}, "independent client",
                             f"github.com/jbevanac/tripletex src/Helpers/VatTypeNorway.php ({RESEARCH}, S5; S6 uses 3 "
                             "for 25 %)"),
    "vat_type_zero": WireFact(5, "assumed"),
    "currency_path": WireFact("/currency", "vendor schema", f"{SPEC}, paths./currency"),
    "currency_code_param": WireFact("code", "vendor schema", f"{SPEC}, paths./currency get parameters"),
    "currency_fields": WireFact("id,code", "vendor schema", f"{SPEC}, Currency"),
    "home_currency": WireFact("NOK", "assumed"),
    # -- invoices ---------------------------------------------------------------------------------------
    "invoice_path": WireFact("/invoice", "vendor schema", f"{SPEC}, paths./invoice"),
    "invoice_date_range": WireFact(("invoiceDateFrom", "invoiceDateTo"), "vendor schema",
                                   f"{SPEC}, paths./invoice get parameters (required; \"From and including\", "
                                   "\"To and excluding\")"),
    "find_fields": WireFact("id,invoiceNumber,invoiceDate,amountExcludingVatCurrency,amountCurrency,currency(code),"
                            "customer(name,organizationNumber),orders(id,reference,orderLines(description,"
                            "amountExcludingVatCurrency,amountIncludingVatCurrency,vatType(percentage)))",
                            "vendor schema", f"{SPEC}, Invoice, Currency, Customer, Order, OrderLine, VatType"),
    "send_to_customer_param": WireFact("sendToCustomer", "vendor schema", f"{SPEC}, paths./invoice post parameters"),
    "send_to_customer_default": WireFact(True, "vendor schema",
                                         f"{SPEC}, paths./invoice post parameters: sendToCustomer default true"),
    "order_reference_key": WireFact("reference", "vendor schema", f"{SPEC}, Order.reference"),
    "order_comment_key": WireFact("invoiceComment", "vendor schema",
                                  f"{SPEC}, Order.invoiceComment (Invoice.invoiceComment is readOnly)"),
    "prices_include_vat_key": WireFact("isPrioritizeAmountsIncludingVat", "vendor schema",
                                       f"{SPEC}, Order.isPrioritizeAmountsIncludingVat"),
    "line_price_key": WireFact("unitPriceExcludingVatCurrency", "vendor schema",
                               f"{SPEC}, OrderLine.unitPriceExcludingVatCurrency"),
    "line_price_including_vat_key": WireFact("unitPriceIncludingVatCurrency", "vendor schema",
                                             f"{SPEC}, OrderLine.unitPriceIncludingVatCurrency"),
    "invoice_net_key": WireFact("amountExcludingVatCurrency", "vendor schema",
                                f"{SPEC}, Invoice.amountExcludingVatCurrency"),
    "invoice_gross_key": WireFact("amountCurrency", "vendor schema", f"{SPEC}, Invoice.amountCurrency"),
    "line_net_key": WireFact("amountExcludingVatCurrency", "vendor schema",
                             f"{SPEC}, OrderLine.amountExcludingVatCurrency"),
    "line_gross_key": WireFact("amountIncludingVatCurrency", "vendor schema",
                               f"{SPEC}, OrderLine.amountIncludingVatCurrency"),
}


def fact(name: str) -> Any:
    """The value of the wire fact ``name``."""
    return FACTS[name].value
