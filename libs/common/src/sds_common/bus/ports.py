"""What the bus needs from a broker: ordered batch sends, partitioned consumption, commits.

Two brokers implement it, Kafka (``kafka.py``) and an in-process one (``memory.py``). Everything
that gives the bus its semantics (outbox relay, inbox deduplication, retries, dead letters,
tracing) is written once on top of this port, so both runtimes behave the same by construction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

Headers = tuple[tuple[str, bytes], ...]
TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message to send; ``topic`` is the physical name."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """A message read from one partition at one offset."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Headers = ()

    def header(self, name: str) -> bytes | None:
        """Return the last value of header ``name``, if present."""
        found = None
        for key, value in self.headers:
            if key == name:
                found = value
        return found


class BrokerConsumer(Protocol):
    """A member of a consumer group."""

    async def start(self) -> None:
        """Join the group."""

    async def stop(self) -> None:
        """Leave the group; uncommitted messages are redelivered to the next member."""

    async def fetch(
        self, *, timeout_ms: int, max_records: int
    ) -> Sequence[Sequence[ReceivedMessage]]:
        """Return new messages grouped by partition, each group in offset order."""

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Record, per partition, the offset of the next message to read."""


class Broker(Protocol):
    """A message broker seen through the bus."""

    async def start(self) -> None:
        """Connect."""

    async def stop(self) -> None:
        """Flush and disconnect."""

    async def check(self) -> None:
        """Readiness: return once the broker answered a request now; raise if it does not."""

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create missing topics (physical names)."""

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        """Send in order; return once every message is durably accepted."""

    def consumer(self, *, topics: Sequence[str], group_id: str) -> BrokerConsumer:
        """Create a (not yet started) group member reading ``topics``."""
