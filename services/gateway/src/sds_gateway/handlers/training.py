"""Read model of generators: a training's life from request to trained model."""

from __future__ import annotations

import logging

from sqlalchemy import update

from sds_common.db import UnitOfWork
from sds_common.events import (
    DpConfigRejected,
    Envelope,
    ModelTrained,
    TrainingCancelled,
    TrainingFailed,
    TrainingProgress,
    TrainingStarted,
)
from sds_gateway.adapters.orm import generators
from sds_gateway.adapters.records import advance, track, utcnow
from sds_gateway.domain.status import RUN_RANK, RunStatus
from sds_gateway.handlers.base import Projection

log = logging.getLogger(__name__)


class TrainingHandlers(Projection):
    """Training started, progressed, ended (trained, failed, refused or cancelled)."""

    async def training_started(
        self, _env: Envelope, event: TrainingStarted, uow: UnitOfWork
    ) -> None:
        generator_id = str(event.generator_id)
        if await advance(
            uow.session,
            generators,
            row_id=generator_id,
            ranks=RUN_RANK,
            status=RunStatus.RUNNING,
            values={"device": event.device, "started_at": utcnow()},
        ):
            await track(
                uow.session,
                self.notifier,
                job_id=generator_id,
                event_type=event.event_type,
                status=RunStatus.RUNNING,
                data={"device": event.device, "resumed_from_epoch": event.resumed_from_epoch},
                message=f"training on {event.device}",
            )

    async def training_progress(
        self, _env: Envelope, event: TrainingProgress, uow: UnitOfWork
    ) -> None:
        generator_id = str(event.generator_id)
        result = await uow.session.execute(
            update(generators)
            .where(
                generators.c.id == generator_id,
                generators.c.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)),
                (generators.c.epoch.is_(None)) | (generators.c.epoch < event.epoch),
            )
            .values(
                status=RunStatus.RUNNING,
                epoch=event.epoch,
                total_epochs=event.total_epochs,
                epsilon_spent=event.epsilon_spent,
                losses=dict(event.losses),
                updated_at=utcnow(),
            )
        )
        if not getattr(result, "rowcount", 0):
            return
        await track(
            uow.session,
            self.notifier,
            job_id=generator_id,
            event_type=event.event_type,
            status=RunStatus.RUNNING,
            data={
                "epoch": event.epoch,
                "total_epochs": event.total_epochs,
                "epsilon_spent": event.epsilon_spent,
                "losses": dict(event.losses),
            },
            progress=event.epoch / event.total_epochs,
            message=f"epoch {event.epoch}/{event.total_epochs}",
        )

    async def model_trained(self, _env: Envelope, event: ModelTrained, uow: UnitOfWork) -> None:
        generator_id = str(event.generator_id)
        if await advance(
            uow.session,
            generators,
            row_id=generator_id,
            ranks=RUN_RANK,
            status=RunStatus.SUCCEEDED,
            values={
                "epsilon": event.epsilon,
                "delta": event.delta,
                "epochs": event.epochs,
                "duration_s": event.duration_s,
                "model_key": event.model_key,
                "privacy_report_key": event.privacy_report_key,
                "finished_at": utcnow(),
            },
        ):
            await self._finish(
                uow,
                job_id=generator_id,
                event_type=event.event_type,
                status=RunStatus.SUCCEEDED,
                epsilon=event.epsilon,
                delta=event.delta,
                epochs=event.epochs,
                message="model trained",
            )
        else:
            log.info("ModelTrained for unknown or finished generator %s ignored", generator_id)

    async def _generator_failed(
        self, uow: UnitOfWork, *, generator_id: str, event_type: str, code: str, message: str
    ) -> None:
        if await advance(
            uow.session,
            generators,
            row_id=generator_id,
            ranks=RUN_RANK,
            status=RunStatus.FAILED,
            values={"error_code": code, "error_message": message, "finished_at": utcnow()},
        ):
            await self._finish(
                uow,
                job_id=generator_id,
                event_type=event_type,
                status=RunStatus.FAILED,
                code=code,
                message=message,
            )

    async def training_failed(self, _env: Envelope, event: TrainingFailed, uow: UnitOfWork) -> None:
        await self._generator_failed(
            uow,
            generator_id=str(event.generator_id),
            event_type=event.event_type,
            code=event.code,
            message=event.message,
        )

    async def dp_config_rejected(
        self, _env: Envelope, event: DpConfigRejected, uow: UnitOfWork
    ) -> None:
        await self._generator_failed(
            uow,
            generator_id=str(event.generator_id),
            event_type=event.event_type,
            code="dp_config_rejected",
            message="privacy settings refused: " + "; ".join(event.reasons),
        )

    async def training_cancelled(
        self, _env: Envelope, event: TrainingCancelled, uow: UnitOfWork
    ) -> None:
        generator_id = str(event.generator_id)
        if await advance(
            uow.session,
            generators,
            row_id=generator_id,
            ranks=RUN_RANK,
            status=RunStatus.CANCELLED,
            values={"finished_at": utcnow()},
        ):
            await self._finish(
                uow,
                job_id=generator_id,
                event_type=event.event_type,
                status=RunStatus.CANCELLED,
                message="training cancelled",
            )
