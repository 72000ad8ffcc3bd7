"""The llm service's own dependencies, built once per assembled service (or injected by tests)."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from redis.asyncio import Redis

from sds_common.db import Database
from sds_common.http.settings import resolve_auth_secrets
from sds_common.runtime.service import Service
from sds_common.storage import ObjectStore
from sds_llm.adapters.cache import LruCache, RedisCache, ResponseCache
from sds_llm.adapters.metrics import LlmMetrics
from sds_llm.adapters.providers import (
    Generation,
    LlmProvider,
    ProviderError,
    ResilientProvider,
    RetryPolicy,
    UnavailableProvider,
    create,
)
from sds_llm.assistant import Assistant
from sds_llm.config import LlmSettings, llm_settings

EXTRAS_KEY = "llm"


@dataclass
class LlmParts:
    """What handlers and routes need."""

    settings: LlmSettings
    database: Database
    storage: ObjectStore
    assistant: Assistant
    _secrets: tuple[str, ...] | None = field(default=None, repr=False)

    def secrets(self) -> tuple[str, ...]:
        """The proxy secrets (resolved on first use: the embedded one is a file)."""
        if self._secrets is None:
            self._secrets = resolve_auth_secrets(self.settings)
        return self._secrets


def build_provider(settings: LlmSettings, *, http: httpx.AsyncClient) -> LlmProvider:
    """The configured provider; one that cannot be built fails every call (and degrades)."""
    try:
        return create(settings.llm_provider, settings, http)
    except ProviderError as exc:
        return UnavailableProvider(name=settings.llm_provider, reason=str(exc))


def build_cache(settings: LlmSettings) -> ResponseCache:
    """Redis when ``SDS_REDIS_URL`` is set (shared by replicas), else an in-process LRU.

    Redis keys are ``sds:{topic prefix}llm:cache:{provider}:{model}:{task}:{sha256}``: stacks
    that share a Redis under different ``SDS_TOPIC_PREFIX`` values do not share answers.
    """
    if settings.redis_url:
        prefix = f"sds:{settings.topic('llm')}:cache:"
        return RedisCache(Redis.from_url(settings.redis_url), prefix=prefix)
    return LruCache(max_entries=settings.llm_cache_size)


def parts_of(
    service: Service,
    *,
    provider: LlmProvider | None = None,
    cache: ResponseCache | None = None,
    retry: RetryPolicy | None = None,
    secrets: tuple[str, ...] | None = None,
) -> LlmParts:
    """The parts of an assembled service, built on first call (later arguments are ignored)."""
    existing = service.extras.get(EXTRAS_KEY)
    if isinstance(existing, LlmParts):
        return existing
    settings = llm_settings(service.settings)
    if provider is None:
        provider = build_provider(settings, http=httpx.AsyncClient())
    resilient = ResilientProvider(
        provider,
        retry=retry
        or RetryPolicy(
            max_retries=settings.llm_max_retries, first_backoff_s=settings.llm_retry_backoff_s
        ),
        generation=Generation(
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            timeout_s=settings.llm_timeout_s,
        ),
    )
    assistant = Assistant(
        provider=resilient,
        cache=cache if cache is not None else build_cache(settings),
        metrics=LlmMetrics(service.metrics.registry),
        budget_tokens=settings.llm_token_budget,
        cache_ttl_s=settings.llm_cache_ttl_s,
    )
    parts = LlmParts(
        settings=settings,
        database=service.database,
        storage=service.storage,
        assistant=assistant,
        _secrets=secrets,
    )
    service.extras[EXTRAS_KEY] = parts
    return parts
