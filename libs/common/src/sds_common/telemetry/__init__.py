"""Telemetry of every service: JSON logs with trace ids, OpenTelemetry traces, Prometheus."""

from sds_common.telemetry.logging import configure_logging
from sds_common.telemetry.metrics import ConsumeOutcome, Metrics, render
from sds_common.telemetry.redaction import REDACTED, is_sensitive_key, redact, scrub_text
from sds_common.telemetry.tracing import (
    build_tracer_provider,
    configure_tracing,
    consumer_span,
    extract_trace_context,
    inject_trace_headers,
    producer_span,
    shutdown_tracing,
)

__all__ = [
    "REDACTED",
    "ConsumeOutcome",
    "Metrics",
    "build_tracer_provider",
    "configure_logging",
    "configure_tracing",
    "consumer_span",
    "extract_trace_context",
    "inject_trace_headers",
    "is_sensitive_key",
    "producer_span",
    "redact",
    "render",
    "scrub_text",
    "shutdown_tracing",
]
