"""The llm answer cache on a real Redis: hits, misses, expiry, shared replicas, and its keys.

Each test writes under its own key prefix and deletes it afterwards.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from sds_llm import features
from sds_llm.adapters.cache import RedisCache
from sds_llm.adapters.metrics import LlmMetrics
from sds_llm.adapters.providers import Generation, ResilientProvider, RetryPolicy
from sds_llm.adapters.providers.base import Completion, ProviderError
from sds_llm.assistant import Assistant
from sds_llm.domain.models import Prompt
from tests.unit.llm.fakes import (
    MARKER,
    MemoryLedger,
    RecordingProvider,
    columns,
    no_sleep,
    report,
)

pytestmark = [pytest.mark.redis]


@pytest.fixture
async def redis(redis_url: str, unique_name: str) -> AsyncIterator[tuple[Redis, str]]:
    client = Redis.from_url(redis_url)
    prefix = f"sds:{unique_name}:cache:"
    try:
        yield client, prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def _assistant(provider: object, cache: RedisCache) -> Assistant:
    return Assistant(
        provider=ResilientProvider(
            provider,  # type: ignore[arg-type]
            retry=RetryPolicy(max_retries=0),
            generation=Generation(),
            sleep=no_sleep,
        ),
        cache=cache,
        metrics=LlmMetrics(CollectorRegistry()),
        budget_tokens=1_000_000,
    )


async def _keys(client: Redis, prefix: str) -> list[str]:
    return sorted([key.decode() async for key in client.scan_iter(match=f"{prefix}*")])


async def test_miss_hit_and_expiry(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    cache = RedisCache(client, prefix=prefix)
    assert await cache.get("k") is None
    await cache.set("k", '{"text": "é"}', ttl_s=0.3)
    assert await cache.get("k") == '{"text": "é"}'
    ttl_ms = await client.pttl(f"{prefix}k")
    assert 0 < ttl_ms <= 300
    await asyncio.sleep(0.4)
    assert await cache.get("k") is None
    assert await _keys(client, prefix) == []


async def test_replicas_share_answers_and_keys_hold_only_a_hash(
    redis: tuple[Redis, str], redis_url: str
) -> None:
    client, prefix = redis
    first, second = RecordingProvider(), RecordingProvider()
    dataset = {"n_rows": 800, "columns": columns(), "target_column": "income"}
    one = await features.data_dictionary(
        dataset,
        assistant=_assistant(first, RedisCache(client, prefix=prefix)),
        project_id="p",
        ledger=MemoryLedger(),
    )
    # Another replica, with its own connection, asks the same: Redis answers, no provider call.
    other = Redis.from_url(redis_url)
    try:
        replica = _assistant(second, RedisCache(other, prefix=prefix))
        two = await features.data_dictionary(
            dataset, assistant=replica, project_id="p", ledger=MemoryLedger()
        )
    finally:
        await other.aclose()
    assert (one.answer.cached, two.answer.cached) == (False, True)
    assert two.text == one.text
    assert (len(first.prompts), len(second.prompts)) == (1, 0)
    [key] = await _keys(client, prefix)
    assert re.fullmatch(rf"{re.escape(prefix)}recording:fake-1:data_dictionary:[0-9a-f]{{64}}", key)
    for name in ("workclass", "salary", "email", "income", MARKER):
        assert name not in key
    ttl_s = await client.ttl(key)
    assert 86_000 < ttl_s <= 86_400  # the assistant's default TTL

    # Another model is another answer: a miss, and a second key.
    other_model = RecordingProvider(model="fake-2")
    three = await features.data_dictionary(
        dataset,
        assistant=_assistant(other_model, RedisCache(client, prefix=prefix)),
        project_id="p",
        ledger=MemoryLedger(),
    )
    assert three.answer.cached is False
    assert len(other_model.prompts) == 1
    assert len(await _keys(client, prefix)) == 2


async def test_degraded_answers_are_not_cached(redis: tuple[Redis, str]) -> None:
    client, prefix = redis

    class Down(RecordingProvider):
        async def complete(
            self, prompt: Prompt, *, max_tokens: int, temperature: float, timeout_s: float
        ) -> Completion:
            raise ProviderError("down answered HTTP 503", status=503, retryable=True)

    result = await features.explain_evaluation(
        report(),
        assistant=_assistant(Down(name="down"), RedisCache(client, prefix=prefix)),
        project_id="p",
        ledger=MemoryLedger(),
    )
    assert result.answer.degraded
    assert await _keys(client, prefix) == []  # the provider's answer is worth waiting for
