"""Answer caches behind one small protocol: in-process LRU (embedded) or Redis (distributed)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis


class ResponseCache(Protocol):
    """Stores answers (JSON strings) by prompt hash."""

    async def get(self, key: str) -> str | None:
        """The cached value, or None."""
        ...

    async def set(self, key: str, value: str, *, ttl_s: float) -> None:
        """Store ``value`` for ``ttl_s`` seconds."""
        ...


class LruCache:
    """A bounded in-process cache with expiry."""

    def __init__(self, *, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_entries
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()

    async def get(self, key: str) -> str | None:
        """The value if present and fresh (it becomes the most recently used)."""
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires <= self._clock():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    async def set(self, key: str, value: str, *, ttl_s: float) -> None:
        """Store, evicting the least recently used entry beyond the bound."""
        if self._max <= 0:
            return
        self._items[key] = (self._clock() + ttl_s, value)
        self._items.move_to_end(key)
        while len(self._items) > self._max:
            self._items.popitem(last=False)


class RedisCache:
    """A cache shared by every replica of the service; entries expire in Redis itself.

    Keys are ``prefix + key`` where ``key`` is the assistant's ``{provider}:{model}:{task}:
    {sha256}``: nothing of the prompt is readable in Redis but its hash.
    """

    def __init__(self, client: Redis, *, prefix: str = "sds:llm:cache:") -> None:
        self._client = client
        self._prefix = prefix

    async def get(self, key: str) -> str | None:
        """The value, or None."""
        value = await self._client.get(self._prefix + key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def set(self, key: str, value: str, *, ttl_s: float) -> None:
        """Store with an expiry."""
        await self._client.set(self._prefix + key, value, px=max(1, int(ttl_s * 1000)))

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
