"""The audit service assembled through its real bootstrap: in-process bus, SQLite, a tmp folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import func, select

from sds_audit.adapters.orm import audit_log
from sds_audit.bootstrap import bootstrap
from sds_audit.config import AuditSettings
from sds_common.auth import signed_headers
from sds_common.bus import MemoryBroker, OutgoingMessage, wait_until
from sds_common.events import Envelope, Event
from sds_common.runtime.service import Service, create_app
from tests.unit.audit.flow import flow

SECRET = "audit-test-secret"
ADMIN = ("root", "root@example.com", "admin")
ALICE = ("alice", "alice@example.com", "user")


@dataclass
class AuditHarness:
    client: httpx.AsyncClient
    broker: MemoryBroker
    service: Service
    settings: AuditSettings
    app: FastAPI

    async def call(
        self,
        method: str,
        path: str,
        *,
        user: tuple[str, str, str] = ADMIN,
        secret: str = SECRET,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request signed as ``user``."""
        headers = signed_headers(
            secret,
            method=method,
            path=urlsplit(path).path,
            user_id=user[0],
            email=user[1],
            role=user[2],
        )
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def deliver(self, *envelopes: Envelope) -> None:
        """Put envelopes on the bus as their producers would (the same one twice = redelivery)."""
        for envelope in envelopes:
            model_topic = _topic_of(envelope)
            await self.broker.send_batch(
                [
                    OutgoingMessage(
                        topic=self.settings.topic(model_topic),
                        key=envelope.key.encode(),
                        value=envelope.to_bytes(),
                    )
                ]
            )

    async def deliver_at_once(self, *envelopes: Envelope) -> None:
        """Put envelopes on the bus in one send (one key each: one fetch sees them together)."""
        await self.broker.send_batch(
            [
                OutgoingMessage(
                    topic=self.settings.topic(_topic_of(envelope)),
                    key=envelope.key.encode(),
                    value=envelope.to_bytes(),
                )
                for envelope in envelopes
            ]
        )

    async def publish(self, event: Event, **wrap: Any) -> Envelope:
        envelope = Envelope.wrap(event, actor=wrap.pop("actor", "test"), **wrap)
        await self.deliver(envelope)
        return envelope

    async def count(self) -> int:
        async with self.service.database.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(audit_log)) or 0)

    async def until_count(self, n: int) -> None:
        async def reached() -> bool:
            return await self.count() >= n

        await wait_until(reached, timeout_s=10)


async def deliver_flow(audit: AuditHarness) -> list[Envelope]:
    """Publish ``flow()`` one event at a time, so the log's order is the flow's order."""
    envelopes = []
    for n, (event, wrap) in enumerate(flow(), start=1):
        envelopes.append(await audit.publish(event, **wrap))
        await audit.until_count(n)
    return envelopes


def _topic_of(envelope: Envelope) -> str:
    from sds_common.events import lookup  # noqa: PLC0415

    return lookup(envelope.type, envelope.version).topic


@asynccontextmanager
async def running_audit(tmp_path: Path, **overrides: Any) -> AsyncIterator[AuditHarness]:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "auth_secrets": SECRET,
        "outbox_poll_interval_ms": 20,
        "bus_retry_backoff_ms": 1,
    }
    values.update(overrides)
    settings = AuditSettings(**values)
    broker = MemoryBroker()
    service = bootstrap(settings, broker=broker)
    app = create_app(service)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://audit") as client:
            yield AuditHarness(
                client=client, broker=broker, service=service, settings=settings, app=app
            )
