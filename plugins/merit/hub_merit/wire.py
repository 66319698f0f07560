"""What the Merit plugin relies on about Merit Aktiva's API, as data, each fact with where it comes from.

Merit publishes no schema file, so the client (:mod:`hub_merit.client`, :mod:`hub_merit`) and the sandbox
(:mod:`hub_merit.sandbox`) both read the shapes below — field names, date fields, list keys, lengths,
endpoints, codes — instead of each spelling them out. ``tests/test_client.py`` runs
:func:`hub.testing.wire.check_wire_facts` over the table: a fact marked ``assumed`` must be named in the
plugin's README.

References: ``public-apis.md`` is ``shared/vendors/public-apis.md`` (§3 Merit, §7 corrections; its sources
M1 api.merit.ee reference manual, M2 Passeli Merit docs, M3 Elnora-AI/elnora-merit-aktiva, M4
isirotech/merit-aktiva-go, M5 KonektOU/merit-aktiva-for-woocommerce).
"""

from __future__ import annotations

from typing import Any

from hub.wire import WireFact

_SALES_INVOICE = "api.merit.ee …/sales-invoices/create-sales-invoice (v1 sendinvoice); public-apis.md §3, §7"
_PAYMENTS = "api.merit.ee …/payments/list-of-payments (v1 and v2 results); public-apis.md §3, §7"

