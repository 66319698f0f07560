"""The demo firm that ``make run`` seeds: an admin, clients, and an integration per installed vendor sandbox
with the sandbox's demo credentials. For vendors with statistics it also maps the common fields to custom
task fields, links two clients (through the vendor's client lookup, or with the sandbox's per-client
accounts) and starts Reload data, so the last 12 months are imported as soon as the worker runs.

What a plugin's sandbox module may offer the demo (all optional):

* ``DEMO_CREDENTIALS: dict`` — the firm's credentials, as the plugin's credentials schema loads them.
* ``DEMO_CLIENT_CREDENTIALS: list[dict]`` — for ``per_client_credentials`` vendors, one credentials dict per
  demo client that has its own vendor account (the first two are used).
* ``DEMO_SETTINGS: dict`` — operator settings the sandbox needs (``{"consumer_token_test": "…"}``), put into
  the environment as ``HUB_<SLUG>_<NAME>`` unless the operator set them.

A plugin whose demo data has the wrong shape, or whose set-up fails, is reported by name and skipped; every
other vendor is still seeded.
"""

from __future__ import annotations

import logging
import os
import secrets
from importlib import metadata
from pathlib import Path
from typing import Any

from flask import current_app

from hub import connections, jobs, linking, statistics
from hub.models import Client, ClientConnection, Firm, Integration, User, db
from hub.services import services
from hub.vault import read_or_create

DEMO_FIRM = "Demo Accounting OÜ"
DEMO_EMAIL = "admin@demo.example"
#: A Member of the demo firm (reads, changes nothing) and the Owner of a firm on the Basic plan (no
#: integrations): so roles and plan gating can be seen. They share the demo admin's password.
DEMO_MEMBER_EMAIL = "member@demo.example"
DEMO_BASIC_FIRM = "Demo Basic Plan OÜ"
DEMO_BASIC_EMAIL = "basic@demo.example"
DEMO_CLIENTS = [
    ("Põhjala Puit OÜ", "12345678"), ("Tallinna Kohvik AS", "10293847"), ("Nordic Fjord AS", "998877665"),
    ("Riga Amber SIA", "40003012345"), ("Saaremaa Seafood OÜ", "14567890"), ("Tartu Tarkvara OÜ", "16000001"),
    ("Pärnu Rannahotell AS", "10555555"), ("Helsinki Design Oy", "31234567"), ("Narva Metall AS", "10777777"),
    ("Viljandi Veski OÜ", "12888888"),
]
CLIENTS_PER_VENDOR = 2
log = logging.getLogger("hub.demo")


class DemoDataError(ValueError):
    """A sandbox module's demo data does not have the documented shape."""


def demo_data(vendor: str, module: object) -> dict[str, Any]:
    """The sandbox module's demo data, checked against the documented shapes (see the module docstring)."""
    credentials = getattr(module, "DEMO_CREDENTIALS", None)
    accounts = getattr(module, "DEMO_CLIENT_CREDENTIALS", None)
    settings = getattr(module, "DEMO_SETTINGS", None)
    if credentials is not None and not isinstance(credentials, dict):
        raise DemoDataError(f"{vendor}: DEMO_CREDENTIALS must be a dict of credentials, not "
                            f"{type(credentials).__name__}")
    if accounts is not None and (not isinstance(accounts, list | tuple)
                                 or not all(isinstance(a, dict) for a in accounts)):
        raise DemoDataError(f"{vendor}: DEMO_CLIENT_CREDENTIALS must be a list of credentials dicts (one per "
                            f"client account), not {type(accounts).__name__}")
    if settings is not None and not isinstance(settings, dict):
        raise DemoDataError(f"{vendor}: DEMO_SETTINGS must be a dict of operator settings, not "
                            f"{type(settings).__name__}")
    return {"credentials": credentials, "client_credentials": list(accounts or []), "settings": settings or {}}


def _demo_password() -> str:
    path = Path(current_app.instance_path) / "demo-admin.txt"
    password = read_or_create(path, lambda: secrets.token_urlsafe(12)).strip()  # created 0600
    path.chmod(0o600)  # a file written by an older hub (0644) is tightened too
    return password


def _sandboxes() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group="hub.sandboxes")}


def apply_sandbox_settings(vendors: list[str]) -> None:
    """Operator settings the sandboxes need (e.g. the Tripletex consumer tokens they accept), put into
    this process's environment as ``HUB_<SLUG>_<NAME>`` unless the operator set them."""
    sandboxes = _sandboxes()
    for vendor in vendors:
        if vendor not in sandboxes:
            continue
        try:
            settings = demo_data(vendor, sandboxes[vendor].load())["settings"]
        except Exception as exc:  # one plugin's broken demo data must not stop the others
            log.warning("demo: skipping the settings of the %s plugin: %s", vendor, exc)
            continue
        for key, value in settings.items():
            os.environ.setdefault(f"HUB_{vendor.upper()}_{key.upper()}", str(value))


