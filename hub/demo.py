"""The demo firm that ``make run`` seeds: an admin, a few clients, and an integration per installed
vendor sandbox (credentials from the sandbox's demo account)."""

from __future__ import annotations

import os
import secrets
from importlib import metadata
from pathlib import Path

from flask import current_app

from hub import connections
from hub.app import services
from hub.models import Client, Firm, User, db

DEMO_FIRM = "Demo Accounting OÜ"
DEMO_EMAIL = "admin@demo.example"
DEMO_CLIENTS = [
    ("Põhjala Puit OÜ", "12345678"), ("Tallinna Kohvik AS", "10293847"), ("Nordic Fjord AS", "998877665"),
    ("Riga Amber SIA", "40003012345"), ("Saaremaa Seafood OÜ", "14567890"),
]


def _demo_password() -> str:
    path = Path(current_app.instance_path) / "demo-admin.txt"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
    return path.read_text().strip()


def apply_sandbox_settings(vendors: list[str]) -> None:
    """Operator settings the sandboxes need (e.g. the Tripletex consumer tokens they accept), put into
    this process's environment as ``HUB_<SLUG>_<NAME>`` unless the operator set them."""
    sandboxes = {ep.name: ep for ep in metadata.entry_points(group="hub.sandboxes")}
    for vendor in vendors:
        settings = getattr(sandboxes[vendor].load(), "DEMO_SETTINGS", None) if vendor in sandboxes else None
        for key, value in (settings or {}).items():
            os.environ.setdefault(f"HUB_{vendor.upper()}_{key.upper()}", str(value))


def seed(origins: dict[str, str]) -> dict[str, str]:
    """Create (or refresh) the demo firm. ``origins`` maps vendor slug → sandbox origin."""
    password = _demo_password()
    firm = Firm.query.filter_by(name=DEMO_FIRM).one_or_none()
    if firm is None:
        firm = Firm(name=DEMO_FIRM, country="EE", timezone="Europe/Tallinn", plan="team")
        db.session.add(firm)
        db.session.flush()
        for name, reg in DEMO_CLIENTS:
            db.session.add(Client(firm_id=firm.id, name=name, reg_code=reg))
    user = User.query.filter_by(email=DEMO_EMAIL).one_or_none()
    if user is None:
        user = User(firm_id=firm.id, email=DEMO_EMAIL, name="Demo Admin", role="owner")
        db.session.add(user)
    user.set_password(password)
    db.session.commit()

    sandboxes = {ep.name: ep for ep in metadata.entry_points(group="hub.sandboxes")}
    for vendor, origin in origins.items():
        if vendor not in services().registry.vendors or vendor not in sandboxes:
            continue
        integration = connections.get_or_create_integration(firm.id, vendor)
        integration.settings = {**(integration.settings or {}), "origin": origin}
        db.session.commit()
        if not integration.enabled:
            connections.set_enabled(integration, True)
        demo = getattr(sandboxes[vendor].load(), "DEMO_CREDENTIALS", None)
        if demo and not integration.has_credentials:
            connections.save_credentials(integration, dict(demo))
    return {"email": DEMO_EMAIL, "password": password}