FACTS: dict[str, WireFact] = {
    # -- transport and signing --------------------------------------------------------------------------
    "hosts": WireFact({"EE": "https://aktiva.merit.ee/api", "FI": "https://app.passelimerit.fi/api",
                       "FI-LEGACY": "https://aktiva.meritaktiva.fi/api", "PL": "https://program.360ksiegowosc.pl/api"},
                      "vendor page", "public-apis.md §3 Base URLs (M1, M2 apidoc.passelimerit.fi; M3–M5 agree)"),
    "auth_query": WireFact(("ApiId", "timestamp", "signature"), "vendor page",
                           "M1 authentication + FAQ; public-apis.md §3 Authentication"),
    "timestamp_format": WireFact("%Y%m%d%H%M%S", "vendor page", "M1 authentication: yyyyMMddHHmmss in UTC"),
    "request_date_format": WireFact("%Y%m%d", "vendor page", "M1 representation formats: dates yyyyMMdd"),
    "request_datetime_format": WireFact("%Y%m%d%H%M%S", "vendor page",
                                        "M1 representation formats: date-times yyyyMMddHHmmss"),
    "period_fields": WireFact(("PeriodStart", "PeriodEnd"), "vendor page",
                              "M1 get-list-of-invoices, list-of-payments, getglbatches query payloads"),
    "list_window_months": WireFact(3, "vendor page", "M1 list pages: 'Period length max 3 months!'"),
    "rate_limit": WireFact((60, 60), "vendor page", "M1 /rate-limiter/: 60 requests per minute, then 429"),
    "max_rows": WireFact(200, "vendor page", "M1 /rate-limiter/: at most 200 rows per document"),
    "licence_error": WireFact("api-wronglicense", "vendor page", "M1 responses + FAQ: 401 api-wronglicense"),
    # -- endpoints (path after /api/) -------------------------------------------------------------------
    "endpoint_taxes": WireFact("v1/gettaxes", "vendor page", "M1 tax list; M2; M4 tax.go"),
    "endpoint_items": WireFact("v1/getitems", "independent client", "M3 commands, M4 items.go"),
    "endpoint_invoices": WireFact("v1/getinvoices", "vendor page", "M1 sales-invoices/get-list-of-invoices"),
    "endpoint_purchases": WireFact("v1/getpurchorders", "vendor page", "M1 purchase invoices list"),
    "endpoint_payments": WireFact("v1/getpayments", "vendor page", _PAYMENTS),
    "endpoint_payment_links": WireFact("v2/getpayments", "vendor page",
                                       _PAYMENTS + ": only v2 carries the paid documents"),
    "endpoint_gl_batches": WireFact("v1/getglbatches", "vendor page",
                                    "M1/M2 general-ledger-transactions/get-list-of-gl-transactions"),
    "endpoint_send_invoice": WireFact("v1/sendinvoice", "vendor page", _SALES_INVOICE),
    # -- list rows --------------------------------------------------------------------------------------
    "gl_batch_date": WireFact("BatchDate", "vendor page",
                              "M1/M2 get-list-of-gl-transactions result (\"BatchDate\": \"2020-07-09T00:00:00\"; "
                              "no DocumentDate on a GL batch); public-apis.md §7"),
    "gl_batch_date_type": WireFact(0, "independent client",
                                   "M3 commands: getglbatches DateType (0 document date, 1 changed date)"),
    "invoice_date": WireFact("DocumentDate", "vendor page", "M1 get-list-of-invoices result"),
    "invoice_id": WireFact("SIHId", "vendor page", "M1 get-list-of-invoices result"),
    "invoice_number": WireFact("InvoiceNo", "vendor page", "M1 get-list-of-invoices result"),
    "invoice_vat": WireFact("TaxAmount", "vendor page", "M1 get-list-of-invoices / purchase list results"),
    "purchase_date": WireFact("DocumentDate", "vendor page", "M1 purchase invoices list result"),
    "payment_date": WireFact("DocumentDate", "vendor page", _PAYMENTS),
    "payment_direction": WireFact("Direction", "vendor page", _PAYMENTS),
    "payment_direction_customer": WireFact(1, "vendor page", _PAYMENTS + ": 1 transactions with customers"),
    # v1 DocumentNo is the payment document's own number, never the invoice it pays (public-apis.md §7).
    "payment_links": WireFact("PaymAPIDetails", "vendor page",
                              _PAYMENTS + " (v2 result table calls it an object; public-apis.md §7 reads "
                              "PaymAPIDetails[]; the client takes a list or one object)"),
    "payment_links_alt": WireFact("Details", "vendor page",
                                  "the same page's v2 example result names the list \"Details\" (the sources "
                                  "disagree, so the client reads either)"),
    "payment_link_invoice_number": WireFact("DocNo", "vendor page",
                                            _PAYMENTS + ": PaymAPIDetails DocNo = document (invoice) no"),
    "payment_link_doc_amount": WireFact("DocAmount", "vendor page", _PAYMENTS + ": PaymAPIDetails DocAmount"),
    "doc_amount_is_total": WireFact(True, "inferred",
                                    _PAYMENTS + ": DocAmount has no comment; read as the invoice's total with VAT "
                                    "(the page's example: DocAmount 100.00, PaidAmount 100.00)"),
    "payment_link_paid_amount": WireFact("PaidAmount", "vendor page",
                                         _PAYMENTS + ": PaymAPIDetails PaidAmount = amount paid by payment"),
    "payment_link_invoice_id": WireFact("DocId", "independent client",
                                        "Elnora-AI skills/merit-payments-bank/SKILL.md lists DocId in PaymAPIDetails; "
                                        "not in Merit's own table, so the client falls back to DocNo"),
    # -- sendinvoice --------------------------------------------------------------------------------------
    "invoice_no_max": WireFact(35, "vendor page", _SALES_INVOICE + ": InvoiceNo Str 35, required"),
    "item_code_max": WireFact(20, "vendor page", _SALES_INVOICE + ": ItemObject Code Str 20"),
    "item_description_max": WireFact(100, "vendor page",
                                     _SALES_INVOICE + ": ItemObject Description Str 100 (Elnora-AI "
                                     "reference/fields.md says Str150: the vendor's stricter figure wins)"),
    "item_type_service": WireFact(2, "vendor page", _SALES_INVOICE + ": ItemObject Type 2 = service"),
    "comment_max": WireFact(4000, "inferred",
                            _SALES_INVOICE + ": Hcomment/Fcomment 'String 4K'; 4000 is the cautious reading"),
    "new_customer_required": WireFact(("Name", "CountryCode", "NotTDCustomer"), "vendor page",
                                      _SALES_INVOICE + ": CustomerObject 'Required when customer is added'"),
    "not_td_customer_ee": WireFact(("private", "foreign"), "vendor page",
                                   _SALES_INVOICE + ": 'EE True for physical persons and foreign companies'"),
    "not_td_customer_pl": WireFact(("private",), "vendor page", _SALES_INVOICE + ": 'PL True for physical persons'"),
    "not_td_customer_fi": WireFact(("private", "foreign"), "inferred",
                                   "Merit's older create-sales-invoice page gives 'True for physical persons and "
                                   "foreign companies' without a country; the newer one names only EE and PL"),
    "new_customer_max": WireFact({"Address": 100, "City": 30, "PostalCode": 15, "Email": 80}, "vendor page",
                                 _SALES_INVOICE + ": CustomerObject Address Str 100, City Str 30, PostalCode Str 15, "
                                 "Email Str 80 (issue 27; an independent Merit client cuts to the same)"),
    "vat_per_row": WireFact(True, "vendor page",
                            _SALES_INVOICE + ": VAT is counted per row, each rounded, and recomputed by Merit "
                            "(an independent Merit client fixed its TaxAmount/TotalAmount to row-rounded sums)"),
    "tax_percent_fields": WireFact(("TaxPct", "Percent"), "vendor page",
                                   "M1 gettaxes result TaxPct; M2 (Finnish docs) names it Percent in one table: "
                                   "the sources disagree, the client reads either"),
    "gl_batches_method": WireFact({"EE": "POST", "PL": "POST", "FI": "GET", "FI-LEGACY": "GET"}, "vendor page",
                                  "M2 (Finnish docs): getglbatches accepts only GET; M1 and M3/M4 POST. The client "
                                  "tries the country's method first and the other on 405"),
    "endpoint_invoice_details": WireFact("v1/getinvoice", "vendor page",
                                         "M1 sales-invoices/get-invoice: payload {\"Id\": SIHId}, answer Header, "
                                         "Lines, Payments"),
    "invoice_details_header": WireFact(("TotalAmount", "TaxAmount", "TotalSum", "CurrencyCode", "CustomerName",
                                        "CustomerRegNo", "RoundingAmount"), "vendor page",
                                       "M1 get-invoice / get-list-of-invoices Header fields (TotalAmount = without "
                                       "VAT, TotalSum = with VAT)"),
    "invoice_details_line": WireFact(("Description", "Quantity", "Price", "TaxId", "TaxAmount"), "assumed"),
    "send_invoice_answer": WireFact(("CustomerId", "InvoiceId", "InvoiceNo", "RefNo", "NewCustomer"), "vendor page",
                                    "M1 responses; " + _SALES_INVOICE),
    # -- errors -----------------------------------------------------------------------------------------
    "bad_payload_answer": WireFact(200, "vendor page",
                                   "M1 responses/FAQ: a payload that makes no sense is answered 200 with an ASP.NET "
                                   "stack trace; Elnora-AI merit-client.ts maps it to an error (public-apis.md §7)"),
    "server_fault_answer": WireFact(500, "vendor page", "M2 responses: 500 + stack trace 'should not happen'"),
    "stack_trace_markers": WireFact(("Exception", "System.", "Microsoft.", "StackTrace", "Server Error in"),
                                    "independent client",
                                    "Elnora-AI merit-client.ts looksLikeStackTrace (System., Microsoft., "
                                    "Exception:, StackTrace)"),
    "error_message_key": WireFact("Message", "independent client",
                                  "KonektOU merit-aktiva-for-woocommerce includes/API.php reads $response->Message "
                                  "of a failed sendinvoice (public-apis.md §7)"),
    "duplicate_invoice_words": WireFact(("already", "juba"), "assumed"),
    # -- what the sandbox answers where nobody published Merit's reply ---------------------------------
    # A text longer than its column: the bad_payload_answer (200 + ASP.NET stack trace) of this SQL Server exception.
    "customer_field_too_long_answer": WireFact(("System.Data.SqlClient.SqlException", "String or binary data would "
                                                "be truncated. The statement has been terminated."), "assumed"),
    "description_too_long_answer": WireFact(("System.Data.SqlClient.SqlException", "String or binary data would be "
                                             "truncated. The statement has been terminated."), "assumed"),
    # A new foreign customer without NotTDCustomer: this status, with an error_message_key body ({"Message": …}).
    "foreign_not_td_answer": WireFact(400, "assumed"),
    "timestamp_skew_s": WireFact(300, "inferred", "public-apis.md §3: stale timestamps are refused; the tolerance is "
                                                  "not published"),
}


def fact(name: str) -> Any:
    """The value of the wire fact ``name``."""
    return FACTS[name].value
