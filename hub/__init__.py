"""Integration Hub: the integrations layer of a practice-management product for accounting firms.

The plugin-author surface is importable from here::

    from hub import hookimpl, errors, types
    from hub.types import VendorInfo, StatisticField, Period, ...
    from hub.errors import AuthError, ConfigError, RateLimited, TransientError, VendorRejected

The Flask application is built by :func:`hub.app.create_app` (``FLASK_APP=hub.app:create_app``); this package
imports only the contract, so importing ``hub`` stays cheap for plugins.
"""

from hub import errors, types
from hub.hookspecs import HUB_API_VERSION, hookimpl

__version__ = "1.2.0"

__all__ = ["HUB_API_VERSION", "__version__", "errors", "hookimpl", "types"]
