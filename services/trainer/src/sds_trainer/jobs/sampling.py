"""The sampling job: draw rows from a trained generator and store them as Parquet.

Sampling is post-processing of a DP model: it spends no privacy budget, however often it runs.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from sqlalchemy import select

from sds_common.events import (
    Envelope,
    GenerationFailed,
    GenerationRequested,
    SyntheticDataGenerated,
)
from sds_common.jobs import FAILED, SUCCEEDED, JobContext, JobFailedError
from sds_common.runtime.service import Service
from sds_trainer.adapters.models import ModelStore
from sds_trainer.adapters.orm import datasets, generators
from sds_trainer.domain.synthesizers import SamplingError
from sds_trainer.jobs.checks import refuse_sampling

ACTOR = "trainer"


def synthetic_key(synthetic_dataset_id: str) -> str:
    """Where a synthetic dataset's rows live."""
    return f"synthetic/{synthetic_dataset_id}/data.parquet"


class SamplingJob:
    """Runs ``sample`` jobs for the trainer service."""

    def __init__(self, service: Service, *, models: ModelStore) -> None:
        self.service = service
        self.models = models

    async def run(self, ctx: JobContext) -> None:
        """Sample the requested rows and announce them."""
        envelope = Envelope.model_validate(ctx.payload["envelope"])
        request = GenerationRequested.model_validate(envelope.payload)
        async with self.service.database.sessions() as session:
            generator = (
                await session.execute(
                    select(generators).where(generators.c.id == str(request.generator_id))
                )
            ).one_or_none()
            columns = (
                (
                    await session.execute(
                        select(datasets.c.columns).where(datasets.c.id == generator.dataset_id)
                    )
                ).scalar_one_or_none()
                if generator is not None
                else None
            )
        if generator is None:
            raise JobFailedError(
                "unknown_generator", f"generator {request.generator_id} does not exist"
            )
        if generator.status != "succeeded":
            detail = f": {generator.error}" if generator.error else ""
            raise JobFailedError(
                "generator_not_ready",
                f"generator {request.generator_id} is {generator.status}{detail}; only a trained "
                "generator can be sampled",
            )
        refuse_sampling(method=generator.method, conditions=request.conditions, columns=columns)
        model = await self.models.load(generator.id, method=generator.method)
        try:
            frame = await asyncio.to_thread(
                model.sample, request.rows, seed=request.seed, conditions=request.conditions or None
            )
        except SamplingError as exc:
            raise JobFailedError("sampling_failed", str(exc)) from exc
        key = synthetic_key(str(request.synthetic_dataset_id))
        with tempfile.TemporaryDirectory(prefix="sds-sample-") as tmp:
            path = Path(tmp) / "data.parquet"
            await asyncio.to_thread(frame.to_parquet, path, index=False)
            await self.service.storage.upload_from(
                key, path, content_type="application/vnd.apache.parquet"
            )
        async with self.service.database.unit_of_work(actor=ACTOR, caused_by=envelope) as uow:
            await uow.emit(
                SyntheticDataGenerated(
                    generator_id=request.generator_id,
                    synthetic_dataset_id=request.synthetic_dataset_id,
                    dataset_id=generator.dataset_id,
                    object_key=key,
                    rows=len(frame),
                )
            )
            await ctx.finish(uow, status=SUCCEEDED)

    async def give_up(self, ctx: JobContext, code: str, message: str) -> None:
        """Announce that sampling failed."""
        envelope = Envelope.model_validate(ctx.payload["envelope"])
        request = GenerationRequested.model_validate(envelope.payload)
        async with self.service.database.unit_of_work(actor=ACTOR, caused_by=envelope) as uow:
            await uow.emit(
                GenerationFailed(
                    generator_id=request.generator_id,
                    synthetic_dataset_id=request.synthetic_dataset_id,
                    code=code,
                    message=message,
                )
            )
            await ctx.finish(uow, status=FAILED, error=f"{code}: {message}")
