"""What a consumer does with events it cannot handle (findings 18 and "no job waits forever").

* An event type that no catalogue entry knows is counted (``events_consumed_total`` with
  outcome ``unknown_type``) and logged once per type; it is not dead-lettered, since no consumer
  failed (a type other services publish on a shared topic is normal traffic and is skipped).
* An ``unrecognised`` subscription (the audit's) takes every envelope no typed handler can.
* Dead-lettering an event runs its subscriptions' ``on_dead_letter`` hooks in the same
  transaction: the failure of the work the event asked for is announced with the dead letter.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import orjson
import pytest

from sds_common.bus import DeadLetter, MemoryBroker, Subscription, Unrecognised
from sds_common.bus.memory import MemoryConsumer
from sds_common.bus.subscription import BatchItems
from sds_common.db import UnitOfWork
from sds_common.events import DatasetDeleted, DatasetRejected, Envelope, Event, topics
from sds_common.telemetry.metrics import Metrics
from tests.support.bus import BusHarness, deleted, eventually, harness


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[BusHarness]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bus.sqlite'}"
    async with harness(broker=MemoryBroker(), database_url=url, schema=None, name="faults") as h:
        yield h


def _raw(event_type: str, payload: dict[str, object], *, version: int = 1) -> bytes:
    """An envelope that the catalogue may not know (built by hand, as a foreign producer)."""
    key = str(payload.get("dataset_id", uuid.uuid4()))
    return orjson.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "type": event_type,
            "version": version,
            "occurred_at": "2025-01-01T00:00:00Z",
            "correlation_id": key,
            "actor": "someone",
            "key": key,
            "payload": payload,
        }
    )


async def _send(bus: BusHarness, value: bytes) -> None:
    await bus.publish_raw(bus.topic(topics.DATASETS), key=b"k", value=value)


def _sample(metrics: Metrics, **labels: str) -> float:
    return metrics.registry.get_sample_value("events_consumed_total", labels) or 0.0


async def test_an_unknown_type_is_counted_and_logged_once_and_not_dead_lettered(
    bus: BusHarness, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics(process_collectors=False)
    bus.consumer(bus.recording_handler(), metrics=metrics).start()
    caplog.set_level(logging.WARNING, logger="sds_common.bus.decoding")
    for _ in range(2):
        await _send(bus, _raw("DatasetArchived", {"dataset_id": str(uuid.uuid4())}))
    await bus.publish(deleted())  # a known event after them: they were read past
    await eventually(lambda: _is(bus.count(), 1))

    topic = bus.topic(topics.DATASETS)
    labels = {"topic": topic, "type": "DatasetArchived", "outcome": "unknown_type"}
    assert _sample(metrics, **labels) == 2
    logged = [r for r in caplog.records if "DatasetArchived" in r.getMessage()]
    assert len(logged) == 1, [r.getMessage() for r in caplog.records]
    assert await bus.read_topic(topics.dlq(topic), expect=0, timeout_s=1) == []


async def test_unknown_type_labels_are_bounded(bus: BusHarness) -> None:
    metrics = Metrics(process_collectors=False)
    bus.consumer(bus.recording_handler(), metrics=metrics).start()
    for i in range(60):
        await _send(bus, _raw(f"Invented{i}", {}))
    await bus.publish(deleted())
    await eventually(lambda: _is(bus.count(), 1))
    topic = bus.topic(topics.DATASETS)
    other = _sample(metrics, topic=topic, type="(other)", outcome="unknown_type")
    assert other == 10  # the first 50 distinct names are labelled, the rest pooled


async def test_an_unrecognised_subscription_takes_what_no_typed_handler_can(
    bus: BusHarness,
) -> None:
    seen: list[tuple[str, int, str]] = []

    async def record(items: BatchItems, _uow: UnitOfWork) -> None:
        for envelope, event in items:
            assert isinstance(event, Unrecognised)
            seen.append((envelope.type, envelope.version, event.reason))

    bus.consumer(
        bus.recording_handler(), Subscription.unrecognised(record, name="catch-all")
    ).start()
    await _send(bus, _raw("DatasetArchived", {}))
    await _send(bus, _raw("DatasetDeleted", {"dataset_id": str(uuid.uuid4())}, version=99))
    await _send(bus, _raw("DatasetDeleted", {"dataset_id": "not a uuid"}))
    await _send(bus, b"{not json")
    await bus.publish(deleted())
    await eventually(lambda: _is(bus.count(), 1))
    assert seen == [
        ("DatasetArchived", 1, "unknown_type"),
        ("DatasetDeleted", 99, "unsupported_version"),
        ("DatasetDeleted", 1, "invalid_payload"),
    ]
    # Only what has no envelope at all is still a dead letter.
    dlq = await bus.read_topic(topics.dlq(bus.topic(topics.DATASETS)), expect=1)
    assert [m.header("dlq-reason") for m in dlq] == [b"malformed"]


def _failing(name: str = "fails") -> tuple[Subscription, list[DeadLetter]]:
    letters: list[DeadLetter] = []

    async def handle(_envelope: Envelope, _event: Event, _uow: UnitOfWork) -> None:
        raise RuntimeError("the handler broke")

    async def rejected(letter: DeadLetter, uow: UnitOfWork) -> None:
        letters.append(letter)
        await uow.emit(
            DatasetRejected(
                dataset_id=uuid.UUID(letter.envelope.key),
                code="processing_failed",
                message=letter.public_reason("the upload"),
            )
        )

    return Subscription.of(DatasetDeleted, handle, name=name, on_dead_letter=rejected), letters


async def test_a_dead_lettered_event_announces_the_failure_of_its_work(bus: BusHarness) -> None:
    subscription, letters = _failing()
    bus.consumer(subscription, max_retries=1).start()
    [sent] = await bus.publish(deleted())
    topic = bus.topic(topics.DATASETS)
    await eventually(lambda: _is_async(len(letters) == 1))
    dlq = await bus.read_topic(topics.dlq(topic), expect=1)
    assert [m.header("dlq-reason") for m in dlq] == [b"handler_failed"]
    assert "RuntimeError" in (dlq[0].header("dlq-error") or b"").decode()  # for operators
    on_topic = [Envelope.from_bytes(m.value) for m in await bus.read_topic(topic, expect=2)]
    [announced] = [e for e in on_topic if e.type == "DatasetRejected"]
    assert announced.causation_id == str(sent.event_id)
    assert announced.correlation_id == sent.correlation_id
    message = str(announced.payload["message"])
    assert message == (
        "the upload could not be processed by the faults-g service: it kept failing there "
        "and was set aside"
    )
    assert "RuntimeError" not in message
    assert letters[0].reason == "handler_failed"
    assert letters[0].handler == "fails"


async def test_a_failing_hook_is_undone_and_the_dead_letter_stands(bus: BusHarness) -> None:
    async def handle(_envelope: Envelope, _event: Event, _uow: UnitOfWork) -> None:
        raise RuntimeError("the handler broke")

    async def broken_hook(letter: DeadLetter, uow: UnitOfWork) -> None:
        await uow.emit(DatasetRejected(dataset_id=uuid.uuid4(), code="x", message="x"))
        raise RuntimeError("the hook broke too")

    bus.consumer(
        Subscription.of(DatasetDeleted, handle, name="fails", on_dead_letter=broken_hook),
        max_retries=0,
    ).start()
    await bus.publish(deleted())
    topic = bus.topic(topics.DATASETS)
    assert len(await bus.read_topic(topics.dlq(topic), expect=1)) == 1
    on_topic = [Envelope.from_bytes(m.value).type for m in await bus.read_topic(topic, expect=1)]
    assert on_topic == ["DatasetDeleted"]  # the hook's event was rolled back with it


async def test_an_unreadable_payload_reaches_the_hook_without_a_model(bus: BusHarness) -> None:
    subscription, letters = _failing()
    bus.consumer(subscription).start()
    dataset_id = str(uuid.uuid4())
    await _send(bus, _raw("DatasetDeleted", {"dataset_id": dataset_id, "reason": 3}))
    await eventually(lambda: _is_async(len(letters) == 1))
    assert letters[0].reason == "invalid_payload"
    assert letters[0].event is None
    assert letters[0].envelope.key == dataset_id
    assert letters[0].public_reason("the upload").endswith("does not match its published schema")


async def _is(value: object, expected: int) -> bool:
    return await value == expected  # type: ignore[misc]


async def _is_async(value: bool) -> bool:
    return value


class _UnreachableBroker(MemoryBroker):
    """A broker whose group members cannot join (as while Kafka is down)."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    def consumer(self, *, topics: Sequence[str], group_id: str) -> MemoryConsumer:
        broker = self

        class Refused(MemoryConsumer):
            async def start(self) -> None:
                broker.attempts += 1
                raise ConnectionRefusedError("the broker is down")

        return Refused(broker=self, topics=tuple(topics), group_id=group_id)


async def test_a_consumer_that_cannot_join_keeps_trying_and_still_stops(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'down.sqlite'}"
    broker = _UnreachableBroker()
    async with harness(broker=broker, database_url=url, schema=None, name="down") as bus:
        consumer = bus.consumer(bus.recording_handler())
        consumer.start()
        await eventually(lambda: _is_async(broker.attempts >= 2))
        with pytest.raises(RuntimeError, match="has not joined"):
            await consumer.check()
        await asyncio.wait_for(consumer.stop(), 5)  # no hang on a broker that never answers
