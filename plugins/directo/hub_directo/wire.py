"""The facts about Directo XML Direct that no published XSD at hand covers, as data, each with its source.

Customers, items and receipts are covered by Directo's own output schemas (``ws_kliendid.xsd``,
``ws_artiklid.xsd``, ``ws_laekumised.xsd``; input: ``xml_IN_*.xsd``) in ``shared/vendor-specs/directo/``:
the tests validate the sandbox's answers against them and check every attribute the client reads. What is
left (the transport, component names, result codes, the invoice's field names, the receipt header fields
the wiki lists beyond the XSD) is here. Sources: ``shared/vendors/public-apis.md`` §5 and §7.

The client (:mod:`hub_directo.client`) and the sandbox (:mod:`hub_directo.sandbox`) read what they rely on
from here through :func:`fact`, and neither spells a value out again; ``tests/test_client.py`` checks that every
fact names its source (:func:`hub.testing.wire.check_wire_facts`) and that the assumed ones are named in the
README.
"""

from __future__ import annotations

from typing import Any

from hub.wire import WireFact

D1 = "wiki.directo.ee/en/xml_direct"
D1_START = "wiki.directo.ee/en/xml_direct/start (component table)"
D1_TECH = "wiki.directo.ee/en/xml_direct/alustamine/tehnilised_nouded (technical requirements)"
D1_CODES = "wiki.directo.ee/en/xml_direct/alustamine/vastused_ja_veakoodid (responses and error codes)"
D1_RECEIPT = "wiki.directo.ee/en/xml_direct/muuk/receipt"
D2 = "github.com/5dvision/directo (PHP SDK, MIT, d8455d5)"
D3 = "Go package directo, InvoiceXML/InvoiceLineXML (\"field names match xml_IN_arved.xsd\"; public-apis.md §5 D3)"

