"""The provider protocol, its result type and errors, and the registry of implementations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import httpx

from sds_llm.config import LlmSettings
from sds_llm.domain.models import Prompt


@dataclass(frozen=True)
class Completion:
    """A provider's answer with its cost and provenance.

    Attributes:
        text: the answer.
        provider: the registry name of the provider that wrote it.
        model: the model that wrote it.
        input_tokens: prompt tokens billed (0 for the offline provider).
        output_tokens: answer tokens billed.
        latency_s: wall time of the call that succeeded.
        degraded: a fallback wrote it because the configured provider failed.
        degraded_reason: why, when degraded.
    """

    text: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    latency_s: float
    degraded: bool = False
    degraded_reason: str | None = None


class ProviderError(Exception):
    """A provider call failed; ``retryable`` for rate limits, 5xx, timeouts and lost connections."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


def status_error(provider: str, status: int) -> ProviderError:
    """The error of an HTTP status: 429 and 5xx are retryable, other 4xx are not."""
    retryable = status == 429 or status >= 500
    return ProviderError(f"{provider} answered HTTP {status}", status=status, retryable=retryable)


@runtime_checkable
class LlmProvider(Protocol):
    """What every provider offers. Prompts come only from ``sds_llm.domain.prompts``."""

    name: str
    model: str

    async def complete(
        self, prompt: Prompt, *, max_tokens: int, temperature: float, timeout_s: float
    ) -> Completion:
        """Answer ``prompt`` in one piece.

        Raises:
            ProviderError: the call failed (see ``retryable``).
        """
        ...

    def stream(
        self, prompt: Prompt, *, max_tokens: int, temperature: float, timeout_s: float
    ) -> AsyncIterator[str]:
        """Yield the answer in chunks as they are generated.

        Raises:
            ProviderError: the call failed (on the first iteration, or later).
        """
        ...


ProviderFactory = Callable[[LlmSettings, httpx.AsyncClient], LlmProvider]
_REGISTRY: dict[str, ProviderFactory] = {}


def register(name: str) -> Callable[[ProviderFactory], ProviderFactory]:
    """Register a provider factory under ``name`` (the value of ``SDS_LLM_PROVIDER``)."""

    def decorate(factory: ProviderFactory) -> ProviderFactory:
        _REGISTRY[name] = factory
        return factory

    return decorate


def available() -> tuple[str, ...]:
    """Registered provider names."""
    return tuple(sorted(_REGISTRY))


def create(name: str, settings: LlmSettings, http: httpx.AsyncClient) -> LlmProvider:
    """Build the provider registered as ``name``.

    Raises:
        KeyError: no provider has that name.
        ProviderError: it is not configured (e.g. no API key).
    """
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown LLM provider {name!r}; known: {', '.join(available())}") from None
    return factory(settings, http)


def estimate_tokens(text: str) -> int:
    """A provider-independent token estimate (about four characters per token)."""
    return max(1, (len(text) + 3) // 4) if text else 0
