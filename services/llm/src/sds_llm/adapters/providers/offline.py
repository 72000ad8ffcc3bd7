"""The offline provider: deterministic texts from templates, no key, no network."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx

from sds_llm.adapters.providers.base import Completion, register
from sds_llm.config import LlmSettings
from sds_llm.domain.models import Prompt
from sds_llm.domain.templates import render

NAME = "offline"


class OfflineProvider:
    """Renders the facts of a prompt with :mod:`sds_llm.domain.templates`; bills no tokens."""

    name = NAME
    model = "templates-v1"

    async def complete(
        self, prompt: Prompt, *, max_tokens: int, temperature: float, timeout_s: float
    ) -> Completion:
        """Render the answer (``max_tokens``, ``temperature`` and ``timeout_s`` do not apply)."""
        del max_tokens, temperature, timeout_s
        started = time.perf_counter()
        text = render(prompt)
        return Completion(
            text=text,
            provider=self.name,
            model=self.model,
            input_tokens=0,
            output_tokens=0,
            latency_s=time.perf_counter() - started,
        )

    async def stream(
        self, prompt: Prompt, *, max_tokens: int, temperature: float, timeout_s: float
    ) -> AsyncIterator[str]:
        """Yield the rendered answer sentence by sentence."""
        completion = await self.complete(
            prompt, max_tokens=max_tokens, temperature=temperature, timeout_s=timeout_s
        )
        parts = completion.text.split(". ")
        for index, part in enumerate(parts):
            yield part if index == len(parts) - 1 else part + ". "


@register(NAME)
def _factory(settings: LlmSettings, http: httpx.AsyncClient) -> OfflineProvider:
    del settings, http
    return OfflineProvider()
