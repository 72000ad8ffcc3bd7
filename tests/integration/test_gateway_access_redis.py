"""The gateway's nonce store and rate limiter: one contract, in-process and on a real Redis.

Two Redis clients stand for two gateway replicas. Each test writes under its own key prefix and
deletes it afterwards. The last tests run two whole gateways on one Redis: a request replayed to
the other replica is refused, and both replicas spend one user's budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from sds_common.auth import signed_headers
from sds_common.http.nonces import MemoryNonceStore, NonceStore, RedisNonceStore
from sds_common.http.rate_limits import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from tests.unit.gateway.harness import SECRETS, running_gateway

pytestmark = [pytest.mark.redis]


@dataclass
class Replicas:
    """Two views of one shared store (for the in-process adapter: the same object twice)."""

    nonces: tuple[NonceStore, NonceStore]
    limiters: tuple[RateLimiter, RateLimiter]
    redis: Redis | None
    prefix: str


@pytest.fixture(params=["memory", "redis"])
async def replicas(request: pytest.FixtureRequest, unique_name: str) -> AsyncIterator[Replicas]:
    prefix = f"sds:{unique_name}:gateway:"
    if request.param == "memory":
        nonces, limiter = MemoryNonceStore(), MemoryRateLimiter()
        yield Replicas((nonces, nonces), (limiter, limiter), None, prefix)
        return
    redis_url: str = request.getfixturevalue("redis_url")
    clients = (Redis.from_url(redis_url), Redis.from_url(redis_url))
    try:
        yield Replicas(
            nonces=(
                RedisNonceStore(clients[0], prefix=f"{prefix}nonce:"),
                RedisNonceStore(clients[1], prefix=f"{prefix}nonce:"),
            ),
            limiters=(
                RedisRateLimiter(clients[0], prefix=f"{prefix}rate:"),
                RedisRateLimiter(clients[1], prefix=f"{prefix}rate:"),
            ),
            redis=clients[0],
            prefix=prefix,
        )
    finally:
        keys = [key async for key in clients[0].scan_iter(match=f"{prefix}*")]
        if keys:
            await clients[0].delete(*keys)
        for client in clients:
            await client.aclose()


async def test_a_nonce_is_claimed_once_across_replicas_until_it_expires(
    replicas: Replicas,
) -> None:
    first, second = replicas.nonces
    results = await asyncio.gather(
        *(store.claim("nonce-aaaaaaaaaaaa", ttl_s=1) for store in (first, second) * 10)
    )
    assert sorted(results) == [False] * 19 + [True]
    assert await second.claim("nonce-bbbbbbbbbbbb", ttl_s=1)
    if replicas.redis is not None:  # nothing outlives its window
        ttl = await replicas.redis.pttl(f"{replicas.prefix}nonce:nonce-aaaaaaaaaaaa")
        assert 0 < ttl <= 1000
    await asyncio.sleep(1.1)
    assert await second.claim("nonce-aaaaaaaaaaaa", ttl_s=1)


async def test_rate_limits_count_exactly_across_replicas_and_reset(replicas: Replicas) -> None:
    first, second = replicas.limiters
    decisions = await asyncio.gather(
        *(limiter.hit("user:alice", limit=5, window_s=1) for limiter in (first, second) * 10)
    )
    assert sum(d.allowed for d in decisions) == 5
    refused = [d for d in decisions if not d.allowed]
    assert all(d.remaining == 0 and d.retry_after_s == 1 for d in refused)
    assert (await first.hit("user:bob", limit=5, window_s=1)).allowed  # a count of its own
    if replicas.redis is not None:
        ttl = await replicas.redis.pttl(f"{replicas.prefix}rate:user:alice")
        assert 0 < ttl <= 1000
    await asyncio.sleep(1.1)
    fresh = await second.hit("user:alice", limit=5, window_s=1)
    assert (fresh.allowed, fresh.remaining) == (True, 4)


def _signed(method: str, path: str) -> dict[str, str]:
    return signed_headers(
        SECRETS[0], method=method, path=path, user_id="alice", email="a@x.org", role="user"
    )


async def test_two_gateways_on_one_redis_share_nonces_and_limits(
    tmp_path: Path, redis_url: str, unique_name: str
) -> None:
    settings: dict[str, Any] = {
        "redis_url": redis_url,
        "topic_prefix": f"{unique_name}.",
        "rate_limit_per_user": 4,
    }
    path = "/api/v1/projects"
    client = Redis.from_url(redis_url)
    try:
        async with (
            running_gateway(tmp_path / "a", **settings) as one,
            running_gateway(tmp_path / "b", **settings) as two,
        ):
            headers = _signed("GET", path)
            assert (await one.client.get(path, headers=headers)).status_code == 200
            replayed = await two.client.get(path, headers=headers)
            assert replayed.status_code == 401, replayed.text
            assert "replayed" in replayed.json()["detail"]
            statuses = []
            for gateway in (two, one, two, one):  # four more requests; the first counted too
                answer = await gateway.client.get(path, headers=_signed("GET", path))
                statuses.append(answer.status_code)
            assert statuses == [200, 200, 200, 429]
    finally:
        keys = [key async for key in client.scan_iter(match=f"sds:{unique_name}.*")]
        assert keys, "the gateways wrote nothing under their prefix"
        await client.delete(*keys)
        await client.aclose()
