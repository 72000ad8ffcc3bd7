"""Replay protection: each signed request's nonce is accepted once within the signature window.

One small port, two adapters: Redis (``SET NX EX``, shared by every replica of a service) in the
distributed stack, an in-process store with expiry when embedded.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from sds_common.http.problems import ServiceUnavailable

log = logging.getLogger(__name__)

#: The in-process store forgets the oldest nonces beyond this many (about 1,700 requests a
#: second for the whole 600 s a nonce is kept; far beyond what one embedded process serves).
DEFAULT_MAX_ENTRIES = 1_000_000


class NonceStore(Protocol):
    """Remembers the nonces of accepted requests."""

    async def claim(self, nonce: str, *, ttl_s: int) -> bool:
        """Record ``nonce`` for ``ttl_s`` seconds; False when it was already recorded.

        Raises:
            ServiceUnavailable: the store cannot be reached.
        """
        ...


class MemoryNonceStore:
    """Nonces of one process, each forgotten ``ttl_s`` after it was claimed."""

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max = max_entries
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()

    async def claim(self, nonce: str, *, ttl_s: int) -> bool:
        """Record ``nonce``; False when it is already recorded and not yet expired."""
        now = self._clock()
        self._forget_expired(now)
        expires = self._expiry.get(nonce)
        if expires is not None and expires > now:
            return False
        self._expiry[nonce] = now + ttl_s
        self._expiry.move_to_end(nonce)
        while len(self._expiry) > self._max:
            self._expiry.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._expiry)

    def _forget_expired(self, now: float) -> None:
        # Claims are appended in time order with one TTL, so the oldest expire first.
        while self._expiry:
            nonce, expires = next(iter(self._expiry.items()))
            if expires > now:
                return
            del self._expiry[nonce]


class RedisNonceStore:
    """Nonces shared by every replica of a service: ``SET key 1 NX EX ttl`` is atomic."""

    def __init__(self, client: Redis, *, prefix: str = "sds:nonce:") -> None:
        self._client = client
        self._prefix = prefix

    async def claim(self, nonce: str, *, ttl_s: int) -> bool:
        """Record ``nonce``; False when another request (on any replica) already did."""
        try:
            created = await self._client.set(self._prefix + nonce, b"1", nx=True, ex=max(1, ttl_s))
        except RedisError as exc:
            # Without the store a replay cannot be told apart: refuse rather than let it in.
            log.warning("nonce store unreachable: %s", exc)
            raise ServiceUnavailable(
                "the replay-protection store is unreachable; try again"
            ) from exc
        return bool(created)
