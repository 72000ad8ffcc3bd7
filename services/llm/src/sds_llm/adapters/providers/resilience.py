"""Retries with exponential backoff, then degradation to the offline provider.

A rate limit or a server error is retried; an outage (retries exhausted, a refused key, a
provider that is not configured) does not fail the feature: the offline provider answers and the
result says ``degraded=True`` with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace

from sds_llm.adapters.providers.base import Completion, LlmProvider, ProviderError
from sds_llm.adapters.providers.offline import OfflineProvider
from sds_llm.domain.models import Prompt

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: delay ``first_backoff_s · 2^(attempt-1)``, capped at ``max_backoff_s``."""

    max_retries: int = 3
    first_backoff_s: float = 0.5
    max_backoff_s: float = 8.0

    def delay(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based)."""
        return float(min(self.first_backoff_s * 2 ** (attempt - 1), self.max_backoff_s))


class UnavailableProvider:
    """Stands in for a provider that could not be built (no key): every call fails at once."""

    def __init__(self, *, name: str, reason: str) -> None:
        self.name = name
        self.model = "unavailable"
        self._reason = reason

    async def complete(
        self, prompt: Prompt, *, max_tokens: int, temperature: float, timeout_s: float
    ) -> Completion:
        """Fail."""
        del prompt, max_tokens, temperature, timeout_s
        raise ProviderError(self._reason, retryable=False)

    def stream(
        self, prompt: Prompt, *, max_tokens: int, temperature: float, timeout_s: float
    ) -> AsyncIterator[str]:
        """Fail on the first iteration."""
        del prompt, max_tokens, temperature, timeout_s
        return _failing(self._reason)


async def _failing(reason: str) -> AsyncIterator[str]:
    if reason:
        raise ProviderError(reason, retryable=False)
    yield ""


@dataclass(frozen=True)
class Streamed:
    """An answer being streamed, with who writes it."""

    provider: str
    model: str
    degraded: bool
    degraded_reason: str | None
    chunks: AsyncIterator[str]


@dataclass(frozen=True)
class Generation:
    """Generation parameters every call uses."""

    max_tokens: int = 800
    temperature: float = 0.2
    timeout_s: float = 30.0


class ResilientProvider:
    """Wraps the configured provider with retries and the offline fallback."""

    def __init__(
        self,
        primary: LlmProvider,
        *,
        retry: RetryPolicy | None = None,
        generation: Generation | None = None,
        fallback: LlmProvider | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.primary = primary
        self.fallback = fallback or OfflineProvider()
        self.retry = retry or RetryPolicy()
        self.generation = generation or Generation()
        self._sleep = sleep

    @property
    def name(self) -> str:
        """The configured provider's name."""
        return self.primary.name

    @property
    def model(self) -> str:
        """The configured provider's model."""
        return self.primary.model

    async def _attempts(self, call: Callable[[], Awaitable[Completion]]) -> Completion:
        for attempt in range(self.retry.max_retries + 1):
            if attempt:
                await self._sleep(self.retry.delay(attempt))
            try:
                return await call()
            except ProviderError as exc:
                log.warning("%s failed (attempt %d): %s", self.primary.name, attempt + 1, exc)
                if not exc.retryable or attempt == self.retry.max_retries:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def complete(self, prompt: Prompt) -> Completion:
        """Answer with the primary provider, else the fallback (then ``degraded``)."""
        g = self.generation
        try:
            return await self._attempts(
                lambda: self.primary.complete(
                    prompt,
                    max_tokens=g.max_tokens,
                    temperature=g.temperature,
                    timeout_s=g.timeout_s,
                )
            )
        except ProviderError as exc:
            reason = f"{self.primary.name} unavailable: {exc}"
        return await self.degraded(prompt, reason=reason)

    async def degraded(self, prompt: Prompt, *, reason: str) -> Completion:
        """The fallback's answer, flagged ``degraded`` with ``reason``."""
        g = self.generation
        answer = await self.fallback.complete(
            prompt, max_tokens=g.max_tokens, temperature=g.temperature, timeout_s=g.timeout_s
        )
        return replace(answer, degraded=True, degraded_reason=reason)

    async def stream(self, prompt: Prompt) -> Streamed:
        """Start streaming; retries and fallback apply until the first chunk arrives."""
        g = self.generation
        for attempt in range(self.retry.max_retries + 1):
            if attempt:
                await self._sleep(self.retry.delay(attempt))
            chunks = self.primary.stream(
                prompt, max_tokens=g.max_tokens, temperature=g.temperature, timeout_s=g.timeout_s
            )
            try:
                first = await anext(chunks)
            except StopAsyncIteration:
                first = ""
            except ProviderError as exc:
                log.warning("%s stream failed (attempt %d): %s", self.name, attempt + 1, exc)
                if exc.retryable and attempt < self.retry.max_retries:
                    continue
                reason = f"{self.primary.name} unavailable: {exc}"
                break
            return Streamed(
                provider=self.primary.name,
                model=self.primary.model,
                degraded=False,
                degraded_reason=None,
                chunks=_resume(first, chunks),
            )
        else:  # pragma: no cover - the loop always breaks or returns
            reason = f"{self.primary.name} unavailable"
        fallback = self.fallback.stream(
            prompt, max_tokens=g.max_tokens, temperature=g.temperature, timeout_s=g.timeout_s
        )
        return Streamed(
            provider=self.fallback.name,
            model=self.fallback.model,
            degraded=True,
            degraded_reason=reason,
            chunks=fallback,
        )


async def _resume(first: str, rest: AsyncIterator[str]) -> AsyncIterator[str]:
    if first:
        yield first
    try:
        async for chunk in rest:
            yield chunk
    except ProviderError as exc:
        # Half an answer is still useful; say that it was cut rather than fail the stream.
        log.warning("stream cut: %s", exc)
        yield f"\n\n[The answer was cut short: {exc}]"
