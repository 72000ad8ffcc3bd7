"""Logging (JSON, trace ids, redaction), trace propagation through message headers, metrics."""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY

from sds_common.settings import Settings
from sds_common.telemetry import (
    REDACTED,
    ConsumeOutcome,
    Metrics,
    build_tracer_provider,
    configure_logging,
    configure_tracing,
    consumer_span,
    extract_trace_context,
    inject_trace_headers,
    is_sensitive_key,
    producer_span,
    redact,
    render,
    scrub_text,
)

# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def _module_spans() -> InMemorySpanExporter:
    provider = configure_tracing(Settings(service_name="test", otel_exporter="none"))
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture
def spans(_module_spans: InMemorySpanExporter) -> InMemorySpanExporter:
    _module_spans.clear()
    return _module_spans


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Route the root logger to a buffer (JSON) for one test, then restore it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging(Settings(service_name="svc-under-test", log_level="DEBUG"), stream=buffer)
    yield buffer
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def _lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in buffer.getvalue().splitlines() if line]


# --- logging --------------------------------------------------------------------------------


def test_json_line_has_core_fields_and_extras(log_output: io.StringIO) -> None:
    logging.getLogger("sds.test").info("hello %s", "world", extra={"dataset_id": "d1", "rows": 3})

    [line] = _lines(log_output)
    assert line["message"] == "hello world"
    assert line["level"] == "INFO"
    assert line["logger"] == "sds.test"
    assert line["service"] == "svc-under-test"
    assert line["dataset_id"] == "d1"
    assert line["rows"] == 3
    assert isinstance(line["timestamp"], str)
    assert datetime.fromisoformat(line["timestamp"]).utcoffset() is not None
    assert "trace_id" not in line


def test_json_line_carries_trace_and_span_id_inside_a_span(
    log_output: io.StringIO, spans: InMemorySpanExporter
) -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        logging.getLogger("sds.test").warning("inside")
        context = span.get_span_context()

    [line] = _lines(log_output)
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")
    assert [s.name for s in spans.get_finished_spans()] == ["work"]


def test_json_line_has_exception_text(log_output: io.StringIO) -> None:
    try:
        raise ValueError("could not reach postgresql://sds:hunter2@db:5432/sds")
    except ValueError:
        logging.getLogger("sds.test").exception("failed")

    [line] = _lines(log_output)
    assert isinstance(line["exception"], str)
    assert "ValueError" in line["exception"]
    assert "hunter2" not in log_output.getvalue()
    assert "postgresql://sds:[redacted]@db:5432/sds" in line["exception"]


def test_redaction_of_extras_nested_and_top_level(log_output: io.StringIO) -> None:
    headers = {
        "Authorization": "Bearer abc",
        "X-Proxy-Signature": "deadbeef",
        "Cookie": "session=1",
        "accept": "application/json",
    }
    extra = {
        "headers": headers,
        "password": "pw",
        "request": {"body": {"api_key": "k", "nested": [{"refresh_token": "t"}]}},
        "prompt_tokens": 12,
        "object_key": "datasets/d1.csv",
    }
    logging.getLogger("sds.test").info("request", extra=extra)

    raw = log_output.getvalue()
    for secret in ("Bearer abc", "deadbeef", "session=1", '"pw"', '"k"', '"t"'):
        assert secret not in raw
    [line] = _lines(log_output)
    assert line["password"] == REDACTED
    assert line["headers"] == {
        "Authorization": REDACTED,
        "X-Proxy-Signature": REDACTED,
        "Cookie": REDACTED,
        "accept": "application/json",
    }
    assert line["request"] == {
        "body": {"api_key": REDACTED, "nested": [{"refresh_token": REDACTED}]}
    }
    assert line["prompt_tokens"] == 12
    assert line["object_key"] == "datasets/d1.csv"
    assert headers["Authorization"] == "Bearer abc", "the caller's dict must not change"


def test_redaction_of_mapping_arguments(log_output: io.StringIO) -> None:
    logging.getLogger("sds.test").info(
        "user %(user)s token %(token)s", {"user": "u1", "token": "x"}
    )

    [line] = _lines(log_output)
    assert line["message"] == f"user u1 token {REDACTED}"


