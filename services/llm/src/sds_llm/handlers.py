"""What the llm service does for each event it consumes, and the explanation command.

Facts are recorded from ``EvaluationCompleted`` and ``DatasetProfiled`` into this service's own
tables; ``EvaluationCompleted`` is also explained at once (id derived from the evaluation id, so
a redelivery rewrites the same object). ``ExplanationRequested`` is served the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from sds_common.bus import Subscription
from sds_common.db.uow import UnitOfWork
from sds_common.events import (
    DatasetProfiled,
    DatasetUploaded,
    EvaluationCompleted,
    EvaluationRequested,
    ExplanationGenerated,
    ExplanationRequested,
    GenerationRequested,
    TrainingRequested,
)
from sds_common.events.base import Envelope, Event
from sds_common.events.llm import ExplanationKind
from sds_common.runtime.service import Service
from sds_llm import features
from sds_llm.adapters import repository
from sds_llm.adapters.repository import SqlUsageLedger
from sds_llm.domain.budget import BudgetExceededError
from sds_llm.parts import LlmParts, parts_of

log = logging.getLogger(__name__)


class UnknownSubjectError(LookupError):
    """The evaluation or dataset is not (yet) known to this service."""


async def generate(
    parts: LlmParts,
    uow: UnitOfWork,
    *,
    kind: ExplanationKind,
    subject_id: UUID | str,
    project_id: str | None,
    use: str = "analytics",
) -> BaseModel:
    """Produce one feature's result for a subject known to this service.

    Raises:
        UnknownSubjectError: no fact row for the subject.
        BudgetExceededError: the project's token budget is spent.
    """
    session, ledger = uow.session, SqlUsageLedger(uow.session)
    common: dict[str, Any] = {
        "assistant": parts.assistant,
        "project_id": project_id,
        "ledger": ledger,
    }
    if kind == "evaluation":
        row = await repository.load(session, table="evaluations", key=str(subject_id))
        if row is None:
            raise UnknownSubjectError(f"evaluation {subject_id} is not known")
        report = await features.load_report(parts.storage, str(row["report_key"]))
        return await features.explain_evaluation(report, **common)
    dataset = await repository.load(session, table="datasets", key=str(subject_id))
    if dataset is None:
        raise UnknownSubjectError(f"dataset {subject_id} is not known")
    if kind == "data_dictionary":
        return await features.data_dictionary(dataset, **common)
    if kind == "pii_hints":
        return await features.pii_hints(dataset, **common)
    return await features.privacy_advice(
        n_rows=int(dataset["n_rows"]), columns=dataset["columns"], n_columns=None, use=use, **common
    )


async def publish(
    parts: LlmParts,
    uow: UnitOfWork,
    *,
    explanation_id: UUID,
    kind: ExplanationKind,
    subject_id: UUID,
    result: BaseModel,
    project_id: str | None,
) -> str:
    """Store the result under ``explanations/{id}.json`` and emit ``ExplanationGenerated``."""
    key = features.explanation_key(explanation_id)
    await parts.storage.put_bytes(
        key,
        features.stored(result, kind=kind, subject_id=subject_id),
        content_type="application/json",
    )
    answer = getattr(result, "answer", None)
    await uow.emit(
        ExplanationGenerated(
            explanation_id=explanation_id,
            kind=kind,
            subject_id=subject_id,
            provider=answer.provider if answer is not None else "offline",
            object_key=key,
            degraded=bool(answer.degraded) if answer is not None else False,
        ),
        project_id=project_id,
    )
    return key


class Handlers:
    """The event handlers, bound to the service's parts."""

    def __init__(self, parts: LlmParts) -> None:
        self._parts = parts

    async def evaluation_completed(self, envelope: Envelope, event: Event, uow: UnitOfWork) -> None:
        """Record the evaluation, then explain it."""
        assert isinstance(event, EvaluationCompleted)
        await repository.upsert(
            uow.session,
            table="evaluations",
            key="evaluation_id",
            values={
                "evaluation_id": str(event.evaluation_id),
                "project_id": envelope.project_id,
                "synthetic_dataset_id": str(event.synthetic_dataset_id),
                "generator_id": str(event.generator_id),
                "report_key": event.report_key,
                "scores": dict(event.scores),
            },
        )
        await self._explain(
            uow, kind="evaluation", subject_id=event.evaluation_id, project_id=envelope.project_id
        )

    async def dataset_profiled(self, envelope: Envelope, event: Event, uow: UnitOfWork) -> None:
        """Record the dataset's schema (the column summaries: no values)."""
        assert isinstance(event, DatasetProfiled)
        await repository.upsert(
            uow.session,
            table="datasets",
            key="dataset_id",
            values={
                "dataset_id": str(event.dataset_id),
                "project_id": envelope.project_id,
                "n_rows": event.n_rows,
                "n_columns": event.n_columns,
                "columns": [c.model_dump(mode="json") for c in event.columns],
                "target_column": event.target_column,
            },
        )

    async def actor_seen(self, envelope: Envelope, _event: Event, uow: UnitOfWork) -> None:
        """Remember who acts in which project (these events are issued by users)."""
        if envelope.project_id:
            await repository.add_member(
                uow.session, project_id=envelope.project_id, user_id=envelope.actor
            )

    async def explanation_requested(
        self, envelope: Envelope, event: Event, uow: UnitOfWork
    ) -> None:
        """Serve a requested explanation (unknown subjects raise: retried, then dead-lettered)."""
        assert isinstance(event, ExplanationRequested)
        await self._explain(
            uow,
            kind=event.kind,
            subject_id=event.subject_id,
            project_id=envelope.project_id,
            explanation_id=event.explanation_id,
        )

    async def _explain(
        self,
        uow: UnitOfWork,
        *,
        kind: ExplanationKind,
        subject_id: UUID,
        project_id: str | None,
        explanation_id: UUID | None = None,
    ) -> None:
        try:
            result = await generate(
                self._parts, uow, kind=kind, subject_id=subject_id, project_id=project_id
            )
        except BudgetExceededError as exc:
            log.info("%s of %s not generated: %s", kind, subject_id, exc)
            return
        await publish(
            self._parts,
            uow,
            explanation_id=explanation_id or features.explanation_id(kind, subject_id),
            kind=kind,
            subject_id=subject_id,
            result=result,
            project_id=project_id,
        )


def subscriptions(service: Service) -> Sequence[Subscription]:
    """The llm service's event handlers."""
    handlers = Handlers(parts_of(service))
    actor_events: tuple[type[Event], ...] = (
        DatasetUploaded,
        TrainingRequested,
        GenerationRequested,
        EvaluationRequested,
    )
    return (
        Subscription.of(EvaluationCompleted, handlers.evaluation_completed),
        Subscription.of(DatasetProfiled, handlers.dataset_profiled),
        Subscription.of(ExplanationRequested, handlers.explanation_requested),
        *(
            Subscription.of(event, handlers.actor_seen, name=f"actor_seen.{event.event_type}")
            for event in actor_events
        ),
    )
