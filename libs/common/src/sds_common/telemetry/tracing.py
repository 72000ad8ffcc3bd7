"""OpenTelemetry tracing: the process tracer provider and W3C trace context in message headers.

The bus calls :func:`inject_trace_headers` when it publishes and wraps each handler call in
:func:`consumer_span`, so one trace follows a request from HTTP through Kafka to the workers.
Message headers are Kafka-style: a list of ``(name, bytes)`` pairs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagators.textmap import Getter, Setter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from sds_common.settings import Settings

logger = logging.getLogger(__name__)

TRACER_NAME = "sds_common"
_PROPAGATOR = TraceContextTextMapPropagator()
_TRACE_HEADERS = frozenset(_PROPAGATOR.fields)

Headers = Sequence[tuple[str, bytes]]


class _HeaderGetter(Getter[Headers]):
    def get(self, carrier: Headers, key: str) -> list[str] | None:
        wanted = key.lower()
        values = [value.decode("latin-1") for name, value in carrier if name.lower() == wanted]
        return values or None

    def keys(self, carrier: Headers) -> list[str]:
        return [name for name, _ in carrier]


class _HeaderSetter(Setter[list[tuple[str, bytes]]]):
    def set(self, carrier: list[tuple[str, bytes]], key: str, value: str) -> None:
        carrier.append((key, value.encode("latin-1")))


_GETTER = _HeaderGetter()
_SETTER = _HeaderSetter()

# The provider this module installed globally; OpenTelemetry allows setting it only once.
_installed: list[TracerProvider] = []


def build_tracer_provider(settings: Settings) -> TracerProvider:
    """Build a tracer provider for ``settings`` without installing it globally.

    Args:
        settings: Uses ``service_name``, ``otel_exporter`` (``none``, ``console`` or ``otlp``)
            and ``otel_endpoint`` (the OTLP/HTTP collector base URL).

    Returns:
        The provider. With ``none`` it has no exporter, yet its spans still carry ids for logs
        and propagation.

    Raises:
        ValueError: ``otel_exporter`` is not a known value.
    """
    kind = settings.otel_exporter.lower()
    exporter: SpanExporter | None
    if kind == "none":
        exporter = None
    elif kind == "console":
        exporter = ConsoleSpanExporter(service_name=settings.service_name)
    elif kind == "otlp":
        # imported only here: it pulls in protobuf and requests
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        exporter = OTLPSpanExporter(endpoint=f"{settings.otel_endpoint.rstrip('/')}/v1/traces")
    else:
        raise ValueError(f"unknown OpenTelemetry exporter {settings.otel_exporter!r}")
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.service_name}))
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def configure_tracing(settings: Settings) -> TracerProvider:
    """Install the process-wide tracer provider (once; later calls return the installed one).

    Args:
        settings: See :func:`build_tracer_provider`.

    Returns:
        The installed provider; add span processors to it to export elsewhere (tests do).
    """
    if _installed:
        logger.debug("tracing already configured; keeping the installed provider")
        return _installed[0]
    provider = build_tracer_provider(settings)
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is not provider:
        logger.warning("another tracer provider was installed first; spans go there")
    _installed.append(provider)
    return provider


def shutdown_tracing() -> None:
    """Flush and shut down the installed provider's exporters (call once, at process exit)."""
    if _installed:
        _installed[0].shutdown()


def inject_trace_headers(headers: list[tuple[str, bytes]] | None = None) -> list[tuple[str, bytes]]:
    """Add ``traceparent`` (and ``tracestate`` if any) of the current span to message headers.

    Existing trace headers in ``headers`` are replaced; the list is modified in place.

    Args:
        headers: Headers of the outgoing message; a new list when ``None``.

    Returns:
        The headers (the same list when one was given).
    """
    carrier = headers if headers is not None else []
    carrier[:] = [(name, value) for name, value in carrier if name.lower() not in _TRACE_HEADERS]
    _PROPAGATOR.inject(carrier, setter=_SETTER)
    return carrier


def extract_trace_context(headers: Sequence[tuple[str, bytes]]) -> otel_context.Context:
    """Return the context carried by message headers (empty when they carry none).

    Args:
        headers: Headers of an incoming message.

    Returns:
        A context whose current span is the remote parent, if the headers had a valid one.
    """
    return _PROPAGATOR.extract(headers, context=otel_context.Context(), getter=_GETTER)


@contextmanager
def consumer_span(
    name: str,
    headers: Sequence[tuple[str, bytes]],
    *,
    attributes: Mapping[str, str | int] | None = None,
) -> Iterator[Span]:
    """Run the block in a CONSUMER span whose parent is the producer's span from ``headers``.

    Args:
        name: Span name, e.g. ``"datasets process"``.
        headers: Headers of the message being handled.
        attributes: Span attributes (topic, event type, event id ...).

    Yields:
        The current span. An exception leaving the block is recorded on it and re-raised.
    """
    tracer = trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(
        name,
        context=extract_trace_context(headers),
        kind=SpanKind.CONSUMER,
        attributes=dict(attributes or {}),
    ) as span:
        yield span


@contextmanager
def producer_span(
    name: str, *, attributes: Mapping[str, str | int] | None = None
) -> Iterator[Span]:
    """Run the block in a PRODUCER span, a child of the current span.

    Call :func:`inject_trace_headers` inside the block so the message carries this span.

    Args:
        name: Span name, e.g. ``"datasets publish"``.
        attributes: Span attributes.

    Yields:
        The current span.
    """
    tracer = trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(
        name, kind=SpanKind.PRODUCER, attributes=dict(attributes or {})
    ) as span:
        yield span
