"""The shared state of access control: nonce store, rate limiter, metrics (one per service).

Built from settings: Redis when ``SDS_REDIS_URL`` is set (every replica sees the same nonces and
counts), in-process otherwise. Keys carry ``SDS_TOPIC_PREFIX`` so environments sharing one Redis
never see each other's.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter
from redis.asyncio import Redis

from sds_gateway.adapters.nonces import MemoryNonceStore, NonceStore, RedisNonceStore
from sds_gateway.adapters.rate_limits import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from sds_gateway.config import GatewaySettings


class AccessMetrics:
    """``gateway_auth_failures_total{scheme,recorded}`` (recorded: an event was published) and
    ``gateway_rate_limited_total{subject}`` (subject: user, api_key)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.auth_failures = Counter(
            "gateway_auth_failures_total",
            "Requests refused for their identity, by scheme and whether an event was recorded.",
            ["scheme", "recorded"],
            registry=registry,
        )
        self.rate_limited = Counter(
            "gateway_rate_limited_total",
            "Requests refused with 429, by what was limited.",
            ["subject"],
            registry=registry,
        )


@dataclass
class AccessGuard:
    """What the identity dependency needs besides the database.

    Attributes:
        nonces: the replay store; None when replay protection is off.
        limiter: counts requests per user, per API key and auth-failure events.
        metrics: refusals, for dashboards and alerts.
        redis: the client behind the Redis adapters, closed with the service.
    """

    nonces: NonceStore | None
    limiter: RateLimiter
    metrics: AccessMetrics
    redis: Redis | None = None

    async def close(self) -> None:
        """Close the Redis connection pool, if any."""
        if self.redis is not None:
            await self.redis.aclose()


def build_access_guard(settings: GatewaySettings, *, registry: CollectorRegistry) -> AccessGuard:
    """The guard for ``settings``: Redis adapters with ``SDS_REDIS_URL``, else in-process ones."""
    metrics = AccessMetrics(registry)
    if settings.redis_url:
        client = Redis.from_url(settings.redis_url)
        prefix = f"sds:{settings.topic_prefix}gateway:"
        return AccessGuard(
            nonces=(
                RedisNonceStore(client, prefix=prefix + "nonce:")
                if settings.auth_replay_protection
                else None
            ),
            limiter=RedisRateLimiter(client, prefix=prefix + "rate:"),
            metrics=metrics,
            redis=client,
        )
    return AccessGuard(
        nonces=MemoryNonceStore() if settings.auth_replay_protection else None,
        limiter=MemoryRateLimiter(),
        metrics=metrics,
    )
