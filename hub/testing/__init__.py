"""The test kit for vendor plugins (shipped with the hub, loaded by pytest through ``pytest11``).

* :class:`VendorContractTests` — subclass it once in your plugin's tests; it runs the contract
  every vendor must pass (description, schema, capabilities, test connection good/bad/network,
  statistics shape and month bucketing, export idempotency, no secret in logs or messages).
* :func:`make_context` — a ``ctx`` for calling your hooks directly, over any httpx transport
  (``httpx.WSGITransport(app=your_sandbox)`` or ``httpx.MockTransport(handler)``).
* :func:`vendor_registry` — a registry holding only your plugin, to call hooks the way the hub does.
* :func:`export_and_read_back` — export an invoice and read it back as the hub does: what the vendor booked, to
  compare with :func:`invoice_totals`.
* Fixtures (see :mod:`hub.testing.pytest_plugin`): ``hub_app``, ``hub_db``, ``run_jobs``,
  ``hub_redis_url``, ``hub_database_url``.

The kit follows the plugin contract version :data:`hub.hookspecs.HUB_API_VERSION`. The suite itself is
versioned as :data:`CONTRACT_SUITE_VERSION` (also ``hub.testing.__version__``): the minor part grows when a
check is added that a plugin following the documented contract already passes (or that runs only with a
new optional attribute or hook), the major part when a check could fail such a plugin. What each version
added is listed in ``docs/plugins/testing.md``.

Beside the suite:

* :mod:`hub.testing.sandbox` — the sandbox kit: request recording, fault knobs, control endpoints,
  seeded-data helpers, serving on loopback or in-process (needs no pytest).
* :mod:`hub.testing.wire` — a plugin's table of wire facts and the check over it.

The contract suite needs pytest; the sandbox kit does not. So this package loads the suite only when one of
its names is first used, and a plugin's sandbox (built on the kit) imports where pytest is not installed —
``flask hub up`` and ``flask hub sandbox`` in a production install.
"""

from __future__ import annotations

from typing import Any

#: Names of :mod:`hub.testing.contract` offered here.
__all__ = ["CONTRACT_SUITE_VERSION", "VendorContractTests", "export_and_read_back", "invoice_totals", "make_context",
           "sample_invoice", "vendor_registry"]


def __getattr__(name: str) -> Any:
    if name in __all__ or name == "__version__":
        # Imported here, not at the top: the suite needs pytest (optional outside tests).
        from hub.testing import contract

        return getattr(contract, name)
    raise AttributeError(f"module 'hub.testing' has no attribute {name!r}")
