"""The admin pages (server-rendered).

Page map (every page needs a signed-in user; every query is scoped to the user's firm, so another
firm's id in a URL is a 404; every form carries a CSRF token; changes need Company Owner / Company
Admin and integrations need the Team plan or above):

| page                                   | module          | what                                              |
|----------------------------------------|-----------------|---------------------------------------------------|
| ``/login`` ``/logout``                 | home.py         | sign-in (throttled) with server-side sessions     |
| ``/settings/password``                 | home.py         | change one's password (ends every session)        |
| ``/settings/users/<id>/sign-out``      | home.py         | sign a user out everywhere (admins)               |
| ``/settings/apps``                     | home.py         | Settings & Apps: a card per vendor with status    |
| ``/settings/plugins``                  | home.py         | installed plugins and load errors (admins)        |
| ``/settings/apps/<vendor>``            | integrations.py | the integration dialog: Overview (Enable/Disable, |
| ``…/connect`` ``…/settings``           |                 | checklist), Connect (credentials, Test connection,|
| ``…/reload`` ``…/invoices``            |                 | Save), Settings (summary task, Configure data     |
|                                        |                 | fields, Reload data with confirmation), Invoices  |
|                                        |                 | (export switch, products / tax rates mapping)     |
| ``/clients`` ``/clients/<id>``         | clients.py      | client list with the Integration column, client   |
| ``/clients/<id>/integration``          |                 | page (summary tasks, flags, exported invoices),   |
|                                        |                 | link / lookup / per-client credentials            |
| ``/history`` ``/history/runs/<id>``    | history.py      | sync runs (progress, outcome, errors),            |
| ``/notifications``                     |                 | notifications                                     |
| ``/clients/<id>/invoices``             | invoices.py     | new invoice (draft) on the client page, Issue     |
| ``…/invoices/<id>/issue``              |                 | (exports to every target integration)             |
| ``/clients/<id>/integration/reload``   | clients.py      | Reload data for one client (confirmation)         |
| ``/clients/<id>/integration/unlink``   |                 | remove a link that nothing came through yet       |
| ``/settings/audit``                    | trail.py        | the firm's audit trail, newest first (admins)     |
| ``/settings/users`` (and ``…/invite``, | firm_users.py   | the firm's users; the Owner invites a user (a     |
| ``…/<id>/role|deactivate|reactivate``) |                 | set-password link), changes roles, deactivates    |
| ``/set-password/<token>``              |                 | choose a password from an invite / reset link     |
| ``/clients/new`` ``/clients/import``   | client_admin.py | a new client; import clients from CSV (preview,   |
| ``/clients/import/confirm``            |                 | then confirm; all or nothing) — admins            |

Long lists (history runs, audit trail) are paginated ``PER_PAGE`` rows a page (``?page=N``).
Shared by every page (blueprint, guards, pagination, the session check): ``base.py``. Headers, cookie flags,
body limit and sign-in throttling for the whole app: ``security.py``. The invoice form of the client page:
``invoice_form.py``.
"""

from hub.web import (  # noqa: F401  (they add their routes)
    client_admin,
    clients,
    firm_users,
    history,
    home,
    integrations,
    invoices,
    trail,
)
from hub.web.base import bp

__all__ = ["bp"]
