"""Gemini (google-genai) and Groq adapters against recorded HTTP responses.

Both providers take the service's ``httpx.AsyncClient``; here it carries an ``httpx.MockTransport``
that replays responses recorded from the real APIs, so no request leaves the process. The
google-genai SDK accepts the client through ``HttpOptions(httpx_async_client=...)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import httpx

from sds_llm.adapters.providers import Generation, ResilientProvider, RetryPolicy
from sds_llm.adapters.providers.gemini import GeminiProvider
from sds_llm.adapters.providers.groq import GroqProvider
from sds_llm.domain import assessment, prompts, redaction
from sds_llm.domain.models import Prompt
from tests.unit.llm.fakes import no_sleep, report

GEMINI_OK = {
    "candidates": [
        {
            "content": {
                "parts": [{"text": "Fidelity 0.66 is moderate; raise ε if the budget allows."}],
                "role": "model",
            },
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": {"promptTokenCount": 812, "candidatesTokenCount": 21, "totalTokenCount": 833},
    "modelVersion": "gemini-2.5-flash",
    "responseId": "abc123",
}
GEMINI_429 = {
    "error": {
        "code": 429,
        "message": "Resource has been exhausted (e.g. check quota).",
        "status": "RESOURCE_EXHAUSTED",
    }
}
GEMINI_500 = {"error": {"code": 500, "message": "Internal error", "status": "INTERNAL"}}
GEMINI_STREAM = (
    'data: {"candidates": [{"content": {"parts": [{"text": "Fidelity 0.66"}],"role": "model"}}],'
    '"modelVersion": "gemini-2.5-flash"}\r\n\r\n'
    'data: {"candidates": [{"content": {"parts": [{"text": " is moderate."}],"role": "model"},'
    '"finishReason": "STOP"}],"usageMetadata": {"promptTokenCount": 812,'
    '"candidatesTokenCount": 6,"totalTokenCount": 818},"modelVersion": "gemini-2.5-flash"}\r\n\r\n'
)
GROQ_OK = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1764000000,
    "model": "llama-3.3-70b-versatile",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Utility is fair (83%)."},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 790, "completion_tokens": 9, "total_tokens": 799},
}
GROQ_429 = {
    "error": {
        "message": "Rate limit reached for model `llama-3.3-70b-versatile`",
        "type": "tokens",
        "code": "rate_limit_exceeded",
    }
}
GROQ_STREAM = (
    'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":'
    '{"role":"assistant","content":""}}]}\n\n'
    'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":'
    '{"content":"Utility "}}]}\n\n'
    'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":'
    '{"content":"is fair."},"finish_reason":"stop"}]}\n\n'
    "data: [DONE]\n\n"
)


def _prompt() -> Prompt:
    facts = redaction.evaluation_facts(report())
    return prompts.explanation(facts, assessment.assess(facts))


def _replay(
    responses: Sequence[httpx.Response], seen: list[httpx.Request]
) -> Callable[[httpx.Request], httpx.Response]:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def _client(responses: Sequence[httpx.Response], seen: list[httpx.Request]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(_replay(responses, seen)))


def _resilient(provider: GeminiProvider | GroqProvider) -> ResilientProvider:
    return ResilientProvider(
        provider, retry=RetryPolicy(max_retries=2), generation=Generation(), sleep=no_sleep
    )


def _gemini(responses: Sequence[httpx.Response], seen: list[httpx.Request]) -> ResilientProvider:
    return _resilient(
        GeminiProvider(api_key="test-key", model="gemini-2.5-flash", http=_client(responses, seen))
    )


def _groq(responses: Sequence[httpx.Response], seen: list[httpx.Request]) -> ResilientProvider:
    return _resilient(
        GroqProvider(
            api_key="test-key",
            model="llama-3.3-70b-versatile",
            base_url="https://api.groq.com/openai/v1",
            http=_client(responses, seen),
        )
    )


async def test_gemini_success_sends_the_prompt_and_reads_usage() -> None:
    seen: list[httpx.Request] = []
    completion = await _gemini([httpx.Response(200, json=GEMINI_OK)], seen).complete(_prompt())
    assert completion.text.startswith("Fidelity 0.66 is moderate")
    assert (completion.provider, completion.model) == ("gemini", "gemini-2.5-flash")
    assert (completion.input_tokens, completion.output_tokens) == (812, 21)
    assert not completion.degraded
    request = seen[0]
    assert request.url.path.endswith("/models/gemini-2.5-flash:generateContent")
    assert request.headers["x-goog-api-key"] == "test-key"
    body = json.loads(request.content)
    assert body["generationConfig"]["maxOutputTokens"] == 800
    assert "Facts (JSON)" in body["contents"][-1]["parts"][0]["text"]
    assert "systemInstruction" in body


async def test_gemini_retries_a_429_then_succeeds() -> None:
    seen: list[httpx.Request] = []
    provider = _gemini(
        [httpx.Response(429, json=GEMINI_429), httpx.Response(200, json=GEMINI_OK)], seen
    )
    completion = await provider.complete(_prompt())
    assert len(seen) == 2
    assert completion.provider == "gemini"
    assert not completion.degraded


async def test_gemini_500_degrades_to_offline() -> None:
    seen: list[httpx.Request] = []
    completion = await _gemini([httpx.Response(500, json=GEMINI_500)], seen).complete(_prompt())
    assert len(seen) == 3  # one call and two retries
    assert completion.degraded
    assert completion.provider == "offline"
    assert completion.degraded_reason == "gemini unavailable: gemini answered HTTP 500"
    assert completion.text.startswith("Fidelity 0.66 is moderate")


async def test_gemini_bad_key_degrades_without_retrying() -> None:
    seen: list[httpx.Request] = []
    forbidden = {
        "error": {"code": 403, "message": "API key not valid", "status": "PERMISSION_DENIED"}
    }
    completion = await _gemini([httpx.Response(403, json=forbidden)], seen).complete(_prompt())
    assert len(seen) == 1
    assert completion.degraded


async def test_gemini_streams_server_sent_events() -> None:
    seen: list[httpx.Request] = []
    response = httpx.Response(
        200, content=GEMINI_STREAM.encode(), headers={"content-type": "text/event-stream"}
    )
    streamed = await _gemini([response], seen).stream(_prompt())
    text = "".join([chunk async for chunk in streamed.chunks])
    assert text == "Fidelity 0.66 is moderate."
    assert seen[0].url.path.endswith(":streamGenerateContent")
    assert not streamed.degraded


async def test_gemini_stream_outage_degrades() -> None:
    seen: list[httpx.Request] = []
    streamed = await _gemini([httpx.Response(503, json=GEMINI_500)], seen).stream(_prompt())
    text = "".join([chunk async for chunk in streamed.chunks])
    assert streamed.degraded
    assert streamed.provider == "offline"
    assert text.startswith("Fidelity 0.66 is moderate")


async def test_groq_success() -> None:
    seen: list[httpx.Request] = []
    completion = await _groq([httpx.Response(200, json=GROQ_OK)], seen).complete(_prompt())
    assert completion.text == "Utility is fair (83%)."
    assert (completion.input_tokens, completion.output_tokens) == (790, 9)
    request = seen[0]
    assert str(request.url) == "https://api.groq.com/openai/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer test-key"
    body = json.loads(request.content)
    assert body["model"] == "llama-3.3-70b-versatile"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["max_tokens"] == 800
    assert body["stream"] is False


async def test_groq_retries_a_429_then_succeeds() -> None:
    seen: list[httpx.Request] = []
    provider = _groq(
        [
            httpx.Response(429, json=GROQ_429, headers={"retry-after": "1"}),
            httpx.Response(200, json=GROQ_OK),
        ],
        seen,
    )
    completion = await provider.complete(_prompt())
    assert len(seen) == 2
    assert completion.provider == "groq"


async def test_groq_500_degrades_to_offline() -> None:
    seen: list[httpx.Request] = []
    completion = await _groq([httpx.Response(500, text="upstream error")], seen).complete(_prompt())
    assert len(seen) == 3
    assert completion.degraded
    assert completion.degraded_reason == ("groq unavailable: groq answered HTTP 500")


async def test_groq_timeout_degrades() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    provider = _resilient(
        GroqProvider(
            api_key="k",
            model="m",
            base_url="https://api.groq.com/openai/v1",
            http=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        )
    )
    completion = await provider.complete(_prompt())
    assert completion.degraded
    assert "timed out" in (completion.degraded_reason or "")


async def test_groq_streams() -> None:
    seen: list[httpx.Request] = []
    response = httpx.Response(
        200, content=GROQ_STREAM.encode(), headers={"content-type": "text/event-stream"}
    )
    streamed = await _groq([response], seen).stream(_prompt())
    assert "".join([chunk async for chunk in streamed.chunks]) == "Utility is fair."
    assert json.loads(seen[0].content)["stream"] is True


def test_missing_keys_make_the_provider_unavailable_and_degrade() -> None:
    from sds_llm.adapters.providers.resilience import UnavailableProvider  # noqa: PLC0415
    from sds_llm.config import LlmSettings  # noqa: PLC0415
    from sds_llm.parts import build_provider  # noqa: PLC0415

    settings = LlmSettings(llm_provider="gemini", gemini_api_key="")
    provider = build_provider(settings, http=httpx.AsyncClient())
    assert isinstance(provider, UnavailableProvider)
    assert provider.name == "gemini"
