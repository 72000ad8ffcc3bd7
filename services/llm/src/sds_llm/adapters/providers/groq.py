"""Groq through its OpenAI-compatible chat-completions API, with httpx."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from sds_llm.adapters.providers.base import (
    Completion,
    ProviderError,
    estimate_tokens,
    register,
    status_error,
)
from sds_llm.config import LlmSettings
from sds_llm.domain.models import Prompt

NAME = "groq"


def _messages(prompt: Prompt) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": prompt.system},
        *({"role": t.role, "content": t.content} for t in prompt.history),
        {"role": "user", "content": prompt.user},
    ]


def _transport_error(exc: httpx.HTTPError) -> ProviderError:
    if isinstance(exc, httpx.TimeoutException):
        return ProviderError(f"{NAME} timed out", retryable=True)
    return ProviderError(f"{NAME} unreachable: {type(exc).__name__}", retryable=True)


class GroqProvider:
    """Generates with a Groq-hosted model (``SDS_LLM_GROQ_MODEL``)."""

    name = NAME

    def __init__(self, *, api_key: str, model: str, base_url: str, http: httpx.AsyncClient) -> None:
        if not api_key:
            raise ProviderError("groq is not configured: set SDS_GROQ_API_KEY", retryable=False)
        self.model = model
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._http = http

    def _body(
        self, prompt: Prompt, *, max_tokens: int, temperature: float, stream: bool
    ) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": _messages(prompt),
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": stream,
        }

    async def complete(
        self, prompt: Prompt, *, max_tokens: int, temperature: float, timeout_s: float
    ) -> Completion:
        """One ``POST /chat/completions``."""
        body = self._body(prompt, max_tokens=max_tokens, temperature=temperature, stream=False)
        started = time.perf_counter()
        try:
            response = await self._http.post(
                self._url, json=body, headers=self._headers, timeout=timeout_s
            )
        except httpx.HTTPError as exc:
            raise _transport_error(exc) from exc
        if response.status_code != httpx.codes.OK:
            raise status_error(NAME, response.status_code)
        try:
            data = response.json()
            text = str(data["choices"][0]["message"]["content"] or "")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ProviderError(f"{NAME} sent an unexpected body", retryable=True) from exc
        usage = data.get("usage") or {}
        return Completion(
            text=text,
            provider=self.name,
            model=str(data.get("model") or self.model),
            input_tokens=int(usage.get("prompt_tokens") or estimate_tokens(prompt.all_text())),
            output_tokens=int(usage.get("completion_tokens") or estimate_tokens(text)),
            latency_s=time.perf_counter() - started,
        )

    async def stream(
        self, prompt: Prompt, *, max_tokens: int, temperature: float, timeout_s: float
    ) -> AsyncIterator[str]:
        """One streamed ``POST /chat/completions`` (server-sent events, ``[DONE]`` at the end)."""
        body = self._body(prompt, max_tokens=max_tokens, temperature=temperature, stream=True)
        try:
            async with self._http.stream(
                "POST", self._url, json=body, headers=self._headers, timeout=timeout_s
            ) as response:
                if response.status_code != httpx.codes.OK:
                    raise status_error(NAME, response.status_code)
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line.removeprefix("data:").strip()
                    if data == "[DONE]":
                        return
                    delta = json.loads(data)["choices"][0].get("delta", {}).get("content")
                    if delta:
                        yield str(delta)
        except httpx.HTTPError as exc:
            raise _transport_error(exc) from exc
        except (ValueError, KeyError, IndexError) as exc:
            raise ProviderError(f"{NAME} sent an unexpected event", retryable=False) from exc


@register(NAME)
def _factory(settings: LlmSettings, http: httpx.AsyncClient) -> GroqProvider:
    return GroqProvider(
        api_key=settings.groq_api_key.get_secret_value(),
        model=settings.llm_groq_model,
        base_url=settings.llm_groq_base_url,
        http=http,
    )
