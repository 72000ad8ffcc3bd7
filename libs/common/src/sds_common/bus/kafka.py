"""Apache Kafka through aiokafka: idempotent producer, manual-commit group consumers.

Offsets are committed only by the bus after the handler's transaction committed (auto-commit
is off), which is what makes delivery at-least-once; the inbox makes it exactly-once in effect.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka import TopicPartition as KafkaTopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from sds_common.bus.ports import OutgoingMessage, ReceivedMessage, TopicPartition


class KafkaBroker:
    """A Kafka cluster.

    Args:
        bootstrap_servers: comma-separated ``host:port`` list.
        client_id: shows up in broker logs and metrics.
        partitions: partitions of topics this broker creates.
        replication_factor: replicas of topics this broker creates.
    """

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        client_id: str = "sds",
        partitions: int = 3,
        replication_factor: int = 1,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id
        self.partitions = partitions
        self.replication_factor = replication_factor
        self._producer: AIOKafkaProducer | None = None
        self._known_topics: set[str] = set()

    async def start(self) -> None:
        """Connect the producer."""
        if self._producer is not None:
            return
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            client_id=self.client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            max_batch_size=1 << 20,
            request_timeout_ms=30_000,
        )
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        """Flush and close the producer."""
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def check(self) -> None:
        """Readiness: a metadata round trip to the cluster, now.

        Not a flag set at start-up: the producer's client reconnects on its own after an
        outage, so asking the broker is the only way to know it answers.

        Raises:
            KafkaError: no broker answered.
        """
        if self._producer is None:
            raise RuntimeError("KafkaBroker.start() was not called")
        await self._producer.client.fetch_all_metadata()

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create the topics that do not exist yet."""
        missing = [t for t in topics if t not in self._known_topics]
        if not missing:
            return
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers, client_id=self.client_id
        )
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            new = [
                NewTopic(
                    name=t,
                    num_partitions=self.partitions,
                    replication_factor=self.replication_factor,
                )
                for t in missing
                if t not in existing
            ]
            if new:
                # Another process may create one between our list and create.
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(new)
        finally:
            await admin.close()
        self._known_topics.update(missing)

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        """Send in order and wait until every message is acknowledged by all replicas."""
        if self._producer is None:
            raise RuntimeError("KafkaBroker.start() was not called")
        futures = [
            await self._producer.send(
                m.topic, value=m.value, key=m.key, headers=list(m.headers) or None
            )
            for m in messages
        ]
        if futures:
            await asyncio.gather(*futures)

    def consumer(self, *, topics: Sequence[str], group_id: str) -> KafkaConsumer:
        """Create a group member with auto-commit off."""
        return KafkaConsumer(broker=self, topics=tuple(topics), group_id=group_id)


class KafkaConsumer:
    """A Kafka group member that never commits on its own."""

    def __init__(self, *, broker: KafkaBroker, topics: tuple[str, ...], group_id: str) -> None:
        self._broker = broker
        self.topics = topics
        self.group_id = group_id
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        """Create missing topics and join the group."""
        await self._broker.ensure_topics(self.topics)
        consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self._broker.bootstrap_servers,
            client_id=self._broker.client_id,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=1000,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
        )
        await consumer.start()
        self._consumer = consumer

    async def stop(self) -> None:
        """Leave the group."""
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def fetch(
        self, *, timeout_ms: int, max_records: int
    ) -> Sequence[Sequence[ReceivedMessage]]:
        """Return new records grouped by partition."""
        if self._consumer is None:
            raise RuntimeError("KafkaConsumer.start() was not called")
        records = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        return [
            [
                ReceivedMessage(
                    topic=r.topic,
                    partition=r.partition,
                    offset=r.offset,
                    key=r.key,
                    value=r.value,
                    headers=tuple((k, bytes(v)) for k, v in (r.headers or ())),
                )
                for r in batch
            ]
            for batch in records.values()
            if batch
        ]

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit, per partition, the next offset to read."""
        if self._consumer is None:
            raise RuntimeError("KafkaConsumer.start() was not called")
        await self._consumer.commit(
            {KafkaTopicPartition(topic, p): offset for (topic, p), offset in offsets.items()}
        )
