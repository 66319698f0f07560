"""Every fact the SmartAccounts plugin relies on about the SmartAccounts API, as data, each with its source.

SmartAccounts publishes no API documentation and no schema: the facts come from public clients written by
others (``shared/vendors/public-apis.md`` §4 and §7). The client (:mod:`hub_smartaccounts.client`) and the
sandbox (:mod:`hub_smartaccounts.sandbox`) both read their shapes from here with :func:`fact` — list keys, the
``deleted`` array, page size, date and timestamp formats, the article code on every invoice row, the throttling
answer — so a fact corrected here corrects both. ``tests/test_client.py`` checks that every fact names its
source and every ``assumed`` one is owned up to in the README.
"""

from __future__ import annotations

from typing import Any

from hub.wire import WireFact

A1 = "github.com/smartman/woocommerce_smartaccounts (WooCommerce plugin by SmartAccounts' developer, HEAD 09073f7)"
A2 = "github.com/mobitrek/smartaccounts-api (independent Java client, HEAD 147a7ed)"
A3 = "independent Go client `package smartaccounts` (public-apis.md §4 A3, §7)"
A4 = "independent Laravel SmartAccountsConnector (public-apis.md §4 A4)"
A5 = "SmartAccounts MCP tools by usefulapi (github.com/m190/usefulapi-mcp, public-apis.md §4 A5)"
KONEKT = "github.com/KonektOU/smartaccounts-for-woocommerce (independent WooCommerce plugin), includes/API.php"

