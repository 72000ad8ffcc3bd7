"""The evaluation job: score synthetic rows against the real train and holdout rows.

The report is written as JSON and as one self-contained HTML file; the event carries only the
headline scores (validity and the independent-columns baseline's scores among them) and the
objects' keys. Utility is scored for the target the request names, else the one the dataset
declared at upload; without either it is reported as "no target declared".
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any
from uuid import UUID

import pandas as pd
from sqlalchemy import select

from sds_common.events import Envelope, EvaluationCompleted, EvaluationFailed
from sds_common.jobs import FAILED, SUCCEEDED, JobContext, JobDeferredError, JobFailedError
from sds_common.runtime.service import Service
from sds_common.tables.formats import ColumnFormat
from sds_evaluator.adapters.orm import datasets, generators, synthetic_datasets
from sds_evaluator.domain import ColumnInfo, evaluate, headline_scores, render_html

ACTOR = "evaluator"


def report_keys(evaluation_id: str) -> tuple[str, str]:
    """Where an evaluation's JSON and HTML reports live."""
    return f"evaluations/{evaluation_id}/report.json", f"evaluations/{evaluation_id}/report.html"


def column_formats(columns: list[dict[str, Any]]) -> dict[str, ColumnFormat | None]:
    """Each stored column's format (``DatasetProfiled`` v2); None for datasets profiled before."""
    return {
        c["name"]: ColumnFormat.model_validate(c["format"]) if c.get("format") else None
        for c in columns
    }


class EvaluationJob:
    """Runs ``evaluate`` jobs for the evaluator service."""

    def __init__(self, service: Service) -> None:
        self.service = service

    async def run(self, ctx: JobContext) -> None:
        """Evaluate one synthetic dataset."""
        envelope = Envelope.model_validate(ctx.payload["envelope"])
        evaluation_id = ctx.payload["evaluation_id"]
        synthetic_id = ctx.payload["synthetic_dataset_id"]
        facts = await self._facts(synthetic_id)
        synthetic, dataset, generator = facts
        target = ctx.payload.get("target_column") or dataset.target_column
        frames = await self._load(
            train=dataset.train_key, holdout=dataset.holdout_key, synthetic=synthetic.object_key
        )
        columns = [ColumnInfo(name=c["name"], kind=c["kind"]) for c in dataset.columns]
        formats = column_formats(dataset.columns)
        known = {c.name for c in columns}
        if target is not None and target not in known:
            raise JobFailedError(
                "unknown_target", f"target column {target!r} is not in the dataset"
            )
        privacy = await self._privacy(generator)
        report = await asyncio.to_thread(
            evaluate,
            real_train=frames[0],
            real_holdout=frames[1],
            synthetic=frames[2],
            columns=columns,
            target=target,
            privacy=privacy,
            seed=0,
            formats=formats,
            method=generator.method,
        )
        html = await asyncio.to_thread(render_html, report, title=f"Evaluation {evaluation_id}")
        json_key, html_key = report_keys(evaluation_id)
        await self.service.storage.put_bytes(
            json_key, report.model_dump_json(indent=2).encode(), content_type="application/json"
        )
        await self.service.storage.put_bytes(html_key, html.encode(), content_type="text/html")
        async with self.service.database.unit_of_work(actor=ACTOR, caused_by=envelope) as uow:
            await uow.emit(
                EvaluationCompleted(
                    evaluation_id=UUID(evaluation_id),
                    synthetic_dataset_id=UUID(synthetic_id),
                    generator_id=UUID(synthetic.generator_id),
                    scores=headline_scores(report),
                    report_key=json_key,
                    html_report_key=html_key,
                )
            )
            await ctx.finish(uow, status=SUCCEEDED)

    async def _facts(self, synthetic_id: str) -> tuple[Any, Any, Any]:
        async with self.service.database.sessions() as session:
            synthetic = (
                await session.execute(
                    select(synthetic_datasets).where(synthetic_datasets.c.id == synthetic_id)
                )
            ).one_or_none()
            if synthetic is None:
                raise JobDeferredError("waiting for the synthetic dataset", delay_s=1.0)
            generator = (
                await session.execute(
                    select(generators).where(generators.c.id == synthetic.generator_id)
                )
            ).one_or_none()
            if generator is None:
                raise JobDeferredError("waiting for the generator's ModelTrained", delay_s=1.0)
            dataset = (
                await session.execute(select(datasets).where(datasets.c.id == generator.dataset_id))
            ).one_or_none()
            if dataset is None:
                raise JobDeferredError("waiting for the dataset's profile", delay_s=1.0)
        return synthetic, dataset, generator

    async def _load(self, **keys: str) -> list[pd.DataFrame]:
        frames = []
        with tempfile.TemporaryDirectory(prefix="sds-eval-") as tmp:
            for name, key in keys.items():
                path = Path(tmp) / f"{name}.parquet"
                await self.service.storage.download_to(key, path)
                frames.append(await asyncio.to_thread(pd.read_parquet, path))
        return frames

    async def _privacy(self, generator: Any) -> dict[str, Any] | None:
        facts: dict[str, Any] = {"method": generator.method}
        if generator.epsilon is None:
            return {**facts, "differentially_private": False}
        facts.update(differentially_private=True, epsilon=generator.epsilon, delta=generator.delta)
        if generator.privacy_report_key and await self.service.storage.exists(
            generator.privacy_report_key
        ):
            facts["report"] = json.loads(
                await self.service.storage.get_bytes(generator.privacy_report_key)
            )
        return facts

    async def give_up(self, ctx: JobContext, code: str, message: str) -> None:
        """Announce that the evaluation failed."""
        envelope = Envelope.model_validate(ctx.payload["envelope"])
        async with self.service.database.unit_of_work(actor=ACTOR, caused_by=envelope) as uow:
            await uow.emit(
                EvaluationFailed(
                    evaluation_id=UUID(ctx.payload["evaluation_id"]),
                    synthetic_dataset_id=UUID(ctx.payload["synthetic_dataset_id"]),
                    code=code,
                    message=message,
                )
            )
            await ctx.finish(uow, status=FAILED, error=f"{code}: {message}")
