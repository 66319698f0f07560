"""The per-app services every layer above the runtime shares: the vendor registry, the vault and Redis.

The app factory (:mod:`hub.app`) builds one :class:`HubServices` per app and keeps it in
``app.extensions["hub"]``; flows, the job layer and the interfaces reach it with :func:`services` inside an
app context, so nothing below the factory imports :mod:`hub.app`.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from flask import current_app

from hub.plugins import VendorRegistry
from hub.vault import Vault

_process_registry: VendorRegistry | None = None


@dataclass
class HubServices:
    registry: VendorRegistry
    vault: Vault
    redis_url: str
    _redis: redis.Redis | None = None

    @property
    def redis(self) -> redis.Redis:
        if self._redis is None:
            self._redis = redis.Redis.from_url(self.redis_url)
        return self._redis

    def reset_after_fork(self) -> None:
        """A forked process must not share the parent's sockets."""
        self._redis = None


def process_registry() -> VendorRegistry:
    """The vendor plugins of this process, loaded once (web and worker load the same set)."""
    global _process_registry
    if _process_registry is None:
        _process_registry = VendorRegistry.from_entry_points()
    return _process_registry


def services() -> HubServices:
    """The services of the current app (inside an app context)."""
    return current_app.extensions["hub"]
