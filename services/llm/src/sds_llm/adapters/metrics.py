"""Token and latency metrics of the llm service, in the service's Prometheus registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class LlmMetrics:
    """``llm_tokens_total{provider,direction}``, ``llm_requests_total{feature,provider,outcome}``
    (outcome: ok, degraded, cached, refused) and ``llm_request_seconds{feature,provider}``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.tokens = Counter(
            "llm_tokens_total",
            "Provider tokens billed.",
            ["provider", "direction"],
            registry=registry,
        )
        self.requests = Counter(
            "llm_requests_total",
            "LLM feature requests by outcome.",
            ["feature", "provider", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "llm_request_seconds",
            "Provider latency per request.",
            ["feature", "provider"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
