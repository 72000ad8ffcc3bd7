"""Every provider call goes through here: budget, cache, resilient provider, usage, metrics."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from sds_llm.adapters.cache import ResponseCache
from sds_llm.adapters.metrics import LlmMetrics
from sds_llm.adapters.providers import Completion, ResilientProvider, Streamed
from sds_llm.adapters.providers.base import estimate_tokens
from sds_llm.adapters.providers.offline import NAME as OFFLINE
from sds_llm.adapters.repository import UsageLedger
from sds_llm.domain import budget
from sds_llm.domain.models import Answer, Prompt

NO_PROJECT = "_none"
OverBudget = Literal["refuse", "offline"]
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def _label(value: str) -> str:
    """A provider or model name as one segment of a cache key."""
    return _UNSAFE.sub("_", value)[:64]


def answer_of(completion: Completion, *, cached: bool = False) -> Answer:
    """The provenance part of a feature's result."""
    return Answer(
        provider=completion.provider,
        model=completion.model,
        degraded=completion.degraded,
        degraded_reason=completion.degraded_reason,
        cached=cached,
        input_tokens=completion.input_tokens,
        output_tokens=completion.output_tokens,
    )


@dataclass
class Assistant:
    """Answers prompts within a project's daily token budget.

    Attributes:
        provider: the configured provider with retries and the offline fallback.
        cache: answers by prompt hash (degraded answers are not cached).
        metrics: token, request and latency metrics.
        budget_tokens: provider tokens a project may spend per UTC day.
        cache_ttl_s: how long a cached answer lives.
        clock: the current time (tests pin it).
    """

    provider: ResilientProvider
    cache: ResponseCache
    metrics: LlmMetrics
    budget_tokens: int
    cache_ttl_s: float = 86_400.0
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def cache_key(self, prompt: Prompt) -> str:
        """``{provider}:{model}:{task}:{sha256}``, the hash of everything that shapes the answer.

        Provider and model are in clear (an operator can drop one model's answers); the prompt,
        which quotes column names and scores, appears only as its hash.
        """
        g = self.provider.generation
        material = json.dumps(
            [
                self.provider.name,
                self.provider.model,
                prompt.task,
                prompt.system,
                prompt.user,
                [asdict(turn) for turn in prompt.history],
                g.max_tokens,
                g.temperature,
            ],
            ensure_ascii=False,
        )
        digest = hashlib.sha256(material.encode()).hexdigest()
        return f"{_label(self.provider.name)}:{_label(self.provider.model)}:{prompt.task}:{digest}"

    async def check_budget(self, *, project_id: str | None, ledger: UsageLedger) -> None:
        """Refuse when the project spent its tokens (the offline provider is free).

        Raises:
            BudgetExceededError: the budget is spent.
        """
        if self.provider.name == OFFLINE:
            return
        project = project_id or NO_PROJECT
        used = await ledger.used(project_id=project, day=budget.day_of(self.clock()))
        try:
            budget.check(project_id=project, used=used, budget=self.budget_tokens)
        except budget.BudgetExceededError:
            self.metrics.requests.labels("any", self.provider.name, "refused").inc()
            raise

    async def charge(
        self, *, project_id: str | None, ledger: UsageLedger, completion: Completion
    ) -> None:
        """Record billed tokens against the project and in the metrics."""
        tokens = completion.input_tokens + completion.output_tokens
        self.metrics.tokens.labels(completion.provider, "input").inc(completion.input_tokens)
        self.metrics.tokens.labels(completion.provider, "output").inc(completion.output_tokens)
        await ledger.add(
            project_id=project_id or NO_PROJECT, day=budget.day_of(self.clock()), tokens=tokens
        )

    async def complete(
        self,
        prompt: Prompt,
        *,
        project_id: str | None,
        ledger: UsageLedger,
        over_budget: OverBudget = "refuse",
    ) -> tuple[Completion, bool]:
        """Answer ``prompt``; returns the completion and whether it came from the cache.

        Args:
            prompt: what to ask.
            project_id: whose budget pays.
            ledger: where spent tokens are read and recorded.
            over_budget: ``refuse`` raises when the budget is spent (routes answer 429);
                ``offline`` answers with the free offline provider instead, flagged ``degraded``
                (background explanations, which nobody waits on to retry).

        Raises:
            BudgetExceededError: the project's budget is spent (checked after the cache) and
                ``over_budget`` is ``refuse``.
        """
        key = self.cache_key(prompt)
        hit = await self.cache.get(key)
        if hit is not None:
            self.metrics.requests.labels(prompt.task, self.provider.name, "cached").inc()
            return Completion(**json.loads(hit)), True
        try:
            await self.check_budget(project_id=project_id, ledger=ledger)
        except budget.BudgetExceededError as exc:
            if over_budget == "refuse":
                raise
            completion = await self.provider.degraded(prompt, reason=str(exc))
            self.metrics.requests.labels(prompt.task, completion.provider, "degraded").inc()
            return completion, False
        completion = await self.provider.complete(prompt)
        outcome = "degraded" if completion.degraded else "ok"
        self.metrics.requests.labels(prompt.task, completion.provider, outcome).inc()
        self.metrics.latency.labels(prompt.task, completion.provider).observe(completion.latency_s)
        await self.charge(project_id=project_id, ledger=ledger, completion=completion)
        if not completion.degraded:
            await self.cache.set(key, json.dumps(asdict(completion)), ttl_s=self.cache_ttl_s)
        return completion, False

    async def stream(
        self, prompt: Prompt, *, on_done: Callable[[Completion], Awaitable[None]]
    ) -> Streamed:
        """Stream an answer (budget checked by the caller); ``on_done`` gets the billed total."""
        key = self.cache_key(prompt)
        hit = await self.cache.get(key)
        if hit is not None:
            cached = Completion(**json.loads(hit))
            self.metrics.requests.labels(prompt.task, self.provider.name, "cached").inc()
            return Streamed(
                provider=cached.provider,
                model=cached.model,
                degraded=False,
                degraded_reason=None,
                chunks=_once(cached.text),
            )
        started = self.clock()
        streamed = await self.provider.stream(prompt)

        async def chunks() -> AsyncIterator[str]:
            parts: list[str] = []
            async for chunk in streamed.chunks:
                parts.append(chunk)
                yield chunk
            text = "".join(parts)
            billed = streamed.provider != OFFLINE
            completion = Completion(
                text=text,
                provider=streamed.provider,
                model=streamed.model,
                input_tokens=estimate_tokens(prompt.all_text()) if billed else 0,
                output_tokens=estimate_tokens(text) if billed else 0,
                latency_s=(self.clock() - started).total_seconds(),
                degraded=streamed.degraded,
                degraded_reason=streamed.degraded_reason,
            )
            outcome = "degraded" if streamed.degraded else "ok"
            self.metrics.requests.labels(prompt.task, streamed.provider, outcome).inc()
            self.metrics.latency.labels(prompt.task, streamed.provider).observe(
                completion.latency_s
            )
            if not streamed.degraded:
                await self.cache.set(key, json.dumps(asdict(completion)), ttl_s=self.cache_ttl_s)
            await on_done(completion)

        return replace(streamed, chunks=chunks())


async def _once(text: str) -> AsyncIterator[str]:
    yield text
