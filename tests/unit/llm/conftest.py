"""The llm service through its real bootstrap, on the in-memory bus, SQLite and a folder.

``provider`` and ``settings_overrides`` are fixtures so a test module can swap the provider (a
gated or failing one) or the settings (a short job lease) and keep the rest.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select

from sds_common.auth import signed_headers
from sds_common.bus import MemoryBroker, OutgoingMessage, wait_until
from sds_common.events import (
    DatasetProfiled,
    Envelope,
    EvaluationCompleted,
    Event,
    ProjectMembershipChanged,
    lookup,
)
from sds_common.events.datasets import ColumnSummary
from sds_common.runtime.service import Service, create_app
from sds_common.storage import LocalObjectStore
from sds_llm.adapters.orm import messaging
from sds_llm.adapters.providers import RetryPolicy
from sds_llm.bootstrap import bootstrap
from sds_llm.config import LlmSettings
from sds_llm.parts import parts_of
from tests.unit.llm.fakes import RecordingProvider, columns, no_sleep, profile, report

SECRET = "llm-test-secret"
PROJECT = "0b5f6a34-7c1e-4d2a-9a51-3f0e8c2b7d10"
ALICE = ("alice", "alice@example.com", "user")
MALLORY = ("mallory", "mallory@example.com", "user")
ADMIN = ("root", "root@example.com", "admin")
Role = Literal["owner", "editor", "viewer"]


class Harness:
    """The running service, its broker, and a client that signs requests."""

    def __init__(
        self, service: Service, client: httpx.AsyncClient, broker: MemoryBroker, app: FastAPI
    ) -> None:
        self.service, self.client, self.broker, self.app = service, client, broker, app

    async def publish(
        self, event: Event, *, actor: str = "test", project: str = PROJECT
    ) -> Envelope:
        """Deliver ``event`` as another service (or the gateway, for ``actor``) would."""
        envelope = Envelope.wrap(event, actor=actor, project_id=project)
        await self.deliver(envelope)
        return envelope

    async def deliver(self, envelope: Envelope) -> None:
        """Deliver an envelope as it is (a late or a repeated one, in membership tests)."""
        await self.broker.send_batch(
            [
                OutgoingMessage(
                    topic=self.service.settings.topic(
                        lookup(envelope.type, envelope.version).topic
                    ),
                    key=envelope.key.encode(),
                    value=envelope.to_bytes(),
                )
            ]
        )

    async def handled(self, envelope: Envelope) -> None:
        """Wait until the service's consumer has handled ``envelope`` (its inbox row exists)."""
        inbox = messaging.inbox

        async def seen() -> bool:
            async with self.service.database.sessions() as session:
                found = await session.scalar(
                    select(inbox.c.event_id).where(inbox.c.event_id == str(envelope.event_id))
                )
            return found is not None

        await wait_until(seen)

    def emitted(self, event_type: str) -> list[Envelope]:
        """Events of ``event_type`` the service published on the ``llm`` topic."""
        envelopes = [Envelope.from_bytes(m.value) for m in self.broker.messages("llm")]
        return [e for e in envelopes if e.type == event_type]

    async def call(
        self, method: str, path: str, *, user: tuple[str, str, str] = ALICE, **kwargs: Any
    ) -> httpx.Response:
        """A signed request as ``user``."""
        headers = signed_headers(
            SECRET, method=method, path=path, user_id=user[0], email=user[1], role=user[2]
        )
        return await self.client.request(method, path, headers=headers, **kwargs)


@pytest.fixture
def provider() -> Any:
    return RecordingProvider()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {}


@asynccontextmanager
async def running_llm(
    tmp_path: Path, *, provider: Any = None, **overrides: Any
) -> AsyncIterator[Harness]:
    """A started llm service (``overrides`` are its settings, as environment variables would)."""
    settings = LlmSettings(data_dir=tmp_path, **overrides)
    broker = MemoryBroker()
    storage = LocalObjectStore(tmp_path / "objects")
    await broker.start()
    await storage.start()
    service = bootstrap(
        settings,
        provider=provider if provider is not None else RecordingProvider(),
        retry=RetryPolicy(max_retries=0),
        secrets=(SECRET,),
        broker=broker,
        storage=storage,
    )
    parts_of(service).assistant.provider._sleep = no_sleep
    app = create_app(service)
    try:
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://llm") as client:
                yield Harness(service, client, broker, app)
    finally:
        await broker.stop()
        await storage.close()


@pytest.fixture
async def harness(
    tmp_path: Path, provider: Any, settings_overrides: dict[str, Any]
) -> AsyncIterator[Harness]:
    async with running_llm(tmp_path, provider=provider, **settings_overrides) as running:
        yield running


async def add_member(
    h: Harness, user_id: str, *, role: Role = "owner", by: str = "alice"
) -> Envelope:
    """Announce ``user_id`` as a member of the project, as the gateway does, once handled."""
    envelope = await h.publish(
        ProjectMembershipChanged(user_id=user_id, project_id=uuid.UUID(PROJECT), role=role),
        actor=by,
    )
    await h.handled(envelope)
    return envelope


async def seed_dataset(h: Harness, *, owner: str = "alice") -> uuid.UUID:
    """A profiled dataset of the project, whose creator ``owner`` the gateway announced."""
    dataset_id = uuid.uuid4()
    await h.service.storage.put_bytes(
        f"datasets/{dataset_id}/profile.json", json.dumps(profile()).encode()
    )
    await add_member(h, owner, by=owner)
    await h.publish(
        DatasetProfiled(
            dataset_id=dataset_id,
            n_rows=800,
            n_columns=4,
            columns=tuple(ColumnSummary(**c) for c in columns()),
            profile_key=f"datasets/{dataset_id}/profile.json",
            table_key="t",
            train_key="tr",
            holdout_key="h",
            holdout_rows=200,
            target_column="income",
        ),
        actor="datasets",
    )
    return dataset_id


async def complete_evaluation(h: Harness) -> uuid.UUID:
    """An evaluation of the project, with its marker-salted report in storage."""
    evaluation_id = uuid.uuid4()
    await h.service.storage.put_bytes(
        f"evaluations/{evaluation_id}/report.json", json.dumps(report()).encode()
    )
    await h.publish(
        EvaluationCompleted(
            evaluation_id=evaluation_id,
            synthetic_dataset_id=uuid.uuid4(),
            generator_id=uuid.uuid4(),
            scores=report()["scores"],
            report_key=f"evaluations/{evaluation_id}/report.json",
            html_report_key="r.html",
        ),
        actor="evaluator",
    )
    return evaluation_id


async def seed(h: Harness) -> tuple[uuid.UUID, uuid.UUID]:
    """A dataset and an evaluation, explained automatically before this returns."""
    dataset_id = await seed_dataset(h)
    evaluation_id = await complete_evaluation(h)

    async def explained() -> bool:
        return bool(h.emitted("ExplanationGenerated"))

    await wait_until(explained)
    return dataset_id, evaluation_id