FACTS: dict[str, WireFact] = {
    # -- transport -------------------------------------------------------------------------------------------
    "endpoint": WireFact("https://login.directo.ee/xmlcore/cap_xml_direct/xmlcore.asp", "vendor page",
                         f"{D1} (POST, form/urlencoded)"),
    "token_field": WireFact("token", "vendor page", f"{D1} (\"sent via the POST method in the TOKEN variable\")"),
    "read_fields": WireFact(("get", "what"), "vendor page", f"{D1} curl example"),
    "write_fields": WireFact(("put", "what", "xmldata"), "independent client", f"{D2} src/Transport sendPutRequest"),
    "components": WireFact(("customer", "item", "invoice", "purchase", "receipt", "transaction"), "vendor page",
                           D1_START),
    "filters": WireFact(("code", "number", "date1", "date2", "ts"), "vendor page",
                        f"{D1_RECEIPT} (number, date1, date2, ts); {D1} (what=customer&code=…)"),
    "period_filters_on_every_document": WireFact(("invoice", "purchase", "transaction"), "inferred",
                                                 f"date1/date2 are documented for receipt only ({D1_RECEIPT})"),
    "filter_date_format": WireFact("%d.%m.%Y", "vendor page", f"{D1} curl example (ts=xx.xx.xxxx)"),
    "no_paging": WireFact(True, "vendor page", f"{D1} (output lists every record unless filtered)"),
    "max_post_bytes": WireFact(19 * 1024 * 1024, "vendor page", D1_TECH),
    "retry_after_seconds": WireFact(60, "vendor page", f"{D1_CODES} (on failure retry after 60 s or more)"),
    "published_rate_limit": WireFact(None, "inferred", "none in D1 or D2; public-apis.md §5 [DOC gap]"),
    # -- answers ---------------------------------------------------------------------------------------------
    "unauthorized_body": WireFact('<result type="5" desc="Unauthorized"/>', "vendor page",
                                  f"{D1}; {D2} src/Parser/ErrorResponseDetector.php"),
    "token_missing_body": WireFact("<err>token required</err>", "vendor page", D1),
    "containers": WireFact({"customer": "customers", "item": "items"}, "independent client",
                           f"{D2} tests/Fixtures transport-with-container.xml / -without-container.xml "
                           "(records come inside the plural container or straight under <transport>)"),
    "transport_database_attributes": WireFact(("database", "databasename"), "assumed"),
    "receipt_header_fields_beyond_xsd": WireFact(("paymentmode", "aeg"), "vendor page",
                                                 f"{D1_RECEIPT} output header: number, paymentmode, aeg, "
                                                 "confirmed, ts; ws_laekumised.xsd (D2's copy) lists only "
                                                 "number, confirmed, ts"),
    "receipt_time_field": WireFact("aeg", "vendor schema",
                                   f"ws_laekumised.xsd row aeg (raeg, UI 'Aeg'); {D1_RECEIPT} header aeg"),
    "receipt_balance_field": WireFact("invoicesum", "vendor schema",
                                      "ws_laekumised.xsd row invoicesum = summa_a, UI 'Arve saldo' (invoice "
                                      "balance), not the invoice total"),
    "invoicesum_is_the_balance_the_row_pays": WireFact(
        True, "inferred",
        "'Arve saldo' is the open balance of the invoice the row is entered against; D2's fixtures/receipts.xml "
        "has received == invoicesum on whole payments. A row with received >= invoicesum settles the invoice"),
    # -- put ----------------------------------------------------------------------------------------------------
    "result_codes": WireFact({
        0: "Created/Updated/Confirmed", 5: "Unauthorized", 8: "invalid XML", 9: "error on import", 11: "duplicate",
        12: "missing document id", 13: "missing customer code / regno", 14: "update not allowed",
        17: "document insert failed", 18: "uniqueid field not found", 19: "removal not allowed",
        29: "not confirmed", 30: "created/updated (linked)", 31: "precondition not found",
        39: "linked not confirmed", 99: "no processable XML"}, "vendor page", D1_CODES),
    "result_attributes": WireFact(("Type", "Desc", "docid", "doctype"), "vendor page",
                                  f"{D1_CODES} (<results><Result Type=… Desc=… docid=… doctype=…/>)"),
    "document_number_required": WireFact(True, "vendor page",
                                         f"{D1_RECEIPT} input header: number 'mandatory'; {D1_CODES} Type 12 "
                                         "'missing document id'; public-apis.md §7"),
    "max_document_number": WireFact(2147483647, "vendor page", f"{D1_TECH} (document numbers are int)"),
    "update_needs_xd_update": WireFact("xd_update", "vendor page",
                                       f"{D1_TECH}; {D1_RECEIPT} (modify requires xd_update=1)"),
    "invoice_put_elements": WireFact(("invoices", "invoice", "rows", "row"), "independent client", D3),
    "invoice_put_header_fields": WireFact(
        ("number", "customercode", "customername", "customer_regno", "vatregno", "email", "date", "duedate",
         "paymentterm", "currency", "language", "comment", "address1", "address2", "address3"),
        "independent client", D3),
    "invoice_buyer_type_field": WireFact("customer_type", "assumed"),
    "buyer_type_values": WireFact({"company": "0", "private": "1"}, "vendor schema",
                                  "xml_IN_kliendid.xsd customer type (klient_tyyp): company = 0, private citizen = 1, "
                                  "government institution = 2"),
    "vat_codes": WireFact({"1": 24, "2": 9, "3": 0, "4": 13, "22": 22}, "assumed"),
    "vatcode_type": WireFact("int", "vendor schema",
                             "xml_IN_kliendid.xsd / xml_IN_laekumised.xsd vatcode xsd:int (KM kood); "
                             "xml_IN_artiklid.xsd vatcode xsd:string"),
    "default_vat_without_vatcode": WireFact(True, "inferred",
                                            "issue 27: a row put without vatcode was booked at the database's default "
                                            "VAT (24 %) in Directo; the sandbox applies the item's code, else 1"),
    "vat_per_rate": WireFact(True, "assumed"),
    "invoice_put_row_fields": WireFact(("item", "description", "quantity", "price", "vatcode", "unit"),
                                       "independent client", D3),
    "invoice_reference_field": WireFact("comment", "independent client",
                                        f"{D3} Comment (the only free-text header field there)"),
    "inline_customer_avoids_type_13": WireFact(True, "independent client", f"{D3} struct comment"),
    # -- documents without an XSD at hand (ws_arved, purchase, transaction) --------------------------------
    "invoice_output_fields": WireFact(("number", "customer", "customercode", "customername", "customer_regno",
                                       "date", "currency", "total", "sum", "vat", "confirmed", "comment"), "inferred",
                                      "public-apis.md §5 [INF]: the get side mirrors the put names; no ws_arved.xsd"),
    "purchase_output_fields": WireFact(("number", "supplier", "suppliercode", "date", "confirmed"), "inferred",
                                       "public-apis.md §5 [INF]"),
    "transaction_output_fields": WireFact(("number", "date"), "inferred",
                                          "wiki.directo.ee/en/xml_direct/finants/transaction lists date on rows; "
                                          "a header date is [INF]"),
}


def fact(name: str) -> Any:
    """The value of one fact."""
    return FACTS[name].value
