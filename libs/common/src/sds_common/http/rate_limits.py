"""Request rate limits: a fixed window per key, counted in Redis or in-process.

A window starts with its first request and lasts ``window_s``; the request that finds the count
above ``limit`` is refused with the window's remaining time as ``Retry-After``. The Redis adapter
counts with one Lua script (``INCR``, ``PEXPIRE`` on the first hit, ``PTTL``), so concurrent
requests on every replica share one exact count and a counter never outlives its window.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from sds_common.http.problems import ServiceUnavailable

log = logging.getLogger(__name__)

#: Above this many counters the in-process limiter sweeps out the expired ones.
_SWEEP_ABOVE = 10_000

_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The verdict on one request.

    Attributes:
        allowed: whether the request is within the limit.
        remaining: requests left in the current window.
        retry_after_s: whole seconds until the window resets.
    """

    allowed: bool
    remaining: int
    retry_after_s: int


class RateLimiter(Protocol):
    """Counts requests per key in fixed windows."""

    async def hit(self, key: str, *, limit: int, window_s: int) -> RateDecision:
        """Count one request for ``key`` and tell whether it is within ``limit`` per window.

        Raises:
            ServiceUnavailable: the store cannot be reached.
        """
        ...


def _decision(count: int, *, limit: int, remaining_s: float) -> RateDecision:
    return RateDecision(
        allowed=count <= limit,
        remaining=max(0, limit - count),
        retry_after_s=max(1, math.ceil(remaining_s)),
    )


class MemoryRateLimiter:
    """Counters of one process (the embedded runtime)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    async def hit(self, key: str, *, limit: int, window_s: int) -> RateDecision:
        """Count one request for ``key``."""
        now = self._clock()
        if len(self._windows) > _SWEEP_ABOVE:
            self._windows = {k: w for k, w in self._windows.items() if w[0] > now}
        ends, count = self._windows.get(key, (0.0, 0))
        if ends <= now:
            ends, count = now + window_s, 0
        count += 1
        self._windows[key] = (ends, count)
        return _decision(count, limit=limit, remaining_s=ends - now)


class RedisRateLimiter:
    """Counters shared by every replica of a service."""

    def __init__(self, client: Redis, *, prefix: str = "sds:rate:") -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_HIT)

    async def hit(self, key: str, *, limit: int, window_s: int) -> RateDecision:
        """Count one request for ``key`` atomically."""
        try:
            count, ttl_ms = await self._script(keys=[self._prefix + key], args=[window_s * 1000])
        except RedisError as exc:
            log.warning("rate-limit store unreachable: %s", exc)
            raise ServiceUnavailable("the rate-limit store is unreachable; try again") from exc
        return _decision(int(count), limit=limit, remaining_s=int(ttl_ms) / 1000)
