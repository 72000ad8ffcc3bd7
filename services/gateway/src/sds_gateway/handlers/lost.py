"""When the gateway cannot record how a run ended, the run is shown failed, not running forever.

The gateway's read models learn a run's end from one event (``ModelTrained``, ``DatasetRejected``
...). If applying that event keeps failing, the consumer dead-letters it and runs the hook of
its subscription, here: the resource and its job are marked failed with a reason a user may
read, in the transaction that writes the dead letter. (A request the *worker* gives up on is
announced by that worker as the run's own failure event, which the handlers apply as usual.)
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Table

from sds_common.bus import DeadLetter
from sds_common.db import UnitOfWork
from sds_gateway.adapters.orm import datasets, evaluations, generators, synthetic_datasets
from sds_gateway.adapters.records import advance, utcnow
from sds_gateway.domain.status import DATASET_RANK, RUN_RANK, DatasetStatus, RunStatus
from sds_gateway.handlers.base import Projection

#: The code of a run whose outcome could not be recorded.
CODE = "outcome_unrecorded"


class LostOutcomes(Projection):
    """Dead-letter hooks of the subscriptions that apply a run's final event."""

    async def dataset(self, letter: DeadLetter, uow: UnitOfWork) -> None:
        """The profiling outcome of a dataset could not be recorded: it is rejected."""
        await self._lost(
            letter,
            uow,
            table=datasets,
            field="dataset_id",
            what="upload",
            ranks=DATASET_RANK,
            status=DatasetStatus.REJECTED,
        )

    async def generator(self, letter: DeadLetter, uow: UnitOfWork) -> None:
        """A training's outcome could not be recorded: the generator has failed."""
        await self._lost(letter, uow, table=generators, field="generator_id", what="training")

    async def synthetic(self, letter: DeadLetter, uow: UnitOfWork) -> None:
        """A sampling's outcome could not be recorded: the synthetic dataset has failed."""
        await self._lost(
            letter, uow, table=synthetic_datasets, field="synthetic_dataset_id", what="sampling"
        )

    async def evaluation(self, letter: DeadLetter, uow: UnitOfWork) -> None:
        """An evaluation's outcome could not be recorded: the evaluation has failed."""
        await self._lost(letter, uow, table=evaluations, field="evaluation_id", what="evaluation")

    async def _lost(
        self,
        letter: DeadLetter,
        uow: UnitOfWork,
        *,
        table: Table,
        field: str,
        what: str,
        ranks: Mapping[str, int] = RUN_RANK,
        status: str = RunStatus.FAILED,
    ) -> None:
        row_id = letter.uuid(field)
        if row_id is None:
            return
        message = f"the outcome of this {what} could not be recorded: " + letter.public_reason(
            f"its {letter.envelope.type} event"
        )
        values: dict[str, object] = {"error_code": CODE, "error_message": message}
        if table is not datasets:  # a dataset's row has no end time
            values["finished_at"] = utcnow()
        if await advance(
            uow.session, table, row_id=str(row_id), ranks=ranks, status=status, values=values
        ):
            await self._finish(
                uow,
                job_id=str(row_id),
                event_type=letter.envelope.type,
                status=RunStatus.FAILED,
                code=CODE,
                message=message,
            )
