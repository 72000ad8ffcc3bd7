"""The shared state of one entry point's door: its nonce store and its rate limiter.

Built from settings: Redis when ``SDS_REDIS_URL`` is set (every replica of the service sees the
same nonces and counts), in-process otherwise. Keys are ``sds:{SDS_TOPIC_PREFIX}{service}:...``:
environments sharing one Redis never see each other's, and each service keeps its own nonces and
windows. That is what lets the gateway forward a signed request unchanged: the gateway claims its
nonce in the gateway's namespace, the service behind it claims the same nonce in its own, and a
copy sent to either afterwards is a replay there.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from sds_common.http.nonces import MemoryNonceStore, NonceStore, RedisNonceStore
from sds_common.http.rate_limits import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from sds_common.http.settings import AccessSettings


@dataclass
class AccessGuard:
    """What the identity check keeps between requests.

    Attributes:
        nonces: the replay store; None when replay protection is off.
        limiter: counts requests per user, per API key, and auth-failure events.
        redis: the client behind the Redis adapters, closed with the service.
    """

    nonces: NonceStore | None
    limiter: RateLimiter
    redis: Redis | None = None

    async def close(self) -> None:
        """Close the Redis connection pool, if any."""
        if self.redis is not None:
            await self.redis.aclose()


def build_access_guard(settings: AccessSettings, *, service: str) -> AccessGuard:
    """The guard of ``service``: Redis adapters with ``SDS_REDIS_URL``, else in-process ones.

    Args:
        settings: the service's settings.
        service: its name (part of every Redis key).

    Returns:
        The guard; nothing is connected until the first request.
    """
    if settings.redis_url:
        client = Redis.from_url(settings.redis_url)
        prefix = f"sds:{settings.topic_prefix}{service}:"
        return AccessGuard(
            nonces=(
                RedisNonceStore(client, prefix=prefix + "nonce:")
                if settings.auth_replay_protection
                else None
            ),
            limiter=RedisRateLimiter(client, prefix=prefix + "rate:"),
            redis=client,
        )
    return AccessGuard(
        nonces=MemoryNonceStore() if settings.auth_replay_protection else None,
        limiter=MemoryRateLimiter(),
    )
