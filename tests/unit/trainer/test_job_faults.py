"""The trainer's jobs under faults (issue 16): none waits forever, a cancel is quick, traces hold.

The trainer runs through its real bootstrap on an in-process bus and SQLite:

* a training request the trainer cannot read is dead-lettered *and* announced as
  ``TrainingFailed`` (likewise a sampling request as ``GenerationFailed``), with a reason a user
  may read; nothing was reserved for it;
* a training whose workers keep dying (its lease runs out claim after claim) is given up:
  ``TrainingFailed``, and its reservation is released;
* every event a job emits carries the ``traceparent`` of the request that queued it
  (finding 15);
* a cancel stops a training between two steps of an epoch, charging the steps taken
  (finding 17).
"""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select, update

from sds_common.bus import wait_until
from sds_common.events import (
    ColumnSummary,
    DatasetProfiled,
    Envelope,
    PrivacySpec,
    TrainingCancelRequested,
    TrainingRequested,
    topics,
)
from sds_common.events.datasets import ColumnKind
from sds_common.jobs import JobRunner
from sds_common.telemetry.tracing import consumer_span, inject_trace_headers
from sds_trainer.adapters.orm import datasets, jobs, ledgers, reservations
from sds_trainer.bootstrap import bootstrap
from sds_trainer.jobs import job_kinds
from tests.support.services import RunningService, raw_envelope, running_service
from tests.support.threads import single_threaded
from tests.unit.trainer.conftest import TINY_PARAMS, make_table

HOLDOUT_ROWS = 50
KINDS: dict[str, ColumnKind] = {
    "id": "identifier",
    "age": "numeric",
    "income": "numeric",
    "colour": "categorical",
    "member": "boolean",
}


@pytest.fixture
async def trainer(tmp_path: Path) -> AsyncIterator[RunningService]:
    with single_threaded():
        async with running_service(bootstrap, tmp_path, jobs_lease_s=1.0) as running:
            yield running


async def _ready_dataset(trainer: RunningService, *, copies: int = 1) -> uuid.UUID:
    dataset_id = uuid.uuid4()
    table = pd.concat([make_table()] * copies, ignore_index=True)
    train_key = f"datasets/{dataset_id}/train.parquet"
    sink = io.BytesIO()
    table.to_parquet(sink)
    await trainer.service.storage.put_bytes(train_key, sink.getvalue())
    await trainer.send(
        DatasetProfiled(
            dataset_id=dataset_id,
            n_rows=len(table) + HOLDOUT_ROWS,
            n_columns=len(KINDS),
            columns=tuple(
                ColumnSummary(name=name, kind=kind, missing_fraction=0.0, distinct=2)
                for name, kind in KINDS.items()
            ),
            profile_key=f"datasets/{dataset_id}/profile.json",
            table_key=f"datasets/{dataset_id}/table.parquet",
            train_key=train_key,
            holdout_key=f"datasets/{dataset_id}/holdout.parquet",
            holdout_rows=HOLDOUT_ROWS,
        )
    )

    async def known() -> bool:
        async with trainer.service.database.sessions() as session:
            return bool(
                await session.scalar(select(datasets.c.id).where(datasets.c.id == str(dataset_id)))
            )

    await wait_until(known, timeout_s=20)
    return dataset_id


def _request(dataset_id: uuid.UUID, **params: Any) -> TrainingRequested:
    tiny = {k: list(v) if isinstance(v, tuple) else v for k, v in TINY_PARAMS.items()}
    return TrainingRequested(
        generator_id=uuid.uuid4(),
        dataset_id=dataset_id,
        method="dp-ctgan",
        params={**tiny, **params},
        privacy=PrivacySpec(epsilon=1.0, delta=1e-5),
    )


async def test_an_unreadable_training_request_fails_the_training(
    trainer: RunningService,
) -> None:
    generator_id, dataset_id = str(uuid.uuid4()), str(uuid.uuid4())
    # ε = 1e999 reached the trainer as null (finding 4 of issue 16): the payload is invalid.
    payload = {
        "generator_id": generator_id,
        "dataset_id": dataset_id,
        "method": "dp-ctgan",
        "privacy": {"epsilon": None},
    }
    await trainer.send_raw(
        topics.TRAINING,
        raw_envelope("TrainingRequested", payload, key=generator_id),
        key=generator_id,
    )
    failed = await trainer.until_published(topics.TRAINING, "TrainingFailed")
    assert failed.payload == {
        "generator_id": generator_id,
        "dataset_id": dataset_id,
        "code": "invalid_request",
        "message": "the training request could not be processed by the trainer service: it "
        "does not match its published schema",
    }
    assert [d["dlq-reason"] for d in trainer.dead_letters(topics.TRAINING)] == [b"invalid_payload"]
    assert trainer.published(topics.PRIVACY, "PrivacyBudgetReserved") == []


async def test_an_unreadable_sampling_request_fails_the_sampling(trainer: RunningService) -> None:
    generator_id, synthetic_id = str(uuid.uuid4()), str(uuid.uuid4())
    payload = {"generator_id": generator_id, "synthetic_dataset_id": synthetic_id, "rows": 0}
    await trainer.send_raw(
        topics.TRAINING,
        raw_envelope("GenerationRequested", payload, key=generator_id),
        key=generator_id,
    )
    failed = await trainer.until_published(topics.TRAINING, "GenerationFailed")
    assert failed.payload["synthetic_dataset_id"] == synthetic_id
    assert failed.payload["code"] == "invalid_request"


