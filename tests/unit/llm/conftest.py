"""The llm service through its real bootstrap, on the in-memory bus, SQLite and a folder.

``provider`` and ``settings_overrides`` are fixtures so a test module can swap the provider (a
gated or failing one) or the settings (a short job lease) and keep the rest.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from sds_common.auth import signed_headers
from sds_common.bus import MemoryBroker, OutgoingMessage, wait_until
from sds_common.events import (
    DatasetProfiled,
    DatasetUploaded,
    Envelope,
    EvaluationCompleted,
    Event,
)
from sds_common.events.datasets import ColumnSummary
from sds_common.runtime.service import Service, create_app
from sds_common.settings import Settings
from sds_common.storage import LocalObjectStore
from sds_llm.adapters.providers import RetryPolicy
from sds_llm.bootstrap import bootstrap
from sds_llm.parts import parts_of
from tests.unit.llm.fakes import RecordingProvider, columns, no_sleep, profile, report

SECRET = "llm-test-secret"
PROJECT = "proj-1"
ALICE = ("alice", "alice@example.com", "user")
MALLORY = ("mallory", "mallory@example.com", "user")
ADMIN = ("root", "root@example.com", "admin")


class Harness:
    """The running service, its broker, and a client that signs requests."""

    def __init__(self, service: Service, client: httpx.AsyncClient, broker: MemoryBroker) -> None:
        self.service, self.client, self.broker = service, client, broker

    async def publish(self, event: Event, *, actor: str = "test", project: str = PROJECT) -> None:
        """Deliver ``event`` as another service (or the gateway, for ``actor``) would."""
        envelope = Envelope.wrap(event, actor=actor, project_id=project)
        await self.broker.send_batch(
            [
                OutgoingMessage(
                    topic=self.service.settings.topic(event.topic),
                    key=envelope.key.encode(),
                    value=envelope.to_bytes(),
                )
            ]
        )

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


@pytest.fixture
async def harness(
    tmp_path: Path, provider: Any, settings_overrides: dict[str, Any]
) -> AsyncIterator[Harness]:
    settings = Settings(data_dir=tmp_path, **settings_overrides)
    broker = MemoryBroker()
    storage = LocalObjectStore(tmp_path / "objects")
    await broker.start()
    await storage.start()
    service = bootstrap(
        settings,
        provider=provider,
        retry=RetryPolicy(max_retries=0),
        secrets=(SECRET,),
        broker=broker,
        storage=storage,
    )
    parts_of(service).assistant.provider._sleep = no_sleep
    app = create_app(service)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://llm") as client:
            yield Harness(service, client, broker)
    await broker.stop()
    await storage.close()


async def seed_dataset(h: Harness, *, uploader: str = "alice") -> uuid.UUID:
    """A profiled dataset uploaded by ``uploader`` (who thereby is known as a member)."""
    dataset_id = uuid.uuid4()
    await h.service.storage.put_bytes(
        f"datasets/{dataset_id}/profile.json", json.dumps(profile()).encode()
    )
    await h.publish(
        DatasetUploaded(
            dataset_id=dataset_id,
            name="adult",
            object_key="uploads/x.csv",
            filename="x.csv",
            format="csv",
            size_bytes=10,
            sha256="0" * 64,
        ),
        actor=uploader,
    )
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
