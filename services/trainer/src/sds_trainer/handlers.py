"""What the trainer does for each event: record datasets and declarations, queue trainings.

Handlers only record facts and queue durable jobs (``jobs/``) in the consumer's transaction:
training takes minutes and must survive a crash, so it never runs inside an event handler.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from sds_common.bus import DeadLetter, Subscription
from sds_common.db import UnitOfWork
from sds_common.events import (
    DatasetDeleted,
    DatasetProfiled,
    Envelope,
    Event,
    GenerationFailed,
    GenerationRequested,
    PublicMetadataDeclared,
    TrainingCancelRequested,
    TrainingFailed,
    TrainingRequested,
)
from sds_common.jobs import enqueue, request_cancel
from sds_common.runtime.service import Service
from sds_trainer.adapters import ledger
from sds_trainer.adapters.orm import datasets, generators, jobs, public_metadata
from sds_trainer.config import trainer_settings

log = logging.getLogger(__name__)


def _insert(uow: UnitOfWork) -> Any:
    return (
        postgresql.insert if uow.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )


def subscriptions(service: Service) -> Sequence[Subscription]:
    """The trainer's event handlers."""
    settings = trainer_settings(service.settings)

    async def dataset_profiled(envelope: Envelope, event: Event, uow: UnitOfWork) -> None:
        assert isinstance(event, DatasetProfiled)
        charged = await ledger.open_for_upload(
            uow,
            project_id=envelope.project_id,
            dataset_id=str(event.dataset_id),
            source=event.source,
            sha256=event.sha256,
            epsilon_total=settings.trainer_epsilon_budget,
        )
        statement = (
            _insert(uow)(datasets)
            .values(
                id=str(event.dataset_id),
                project_id=envelope.project_id,
                status="ready",
                train_key=event.train_key,
                train_rows=event.n_rows - event.holdout_rows,
                # The declared target column is marked: methods that can favour one column
                # (aim's ``focus``) favour it by default.
                columns=[
                    {**c.model_dump(mode="json"), "target": c.name == event.target_column}
                    for c in event.columns
                ],
                ledger_id=charged.id,
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )
        await uow.session.execute(statement)

    async def dataset_deleted(_envelope: Envelope, event: Event, uow: UnitOfWork) -> None:
        assert isinstance(event, DatasetDeleted)
        await uow.session.execute(
            update(datasets).where(datasets.c.id == str(event.dataset_id)).values(status="deleted")
        )

    async def metadata_declared(envelope: Envelope, event: Event, uow: UnitOfWork) -> None:
        assert isinstance(event, PublicMetadataDeclared)
        # Every version is kept: a training uses the one its request names.
        await uow.session.execute(
            _insert(uow)(public_metadata)
            .values(
                dataset_id=str(event.dataset_id),
                version=event.declaration_version,
                columns={k: v.model_dump(mode="json") for k, v in event.columns.items()},
                target_classes_public=event.target_classes_public,
                declared_by=envelope.actor,
                declared_at=envelope.occurred_at,
            )
            .on_conflict_do_nothing(index_elements=["dataset_id", "version"])
        )

    async def training_requested(envelope: Envelope, event: Event, uow: UnitOfWork) -> None:
        assert isinstance(event, TrainingRequested)
        generator_id = str(event.generator_id)
        await uow.session.execute(
            _insert(uow)(generators)
            .values(
                id=generator_id,
                dataset_id=str(event.dataset_id),
                project_id=envelope.project_id,
                method=event.method,
                request=event.model_dump(mode="json"),
                status="queued",
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )
        await enqueue(
            uow,
            jobs,
            job_id=f"train:{generator_id}",
            kind="train",
            payload={"generator_id": generator_id, "envelope": envelope.model_dump(mode="json")},
        )

    async def cancel_requested(_envelope: Envelope, event: Event, uow: UnitOfWork) -> None:
        assert isinstance(event, TrainingCancelRequested)
        await request_cancel(uow, jobs, job_id=f"train:{event.generator_id}")

    async def generation_requested(envelope: Envelope, event: Event, uow: UnitOfWork) -> None:
        assert isinstance(event, GenerationRequested)
        await enqueue(
            uow,
            jobs,
            job_id=f"sample:{event.synthetic_dataset_id}",
            kind="sample",
            payload={"envelope": envelope.model_dump(mode="json")},
        )

    return [
        Subscription.of(DatasetProfiled, dataset_profiled, name="trainer.dataset_profiled"),
        Subscription.of(DatasetDeleted, dataset_deleted, name="trainer.dataset_deleted"),
        Subscription.of(
            PublicMetadataDeclared, metadata_declared, name="trainer.public_metadata_declared"
        ),
        Subscription.of(
            TrainingRequested,
            training_requested,
            name="trainer.training_requested",
            on_dead_letter=training_abandoned,
        ),
        Subscription.of(TrainingCancelRequested, cancel_requested, name="trainer.cancel_requested"),
        Subscription.of(
            GenerationRequested,
            generation_requested,
            name="trainer.generation_requested",
            on_dead_letter=generation_abandoned,
        ),
    ]


async def training_abandoned(letter: DeadLetter, uow: UnitOfWork) -> None:
    """A training request the trainer gave up on has failed (nothing was reserved for it)."""
    generator_id, dataset_id = letter.uuid("generator_id"), letter.uuid("dataset_id")
    if generator_id is None or dataset_id is None:
        log.error("dead-lettered training request %s names no generator", letter.envelope.key)
        return
    await uow.emit(
        TrainingFailed(
            generator_id=generator_id,
            dataset_id=dataset_id,
            code=letter.code,
            message=letter.public_reason("the training request"),
        )
    )


async def generation_abandoned(letter: DeadLetter, uow: UnitOfWork) -> None:
    """A sampling request the trainer gave up on has failed."""
    generator_id = letter.uuid("generator_id")
    synthetic_id = letter.uuid("synthetic_dataset_id")
    if generator_id is None or synthetic_id is None:
        log.error("dead-lettered sampling request %s names no dataset", letter.envelope.key)
        return
    await uow.emit(
        GenerationFailed(
            generator_id=generator_id,
            synthetic_dataset_id=synthetic_id,
            code=letter.code,
            message=letter.public_reason("the sampling request"),
        )
    )


async def generator_row(uow: UnitOfWork, generator_id: str) -> Any:
    """The trainer's record of a generator, or None."""
    return (
        await uow.session.execute(select(generators).where(generators.c.id == generator_id))
    ).one_or_none()
