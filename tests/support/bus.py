"""A bus test harness over one broker and one database, with a tiny domain table."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from uuid import UUID, uuid4

from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, text

from sds_common.bus import Broker, EventConsumer, OutboxRelay, ReceivedMessage, RetryPolicy
from sds_common.bus.subscription import BatchItems, FaultHook, Subscription
from sds_common.db import Database, create_engine, ensure_schema
from sds_common.events import DatasetDeleted, Envelope, Event
from sds_common.settings import Settings
from sds_common.telemetry.metrics import Metrics


def applied_table(metadata: MetaData) -> Table:
    return Table(
        "applied",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False),
        Column("key", String(64), nullable=False),
        Column("handler", String(64), nullable=False),
        Column("reason", String(200), nullable=False),
    )


@dataclass
class BusHarness:
    broker: Broker
    database: Database
    settings: Settings
    applied: Table
    group: str
    relay: OutboxRelay = field(init=False)
    consumers: list[EventConsumer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.relay = OutboxRelay(database=self.database, broker=self.broker, poll_interval_s=0.05)

    def topic(self, name: str) -> str:
        return self.settings.topic(name)

    async def publish(self, *events: Event, project_id: str = "p1") -> list[Envelope]:
        async with self.database.unit_of_work(actor="test") as uow:
            envelopes = [await uow.emit(e, project_id=project_id) for e in events]
        await self.relay.drain()
        return envelopes

    async def publish_raw(self, topic: str, *, key: bytes | None, value: bytes) -> None:
        from sds_common.bus import OutgoingMessage  # noqa: PLC0415

        await self.broker.send_batch([OutgoingMessage(topic=topic, key=key, value=value)])

    def consumer(
        self,
        *subscriptions: Subscription,
        fault_hook: FaultHook | None = None,
        max_retries: int = 2,
        metrics: Metrics | None = None,
    ) -> EventConsumer:
        consumer = EventConsumer(
            group_id=self.group,
            broker=self.broker,
            database=self.database,
            subscriptions=subscriptions,
            actor="test-consumer",
            retry=RetryPolicy(max_retries=max_retries, first_backoff_s=0.01),
            fault_hook=fault_hook,
            metrics=metrics,
        )
        self.consumers.append(consumer)
        return consumer

    def recording_handler(self, name: str = "record") -> Subscription:
        applied = self.applied

        async def handle(envelope: Envelope, event: Event, uow: object) -> None:
            assert isinstance(event, DatasetDeleted)
            await uow.session.execute(  # type: ignore[attr-defined]
                insert(applied).values(
                    event_id=str(envelope.event_id),
                    key=envelope.key,
                    handler=name,
                    reason=event.reason,
                )
            )

        return Subscription.of(DatasetDeleted, handle, name=name)

    def batch_recording_handler(
        self, name: str = "record-batch", *, calls: list[int] | None = None
    ) -> Subscription:
        """A batch subscription writing all its events with one executemany per call.

        ``calls`` (when given) collects the size of every call. An event whose reason is
        ``"poison"`` makes the whole call raise, as a bad row in a bulk insert would.
        """
        applied = self.applied

        async def handle(items: BatchItems, uow: object) -> None:
            if calls is not None:
                calls.append(len(items))
            rows = []
            for envelope, event in items:
                assert isinstance(event, DatasetDeleted)
                if event.reason == "poison":
                    raise ValueError("poison row in the batch")
                rows.append(
                    {
                        "event_id": str(envelope.event_id),
                        "key": envelope.key,
                        "handler": name,
                        "reason": event.reason,
                    }
                )
            await uow.session.execute(insert(applied), rows)  # type: ignore[attr-defined]

        return Subscription.batch(DatasetDeleted, handle, name=name)

    async def rows(self, handler: str | None = None) -> list[tuple[str, str, str]]:
        query = select(self.applied.c.event_id, self.applied.c.key, self.applied.c.reason)
        if handler:
            query = query.where(self.applied.c.handler == handler)
        async with self.database.sessions() as session:
            result = await session.execute(query.order_by(self.applied.c.id))
            return [(r.event_id, r.key, r.reason) for r in result]

    async def count(self) -> int:
        async with self.database.sessions() as session:
            return int(
                (await session.execute(select(func.count()).select_from(self.applied))).scalar_one()
            )

    async def read_topic(
        self, topic: str, *, expect: int, timeout_s: float = 20.0
    ) -> list[ReceivedMessage]:
        reader = self.broker.consumer(
            topics=[topic], group_id=f"{self.group}-reader-{uuid4().hex[:6]}"
        )
        await reader.start()
        found: list[ReceivedMessage] = []
        try:
            async with asyncio.timeout(timeout_s):
                while len(found) < expect:
                    for batch in await reader.fetch(timeout_ms=200, max_records=500):
                        found.extend(batch)
            # Linger briefly so that "exactly N" is checked, not "at least N".
            for batch in await reader.fetch(timeout_ms=300, max_records=500):
                found.extend(batch)
        finally:
            await reader.stop()
        return found


def deleted(dataset_id: UUID | None = None, reason: str = "user request") -> DatasetDeleted:
    return DatasetDeleted(dataset_id=dataset_id or uuid4(), reason=reason)


@asynccontextmanager
async def harness(
    *, broker: Broker, database_url: str, schema: str | None, name: str
) -> AsyncIterator[BusHarness]:
    settings = Settings(topic_prefix=f"{name}.", service_name="test")
    engine = create_engine(database_url, schema=schema)
    await ensure_schema(engine, schema)
    metadata = MetaData()
    applied = applied_table(metadata)
    database = Database(engine=engine, metadata=metadata, topic_name=settings.topic)
    await database.create_all()
    await broker.start()
    h = BusHarness(
        broker=broker, database=database, settings=settings, applied=applied, group=f"{name}-g"
    )
    h.relay.start()  # dead letters written by consumers leave through the outbox too
    try:
        yield h
    finally:
        for consumer in h.consumers:
            await consumer.stop()
        await h.relay.stop()
        await broker.stop()
        if schema and engine.dialect.name == "postgresql":
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await database.dispose()


async def eventually(predicate: object, *, timeout_s: float = 20.0) -> None:
    """Wait until an async predicate is true."""
    async with asyncio.timeout(timeout_s):
        while not await predicate():  # type: ignore[operator]
            await asyncio.sleep(0.02)


def sequence_of(rows: Sequence[tuple[str, str, str]], key: str) -> list[str]:
    return [reason for _, k, reason in rows if k == key]
