"""The firm's clients at real sizes: search, filter by integration and status (attention — :mod:`hub.health` —,
linked, not linked), and "N not linked to X", in a fixed number of queries."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hub.health import attention_connection_ids
from hub.models import Client, ClientConnection, Integration

CLIENT_STATUSES = {"attention": "Needs attention", "linked": "Connected", "not_linked": "Not connected"}


def client_query(firm_id: int, *, q: str = "", integration: Integration | None = None, status: str = "") -> Any:
    """The firm's clients matching ``q`` (name, registration or VAT number, e-mail; case-insensitive),
    linked to ``integration`` and in ``status`` (a key of ``CLIENT_STATUSES``), ordered by name."""
    query = Client.query.filter(Client.firm_id == firm_id)
    needle = (q or "").strip()
    if needle:
        like = f"%{needle.lower()}%"
        query = query.filter(sa.or_(sa.func.lower(Client.name).like(like), sa.func.lower(Client.reg_code).like(like),
                                    sa.func.lower(Client.vat_no).like(like), sa.func.lower(Client.email).like(like)))
    links = sa.select(ClientConnection.client_id)
    if integration is not None:
        links = links.where(ClientConnection.integration_id == integration.id)
    else:
        links = links.join(Integration, Integration.id == ClientConnection.integration_id) \
            .where(Integration.firm_id == firm_id)
    if status == "attention":
        query = query.filter(Client.id.in_(links.where(ClientConnection.id.in_(attention_connection_ids(firm_id)))))
    elif status == "not_linked":
        query = query.filter(Client.id.not_in(links))
    elif status == "linked" or integration is not None:
        query = query.filter(Client.id.in_(links))
    return query.order_by(Client.name, Client.id)


def unlinked_counts(firm_id: int, integrations: list[Integration]) -> dict[str, int]:
    """vendor → how many of the firm's clients have no link to that integration (two queries in all)."""
    total = Client.query.filter_by(firm_id=firm_id).count()
    linked: dict[int, set[int]] = {i.id: set() for i in integrations}
    rows = ClientConnection.query.filter(ClientConnection.integration_id.in_(list(linked))) if linked else []
    for row in rows:
        if row.vendor_client_id or row.has_credentials:
            linked[row.integration_id].add(row.client_id)
    return {i.vendor: total - len(linked[i.id]) for i in integrations}
