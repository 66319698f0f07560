"""The Example vendor's sandbox: a WSGI app with seeded data and fault knobs."""

from __future__ import annotations

import time
from decimal import ROUND_HALF_UP, Decimal

from flask import Flask, jsonify, request

DEMO_CREDENTIALS = {"api_key": "ex-good-key-0001", "company": "acme"}
KEYS = {"ex-good-key-0001": "acme", "ex-other-key-0002": "beta"}
NAMES = {"acme": "Acme Books OÜ", "beta": "Beta Ltd"}
CLIENTS = [{"id": i, "name": f"Client {i:02d}", "reg": f"1000{i:04d}"} for i in range(1, 26)]


TAXES = [{"id": "T24", "code": "24%", "name": "Standard", "rate": "24"},
         {"id": "T9", "code": "9%", "name": "Reduced", "rate": "9"},
         {"id": "T0", "code": "0%", "name": "Exempt", "rate": "0"}]


def create_app(*, fail_with: int | None = None, garbage: bool = False, zero: bool = False,
               hold_after_create_s: float = 0.0, dedupe: bool = False) -> Flask:
    """Knobs: ``fail_with`` (status for every request), ``garbage`` (HTML answers), ``zero`` (all statistics
    0), ``hold_after_create_s`` (store a new invoice, then wait before answering: a crash window),
    ``dedupe`` (answer 409 for a reference seen before; off by default, like a vendor that does not protect
    against duplicates, so the hub's own exactly-once mechanism is what the tests see). While it runs, a test may
    set ``app.config["hold_find_s"]`` (wait before answering an invoice lookup: another crash window),
    ``app.config["book_rates"]`` (``{"T0": "24"}``: book a tax code at another rate — a vendor that books VAT its
    own way) and ``app.config["report_booked"] = False`` (an invoice lookup without the booked figures)."""
    app = Flask("example-sandbox")
    app.config["calls"] = []
    app.config["invoices"] = []
    app.config["hold_find_s"] = 0.0
    app.config["book_rates"] = {}
    app.config["report_booked"] = True

    @app.before_request
    def faults():  # noqa: ANN202
        app.config["calls"].append(request.path)
        if fail_with:
            return jsonify(error="boom"), fail_with, {"Retry-After": "0"}
        if garbage:
            return "<html>oops", 200
        return None

    def auth(company: str):  # noqa: ANN202
        owner = KEYS.get(request.headers.get("X-Api-Key", ""))
        if owner is None:
            return jsonify(error="bad key"), 401
        if company not in NAMES or owner != company:
            return jsonify(error="no such company"), 404
        return None

    @app.get("/v1/<company>/whoami")
    def whoami(company: str):  # noqa: ANN202
        return auth(company) or jsonify(company_name=NAMES[company], expires="2027-03-31")

    @app.get("/v1/<company>/clients")
    def clients(company: str):  # noqa: ANN202
        if (denied := auth(company)):
            return denied
        q = request.args.get("q", "").lower()
        page = int(request.args.get("page", 1))
        found = [c for c in CLIENTS if q in c["name"].lower()]
        return jsonify(items=found[(page - 1) * 10: page * 10], more=page * 10 < len(found))

    @app.get("/v1/<company>/stats")
    def stats(company: str):  # noqa: ANN202
        if (denied := auth(company)):
            return denied
        client = int(request.args.get("client") or 0)
        start, end = request.args["start"], request.args["end"]
        months, (y, m) = {}, map(int, start.split("-"))
        while f"{y:04d}-{m:02d}" <= end:
            months[f"{y:04d}-{m:02d}"] = ({"documents": 0, "entries": 0, "payments": 0} if zero else
                                          {"documents": client + m, "entries": 2 * (client + m), "payments": m})
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return jsonify(months=months)

    @app.get("/v1/<company>/taxes")
    def taxes(company: str):  # noqa: ANN202
        return auth(company) or jsonify(items=TAXES)

    @app.post("/v1/<company>/invoices")
    def create_invoice(company: str):  # noqa: ANN202
        if (denied := auth(company)):
            return denied
        body = request.get_json()
        if not body.get("lines") or any(line.get("tax") not in {t["id"] for t in TAXES} for line in body["lines"]):
            return jsonify(errors={"lines": ["Every line needs a known tax code."]}), 422
        if body["number"].startswith("BAD"):
            return jsonify(errors={"number": ["Invoice number must not start with BAD."]}), 422
        existing = [i for i in app.config["invoices"] if i["reference"] == body["reference"]]
        if existing and dedupe:
            return jsonify(existing[0]), 409
        invoice = {**body, "id": len(app.config["invoices"]) + 1, "company": company}
        app.config["invoices"].append(invoice)
        if hold_after_create_s:
            time.sleep(hold_after_create_s)
        return jsonify(invoice), 201

    @app.get("/v1/<company>/invoices")
    def find_invoices(company: str):  # noqa: ANN202
        if (denied := auth(company)):
            return denied
        ref = request.args.get("reference")
        if app.config["hold_find_s"]:
            time.sleep(app.config["hold_find_s"])
        found = [i for i in app.config["invoices"] if i["reference"] == ref and i["company"] == company]
        if app.config["report_booked"]:
            found = [{**i, "booked": booked(i)} for i in found]
        return jsonify(items=found)

    def booked(invoice: dict) -> dict:
        """The invoice as Example books it: each line's net rounded, VAT once per tax code's rate on the sum of its
        nets (from the code, not from what the hub sent)."""
        rates = {t["id"]: app.config["book_rates"].get(t["id"], t["rate"]) for t in TAXES}
        lines = [{"net": cents(Decimal(line["qty"]) * Decimal(line["price"])), "rate": rates[line["tax"]]}
                 for line in invoice["lines"]]
        nets: dict[str, Decimal] = {}
        for line in lines:
            nets[line["rate"]] = nets.get(line["rate"], Decimal("0")) + line["net"]
        net = sum(nets.values(), Decimal("0"))
        vat = sum((cents(n * Decimal(r) / 100) for r, n in nets.items()), Decimal("0"))
        return {"currency": "EUR", "net": str(net), "vat": str(vat), "total": str(net + vat),
                "customer": invoice["customer"], "lines": [{"net": str(x["net"]), "rate": x["rate"]} for x in lines]}

    return app


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
