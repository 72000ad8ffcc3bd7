"""Rate limits per user and per API key (429 + Retry-After), request size limits, nonce store."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from sds_common.http.identity import identity_check_of
from sds_common.http.nonces import MemoryNonceStore, RedisNonceStore
from sds_common.http.problems import ServiceUnavailable
from sds_common.http.rate_limits import MemoryRateLimiter, RedisRateLimiter
from sds_common.runtime.service import Service
from tests.unit.gateway.harness import BOB, running_gateway

PROJECTS = "/api/v1/projects"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_memory_rate_limiter_counts_fixed_windows_per_key() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock=clock)
    decisions = [await limiter.hit("a", limit=3, window_s=60) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[-1].retry_after_s == 60
    assert (await limiter.hit("b", limit=3, window_s=60)).allowed  # its own count
    clock.now += 59.5
    late = await limiter.hit("a", limit=3, window_s=60)
    assert (late.allowed, late.retry_after_s) == (False, 1)
    clock.now += 0.5
    assert (await limiter.hit("a", limit=3, window_s=60)).remaining == 2  # a new window


async def test_memory_nonce_store_refuses_a_nonce_until_it_expires() -> None:
    clock = Clock()
    store = MemoryNonceStore(clock=clock, max_entries=3)
    assert await store.claim("n1", ttl_s=600)
    assert not await store.claim("n1", ttl_s=600)
    clock.now += 599
    assert not await store.claim("n1", ttl_s=600)
    clock.now += 1
    assert await store.claim("n1", ttl_s=600)  # forgotten after its ttl, claimed anew
    for nonce in ("n2", "n3", "n4"):
        assert await store.claim(nonce, ttl_s=600)
    assert len(store) == 3  # bounded: the oldest went first
    assert await store.claim("n1", ttl_s=600)


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 1000):
        yield body[start : start + 1000]


async def test_each_user_is_limited_with_429_and_retry_after(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, rate_limit_per_user=3, rate_limit_per_api_key=2) as gw:
        answers = [await gw.call("GET", PROJECTS) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        limited = answers[-1]
        assert limited.headers["content-type"] == "application/problem+json"
        assert limited.json()["code"] == "rate_limited"
        assert 1 <= int(limited.headers["Retry-After"]) <= gw.settings.rate_limit_window_s
        assert (await gw.call("GET", PROJECTS, user=BOB)).status_code == 200  # Bob's own count
        for path in ("/health", "/metrics", "/health"):
            assert (await gw.client.get(path)).status_code == 200  # not limited
        metrics = (await gw.client.get("/metrics")).text
        assert 'http_rate_limited_total{service="gateway",subject="user"} 1.0' in metrics


async def test_each_api_key_has_its_own_limit(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, rate_limit_per_user=6, rate_limit_per_api_key=2) as gw:
        project_id = await gw.create_project()  # Alice's request 1
        _, first = await gw.api_key(project_id)  # 2
        _, second = await gw.api_key(project_id)  # 3
        path = f"{PROJECTS}/{project_id}"
        statuses = [(await gw.call("GET", path, api_key=first)).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert (await gw.call("GET", path, api_key=second)).status_code == 200
        # Key requests do not spend their creator's own budget.
        assert (await gw.call("GET", path)).status_code == 200  # Alice's request 4


async def test_request_bodies_are_limited_but_uploads_have_their_own_limit(
    tmp_path: Path,
) -> None:
    async with running_gateway(tmp_path, max_request_bytes=2000) as gw:
        big = {"name": "x", "description": "d" * 3000}
        declared = await gw.call("POST", PROJECTS, json=big)
        assert declared.status_code == 413, declared.text
        assert declared.json()["code"] == "request_too_large"
        assert declared.headers["x-content-type-options"] == "nosniff"
        body = b'{"name": "x", "description": "' + b"d" * 3000 + b'"}'
        streamed = await gw.call(
            "POST",
            PROJECTS,
            content=_chunks(body),
            headers={"content-type": "application/json"},
        )
        assert streamed.status_code == 413, streamed.text  # no Content-Length: counted
        assert (await gw.call("GET", PROJECTS)).json()["items"] == []
        small = await gw.call("POST", PROJECTS, json={"name": "x"})
        assert small.status_code == 201
        upload = await gw.upload(small.json()["id"], b"a,b\n" + b"1,2\n" * 1000)
        assert upload.status_code == 202, upload.text  # 4 KB: over 2000 bytes, but an upload


async def test_redis_adapters_refuse_when_redis_is_unreachable() -> None:
    client = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        with pytest.raises(ServiceUnavailable):
            await RedisNonceStore(client).claim("n" * 16, ttl_s=600)
        with pytest.raises(ServiceUnavailable):
            await RedisRateLimiter(client).hit("user:alice", limit=5, window_s=60)
    finally:
        await client.aclose()


class UnreachableStore:
    async def claim(self, nonce: str, *, ttl_s: int) -> bool:
        raise ServiceUnavailable("the replay-protection store is unreachable; try again")


def _break_nonce_store(app: FastAPI, service: Service) -> None:
    identity_check_of(service).guard.nonces = UnreachableStore()


async def test_an_unreachable_store_refuses_requests_with_503(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, extend=_break_nonce_store) as gw:
        refused = await gw.call("GET", PROJECTS)
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "unavailable"
        forged = await gw.call("GET", PROJECTS, secret="wrong")
        assert forged.status_code == 401  # the signature is checked first
