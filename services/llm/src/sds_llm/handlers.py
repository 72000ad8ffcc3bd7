"""What the llm service does for each event it consumes, and the shared generate/publish steps.

Facts are recorded from ``EvaluationCompleted`` and ``DatasetProfiled`` into this service's own
tables, and project memberships from the gateway's ``ProjectMembershipChanged`` and
``AccountDeleted``. An explanation (automatic on ``EvaluationCompleted``, or asked by
``ExplanationRequested``) is only *queued* here, as a durable job in the same transaction: the
provider call takes seconds and must never hold the consumer's transaction or its partition
(see :mod:`sds_llm.jobs`). The job id is the explanation id, so a redelivered event queues
nothing new.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, cast, get_args
from uuid import UUID

from pydantic import BaseModel

from sds_common.bus import DeadLetter, Subscription
from sds_common.db.uow import UnitOfWork
from sds_common.events import (
    AccountDeleted,
    DatasetDeleted,
    DatasetProfiled,
    EvaluationCompleted,
    ExplanationFailed,
    ExplanationGenerated,
    ExplanationRequested,
    ProjectMembershipChanged,
)
from sds_common.events.base import Envelope, Event
from sds_common.events.llm import ExplanationKind
from sds_common.jobs import enqueue
from sds_common.runtime.service import Service
from sds_llm import features
from sds_llm.adapters import repository
from sds_llm.adapters.orm import jobs
from sds_llm.adapters.repository import UsageLedger
from sds_llm.assistant import OverBudget
from sds_llm.parts import LlmParts, parts_of

log = logging.getLogger(__name__)
EXPLAIN = "explain"


class UnknownSubjectError(LookupError):
    """The evaluation or dataset is not (yet) known to this service."""


async def generate(
    parts: LlmParts,
    *,
    kind: ExplanationKind,
    subject_id: UUID | str,
    project_id: str | None,
    ledger: UsageLedger,
    use: str = "analytics",
    over_budget: OverBudget = "refuse",
) -> BaseModel:
    """Produce one feature's result for a subject known to this service.

    The facts are read in a short session of their own and no transaction is open while the
    provider answers.

    Raises:
        UnknownSubjectError: no fact row for the subject.
        BudgetExceededError: the project's token budget is spent (``over_budget="refuse"``).
        ObjectNotFound: the evaluation's report is not in object storage.
    """
    table = "evaluations" if kind == "evaluation" else "datasets"
    async with parts.database.sessions() as session:
        row = await repository.load(session, table=table, key=str(subject_id))
    if row is None:
        raise UnknownSubjectError(f"{table[:-1]} {subject_id} is not known")
    common: dict[str, Any] = {
        "assistant": parts.assistant,
        "project_id": project_id,
        "ledger": ledger,
        "over_budget": over_budget,
    }
    if kind == "evaluation":
        report = await features.load_report(parts.storage, str(row["report_key"]))
        return await features.explain_evaluation(report, **common)
    if kind == "data_dictionary":
        return await features.data_dictionary(row, **common)
    if kind == "pii_hints":
        return await features.pii_hints(row, **common)
    return await features.privacy_advice(
        n_rows=int(row["n_rows"]), columns=row["columns"], n_columns=None, use=use, **common
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


async def queue_explanation(
    uow: UnitOfWork,
    envelope: Envelope,
    *,
    explanation_id: UUID,
    kind: ExplanationKind,
    subject_id: UUID,
) -> bool:
    """Queue the ``explain`` job in the caller's transaction; False if it was already queued."""
    return await enqueue(
        uow,
        jobs,
        job_id=str(explanation_id),
        kind=EXPLAIN,
        payload={
            "explanation_id": str(explanation_id),
            "kind": kind,
            "subject_id": str(subject_id),
            "envelope": envelope.model_dump(mode="json"),
        },
    )


