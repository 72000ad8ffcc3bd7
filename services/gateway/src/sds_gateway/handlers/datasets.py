"""Read models of datasets and their privacy-budget ledger."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from sds_common.db import UnitOfWork
from sds_common.events import (
    DatasetProfiled,
    DatasetRejected,
    Envelope,
    PrivacyBudgetReleased,
    PrivacyBudgetReserved,
    PrivacyBudgetSpent,
)
from sds_gateway.adapters.orm import datasets, privacy_ledger
from sds_gateway.adapters.records import advance, as_utc
from sds_gateway.domain.status import DATASET_RANK, DatasetStatus, RunStatus
from sds_gateway.handlers.base import Projection


class DatasetHandlers(Projection):
    """Profiling outcomes and budget entries."""

    async def dataset_profiled(
        self, _env: Envelope, event: DatasetProfiled, uow: UnitOfWork
    ) -> None:
        dataset_id = str(event.dataset_id)
        values: dict[str, Any] = {
            "n_rows": event.n_rows,
            "n_columns": event.n_columns,
            "holdout_rows": event.holdout_rows,
            "train_rows": max(event.n_rows - event.holdout_rows, 0),
            "columns": [column.model_dump(mode="json") for column in event.columns],
            "profile_key": event.profile_key,
        }
        if event.target_column is not None:
            values["target_column"] = event.target_column
        if await advance(
            uow.session,
            datasets,
            row_id=dataset_id,
            ranks=DATASET_RANK,
            status=DatasetStatus.READY,
            values=values,
        ):
            await self._finish(
                uow,
                job_id=dataset_id,
                event_type=event.event_type,
                status=RunStatus.SUCCEEDED,
                n_rows=event.n_rows,
                n_columns=event.n_columns,
                message="dataset profiled",
            )

    async def dataset_rejected(
        self, _env: Envelope, event: DatasetRejected, uow: UnitOfWork
    ) -> None:
        dataset_id = str(event.dataset_id)
        if await advance(
            uow.session,
            datasets,
            row_id=dataset_id,
            ranks=DATASET_RANK,
            status=DatasetStatus.REJECTED,
            values={
                "error_code": event.code,
                "error_message": event.message,
                "error_row": event.row,
                "error_column": event.column,
            },
        ):
            await self._finish(
                uow,
                job_id=dataset_id,
                event_type=event.event_type,
                status=RunStatus.FAILED,
                code=event.code,
                message=event.message,
            )

    async def privacy_entry(
        self,
        envelope: Envelope,
        event: PrivacyBudgetReserved | PrivacyBudgetSpent | PrivacyBudgetReleased,
        uow: UnitOfWork,
    ) -> None:
        entry = {
            "PrivacyBudgetReserved": "reserved",
            "PrivacyBudgetSpent": "spent",
            "PrivacyBudgetReleased": "released",
        }[event.event_type]
        common = {"dataset_id", "generator_id", "ledger", "epsilon", "delta", "remaining_epsilon"}
        already = await uow.session.scalar(
            select(privacy_ledger.c.id).where(privacy_ledger.c.event_id == str(envelope.event_id))
        )
        if already is not None:
            return
        project_id = await uow.session.scalar(
            select(datasets.c.project_id).where(datasets.c.id == str(event.dataset_id))
        )
        await uow.session.execute(
            insert(privacy_ledger).values(
                event_id=str(envelope.event_id),
                dataset_id=str(event.dataset_id),
                project_id=project_id or envelope.project_id,
                generator_id=str(event.generator_id),
                ledger=event.ledger,
                entry=entry,
                epsilon=event.epsilon,
                delta=event.delta,
                remaining_epsilon=event.remaining_epsilon,
                details=event.model_dump(mode="json", exclude=common),
                occurred_at=as_utc(envelope.occurred_at),
            )
        )
