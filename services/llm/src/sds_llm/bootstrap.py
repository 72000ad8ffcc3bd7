"""Assembles the service from its spec and settings; adapters and providers can be injected."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter

from sds_common.http.identity import identity_check_of, identity_lifespan
from sds_common.runtime.service import Service, ServiceSpec
from sds_common.runtime.service import bootstrap as assemble
from sds_common.settings import Settings
from sds_llm import handlers
from sds_llm.adapters.cache import ResponseCache
from sds_llm.adapters.orm import metadata
from sds_llm.adapters.providers import LlmProvider, RetryPolicy
from sds_llm.config import llm_settings
from sds_llm.entrypoints.http import router
from sds_llm.jobs import job_kinds
from sds_llm.parts import parts_of


def _routers(service: Service) -> Sequence[APIRouter]:
    parts = parts_of(service)
    return (router(parts, identity_check_of(service, secrets=parts.secrets())),)


SPEC = ServiceSpec(
    name="llm",
    metadata=metadata,
    migrations=Path(__file__).parent / "adapters" / "migrations",
    subscriptions=handlers.subscriptions,
    routers=_routers,
    lifespan=identity_lifespan,
    jobs=job_kinds,
    # Explanations wait on a remote model, not on the CPU: a few at once keep latency down.
    job_concurrency=4,
)


def bootstrap(
    settings: Settings,
    *,
    provider: LlmProvider | None = None,
    cache: ResponseCache | None = None,
    retry: RetryPolicy | None = None,
    secrets: tuple[str, ...] | None = None,
    **adapters: Any,
) -> Service:
    """Build the llm service.

    Args:
        settings: process settings (read as ``LlmSettings``).
        provider: a provider to use instead of the configured one (tests pass fakes).
        cache: an answer cache instead of the configured one.
        retry: a retry policy instead of the configured one.
        secrets: proxy secrets instead of the configured ones.
        adapters: go to ``sds_common.runtime.service.bootstrap`` (broker, storage, metrics).
    """
    service = assemble(SPEC, llm_settings(settings), **adapters)
    parts_of(service, provider=provider, cache=cache, retry=retry, secrets=secrets)
    return service