async def test_a_training_whose_workers_keep_dying_is_failed_and_its_budget_released(
    trainer: RunningService,
) -> None:
    dataset_id = await _ready_dataset(trainer)
    request = await trainer.send(_request(dataset_id, epochs=500))
    await trainer.until_published(topics.TRAINING, "TrainingStarted")
    runner = trainer.service.jobs
    assert runner is not None
    await runner.stop(grace_s=30)  # handed back between two steps: the lease stays
    job_id = f"train:{request.payload['generator_id']}"
    async with trainer.service.database.unit_of_work(actor="test") as uow:
        # ... as if two more workers had claimed it and died, the last one a while ago.
        await uow.session.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(attempts=3, lease_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    fresh = JobRunner(
        database=trainer.service.database,
        table=jobs,
        kinds=job_kinds(trainer.service),
        lease_s=1.0,
        poll_s=0.02,
    )
    await fresh.run_until_idle(timeout_s=30)

    failed = await trainer.until_published(topics.TRAINING, "TrainingFailed")
    assert failed.payload["code"] == "too_many_attempts"
    assert "never finished" in str(failed.payload["message"])
    async with trainer.service.database.sessions() as session:
        reservation = (await session.execute(select(reservations))).one()
        ledger = (await session.execute(select(ledgers))).one()
        status = await session.scalar(select(jobs.c.status).where(jobs.c.id == job_id))
    assert reservation.status in ("released", "spent")
    assert ledger.epsilon_reserved == pytest.approx(0.0, abs=1e-12)
    assert status == "failed"
    await trainer.until_published(topics.PRIVACY, "PrivacyBudgetReleased")


async def test_every_event_of_a_training_job_continues_the_requests_trace(
    trainer: RunningService,
) -> None:
    """Finding 15: 210 of 273 messages, every one emitted by a job, had no ``traceparent``."""
    dataset_id = await _ready_dataset(trainer)
    request = Envelope.wrap(_request(dataset_id, epochs=2), actor="gateway", project_id="p1")
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = [("traceparent", f"00-{trace_id}-00f067aa0ba902b7-01".encode())]
    with consumer_span("gateway request", headers):  # the HTTP request's span, say
        traced = [*request.header_items(), *inject_trace_headers([])]
    await trainer.broker.send_batch(
        [
            _message(trainer, topics.TRAINING, request, traced),
        ]
    )
    await trainer.until_published(topics.TRAINING, "ModelTrained", timeout_s=120)
    emitted = [
        message
        for topic in (topics.TRAINING, topics.PRIVACY)
        for message in trainer.broker.messages(trainer.topic(topic))
        if Envelope.from_bytes(message.value).event_id != request.event_id
        and Envelope.from_bytes(message.value).causation_id is not None
    ]
    kinds = sorted({Envelope.from_bytes(m.value).type for m in emitted})
    assert kinds == [
        "ModelTrained",
        "PrivacyBudgetReleased",
        "PrivacyBudgetReserved",
        "PrivacyBudgetSpent",
        "TrainingProgress",
        "TrainingStarted",
    ]
    for message in emitted:
        traceparent = message.header("traceparent")
        assert traceparent is not None, Envelope.from_bytes(message.value).type
        assert traceparent.decode().split("-")[1] == trace_id


def _message(
    trainer: RunningService, topic: str, envelope: Envelope, headers: list[tuple[str, bytes]]
) -> Any:
    from sds_common.bus import OutgoingMessage  # noqa: PLC0415

    return OutgoingMessage(
        topic=trainer.topic(topic),
        key=envelope.key.encode(),
        value=envelope.to_bytes(),
        headers=tuple(headers),
    )


async def test_a_cancel_stops_a_training_inside_its_epoch_and_charges_the_steps_taken(
    trainer: RunningService,
) -> None:
    """Finding 17: a cancel waited for the end of the epoch (a minute on a large table)."""
    dataset_id = await _ready_dataset(trainer, copies=25)  # 5,000 rows: epochs of 500 steps
    request = await trainer.send(_request(dataset_id, epochs=2, batch_size=10))
    first = await trainer.until_published(topics.TRAINING, "TrainingProgress", timeout_s=120)
    # Epoch 2 is under way: cancel it.
    await trainer.send(
        TrainingCancelRequested(generator_id=uuid.UUID(str(request.payload["generator_id"])))
    )
    await trainer.until_published(topics.TRAINING, "TrainingCancelled", timeout_s=60)
    # Epoch 2 never ended: stopped between two of its steps.
    assert [e.payload["epoch"] for e in trainer.published(topics.TRAINING, "TrainingProgress")] == [
        1
    ]
    assert trainer.published(topics.TRAINING, "ModelTrained") == []
    reserved = await trainer.until_published(topics.PRIVACY, "PrivacyBudgetReserved")
    spent = await trainer.until_published(topics.PRIVACY, "PrivacyBudgetSpent")
    released = await trainer.until_published(topics.PRIVACY, "PrivacyBudgetReleased")
    epsilon = {e.type: float(str(e.payload["epsilon"])) for e in (reserved, spent, released)}
    # Every step taken is charged, those of the unfinished epoch too; the rest is released.
    assert float(str(first.payload["epsilon_spent"])) < epsilon["PrivacyBudgetSpent"]
    assert epsilon["PrivacyBudgetSpent"] < epsilon["PrivacyBudgetReserved"]
    assert epsilon["PrivacyBudgetSpent"] + epsilon["PrivacyBudgetReleased"] == pytest.approx(
        epsilon["PrivacyBudgetReserved"]
    )
