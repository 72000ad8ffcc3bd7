"""Prometheus metrics of one process, held in an explicit registry (never the global default)."""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

# Handlers range from milliseconds (read-model updates) to an hour (training).
HANDLER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class ConsumeOutcome(StrEnum):
    """Value of the ``outcome`` label of ``events_consumed_total``."""

    OK = "ok"
    DUPLICATE = "duplicate"
    RETRIED = "retried"
    DEAD_LETTERED = "dead_lettered"
    SKIPPED = "skipped"
    #: A type no catalogue entry knows (a newer producer, or a bogus one); never handled.
    UNKNOWN_TYPE = "unknown_type"


class Metrics:
    """The metrics the bus and the HTTP layer record; build one per process in bootstrap code.

    Attributes are named like the exported series:

    - ``events_published_total{topic,type}``
    - ``events_consumed_total{topic,type,outcome}`` (outcome: a :class:`ConsumeOutcome` value)
    - ``event_handler_seconds{topic,type}`` (histogram)
    - ``outbox_pending`` (gauge: outbox rows not yet relayed)
    - ``http_requests_total{method,route,status}``
    - ``http_request_seconds{method,route}`` (histogram)
    - ``http_auth_failures_total{service,scheme,recorded}`` (requests refused for their identity;
      recorded: an ``AuthenticationFailed`` event was published)
    - ``http_rate_limited_total{service,subject}`` (429 answers; subject: user, api_key)
    """

    def __init__(
        self, registry: CollectorRegistry | None = None, *, process_collectors: bool = True
    ) -> None:
        """Create the metrics in ``registry``.

        Args:
            registry: Where to register; a fresh registry when ``None``.
            process_collectors: Also export process, platform and GC metrics.
        """
        self.registry = registry if registry is not None else CollectorRegistry()
        reg = self.registry
        self.events_published_total = Counter(
            "events_published_total", "Events published.", ["topic", "type"], registry=reg
        )
        self.events_consumed_total = Counter(
            "events_consumed_total",
            "Events delivered to a handler, by outcome.",
            ["topic", "type", "outcome"],
            registry=reg,
        )
        self.event_handler_seconds = Histogram(
            "event_handler_seconds",
            "Time spent in an event handler.",
            ["topic", "type"],
            buckets=HANDLER_BUCKETS,
            registry=reg,
        )
        self.outbox_pending = Gauge(
            "outbox_pending", "Outbox messages not yet relayed to the bus.", registry=reg
        )
        self.http_requests_total = Counter(
            "http_requests_total",
            "HTTP requests answered.",
            ["method", "route", "status"],
            registry=reg,
        )
        self.http_request_seconds = Histogram(
            "http_request_seconds",
            "HTTP request duration, until the response body is sent.",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=reg,
        )
        self.http_auth_failures_total = Counter(
            "http_auth_failures_total",
            "Requests refused for their identity, by scheme and whether an event was recorded.",
            ["service", "scheme", "recorded"],
            registry=reg,
        )
        self.http_rate_limited_total = Counter(
            "http_rate_limited_total",
            "Requests refused with 429, by what was limited.",
            ["service", "subject"],
            registry=reg,
        )
        if process_collectors:
            ProcessCollector(registry=reg)
            PlatformCollector(registry=reg)
            GCCollector(registry=reg)


def render(registry: CollectorRegistry) -> tuple[bytes, str]:
    """Render ``registry`` in the Prometheus text format.

    Args:
        registry: The registry to expose.

    Returns:
        The body and its content type, for a ``/metrics`` response.
    """
    return generate_latest(registry), CONTENT_TYPE_LATEST
