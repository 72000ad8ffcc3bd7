"""An in-process broker with Kafka's consumption model: partitions, groups, committed offsets.

Used by the embedded runtime and unit tests. Messages with the same key land on the same
partition; a group resumes from its committed offsets, so a consumer that stops without
committing gets the same messages again, exactly as with Kafka.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Mapping, Sequence

from sds_common.bus.ports import OutgoingMessage, ReceivedMessage, TopicPartition


class MemoryBroker:
    """Topics, partitions and group offsets held in memory."""

    def __init__(self, *, partitions: int = 3) -> None:
        self.partitions = partitions
        self._logs: dict[str, list[list[ReceivedMessage]]] = {}
        self._committed: dict[str, dict[TopicPartition, int]] = {}
        self._members: dict[str, list[MemoryConsumer]] = {}
        self._changed: asyncio.Event | None = None
        self._open = False

    @property
    def _signal(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    async def start(self) -> None:
        """Nothing to connect: open for business."""
        self._open = True

    async def stop(self) -> None:
        """Nothing to flush: closed (``check`` says so)."""
        self._open = False

    async def check(self) -> None:
        """Readiness: the broker is started and not stopped."""
        if not self._open:
            raise ConnectionError("the in-process broker is not running")

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create missing topics with the configured number of partitions."""
        for topic in topics:
            self._log(topic)

    def _log(self, topic: str) -> list[list[ReceivedMessage]]:
        if topic not in self._logs:
            self._logs[topic] = [[] for _ in range(self.partitions)]
        return self._logs[topic]

    def _partition_for(self, key: bytes | None, log: list[list[ReceivedMessage]]) -> int:
        if key is None:
            return min(range(len(log)), key=lambda p: len(log[p]))
        return zlib.crc32(key) % len(log)

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        """Append in order and wake waiting consumers."""
        for message in messages:
            log = self._log(message.topic)
            partition = self._partition_for(message.key, log)
            entries = log[partition]
            entries.append(
                ReceivedMessage(
                    topic=message.topic,
                    partition=partition,
                    offset=len(entries),
                    key=message.key,
                    value=message.value,
                    headers=message.headers,
                )
            )
        self._wake()

    def _wake(self) -> None:
        signal = self._signal
        signal.set()
        self._changed = asyncio.Event()

    def consumer(self, *, topics: Sequence[str], group_id: str) -> MemoryConsumer:
        """Create a group member."""
        return MemoryConsumer(broker=self, topics=tuple(topics), group_id=group_id)

    def messages(self, topic: str) -> list[ReceivedMessage]:
        """Every message of a topic, partition by partition (tests and tools)."""
        return [m for partition in self._logs.get(topic, []) for m in partition]

    def committed(self, group_id: str) -> dict[TopicPartition, int]:
        """A copy of the group's committed offsets."""
        return dict(self._committed.get(group_id, {}))

    def _assignment(self, member: MemoryConsumer) -> list[TopicPartition]:
        members = self._members.get(member.group_id, [])
        if member not in members:
            return []
        partitions = sorted(
            (topic, p) for topic in member.topics for p in range(len(self._log(topic)))
        )
        index = members.index(member)
        return partitions[index :: len(members)]

    def _join(self, member: MemoryConsumer) -> None:
        self._members.setdefault(member.group_id, []).append(member)
        self._wake()

    def _leave(self, member: MemoryConsumer) -> None:
        members = self._members.get(member.group_id, [])
        if member in members:
            members.remove(member)
        self._wake()

    def _commit(self, group_id: str, offsets: Mapping[TopicPartition, int]) -> None:
        self._committed.setdefault(group_id, {}).update(offsets)


class MemoryConsumer:
    """One member of a consumer group on a ``MemoryBroker``."""

    def __init__(self, *, broker: MemoryBroker, topics: tuple[str, ...], group_id: str) -> None:
        self._broker = broker
        self.topics = topics
        self.group_id = group_id
        self._positions: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        """Join the group."""
        await self._broker.ensure_topics(self.topics)
        self._broker._join(self)

    async def stop(self) -> None:
        """Leave the group."""
        self._broker._leave(self)
        self._positions.clear()

    def _poll(self, max_records: int) -> list[list[ReceivedMessage]]:
        assignment = self._broker._assignment(self)
        committed = self._broker._committed.get(self.group_id, {})
        self._positions = {tp: self._positions.get(tp, committed.get(tp, 0)) for tp in assignment}
        batches: list[list[ReceivedMessage]] = []
        budget = max_records
        for (topic, partition), position in self._positions.items():
            if budget <= 0:
                break
            entries = self._broker._log(topic)[partition][position : position + budget]
            if entries:
                batches.append(list(entries))
                budget -= len(entries)
                self._positions[(topic, partition)] = position + len(entries)
        return batches

    async def fetch(
        self, *, timeout_ms: int, max_records: int
    ) -> Sequence[Sequence[ReceivedMessage]]:
        """Return what is new, waiting up to ``timeout_ms`` for something to arrive."""
        batches = self._poll(max_records)
        if batches:
            return batches
        signal = self._broker._signal
        try:
            await asyncio.wait_for(signal.wait(), timeout_ms / 1000)
        except TimeoutError:
            return []
        return self._poll(max_records)

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Record the group's progress."""
        self._broker._commit(self.group_id, offsets)
