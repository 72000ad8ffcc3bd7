"""Gemini through Google's ``google-genai`` SDK, over an httpx client the service owns.

The SDK's own retries are off (the :mod:`resilience` wrapper retries every provider the same
way), and its HTTP client is the one passed in, so tests replay recorded responses through an
``httpx.MockTransport`` and the service closes connections on shutdown.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
from google import genai
from google.genai import errors, types

from sds_llm.adapters.providers.base import (
    Completion,
    ProviderError,
    estimate_tokens,
    register,
    status_error,
)
from sds_llm.config import LlmSettings
from sds_llm.domain.models import Prompt

NAME = "gemini"


def _contents(prompt: Prompt) -> list[types.Content]:
    turns = [
        types.Content(
            role="user" if t.role == "user" else "model", parts=[types.Part(text=t.content)]
        )
        for t in prompt.history
    ]
    return [*turns, types.Content(role="user", parts=[types.Part(text=prompt.user)])]


def _error(exc: Exception) -> ProviderError:
    if isinstance(exc, errors.APIError):
        return status_error(NAME, int(exc.code))
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return ProviderError(f"{NAME} timed out", retryable=True)
    return ProviderError(f"{NAME} unreachable: {type(exc).__name__}", retryable=True)


class GeminiProvider:
    """Generates with a Gemini model (``SDS_LLM_GEMINI_MODEL``)."""

    name = NAME

    def __init__(self, *, api_key: str, model: str, http: httpx.AsyncClient) -> None:
        if not api_key:
            raise ProviderError("gemini is not configured: set SDS_GEMINI_API_KEY", retryable=False)
        self.model = model
        self._client = genai.Client(
            api_key=api_key,
            http_options=types.HttpOptions(httpx_async_client=http, retry_options=None),
        )

    def _config(
        self, prompt: Prompt, *, max_tokens: int, temperature: float, timeout_s: float
    ) -> types.GenerateContentConfig:
        return types.GenerateContentConfig(
            system_instruction=prompt.system,
            max_output_tokens=max_tokens,
            temperature=temperature,
            http_options=types.HttpOptions(timeout=int(timeout_s * 1000)),
        )

    async def complete(
        self, prompt: Prompt, *, max_tokens: int, temperature: float, timeout_s: float
    ) -> Completion:
        """One ``generateContent`` call."""
        config = self._config(
            prompt, max_tokens=max_tokens, temperature=temperature, timeout_s=timeout_s
        )
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout_s):
                response = await self._client.aio.models.generate_content(
                    model=self.model, contents=_contents(prompt), config=config
                )
        except (errors.APIError, httpx.HTTPError, TimeoutError) as exc:
            raise _error(exc) from exc
        text = response.text or ""
        usage = response.usage_metadata
        return Completion(
            text=text,
            provider=self.name,
            model=self.model,
            input_tokens=(usage.prompt_token_count if usage else None)
            or estimate_tokens(prompt.all_text()),
            output_tokens=(usage.candidates_token_count if usage else None)
            or estimate_tokens(text),
            latency_s=time.perf_counter() - started,
        )

    async def stream(
        self, prompt: Prompt, *, max_tokens: int, temperature: float, timeout_s: float
    ) -> AsyncIterator[str]:
        """One ``streamGenerateContent`` call (server-sent events)."""
        config = self._config(
            prompt, max_tokens=max_tokens, temperature=temperature, timeout_s=timeout_s
        )
        try:
            async with asyncio.timeout(timeout_s):
                chunks = await self._client.aio.models.generate_content_stream(
                    model=self.model, contents=_contents(prompt), config=config
                )
                async for chunk in chunks:
                    if chunk.text:
                        yield chunk.text
        except (errors.APIError, httpx.HTTPError, TimeoutError) as exc:
            raise _error(exc) from exc


@register(NAME)
def _factory(settings: LlmSettings, http: httpx.AsyncClient) -> GeminiProvider:
    return GeminiProvider(
        api_key=settings.gemini_api_key.get_secret_value(),
        model=settings.llm_gemini_model,
        http=http,
    )
