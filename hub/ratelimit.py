"""A per-vendor-account request budget kept in Redis, shared by every worker on every machine.

Short windows (a minute, an hour) are enforced by spacing: requests for one account are given
evenly spaced slots (generic cell-rate algorithm), so no rolling window ever sees more than the
vendor allows. Long windows (a day) are counted. The spacing uses Redis server time, so clocks of
different machines do not matter.
"""

from __future__ import annotations

import time

import redis

from hub.errors import RateLimited
from hub.types import RateLimit

#: Use at most this share of a published limit, leaving room for clock and network jitter.
HEADROOM = 0.95
#: Windows up to this long are spaced; longer ones are counted.
SPACING_MAX_WINDOW = 3600

_SPACE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tat, now)
local wait = start - now
if wait > tonumber(ARGV[2]) then return -wait end
redis.call('SET', KEYS[1], start + tonumber(ARGV[1]), 'PX', wait + tonumber(ARGV[1]) + 1000)
return wait
"""

_COUNT = """
local t = redis.call('TIME')
local now = tonumber(t[1])
local window = tonumber(ARGV[1])
local key = KEYS[1] .. ':' .. math.floor(now / window)
local used = redis.call('INCR', key)
if used == 1 then redis.call('EXPIRE', key, window + 60) end
if used > tonumber(ARGV[2]) then
  redis.call('DECR', key)
  return -(window - (now % window))
end
return used
"""


class RateBudget:
    """The request budget of one vendor account."""

    def __init__(self, connection: redis.Redis, key: str, limits: tuple[RateLimit, ...] | list[RateLimit],
                 *, max_wait: float = 30.0) -> None:
        self.connection = connection
        self.key = key
        self.limits = list(limits)
        self.max_wait = max_wait
        self._space = connection.register_script(_SPACE)
        self._count = connection.register_script(_COUNT)

    def acquire(self) -> float:
        """Block until a request may be sent; return the seconds waited.

        Raises ``RateLimited`` (with ``retry_after``) when the next slot is further away than
        ``max_wait`` — the job is then rescheduled instead of holding a worker.
        """
        for i, limit in enumerate(self.limits):
            if limit.per_seconds > SPACING_MAX_WINDOW:
                allowed = max(1, int(limit.requests * HEADROOM))
                result = self._count(keys=[f"hub:budget:{self.key}:{i}"], args=[limit.per_seconds, allowed])
                if result < 0:
                    raise RateLimited("The vendor's daily request limit for this account is used up.",
                                      retry_after=float(-result))
        waited = 0.0
        for i, limit in enumerate(self.limits):
            if limit.per_seconds <= SPACING_MAX_WINDOW:
                interval_ms = int(limit.per_seconds * 1000 / (limit.requests * HEADROOM)) + 1
                result = self._space(keys=[f"hub:budget:{self.key}:{i}"],
                                     args=[interval_ms, int(self.max_wait * 1000)])
                if result < 0:
                    raise RateLimited("The request budget for this vendor account is booked ahead.",
                                      retry_after=-result / 1000)
                if result:
                    time.sleep(result / 1000)
                    waited += result / 1000
        return waited