FACTS: dict[str, WireFact] = {
    # -- transport and signing ---------------------------------------------------------------------------------
    "base_url": WireFact("https://sa.smartaccounts.eu/api/", "independent client", f"{A1} SmartAccountsApi.php; {A2}"),
    "endpoint_form": WireFact("{module}/{entity}:{verb}", "independent client", f"{A1}; {A2}; {KONEKT}"),
    "query_auth_order": WireFact(("apikey", "timestamp"), "independent client", f"{A1} SmartAccountsApi.php; {A2}"),
    "timestamp_format": WireFact("%d%m%Y%H%M%S", "independent client", f"{A1} date('dmYHis'); {A2}"),
    "timestamp_zone": WireFact("Europe/Tallinn", "independent client", f"{A1}; {A2}; {A4}"),
    # the query parameter last on the URL, and the digest: lowercase hex HMAC-SHA256 keyed with the secret over the
    # query string as sent without `signature`, followed by the raw body
    "signature": WireFact({"param": "signature", "hmac": "sha256"},
                          "independent client", f"{A2} HmacSha1Signature.java (uses HmacSHA256); {A1}"),
    # the method of a `:get` read, first choice and fallback (on 405)
    "read_method": WireFact(("GET", "POST"), "independent client",
                            f"GET without a body: {A2}, {A4}, {KONEKT}; POST with {{}}: {A1}"),
    "clock_skew_seconds": WireFact(300, "assumed"),
    # -- conventions ------------------------------------------------------------------------------------------
    "date_format": WireFact("%d.%m.%Y", "independent client", f"{A1} date('d.m.Y'); {A4}; {KONEKT}"),
    "page_param": WireFact("pageNumber", "independent client", f"{A4}; {KONEKT} get_products"),
    "page_size": WireFact(100, "independent client", f"{A5}: \"100 objects per page\""),
    "more_key": WireFact("hasMoreEntries", "independent client", f"{A1} SmartAccountsClient.php; {A4}; {KONEKT}"),
    "deleted_key": WireFact("deleted", "independent client", f"{A3}: list answers carry a `deleted` array; §7"),
    "date_filters": WireFact(("dateFrom", "dateTo"), "independent client", f"{A4} general/entries:get; {A5}"),
    "date_filters_on_document_lists": WireFact(True, "assumed"),
    # -- list keys (the rows of each :get answer) ---------------------------------------------------------------
    "list_keys": WireFact({
        "settings/vatpcs:get": "vatPcs",
        "purchasesales/clients:get": "clients",
        "purchasesales/articles:get": "articles",
        "purchasesales/clientinvoices:get": "clientInvoices",
        "purchasesales/vendorinvoices:get": "vendorInvoices",
        "general/entries:get": "entries",
    }, "independent client", f"{A3} (clientInvoices, vendorInvoices, vatPcs; §7); {A1} SmartAccountsClient.php "
                             f"(clients), SmartAccountsArticle.php (articles); {KONEKT} (articles); {A4} (entries)"),
    "payments_list_key": WireFact("payments", "assumed"),
    "payment_account_type_field": WireFact("accountType", "assumed"),
    "manual_entry_doc_type": WireFact("LEDGER_ENTRY", "independent client", f"{A4} docType filter; {A5}"),
    # -- VAT types ------------------------------------------------------------------------------------------
    "vat_percent_fields": WireFact(("pc", "percent"), "independent client",
                                   f"{A3} VatPc.pc; {A5} percent (they disagree)"),
    # -- clients ----------------------------------------------------------------------------------------------
    "client_search_param": WireFact("nameOrRegCode", "independent client", f"{A1} SmartAccountsClient.php"),
    "client_add_fields": WireFact(("name", "regCode", "vatNumber", "address", "contacts"), "independent client",
                                  f"{A1} SmartAccountsClient.php addNewSaClient; {A3} ClientItem"),
    "client_address_fields": WireFact(("country", "county", "city", "address1", "address2", "postalCode"),
                                      "independent client", f"{A1} SmartAccountsClient.php addNewSaClient"),
    "client_add_answer": WireFact("clientId", "independent client", f"{A1} SmartAccountsClient.php; {KONEKT}"),
    # -- articles -----------------------------------------------------------------------------------------------
    "row_article_code_required": WireFact(True, "independent client",
                                          f"{A1} SmartAccountsSalesInvoice.php (every row gets a code, articles "
                                          f"ensured first); {KONEKT} create_invoice; {A5} clientinvoices:add; §7"),
    "article_search_param": WireFact("code", "independent client", f"{A1} SmartAccountsArticle.php"),
    "article_add_fields": WireFact(("code", "description", "type", "activeSales"), "independent client",
                                   f"{A1} SmartAccountsArticle.php ensureAllArticlesExist"),
    "article_types": WireFact(("PRODUCT", "SERVICE", "WH"), "independent client",
                              f"{A1} SmartAccountsArticle.php (PRODUCT, SERVICE); {KONEKT} (WH)"),
    "article_fields": WireFact(("code", "description", "type", "unit", "vatPc", "activeSales", "priceSales"),
                               "independent client", f"{KONEKT} get_products; {A3} ArticleItem"),
    # -- sales invoices -----------------------------------------------------------------------------------------
    "invoice_add_fields": WireFact(("clientId", "date", "dueDate", "currency", "invoiceNumber", "comment",
                                    "invoiceNote", "rows"), "independent client",
                                   f"{A1} SmartAccountsSalesInvoice.php; {A3} CreateInvoiceRequest; {KONEKT}"),
    "invoice_row_fields": WireFact(("code", "description", "quantity", "price", "vatPc", "unit"),
                                   "independent client", f"{A1} getOrderRows; {A3} InvoiceItem rows; {KONEKT}"),
    "invoice_add_answer": WireFact(("invoiceId", "invoiceNumber"), "independent client",
                                   f"{KONEKT} create_invoice (invoiceId, invoiceNumber, clientId); {A3}"),
    "invoice_list_filter_number": WireFact("invoiceNumber", "assumed"),
    "invoice_list_rows_param": WireFact("fetchRows", "independent client",
                                        "public-apis.md §4 sales invoices list parameters (fetchRows)"),
    "invoice_list_totals": WireFact(("amount", "vatAmount", "totalAmount", "currency"), "independent client",
                                    f"{A3} InvoiceItem (amount, vatAmount, totalAmount, currency); public-apis.md §4"),
    "invoice_list_row_cents": WireFact(("totalCents", "taxCents"), "independent client",
                                       f"{A1} sends totalCents and taxCents per row (public-apis.md §4); that the "
                                       "list's rows carry them back is this plugin's reading"),
    "vat_per_row": WireFact(True, "inferred",
                            "public-apis.md §4: VAT is given per row (A1's taxCents); the header's vatAmount is read "
                            "as their sum"),
    "address_line_max": WireFact(64, "independent client",
                                 f"{KONEKT} (the vendor developer's WooCommerce plugin cuts address lines at 64); "
                                 "issue 27"),
    "invoice_list_has_comment": WireFact(True, "assumed"),
    # -- errors and limits --------------------------------------------------------------------------------------
    # errors[].message: the list of errors and each one's message
    "error_body": WireFact(("errors", "message"), "independent client",
                           f"{KONEKT} create_invoice ($response->errors)"),
    # errors[].code, errors[].field
    "error_codes_and_fields": WireFact(("code", "field"), "assumed"),
    "throttle_status": WireFact(503, "independent client", f"{A3}: throttling is a 503 with Retry-After; §7"),
    "throttle_retry_after": WireFact("Retry-After", "independent client", f"{A3}; §7"),
    "rate_limits": WireFact(((60, 60), (1000, 86400)), "independent client",
                            f"{A4}; {A5}: \"vendor limit 60 requests/minute and 1000 per 24 h\" (third-party)"),
}


def fact(name: str) -> Any:
    """The value of one fact (``fact("page_size")`` → ``100``)."""
    return FACTS[name].value


def list_key(endpoint: str) -> str:
    """The key a ``:get`` endpoint's rows come under (``clientInvoices`` for ``purchasesales/clientinvoices:get``)."""
    if endpoint == "purchasesales/payments:get":
        return str(fact("payments_list_key"))
    return str(fact("list_keys")[endpoint])
