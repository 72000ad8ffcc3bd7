"""Explanations run as durable jobs: a slow or failing model never holds up the consumer.

The provider here is gated: its first call waits until the test opens the gate, standing for a
remote model that takes minutes (or a process that dies while waiting for one).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sds_common.bus import OutgoingMessage, wait_until
from sds_common.events import Envelope, ExplanationRequested
from sds_common.jobs import JobRunner, job_status
from sds_llm.adapters import repository
from sds_llm.adapters.orm import jobs
from sds_llm.adapters.providers import Completion, ProviderError
from sds_llm.adapters.repository import DatabaseUsageLedger
from sds_llm.domain.models import Prompt
from sds_llm.features import explanation_id
from sds_llm.jobs import job_kinds
from tests.unit.llm.conftest import PROJECT, Harness, complete_evaluation, seed_dataset


@dataclass
class GatedProvider:
    """Answers once ``gate`` is open; ``fail`` makes every call an outage instead."""

    name: str = "gated"
    model: str = "slow-1"
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    calls: int = 0
    fail: bool = False

    async def complete(
        self, prompt: Prompt, *, max_tokens: int, temperature: float, timeout_s: float
    ) -> Completion:
        self.calls += 1
        if self.fail:
            raise ProviderError("gated answered HTTP 503", status=503, retryable=True)
        await self.gate.wait()
        return Completion(
            text=f"slow answer to {prompt.task}",
            provider=self.name,
            model=self.model,
            input_tokens=50,
            output_tokens=50,
            latency_s=1.0,
        )

    async def stream(
        self, prompt: Prompt, *, max_tokens: int, temperature: float, timeout_s: float
    ) -> AsyncIterator[str]:
        completion = await self.complete(
            prompt, max_tokens=max_tokens, temperature=temperature, timeout_s=timeout_s
        )
        yield completion.text


@pytest.fixture
def provider() -> GatedProvider:
    return GatedProvider()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"jobs_lease_s": 0.3}


async def _known(h: Harness, table: str, key: uuid.UUID) -> bool:
    async with h.service.database.sessions() as session:
        return await repository.load(session, table=table, key=str(key)) is not None


async def test_a_slow_model_does_not_block_other_events(
    harness: Harness, provider: GatedProvider
) -> None:
    evaluation_id = await complete_evaluation(harness)

    async def asking() -> bool:
        return provider.calls == 1

    await wait_until(asking)  # the explanation job waits on the model ...
    # ... while the consumer goes on: the evaluation is recorded and a later event is handled.
    assert await _known(harness, "evaluations", evaluation_id)
    dataset_id = await seed_dataset(harness)
    await wait_until(lambda: _known(harness, "datasets", dataset_id), timeout_s=5)
    job = str(explanation_id("evaluation", evaluation_id))
    assert await job_status(harness.service.database, jobs, job) == "running"
    assert not harness.emitted("ExplanationGenerated")

    provider.gate.set()

    async def generated() -> bool:
        return bool(harness.emitted("ExplanationGenerated"))

    await wait_until(generated)
    [event] = harness.emitted("ExplanationGenerated")
    assert event.payload["provider"] == "gated"
    assert event.project_id == PROJECT
    assert await job_status(harness.service.database, jobs, job) == "succeeded"


async def test_a_killed_job_resumes_and_charges_once(
    harness: Harness, provider: GatedProvider
) -> None:
    service = harness.service
    evaluation_id = await complete_evaluation(harness)

    async def asking() -> bool:
        return provider.calls == 1

    await wait_until(asking)
    assert service.jobs is not None
    await service.jobs.stop(grace_s=0.01)  # the worker dies while the model is thinking
    job = str(explanation_id("evaluation", evaluation_id))
    assert await job_status(service.database, jobs, job) == "running"  # its lease still holds

    provider.gate.set()
    successor = JobRunner(
        database=service.database, table=jobs, kinds=job_kinds(service), poll_s=0.02
    )
    successor.start()  # another replica, or this one restarted
    try:

        async def generated() -> bool:
            return bool(harness.emitted("ExplanationGenerated"))

        await wait_until(generated)
    finally:
        await successor.stop()
    assert len(harness.emitted("ExplanationGenerated")) == 1
    assert provider.calls == 2
    async with service.database.sessions() as session:
        row = (await session.execute(select(jobs).where(jobs.c.id == job))).one()
    assert (row.status, row.attempts) == ("succeeded", 2)
    # Only the call that answered was charged.
    day = datetime.now(UTC).date().isoformat()
    assert await DatabaseUsageLedger(service.database).used(project_id=PROJECT, day=day) == 100


async def test_an_outage_degrades_to_offline_and_says_so(
    harness: Harness, provider: GatedProvider
) -> None:
    provider.fail = True
    dataset_id = await seed_dataset(harness)
    evaluation_id = await complete_evaluation(harness)

    async def generated() -> bool:
        return bool(harness.emitted("ExplanationGenerated"))

    await wait_until(generated)
    [event] = harness.emitted("ExplanationGenerated")
    assert event.payload["degraded"] is True
    assert event.payload["provider"] == "offline"
    await wait_until(lambda: _known(harness, "datasets", dataset_id))
    response = await harness.call("POST", f"/api/v1/datasets/{dataset_id}/data-dictionary")
    assert response.status_code == 200, response.text
    answer = response.json()["answer"]
    assert answer["degraded"] is True
    assert answer["provider"] == "offline"
    assert answer["degraded_reason"] == "gated unavailable: gated answered HTTP 503"
    assert "- workclass (categorical)" in response.json()["text"]  # still a useful answer
    chat = await harness.call(
        "POST", "/api/v1/chat", json={"evaluation_id": str(evaluation_id), "question": "Next?"}
    )
    assert '"degraded": true' in chat.text.split("\n\n")[0]
    assert '"provider": "offline"' in chat.text.split("\n\n")[0]


async def test_a_spent_budget_still_explains_offline_in_the_background(
    harness: Harness, provider: GatedProvider
) -> None:
    from sds_llm.parts import parts_of  # noqa: PLC0415

    parts_of(harness.service).assistant.budget_tokens = 0
    await complete_evaluation(harness)

    async def generated() -> bool:
        return bool(harness.emitted("ExplanationGenerated"))

    await wait_until(generated)
    [event] = harness.emitted("ExplanationGenerated")
    assert (event.payload["provider"], event.payload["degraded"]) == ("offline", True)
    assert provider.calls == 0
    stored = await harness.service.storage.get_bytes(str(event.payload["object_key"]))
    assert b"LLM tokens today" in stored  # the reason travels with the answer


async def _request(harness: Harness, subject: uuid.UUID, *, age: timedelta) -> str:
    requested = uuid.uuid4()
    envelope = Envelope.wrap(
        ExplanationRequested(explanation_id=requested, kind="pii_hints", subject_id=subject),
        actor="alice",
        project_id=PROJECT,
    ).model_copy(update={"occurred_at": datetime.now(UTC) - age})
    await harness.broker.send_batch(
        [
            OutgoingMessage(
                topic=harness.service.settings.topic("llm"),
                key=envelope.key.encode(),
                value=envelope.to_bytes(),
            )
        ]
    )
    return str(requested)


async def test_an_unknown_subject_is_waited_for_then_given_up(harness: Harness) -> None:
    database = harness.service.database
    fresh = await _request(harness, uuid.uuid4(), age=timedelta(0))
    stale = await _request(harness, uuid.uuid4(), age=timedelta(minutes=10))

    async def settled() -> bool:
        async with database.sessions() as session:
            rows = {r.id: r for r in await session.execute(select(jobs))}
        return (
            len(rows) == 2
            and rows[stale].status == "failed"
            and rows[fresh].status == "queued"
            and rows[fresh].error is not None
        )

    await wait_until(settled)
    async with database.sessions() as session:
        rows = {r.id: r for r in await session.execute(select(jobs))}
    assert rows[stale].error.startswith("unknown_subject: dataset ")
    # The fresh request waits (its subject's DatasetProfiled may still be on its way).
    assert rows[fresh].attempts == 0
    assert "is not known" in rows[fresh].error
    assert not harness.emitted("ExplanationGenerated")
