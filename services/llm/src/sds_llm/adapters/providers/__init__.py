"""LLM providers behind one protocol, chosen by name from a registry (``SDS_LLM_PROVIDER``)."""

from sds_llm.adapters.providers import gemini, groq, offline
from sds_llm.adapters.providers.base import (
    Completion,
    LlmProvider,
    ProviderError,
    available,
    create,
    register,
)
from sds_llm.adapters.providers.resilience import (
    Generation,
    ResilientProvider,
    RetryPolicy,
    Streamed,
    UnavailableProvider,
)

__all__ = [
    "Completion",
    "Generation",
    "LlmProvider",
    "ProviderError",
    "ResilientProvider",
    "RetryPolicy",
    "Streamed",
    "UnavailableProvider",
    "available",
    "create",
    "gemini",
    "groq",
    "offline",
    "register",
]
