"""OAuth Example's sandbox: the kit's OAuth 2.0 authorisation server and a small bearer-token API.

Demo settings (``DEMO_SETTINGS``, exported as ``HUB_OAUTHEXAMPLE_<NAME>``): the hub's app at the vendor is
``demo-client`` / ``demo-secret``, i.e. ``HUB_OAUTHEXAMPLE_OAUTH_CLIENT_ID`` and
``HUB_OAUTHEXAMPLE_OAUTH_CLIENT_SECRET``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request

from hub.testing.oauth_server import OAUTH_KNOBS, OAuthProvider
from hub.testing.sandbox import Sandbox

DEMO_CLIENT = {"client_id": "demo-client", "client_secret": "demo-secret"}
#: The operator settings that point the hub at the demo app (``HUB_OAUTHEXAMPLE_<NAME>`` variables).
DEMO_SETTINGS = {"oauth_client_id": DEMO_CLIENT["client_id"], "oauth_client_secret": DEMO_CLIENT["client_secret"]}
CLIENTS = [{"id": i, "name": f"Client {i:02d}"} for i in range(1, 6)]


class SandboxState(Sandbox):
    name = "oauthexample"
    vendor_knobs = dict(OAUTH_KNOBS)

    def seed(self) -> None:
        self.invoices: list[dict[str, Any]] = []


def create_app(**knobs: Any) -> Flask:
    state = SandboxState(**knobs)
    app = state.create_app()
    provider = OAuthProvider(state, clients={DEMO_CLIENT["client_id"]: DEMO_CLIENT["client_secret"]})
    provider.init_app(app)
    app.extensions["oauth"] = provider

    @app.get("/v1/me")
    def me():  # noqa: ANN202
        return provider.deny() or jsonify(company="Demo Books OÜ")

    @app.get("/v1/clients")
    def clients():  # noqa: ANN202
        q = request.args.get("q", "").lower()
        return provider.deny() or jsonify(items=[c for c in CLIENTS if q in c["name"].lower()])

    @app.get("/v1/stats")
    def stats():  # noqa: ANN202
        if (denied := provider.deny()):
            return denied
        client = int(request.args.get("client") or 0)
        start, end = request.args["start"], request.args["end"]
        months, (y, m) = {}, map(int, start.split("-"))
        while f"{y:04d}-{m:02d}" <= end:
            months[f"{y:04d}-{m:02d}"] = client + m
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return jsonify(months=months)

    @app.post("/v1/invoices")
    def create_invoice():  # noqa: ANN202
        if (denied := provider.deny()):
            return denied
        body = request.get_json()
        with state.lock:
            found = [i for i in state.invoices if i["reference"] == body["reference"]]
            if found:
                return jsonify(found[0]), 200
            invoice = {**body, "id": len(state.invoices) + 1}
            state.invoices.append(invoice)
        return jsonify(invoice), 201

    @app.get("/v1/invoices")
    def find_invoices():  # noqa: ANN202
        ref = request.args.get("reference")
        return provider.deny() or jsonify(items=[i for i in state.invoices if i["reference"] == ref])

    return app
