"""What the evaluator does for each event: learn datasets and generators, queue evaluations.

A dataset is stored with its columns as ``DatasetProfiled`` (version 2) carries them, each with
its ``format`` (how the values were written; None for a dataset profiled at version 1, which the
consumer upcasts), and its declared target: the evaluation checks validity against the formats
and scores utility for that target only.

Every generated synthetic dataset is evaluated automatically under a derived id
(``sds_common.ids.evaluation_id_for``); ``EvaluationRequested`` asks for another evaluation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from sds_common.bus import DeadLetter, Subscription
from sds_common.db import UnitOfWork
from sds_common.events import (
    DatasetProfiled,
    Envelope,
    EvaluationFailed,
    EvaluationRequested,
    Event,
    ModelTrained,
    SyntheticDataGenerated,
)
from sds_common.ids import evaluation_id_for
from sds_common.jobs import enqueue
from sds_common.runtime.service import Service
from sds_evaluator.adapters.orm import datasets, generators, jobs, synthetic_datasets

log = logging.getLogger(__name__)


def _insert(uow: UnitOfWork) -> Any:
    return (
        postgresql.insert if uow.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )


def subscriptions(_service: Service) -> Sequence[Subscription]:
    """The evaluator's event handlers."""

    async def dataset_profiled(_envelope: Envelope, event: Event, uow: UnitOfWork) -> None:
        assert isinstance(event, DatasetProfiled)
        await uow.session.execute(
            _insert(uow)(datasets)
            .values(
                id=str(event.dataset_id),
                train_key=event.train_key,
                holdout_key=event.holdout_key,
                columns=[c.model_dump(mode="json") for c in event.columns],
                target_column=event.target_column,
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )

    async def model_trained(_envelope: Envelope, event: Event, uow: UnitOfWork) -> None:
        assert isinstance(event, ModelTrained)
        await uow.session.execute(
            _insert(uow)(generators)
            .values(
                id=str(event.generator_id),
                dataset_id=str(event.dataset_id),
                method=event.method,
                epsilon=event.epsilon,
                delta=event.delta,
                privacy_report_key=event.privacy_report_key,
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )

    async def generated(envelope: Envelope, event: Event, uow: UnitOfWork) -> None:
        assert isinstance(event, SyntheticDataGenerated)
        evaluation_id = str(evaluation_id_for(event.synthetic_dataset_id))
        await uow.session.execute(
            _insert(uow)(synthetic_datasets)
            .values(
                id=str(event.synthetic_dataset_id),
                generator_id=str(event.generator_id),
                object_key=event.object_key,
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )
        await enqueue(
            uow,
            jobs,
            job_id=evaluation_id,
            kind="evaluate",
            payload={
                "evaluation_id": evaluation_id,
                "synthetic_dataset_id": str(event.synthetic_dataset_id),
                "target_column": None,
                "envelope": envelope.model_dump(mode="json"),
            },
        )

    async def requested(envelope: Envelope, event: Event, uow: UnitOfWork) -> None:
        assert isinstance(event, EvaluationRequested)
        await enqueue(
            uow,
            jobs,
            job_id=str(event.evaluation_id),
            kind="evaluate",
            payload={
                "evaluation_id": str(event.evaluation_id),
                "synthetic_dataset_id": str(event.synthetic_dataset_id),
                "target_column": event.target_column,
                "envelope": envelope.model_dump(mode="json"),
            },
        )

    return [
        Subscription.of(DatasetProfiled, dataset_profiled, name="evaluator.dataset_profiled"),
        Subscription.of(ModelTrained, model_trained, name="evaluator.model_trained"),
        Subscription.of(
            SyntheticDataGenerated,
            generated,
            name="evaluator.synthetic_generated",
            on_dead_letter=evaluation_abandoned,
        ),
        Subscription.of(
            EvaluationRequested,
            requested,
            name="evaluator.evaluation_requested",
            on_dead_letter=evaluation_abandoned,
        ),
    ]


async def evaluation_abandoned(letter: DeadLetter, uow: UnitOfWork) -> None:
    """An evaluation the evaluator gave up on starting has failed.

    The automatic one (from ``SyntheticDataGenerated``) has its derived id; a requested one
    names its own.
    """
    synthetic_id = letter.uuid("synthetic_dataset_id")
    if synthetic_id is None:
        log.error("dead-lettered %s names no synthetic dataset", letter.envelope.type)
        return
    evaluation_id = letter.uuid("evaluation_id") or evaluation_id_for(synthetic_id)
    await uow.emit(
        EvaluationFailed(
            evaluation_id=evaluation_id,
            synthetic_dataset_id=synthetic_id,
            code=letter.code,
            message=letter.public_reason("the evaluation request"),
        )
    )
