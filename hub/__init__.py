"""Integration Hub: the integrations layer of a practice-management product for accounting firms.

The plugin-author surface is importable from here::

    from hub import hookimpl, errors, types
    from hub.types import VendorInfo, StatisticField, Period, ...
    from hub.errors import AuthError, ConfigError, RateLimited, TransientError, VendorRejected

``create_app`` builds the Flask application (see :mod:`hub.app`).
"""

from hub import errors, types
from hub.hookspecs import HUB_API_VERSION, hookimpl

__version__ = "0.1.0"

__all__ = ["HUB_API_VERSION", "__version__", "create_app", "errors", "hookimpl", "types"]


def create_app(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201 - thin lazy re-export of hub.app.create_app
    """See :func:`hub.app.create_app` (imported lazily so plugins can import ``hub`` cheaply)."""
    from hub.app import create_app as _create_app

    return _create_app(*args, **kwargs)
