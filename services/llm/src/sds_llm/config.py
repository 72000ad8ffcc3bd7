"""Settings of this service: the shared ``SDS_*`` variables plus the llm service's own."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sds_common.http.settings import AccessSettings
from sds_common.settings import Settings


class LlmSettings(AccessSettings):
    """Environment-driven settings; ``SDS_HTTP_PORT`` etc. still override these defaults.

    The identity check's (secrets, replay protection, rate limits) are ``AccessSettings``'.
    """

    service_name: str = "llm"
    http_port: int = 8004

    llm_provider: str = Field(
        default="offline", description="offline (templates, no key), gemini or groq"
    )
    gemini_api_key: SecretStr = Field(default=SecretStr(""), description="Gemini API key")
    llm_gemini_model: str = Field(default="gemini-2.5-flash", description="Gemini model")
    groq_api_key: SecretStr = Field(default=SecretStr(""), description="Groq API key")
    llm_groq_model: str = Field(default="llama-3.3-70b-versatile", description="Groq model")
    llm_groq_base_url: str = Field(
        default="https://api.groq.com/openai/v1", description="Groq OpenAI-compatible endpoint"
    )
    llm_timeout_s: float = Field(default=30.0, gt=0, description="per-request provider timeout")
    llm_max_retries: int = Field(default=3, ge=0, le=10, description="retries on 429/5xx")
    llm_retry_backoff_s: float = Field(default=0.5, ge=0, description="first retry delay, doubles")
    llm_max_tokens: int = Field(default=800, ge=16, le=8192, description="answer length cap")
    llm_temperature: float = Field(default=0.2, ge=0.0, le=2.0, description="sampling temperature")
    llm_token_budget: int = Field(
        default=200_000, ge=0, description="provider tokens per project per UTC day"
    )
    llm_cache_size: int = Field(default=512, ge=0, description="in-process cache entries")
    llm_cache_ttl_s: float = Field(default=86_400.0, gt=0, description="cached answers live this")


def llm_settings(settings: Settings) -> LlmSettings:
    """``settings`` as LlmSettings (see ``Settings.for_service``)."""
    return settings.for_service(LlmSettings)