async def explanation_abandoned(letter: DeadLetter, uow: UnitOfWork) -> None:
    """An explanation this service gave up on queueing will not come: ``ExplanationFailed``.

    From ``EvaluationCompleted`` it is the evaluation's automatic explanation; from
    ``ExplanationRequested`` the one asked for.
    """
    kind: object = letter.envelope.payload.get("kind")
    explanation_id, subject_id = letter.uuid("explanation_id"), letter.uuid("subject_id")
    if letter.envelope.type == EvaluationCompleted.event_type:
        kind, subject_id = "evaluation", letter.uuid("evaluation_id")
        if subject_id is not None:
            explanation_id = features.explanation_id("evaluation", subject_id)
    if explanation_id is None or subject_id is None or kind not in get_args(ExplanationKind):
        log.error("dead-lettered %s names no explanation", letter.envelope.type)
        return
    await uow.emit(
        ExplanationFailed(
            explanation_id=explanation_id,
            kind=cast("ExplanationKind", kind),
            subject_id=subject_id,
            code=letter.code,
            message=letter.public_reason("the explanation request"),
        )
    )


class Handlers:
    """The event handlers: they record facts and queue jobs, and never call a provider."""

    def __init__(self, parts: LlmParts) -> None:
        self._parts = parts

    async def evaluation_completed(self, envelope: Envelope, event: Event, uow: UnitOfWork) -> None:
        """Record the evaluation, then queue its explanation."""
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
        await queue_explanation(
            uow,
            envelope,
            explanation_id=features.explanation_id("evaluation", event.evaluation_id),
            kind="evaluation",
            subject_id=event.evaluation_id,
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

    async def dataset_deleted(self, _envelope: Envelope, event: Event, uow: UnitOfWork) -> None:
        """Forget a deleted dataset's schema: its routes answer 404 from now on."""
        assert isinstance(event, DatasetDeleted)
        await repository.forget(uow.session, table="datasets", key=str(event.dataset_id))

    async def membership_changed(self, envelope: Envelope, event: Event, uow: UnitOfWork) -> None:
        """Follow the gateway's memberships: added, given another role, or removed.

        The change is versioned by the event's ``occurred_at``: one older than what is recorded
        for the (project, user) pair, delivered late, changes nothing.
        """
        assert isinstance(event, ProjectMembershipChanged)
        await repository.apply_membership(
            uow.session,
            project_id=str(event.project_id),
            user_id=event.user_id,
            role=event.role,
            at=envelope.occurred_at,
        )

    async def account_deleted(self, envelope: Envelope, event: Event, uow: UnitOfWork) -> None:
        """A deleted account is a member of nothing (the gateway removed every membership)."""
        assert isinstance(event, AccountDeleted)
        await repository.forget_account(uow.session, user_id=event.user_id, at=envelope.occurred_at)

    async def explanation_requested(
        self, envelope: Envelope, event: Event, uow: UnitOfWork
    ) -> None:
        """Queue a requested explanation (the job waits a while for an unknown subject)."""
        assert isinstance(event, ExplanationRequested)
        await queue_explanation(
            uow,
            envelope,
            explanation_id=event.explanation_id,
            kind=event.kind,
            subject_id=event.subject_id,
        )


def subscriptions(service: Service) -> Sequence[Subscription]:
    """The llm service's event handlers."""
    handlers = Handlers(parts_of(service))
    # Membership comes from the gateway's membership events only (the creator's too), no longer
    # inferred from who uploaded or requested something: that inference could only grant what a
    # membership event grants as well, a little earlier, and it was a second path by which an
    # event delivered after the actor's removal could open access again.
    return (
        Subscription.of(
            EvaluationCompleted,
            handlers.evaluation_completed,
            on_dead_letter=explanation_abandoned,
        ),
        Subscription.of(DatasetProfiled, handlers.dataset_profiled),
        Subscription.of(DatasetDeleted, handlers.dataset_deleted),
        Subscription.of(
            ExplanationRequested,
            handlers.explanation_requested,
            on_dead_letter=explanation_abandoned,
        ),
        Subscription.of(ProjectMembershipChanged, handlers.membership_changed),
        Subscription.of(AccountDeleted, handlers.account_deleted),
    )