def test_console_format_is_readable_and_redacted() -> None:
    buffer = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        configure_logging(Settings(log_format="console"), stream=buffer)
        logging.getLogger("sds.test").info("ready", extra={"secret": "s3cr3t", "port": 80})
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)

    text = buffer.getvalue()
    assert "INFO" in text
    assert "sds.test: ready" in text
    assert "port=80" in text
    assert "s3cr3t" not in text
    assert not text.lstrip().startswith("{")


def test_configure_logging_is_idempotent(log_output: io.StringIO) -> None:
    second = io.StringIO()
    configure_logging(Settings(service_name="svc-under-test"), stream=second)
    configure_logging(Settings(service_name="svc-under-test"), stream=second)
    logging.getLogger("sds.test").info("once")

    assert log_output.getvalue() == ""
    assert len(_lines(second)) == 1


@contextmanager
def _root_restored() -> Iterator[None]:
    """Let a test configure the root logger, then put back what it had."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            if handler not in handlers:
                handler.close()
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


def test_a_warning_is_one_log_record_at_warning_level() -> None:
    buffer = io.StringIO()
    # Inside the test body: pytest restores warnings.showwarning after each test phase.
    with _root_restored(), warnings.catch_warnings():
        configure_logging(Settings(service_name="svc-under-test"), stream=buffer)
        warnings.simplefilter("always")
        warnings.warn("Optimal order is the largest alpha.", UserWarning, stacklevel=1)

    [line] = _lines(buffer)
    assert line["level"] == "WARNING"
    assert line["logger"] == "py.warnings"
    assert line["message"] == "UserWarning: Optimal order is the largest alpha."
    assert line["warning_category"] == "UserWarning"
    assert str(line["warning_location"]).startswith(f"{__file__}:")


def test_a_log_file_keeps_the_terminal_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "logs" / "demo.log"
    with _root_restored(), warnings.catch_warnings():
        configure_logging(Settings(log_format="console"), path=path)
        warnings.simplefilter("always")
        logging.getLogger("sds.test").warning("disk almost full")
        warnings.warn("a library's notice", RuntimeWarning, stacklevel=1)

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""
    text = path.read_text()
    assert "WARNING  sds.test: disk almost full" in text
    assert "WARNING  py.warnings: RuntimeWarning: a library's notice" in text
    with pytest.raises(ValueError, match="not both"):
        configure_logging(Settings(), stream=io.StringIO(), path=path)


def test_configure_logging_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="log format"):
        configure_logging(Settings(log_format="xml"))


@pytest.mark.parametrize(
    ("key", "sensitive"),
    [
        ("authorization", True),
        ("Proxy-Authorization", True),
        ("set-cookie", True),
        ("client_secret", True),
        ("s3_secret_key", True),
        ("x-api-key", True),
        ("apiKey", True),
        ("access_token", True),
        ("x-proxy-signature", True),
        ("password", True),
        ("prompt_tokens", False),
        ("object_key", False),
        ("dataset_id", False),
    ],
)
def test_is_sensitive_key(key: str, sensitive: bool) -> None:
    assert is_sensitive_key(key) is sensitive


def test_redact_and_scrub_helpers() -> None:
    assert redact({"a": {"token": "x"}, "b": ({"cookie": 1},)}) == {
        "a": {"token": REDACTED},
        "b": [{"cookie": REDACTED}],
    }
    assert scrub_text("redis://:pw@host:6379/0 and s3://bucket/key") == (
        f"redis://:{REDACTED}@host:6379/0 and s3://bucket/key"
    )


# --- tracing --------------------------------------------------------------------------------


def test_producer_span_is_the_parent_of_the_consumer_span(spans: InMemorySpanExporter) -> None:
    with producer_span("datasets publish", attributes={"messaging.destination.name": "datasets"}):
        headers = inject_trace_headers([("content-type", b"application/json")])

    assert [name for name, _ in headers] == ["content-type", "traceparent"]

    with consumer_span("datasets process", headers, attributes={"retry": 0}) as span:
        assert span.get_span_context().is_valid

    producer, consumer = spans.get_finished_spans()
    assert producer.kind is SpanKind.PRODUCER
    assert consumer.kind is SpanKind.CONSUMER
    assert consumer.parent is not None
    assert consumer.parent.span_id == producer.context.span_id
    assert consumer.context.trace_id == producer.context.trace_id
    traceparent = dict(headers)["traceparent"].decode()
    assert format(producer.context.trace_id, "032x") in traceparent
    assert consumer.attributes is not None
    assert consumer.attributes["retry"] == 0


def test_inject_replaces_stale_trace_headers_in_place(spans: InMemorySpanExporter) -> None:
    headers = [("traceparent", b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01")]
    with producer_span("publish") as span:
        returned = inject_trace_headers(headers)
        trace_id = format(span.get_span_context().trace_id, "032x")

    assert returned is headers
    assert len(headers) == 1
    assert trace_id in headers[0][1].decode()


def test_tracestate_travels_with_traceparent(spans: InMemorySpanExporter) -> None:
    incoming = [
        ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ("tracestate", b"vendor=abc"),
    ]
    with consumer_span("process", incoming):
        outgoing = inject_trace_headers()

    assert dict(outgoing)["tracestate"] == b"vendor=abc"
    [consumer] = spans.get_finished_spans()
    assert format(consumer.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"


def test_consumer_span_without_trace_headers_starts_a_new_trace(
    spans: InMemorySpanExporter,
) -> None:
    assert not trace.get_current_span(extract_trace_context([])).get_span_context().is_valid
    with consumer_span("process", [("other", b"x")]):
        pass

    [consumer] = spans.get_finished_spans()
    assert consumer.parent is None


def test_consumer_span_records_a_failure(spans: InMemorySpanExporter) -> None:
    with pytest.raises(RuntimeError), consumer_span("process", []):
        raise RuntimeError("boom")

    [consumer] = spans.get_finished_spans()
    assert not consumer.status.is_ok
    assert [event.name for event in consumer.events] == ["exception"]


def test_configure_tracing_returns_the_installed_provider() -> None:
    first = configure_tracing(Settings(otel_exporter="none"))
    again = configure_tracing(Settings(otel_exporter="console"))
    assert first is again
    assert trace.get_tracer_provider() is first


@pytest.mark.parametrize("exporter", ["none", "console", "otlp"])
def test_build_tracer_provider_for_each_exporter(exporter: str) -> None:
    provider = build_tracer_provider(Settings(service_name="svc", otel_exporter=exporter))
    try:
        assert isinstance(provider, TracerProvider)
        assert provider.resource.attributes["service.name"] == "svc"
    finally:
        provider.shutdown()


def test_build_tracer_provider_rejects_unknown_exporter() -> None:
    with pytest.raises(ValueError, match="exporter"):
        build_tracer_provider(Settings(otel_exporter="jaeger"))


# --- metrics --------------------------------------------------------------------------------


def test_metrics_render_in_their_own_registry() -> None:
    metrics = Metrics()
    metrics.events_published_total.labels("datasets", "DatasetUploaded").inc()
    metrics.events_consumed_total.labels("datasets", "DatasetUploaded", ConsumeOutcome.OK).inc()
    metrics.event_handler_seconds.labels("datasets", "DatasetUploaded").observe(0.2)
    metrics.outbox_pending.set(4)
    metrics.http_requests_total.labels("GET", "/health", "200").inc()
    metrics.http_request_seconds.labels("GET", "/health").observe(0.01)

    body, content_type = render(metrics.registry)
    text = body.decode()

    assert content_type.startswith("text/plain")
    assert 'events_published_total{topic="datasets",type="DatasetUploaded"} 1.0' in text
    assert 'events_consumed_total{outcome="ok",topic="datasets",type="DatasetUploaded"} 1.0' in text
    assert 'event_handler_seconds_count{topic="datasets",type="DatasetUploaded"} 1.0' in text
    assert "outbox_pending 4.0" in text
    assert 'http_requests_total{method="GET",route="/health",status="200"} 1.0' in text
    assert 'http_request_seconds_bucket{le="0.005",method="GET",route="/health"} 0.0' in text
    assert REGISTRY.get_sample_value("events_published_total") is None


def test_two_metrics_instances_do_not_collide() -> None:
    first, second = Metrics(process_collectors=False), Metrics(process_collectors=False)
    first.outbox_pending.set(1)
    assert b"outbox_pending 0.0" in render(second.registry)[0]
