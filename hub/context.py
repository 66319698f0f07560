"""The ``ctx`` every hook receives (after ``hub_vendor`` and ``hub_credentials_schema``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from hub import redaction
from hub.http import VendorHttp

if TYPE_CHECKING:
    import redis

    from hub.vault import Vault


class MemoryCache:
    """``ctx.cache`` for tests and one-off calls: a dict with expiry."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> Any | None:
        expires, value = self._data.get(key, (0.0, None))
        return value if expires > time.time() else None

    def set(self, key: str, value: Any, ttl: float) -> None:
        self._data[key] = (time.time() + ttl, value)

    def delete(self, key: str) -> None:
        self._data.pop(key, None)


class RedisCache:
    """``ctx.cache`` in the hub: JSON values, encrypted with the vault, in Redis, per vendor account.

    Meant for short-lived vendor tokens (e.g. a Tripletex session token), so every worker reuses one
    instead of creating its own. Values are secrets: encrypted, and masked in logs once read.
    """

    def __init__(self, connection: "redis.Redis", vault: "Vault", namespace: str) -> None:
        self.connection = connection
        self.vault = vault
        self.namespace = namespace

    def _key(self, key: str) -> str:
        return f"hub:cache:{self.namespace}:{key}"

    def get(self, key: str) -> Any | None:
        raw = self.connection.get(self._key(key))
        if raw is None:
            return None
        try:
            return self.vault.decrypt(raw.decode())["v"]
        except Exception:  # a key rotated away or a corrupt entry: behave as a miss
            return None

    def set(self, key: str, value: Any, ttl: float) -> None:
        if isinstance(value, str):
            redaction.register_secret(value)
        self.connection.set(self._key(key), self.vault.encrypt({"v": value}), px=max(1, int(ttl * 1000)))

    def delete(self, key: str) -> None:
        self.connection.delete(self._key(key))


def account_key(vendor: str, credentials: Mapping[str, Any], secret: str | bytes) -> str:
    """A stable, non-reversible id of the vendor account behind ``credentials`` (for rate budgets and
    caches: two integrations with the same credentials share one budget).

    Keyed with the instance secret (HMAC-SHA256 with ``SECRET_KEY``): a Redis key name is no test of
    guessed credentials for whoever can list the keys (an unsalted hash of a short API key would be)."""
    key = secret.encode() if isinstance(secret, str) else secret
    message = json.dumps([vendor, sorted(credentials.items())], default=str).encode()
    return f"{vendor}-{hmac.new(key, message, hashlib.sha256).hexdigest()[:20]}"


T = TypeVar("T")
_POOL_PREFIX = "hub-parallel"
_pool_state: dict[str, Any] = {}
_pool_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """The process's threads for :meth:`VendorContext.parallel`, started once (a new pool per call cost a thread
    start per request batch); a forked child starts its own."""
    with _pool_lock:
        if _pool_state.get("pid") != os.getpid():
            _pool_state.update(pid=os.getpid(), pool=ThreadPoolExecutor(max_workers=32,
                                                                        thread_name_prefix=_POOL_PREFIX))
        return _pool_state["pool"]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class VendorContext:
    """What a hook gets besides its arguments.

    * ``vendor`` — the slug.
    * ``http`` — :class:`hub.http.VendorHttp`; send every vendor request through it.
    * ``log`` — a logger (messages are masked of known secrets anyway; still, never log credentials).
    * ``settings`` — operator settings for this vendor (``HUB_<SLUG>_<NAME>`` environment variables,
      e.g. ``HUB_TRIPLETEX_CONSUMER_TOKEN_TEST`` → ``settings["consumer_token_test"]``).
    * ``cache`` — ``get(key)``, ``set(key, value, ttl)``, ``delete(key)``: small JSON values kept
      between jobs for this vendor account, encrypted.
    * ``now()`` — the current time, timezone-aware UTC (tests may freeze it).
    * ``parallel(calls)`` — run independent vendor calls concurrently (the request budget still applies).
    """

    vendor: str
    http: VendorHttp
    log: logging.Logger | logging.LoggerAdapter = field(default_factory=lambda: logging.getLogger("hub.vendor"))
    settings: Mapping[str, Any] = field(default_factory=dict)
    cache: Any = field(default_factory=MemoryCache)
    now: Callable[[], dt.datetime] = _utcnow
    account: str = ""

    def parallel(self, calls: Sequence[Callable[[], T]], max_workers: int = 4) -> list[T]:
        """Run independent vendor calls at the same time (threads); results come back in order and the
        first failure is raised. Use it where the vendor's API makes one job wait on several requests
        (e.g. four lists × four date windows). Every request still takes its slot from the account's
        request budget, so the vendor's published limit holds."""
        if len(calls) <= 1 or max_workers <= 1 or threading.current_thread().name.startswith(_POOL_PREFIX):
            return [call() for call in calls]  # one call, or already inside a parallel call: no thread to wait on
        todo = list(enumerate(calls))
        results: list[Any] = [None] * len(calls)
        failed: list[tuple[int, BaseException]] = []
        lock = threading.Lock()

        def drain() -> None:  # at most max_workers of these per call: the call's concurrency stays bounded
            while True:
                with lock:
                    if not todo or failed:
                        return
                    i, call = todo.pop(0)
                try:
                    results[i] = call()
                except BaseException as exc:
                    with lock:
                        failed.append((i, exc))
                    return

        # the calling thread drains too (it would only wait): one thread hand-off fewer per call
        futures = [_pool().submit(drain) for _ in range(min(max_workers, len(calls)) - 1)]
        try:
            drain()
            own = list(failed)  # what the calling thread itself ran into (e.g. the job's time limit) comes first
            for future in futures:
                future.result()
        except BaseException:  # the job was stopped (its time limit) while waiting: start no further call
            with lock:
                todo.clear()
            raise
        if own:
            raise own[0][1]
        if failed:
            raise min(failed, key=lambda f: f[0])[1]
        return results

    def close(self) -> None:
        self.http.close()
