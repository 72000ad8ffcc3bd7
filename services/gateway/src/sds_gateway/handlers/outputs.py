"""Read models of synthetic datasets and their evaluations."""

from __future__ import annotations

import logging

from sqlalchemy import insert, select

from sds_common.db import UnitOfWork
from sds_common.events import (
    Envelope,
    EvaluationCompleted,
    EvaluationFailed,
    GenerationFailed,
    SyntheticDataGenerated,
)
from sds_common.ids import evaluation_id_for
from sds_gateway.adapters.orm import evaluations, synthetic_datasets
from sds_gateway.adapters.records import advance, create_job, track, utcnow
from sds_gateway.domain.status import RUN_RANK, JobKind, RunStatus
from sds_gateway.handlers.base import Projection

log = logging.getLogger(__name__)


class OutputHandlers(Projection):
    """Generated (or failed) synthetic data, completed (or failed) evaluations."""

    async def synthetic_generated(
        self, _env: Envelope, event: SyntheticDataGenerated, uow: UnitOfWork
    ) -> None:
        synthetic_id = str(event.synthetic_dataset_id)
        if not await advance(
            uow.session,
            synthetic_datasets,
            row_id=synthetic_id,
            ranks=RUN_RANK,
            status=RunStatus.SUCCEEDED,
            values={"rows": event.rows, "object_key": event.object_key, "finished_at": utcnow()},
        ):
            return
        await self._finish(
            uow,
            job_id=synthetic_id,
            event_type=event.event_type,
            status=RunStatus.SUCCEEDED,
            rows=event.rows,
            message=f"{event.rows} rows generated",
        )
        # The evaluator starts on this event by itself, under a derived id.
        evaluation_id = str(evaluation_id_for(event.synthetic_dataset_id))
        if await advance(
            uow.session, evaluations, row_id=evaluation_id, ranks=RUN_RANK, status=RunStatus.RUNNING
        ):
            await track(
                uow.session,
                self.notifier,
                job_id=evaluation_id,
                event_type="EvaluationStarted",
                status=RunStatus.RUNNING,
                data={"synthetic_dataset_id": synthetic_id},
                message="evaluating",
            )

    async def generation_failed(
        self, _env: Envelope, event: GenerationFailed, uow: UnitOfWork
    ) -> None:
        synthetic_id = str(event.synthetic_dataset_id)
        if not await advance(
            uow.session,
            synthetic_datasets,
            row_id=synthetic_id,
            ranks=RUN_RANK,
            status=RunStatus.FAILED,
            values={
                "error_code": event.code,
                "error_message": event.message,
                "finished_at": utcnow(),
            },
        ):
            return
        await self._finish(
            uow,
            job_id=synthetic_id,
            event_type=event.event_type,
            status=RunStatus.FAILED,
            code=event.code,
            message=event.message,
        )
        evaluation_id = str(evaluation_id_for(event.synthetic_dataset_id))
        reason = "not evaluated: the generation failed"
        if await advance(
            uow.session,
            evaluations,
            row_id=evaluation_id,
            ranks=RUN_RANK,
            status=RunStatus.CANCELLED,
            values={"error_code": "generation_failed", "error_message": reason},
        ):
            await self._finish(
                uow,
                job_id=evaluation_id,
                event_type="EvaluationCancelled",
                status=RunStatus.CANCELLED,
                message=reason,
            )

    async def _ensure_evaluation(
        self, uow: UnitOfWork, *, evaluation_id: str, synthetic_id: str
    ) -> bool:
        """Create the row of an evaluation started elsewhere, if its synthetic dataset is ours."""
        if await uow.session.scalar(
            select(evaluations.c.id).where(evaluations.c.id == evaluation_id)
        ):
            return True
        synthetic = (
            await uow.session.execute(
                select(synthetic_datasets.c.project_id, synthetic_datasets.c.generator_id).where(
                    synthetic_datasets.c.id == synthetic_id
                )
            )
        ).first()
        if synthetic is None:
            log.info("evaluation %s of unknown synthetic dataset ignored", evaluation_id)
            return False
        now = utcnow()
        await uow.session.execute(
            insert(evaluations).values(
                id=evaluation_id,
                project_id=synthetic.project_id,
                synthetic_dataset_id=synthetic_id,
                generator_id=synthetic.generator_id,
                automatic=False,
                status=RunStatus.QUEUED,
                created_at=now,
                updated_at=now,
            )
        )
        await create_job(
            uow.session,
            job_id=evaluation_id,
            project_id=synthetic.project_id,
            kind=JobKind.EVALUATION,
            message="evaluation queued",
        )
        return True

    async def evaluation_completed(
        self, _env: Envelope, event: EvaluationCompleted, uow: UnitOfWork
    ) -> None:
        evaluation_id = str(event.evaluation_id)
        synthetic_id = str(event.synthetic_dataset_id)
        if not await self._ensure_evaluation(
            uow, evaluation_id=evaluation_id, synthetic_id=synthetic_id
        ):
            return
        if await advance(
            uow.session,
            evaluations,
            row_id=evaluation_id,
            ranks=RUN_RANK,
            status=RunStatus.SUCCEEDED,
            values={
                "generator_id": str(event.generator_id),
                "scores": dict(event.scores),
                "report_key": event.report_key,
                "html_report_key": event.html_report_key,
                "finished_at": utcnow(),
            },
        ):
            await self._finish(
                uow,
                job_id=evaluation_id,
                event_type=event.event_type,
                status=RunStatus.SUCCEEDED,
                scores=dict(event.scores),
                message="evaluation completed",
            )

    async def evaluation_failed(
        self, _env: Envelope, event: EvaluationFailed, uow: UnitOfWork
    ) -> None:
        evaluation_id = str(event.evaluation_id)
        if not await self._ensure_evaluation(
            uow, evaluation_id=evaluation_id, synthetic_id=str(event.synthetic_dataset_id)
        ):
            return
        if await advance(
            uow.session,
            evaluations,
            row_id=evaluation_id,
            ranks=RUN_RANK,
            status=RunStatus.FAILED,
            values={
                "error_code": event.code,
                "error_message": event.message,
                "finished_at": utcnow(),
            },
        ):
            await self._finish(
                uow,
                job_id=evaluation_id,
                event_type=event.event_type,
                status=RunStatus.FAILED,
                code=event.code,
                message=event.message,
            )
