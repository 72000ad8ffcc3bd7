"""One contract for both buses: the in-process broker (SQLite) and real Kafka (PostgreSQL).

Both run the same consumer/outbox code over a different broker port, and must show the same
observable semantics: delivery, per-key order, idempotence, retries, dead letters, restarts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from uuid import uuid4

import orjson
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sds_common.bus import KafkaBroker, MemoryBroker, Subscription
from sds_common.events import DatasetDeleted, Envelope, Event, topics
from tests.support.bus import BusHarness, deleted, eventually, harness, sequence_of

PARAMS = [
    pytest.param("memory-sqlite", id="memory-sqlite"),
    pytest.param("memory-postgres", id="memory-postgres", marks=pytest.mark.postgres),
    pytest.param(
        "kafka-postgres", id="kafka-postgres", marks=[pytest.mark.kafka, pytest.mark.postgres]
    ),
]


@pytest.fixture(params=PARAMS)
async def bus(
    request: pytest.FixtureRequest, tmp_path: Path, unique_name: str
) -> AsyncIterator[BusHarness]:
    kind = request.param
    if kind.startswith("kafka"):
        broker: object = KafkaBroker(bootstrap_servers=request.getfixturevalue("kafka_bootstrap"))
    else:
        broker = MemoryBroker()
    if kind.endswith("postgres"):
        dsn = request.getfixturevalue("postgres_dsn").replace(
            "postgresql://", "postgresql+asyncpg://", 1
        )
        schema: str | None = unique_name
    else:
        dsn = f"sqlite+aiosqlite:///{tmp_path / 'bus.sqlite'}"
        schema = None
    async with harness(broker=broker, database_url=dsn, schema=schema, name=unique_name) as h:  # type: ignore[arg-type]
        yield h


async def test_delivers_typed_event_with_envelope(bus: BusHarness) -> None:
    seen: list[tuple[Envelope, Event]] = []

    async def handle(envelope: Envelope, event: Event, _uow: object) -> None:
        seen.append((envelope, event))

    bus.consumer(Subscription.of(DatasetDeleted, handle)).start()
    event = deleted(reason="gone")
    [sent] = await bus.publish(event, project_id="proj-9")
    await eventually(lambda: _true(len(seen) == 1))
    envelope, received = seen[0]
    assert received == event
    assert envelope.event_id == sent.event_id
    assert envelope.project_id == "proj-9"
    assert envelope.correlation_id == str(event.dataset_id)
    assert envelope.key == str(event.dataset_id)


async def test_per_key_order_is_kept(bus: BusHarness) -> None:
    bus.consumer(bus.recording_handler()).start()
    keys = [uuid4() for _ in range(8)]
    events = [deleted(k, reason=f"{i:03d}") for i in range(40) for k in keys]
    await bus.publish(*events)
    await eventually(lambda: _true_async(bus.count(), 320))
    rows = await bus.rows()
    for key in keys:
        assert sequence_of(rows, str(key)) == [f"{i:03d}" for i in range(40)]


async def test_redelivered_event_is_applied_once(bus: BusHarness) -> None:
    bus.consumer(bus.recording_handler()).start()
    event = deleted()
    [envelope] = await bus.publish(event)
    # The same envelope again, as a producer retry or a relay crash after send would deliver it.
    await bus.publish_raw(
        bus.topic(topics.DATASETS), key=envelope.key.encode(), value=envelope.to_bytes()
    )
    marker = deleted(reason="marker")
    await bus.publish(marker)
    await eventually(lambda: _true_async(bus.count(), 2))
    await asyncio.sleep(0.3)
    rows = await bus.rows()
    assert [r[0] for r in rows].count(str(envelope.event_id)) == 1
    assert len(rows) == 2


async def test_transient_failure_is_retried_then_applied(bus: BusHarness) -> None:
    attempts = {"n": 0}
    record = bus.recording_handler()

    async def flaky(envelope: Envelope, event: Event, uow: object) -> None:
        attempts["n"] += 1
        await record.handler(envelope, event, uow)  # type: ignore[arg-type]
        if attempts["n"] <= 2:
            raise ConnectionError("transient")

    bus.consumer(Subscription.of(DatasetDeleted, flaky, name="flaky"), max_retries=3).start()
    await bus.publish(deleted())
    await eventually(lambda: _true_async(bus.count(), 1))
    await asyncio.sleep(0.2)
    assert await bus.count() == 1  # failed attempts were rolled back
    assert attempts["n"] == 3
    dlq = await bus.read_topic(topics.dlq(bus.topic(topics.DATASETS)), expect=0, timeout_s=1)
    assert dlq == []


async def test_poison_and_failing_handler_go_to_dlq_and_consumption_continues(
    bus: BusHarness,
) -> None:
    record = bus.recording_handler("ok")

    async def always_fails(_envelope: Envelope, event: Event, _uow: object) -> None:
        assert isinstance(event, DatasetDeleted)
        if event.reason == "explode":
            raise ValueError("cannot handle this one")

    bus.consumer(record, Subscription.of(DatasetDeleted, always_fails, name="picky")).start()
    topic = bus.topic(topics.DATASETS)
    await bus.publish_raw(topic, key=b"k1", value=b"\x00 not json at all")
    future = Envelope.wrap(deleted(), actor="newer-producer")
    future_raw = orjson.loads(future.to_bytes())
    future_raw["version"] = 99
    await bus.publish_raw(topic, key=b"k1", value=orjson.dumps(future_raw))
    bad_payload = orjson.loads(Envelope.wrap(deleted(), actor="x").to_bytes())
    bad_payload["payload"]["dataset_id"] = "not-a-uuid"
    await bus.publish_raw(topic, key=b"k1", value=orjson.dumps(bad_payload))
    explode = deleted(reason="explode")
    after = deleted(reason="after")
    await bus.publish(explode, after)

    dlq = await bus.read_topic(topics.dlq(topic), expect=4)
    reasons = sorted(m.header("dlq-reason") or b"" for m in dlq)
    assert reasons == [b"handler_failed", b"invalid_payload", b"malformed", b"unsupported_version"]
    by_reason = {m.header("dlq-reason"): m for m in dlq}
    assert b"version 99 is not supported" in (
        by_reason[b"unsupported_version"].header("dlq-error") or b""
    )
    assert by_reason[b"malformed"].value == b"\x00 not json at all"
    failed = by_reason[b"handler_failed"]
    assert failed.header("dlq-handler") == b"picky"
    assert b"cannot handle this one" in (failed.header("dlq-error") or b"")
    assert failed.header("dlq-original-topic") == topic.encode()
    # The other handler of the same event was not stopped by the failing one, and the stream
    # went on past every poisoned message.
    await eventually(lambda: _true_async(bus.count(), 2))
    assert sorted(r[2] for r in await bus.rows("ok")) == ["after", "explode"]


async def test_batch_handler_gets_each_fetch_in_one_call_in_order_and_once(
    bus: BusHarness,
) -> None:
    calls: list[int] = []
    key = uuid4()
    events = [deleted(key, reason=f"{i:03d}") for i in range(60)]
    # Published before the consumer starts, so its first fetches hold many events each.
    envelopes = await bus.publish(*events)
    await bus.publish_raw(  # a redelivered copy of the first event
        bus.topic(topics.DATASETS), key=envelopes[0].key.encode(), value=envelopes[0].to_bytes()
    )
    bus.consumer(bus.batch_recording_handler(calls=calls)).start()
    await eventually(lambda: _true_async(bus.count(), 60))
    await asyncio.sleep(0.3)
    rows = await bus.rows("record-batch")
    assert len(rows) == 60
    assert sequence_of(rows, str(key)) == [f"{i:03d}" for i in range(60)]
    assert sum(calls) == 60  # the redelivered copy never reached the handler
    assert len(calls) < 60  # fetches were handled in calls of many events


async def test_failing_batch_is_replayed_one_by_one_and_only_the_bad_event_dead_letters(
    bus: BusHarness,
) -> None:
    events = [deleted(reason="a"), deleted(reason="poison"), deleted(reason="b")]
    await bus.publish(*events)
    bus.consumer(bus.batch_recording_handler()).start()
    dlq = await bus.read_topic(topics.dlq(bus.topic(topics.DATASETS)), expect=1)
    assert dlq[0].header("dlq-reason") == b"handler_failed"
    assert dlq[0].header("dlq-handler") == b"record-batch"
    assert b"poison row in the batch" in (dlq[0].header("dlq-error") or b"")
    await eventually(lambda: _true_async(bus.count(), 2))
    assert sorted(r[2] for r in await bus.rows("record-batch")) == ["a", "b"]


async def test_restart_resumes_from_committed_offsets(bus: BusHarness) -> None:
    first = bus.consumer(bus.recording_handler())
    first.start()
    await bus.publish(*[deleted(reason=f"a{i}") for i in range(5)])
    await eventually(lambda: _true_async(bus.count(), 5))
    await first.stop()
    await bus.publish(*[deleted(reason=f"b{i}") for i in range(5)])
    bus.consumer(bus.recording_handler()).start()
    await eventually(lambda: _true_async(bus.count(), 10))
    await asyncio.sleep(0.3)
    assert await bus.count() == 10


class SimulatedCrashError(BaseException):
    """Not an Exception: nothing in the consumer catches it, like a kill."""


async def test_crash_between_db_commit_and_offset_commit_applies_once(bus: BusHarness) -> None:
    crashed = asyncio.Event()

    def crash_after_commit(point: str) -> None:
        if point == "after_db_commit" and not crashed.is_set():
            crashed.set()
            raise SimulatedCrashError("killed before the offset commit")

    victim = bus.consumer(bus.recording_handler(), fault_hook=crash_after_commit)
    victim.start()
    [envelope] = await bus.publish(deleted())
    await asyncio.wait_for(crashed.wait(), 20)
    with pytest.raises(SimulatedCrashError):
        await victim.stop()
    assert await bus.count() == 1  # the handler's transaction had committed
    bus.consumers.remove(victim)
    bus.consumer(bus.recording_handler()).start()  # same group: the message comes back
    await bus.publish(deleted(reason="marker"))
    await eventually(lambda: _true_async(bus.count(), 2))
    await asyncio.sleep(0.3)
    rows = await bus.rows()
    assert [r[0] for r in rows].count(str(envelope.event_id)) == 1


async def test_emitted_events_leave_only_after_commit(bus: BusHarness) -> None:
    seen: list[Event] = []

    async def handle(_e: Envelope, event: Event, _uow: object) -> None:
        seen.append(event)

    bus.consumer(Subscription.of(DatasetDeleted, handle)).start()
    with pytest.raises(RuntimeError):
        async with bus.database.unit_of_work(actor="test") as uow:
            await uow.emit(deleted(reason="rolled back"))
            raise RuntimeError("business rule failed")
    await bus.publish(deleted(reason="committed"))
    await eventually(lambda: _true(len(seen) >= 1))
    await asyncio.sleep(0.3)
    assert [e.reason for e in seen] == ["committed"]  # type: ignore[attr-defined]


async def test_trace_context_travels_in_headers(bus: BusHarness) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    parents: list[int] = []

    async def handle(_e: Envelope, _event: Event, _uow: object) -> None:
        parents.append(trace.get_current_span().get_span_context().trace_id)

    bus.consumer(Subscription.of(DatasetDeleted, handle)).start()
    with tracer.start_as_current_span("http request") as root:
        await bus.publish(deleted())
    await eventually(lambda: _true(len(parents) == 1))
    assert parents[0] == root.get_span_context().trace_id


async def _true(value: bool) -> bool:
    return value


async def _true_async(count: Awaitable[int], expected: int) -> bool:
    return await count >= expected


async def test_an_older_version_reaches_handlers_of_the_newer_one_upcast(bus: BusHarness) -> None:
    """A DatasetProfiled v1 message (written before v2) is upcast for a v2-only subscriber."""
    from sds_common.events import DatasetProfiled  # noqa: PLC0415
    from sds_common.events.datasets import ColumnSummaryV1, DatasetProfiledV1  # noqa: PLC0415

    seen: list[Event] = []

    async def handle(_envelope: Envelope, event: Event, _uow: object) -> None:
        seen.append(event)

    bus.consumer(Subscription.of(DatasetProfiled, handle)).start()
    old = DatasetProfiledV1(
        dataset_id=uuid4(),
        n_rows=10,
        n_columns=1,
        columns=(ColumnSummaryV1(name="a", kind="numeric", missing_fraction=0.0, distinct=3),),
        profile_key="p",
        table_key="t",
        train_key="tr",
        holdout_key="h",
        holdout_rows=2,
    )
    await bus.publish(old)
    await eventually(lambda: _true(len(seen) == 1))
    [event] = seen
    assert isinstance(event, DatasetProfiled)
    assert event.event_version == 2
    assert event.dataset_id == old.dataset_id
    assert event.columns[0].name == "a"
    assert event.columns[0].format is None
    assert event.sha256 is None