def seed(origins: dict[str, str]) -> dict[str, Any]:
    """Create (or refresh) the demo firm. ``origins`` maps vendor slug → sandbox origin.

    Returns the admin's ``email`` and ``password``, and ``skipped``: ``{vendor: reason}`` for plugins whose demo
    could not be set up (each is also logged)."""
    password = _demo_password()
    firm = Firm.query.filter_by(name=DEMO_FIRM).one_or_none()
    if firm is None:
        firm = Firm(name=DEMO_FIRM, country="EE", timezone="Europe/Tallinn", plan="team")
        db.session.add(firm)
        db.session.flush()
    known = {c.name for c in Client.query.filter_by(firm_id=firm.id)}
    for name, reg in DEMO_CLIENTS:
        if name not in known:
            db.session.add(Client(firm_id=firm.id, name=name, reg_code=reg))
    user = _demo_user(firm, DEMO_EMAIL, "Demo Admin", "owner", password)
    _demo_user(firm, DEMO_MEMBER_EMAIL, "Demo Member", "member", password)
    basic = Firm.query.filter_by(name=DEMO_BASIC_FIRM).one_or_none()
    if basic is None:
        basic = Firm(name=DEMO_BASIC_FIRM, country="EE", timezone="Europe/Tallinn", plan="basic")
        db.session.add(basic)
        db.session.flush()
    _demo_user(basic, DEMO_BASIC_EMAIL, "Basic Owner", "owner", password)
    db.session.commit()

    sandboxes = _sandboxes()
    skipped: dict[str, str] = {}
    for vendor, origin in sorted(origins.items()):
        if vendor not in services().registry.vendors or vendor not in sandboxes:
            continue
        try:
            _seed_vendor(firm, user, vendor, origin, sandboxes[vendor])
        except Exception as exc:  # one plugin's bad demo data or failing set-up must not stop the others
            db.session.rollback()
            skipped[vendor] = str(exc) or type(exc).__name__
            log.warning("demo: the %s plugin's demo was skipped: %s", vendor, skipped[vendor],
                        exc_info=not isinstance(exc, DemoDataError))
    return {"email": DEMO_EMAIL, "password": password, "skipped": skipped,
            "member_email": DEMO_MEMBER_EMAIL, "basic_email": DEMO_BASIC_EMAIL}


def _demo_user(firm: Firm, email: str, name: str, role: str, password: str) -> User:
    user = User.query.filter_by(email=email).one_or_none()
    if user is None:
        user = User(firm_id=firm.id, email=email, name=name, role=role)
        db.session.add(user)
    user.set_password(password)
    return user


def _seed_vendor(firm: Firm, user: User, vendor: str, origin: str, entry_point: metadata.EntryPoint) -> None:
    data = demo_data(vendor, entry_point.load())
    integration = connections.get_or_create_integration(firm.id, vendor)
    integration.settings = {**(integration.settings or {}), "origin": origin}
    db.session.commit()
    if not integration.enabled:
        connections.set_enabled(integration, True)
    if data["credentials"] and not integration.has_credentials:
        connections.save_credentials(integration, dict(data["credentials"]))
    if services().registry.get(vendor).can("statistics") and not statistics.summary_settings(integration):
        _set_up_statistics(firm, integration, data["client_credentials"], user)


def _free_clients(firm: Firm) -> list[Client]:
    taken = {c.client_id for c in ClientConnection.query.join(Integration).filter(Integration.firm_id == firm.id)}
    return [c for c in Client.query.filter_by(firm_id=firm.id).order_by(Client.id) if c.id not in taken]


def _set_up_statistics(firm: Firm, integration: Integration, accounts: list[dict], user: User) -> None:
    """Map the common fields, link two clients and start Reload data."""
    vendor = services().registry.get(integration.vendor)
    mapping = {}
    for field in vendor.info.statistic_fields:
        if not field.advanced:
            mapping[field.key] = statistics.create_custom_field(firm.id, field.label).id
    statistics.save_summary_settings(integration, {"task_title": f"{vendor.info.name} summary",
                                                   "import_day": "last_work_day", "mapping": mapping}, user=user)
    clients = _free_clients(firm)[:CLIENTS_PER_VENDOR]
    if vendor.info.per_client_credentials and accounts:
        for client, credentials in zip(clients, accounts, strict=False):
            link = linking.link_client(None, client_id=client.id, integration=integration, vendor_client_id=None)
            connections.save_credentials(integration, dict(credentials), connection=link, user=user)
    elif vendor.can("client_lookup"):
        run = jobs.start_run("list_clients", firm_id=firm.id, integration_id=integration.id,
                             params={"query": ""}, trigger="cli", enqueue=False)
        jobs.execute(run.id)  # the sandbox is up: look the vendor's clients up right away
        db.session.refresh(run)
        found = (run.result or {}).get("clients", [])
        for client, record in zip(clients, found, strict=False):
            linking.link_client(None, client_id=client.id, integration=integration,
                                vendor_client_id=record["id"], vendor_client_name=record["name"])
    if statistics.linked_connections(integration):
        statistics.reload(integration, user=user, trigger="cli")
