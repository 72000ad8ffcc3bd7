"""One worker service started through its real bootstrap on an in-process bus, SQLite, a folder.

Tests put messages on its topics as other services would (well-formed or not) and read what it
publishes back from the broker.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from sds_common.bus import MemoryBroker, OutgoingMessage, wait_until
from sds_common.events import Envelope, Event
from sds_common.runtime.service import Service
from sds_common.settings import Settings


def raw_envelope(
    event_type: str,
    payload: dict[str, Any],
    *,
    key: str,
    version: int = 1,
    occurred_at: str = "2030-01-01T00:00:00Z",
) -> bytes:
    """An envelope built by hand, as a producer of another build (or a buggy one) would."""
    return orjson.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "type": event_type,
            "version": version,
            "occurred_at": occurred_at,
            "correlation_id": key,
            "actor": "gateway",
            "project_id": "p1",
            "key": key,
            "payload": payload,
        }
    )


@dataclass
class RunningService:
    service: Service
    broker: MemoryBroker
    settings: Settings

    async def send(self, event: Event, *, project_id: str = "p1") -> Envelope:
        """Publish ``event`` on its topic, as its producer would."""
        envelope = Envelope.wrap(event, actor="gateway", project_id=project_id)
        await self.send_raw(event.topic, envelope.to_bytes(), key=envelope.key)
        return envelope

    async def send_raw(self, topic: str, value: bytes, *, key: str) -> None:
        """Publish bytes on a logical topic."""
        await self.broker.send_batch(
            [OutgoingMessage(topic=self.settings.topic(topic), key=key.encode(), value=value)]
        )

    def published(self, topic: str, event_type: str) -> list[Envelope]:
        """Every envelope of ``event_type`` on a logical topic so far."""
        found = [Envelope.from_bytes(m.value) for m in self.broker.messages(self.topic(topic))]
        return [e for e in found if e.type == event_type]

    def dead_letters(self, topic: str) -> list[dict[str, bytes]]:
        """The ``dlq-*`` headers of every dead letter of a logical topic."""
        messages = self.broker.messages(self.topic(topic) + ".dlq")
        return [{k: v for k, v in m.headers if k.startswith("dlq-")} for m in messages]

    def topic(self, name: str) -> str:
        return self.settings.topic(name)

    async def until_published(
        self, topic: str, event_type: str, *, timeout_s: float = 20.0
    ) -> Envelope:
        """Wait for the first envelope of ``event_type`` on ``topic``."""

        async def seen() -> bool:
            return bool(self.published(topic, event_type))

        await wait_until(seen, timeout_s=timeout_s)
        return self.published(topic, event_type)[0]


@asynccontextmanager
async def running_service(
    build: Callable[..., Service], tmp_path: Path, **settings: Any
) -> AsyncIterator[RunningService]:
    """Start the service ``build`` (its ``bootstrap``) with quick retries; stop it after."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "outbox_poll_interval_ms": 20,
        "bus_retry_backoff_ms": 1,
        "bus_max_retries": 1,
    }
    values.update(settings)
    config = Settings.model_validate(values)
    broker = MemoryBroker()
    service = build(config, broker=broker)
    await service.start()
    try:
        yield RunningService(service=service, broker=broker, settings=config)
    finally:
        await service.stop()
