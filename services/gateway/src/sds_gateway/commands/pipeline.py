"""Training, sampling and evaluation requests: record them, then ask the workers by event."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select, update

from sds_common.auth import Identity
from sds_common.db import Database
from sds_common.events import (
    EvaluationRequested,
    GenerationRequested,
    SyntheticDataDownloaded,
    TrainingCancelRequested,
    TrainingRequested,
)
from sds_common.ids import evaluation_id_for
from sds_common.methods import METHODS, DatasetSchema, sampling_problems, training_problems
from sds_common.privacy import PolicyLimits
from sds_common.tables import ColumnFormat
from sds_gateway.adapters.orm import datasets, evaluations, generators, synthetic_datasets
from sds_gateway.adapters.records import create_job, utcnow
from sds_gateway.domain.access import Need
from sds_gateway.domain.errors import Conflict
from sds_gateway.domain.requests import check_opt_in, refuse
from sds_gateway.domain.status import DatasetStatus, JobKind, RunStatus, is_terminal
from sds_gateway.queries import remaining_epsilon
from sds_gateway.schema_queries import declared_version
from sds_gateway.schemas.pipeline import (
    Evaluation,
    EvaluationCreate,
    Generator,
    GeneratorCreate,
    SampleCreate,
    SyntheticDataset,
)
from sds_gateway.views import evaluation_view, generator_view, load_visible, synthetic_view

log = logging.getLogger(__name__)


def _schema(dataset: Any) -> DatasetSchema:
    """The public schema facts of a ready dataset's read-model row."""
    return DatasetSchema(
        columns={str(c["name"]): str(c["kind"]) for c in dataset["columns"] or ()},
        train_rows=int(dataset["train_rows"] or 0),
    )


async def request_training(
    database: Database,
    user: Identity,
    request: GeneratorCreate,
    *,
    limits: PolicyLimits,
    budget_epsilon: float,
) -> Generator:
    """Check the request as the trainer will, record a generator, emit ``TrainingRequested``.

    ``limits`` are the trainer's policy limits and ``budget_epsilon`` a ledger's total, used
    while the ledger has no entry yet. The trainer checks again when it starts (a second line)
    and reserves ε atomically.

    Raises:
        Invalid: every reason the trainer would refuse the request (nothing is recorded).
    """
    check_opt_in(request.method, allow_non_dp=request.allow_non_dp)
    generator_id = str(uuid.uuid4())
    now = utcnow()
    async with database.unit_of_work(actor=user.user_id) as uow:
        dataset, _ = await load_visible(
            uow.session,
            datasets,
            row_id=request.dataset_id,
            user=user,
            need=Need.WRITE,
            what="dataset",
        )
        if dataset["status"] != DatasetStatus.READY:
            raise Conflict(
                f"dataset {dataset['id']} is {dataset['status']}; a generator needs a ready "
                "dataset (wait for its job to succeed)",
                code="dataset_not_ready",
            )
        refuse(
            training_problems(
                method=request.method,
                params=request.params,
                privacy=request.privacy,
                dataset=_schema(dataset),
                limits=limits,
                remaining_epsilon=await remaining_epsilon(
                    uow.session, dataset, budget_epsilon=budget_epsilon
                ),
            )
        )
        privacy = request.privacy.model_dump(mode="json") if request.privacy else None
        await uow.session.execute(
            insert(generators).values(
                id=generator_id,
                project_id=dataset["project_id"],
                dataset_id=dataset["id"],
                method=request.method,
                params=dict(request.params),
                privacy=privacy,
                status=RunStatus.QUEUED,
                created_by=user.user_id,
                created_at=now,
                updated_at=now,
            )
        )
        await create_job(
            uow.session,
            job_id=generator_id,
            project_id=dataset["project_id"],
            kind=JobKind.TRAINING,
            message="training queued",
        )
        await uow.emit(
            TrainingRequested(
                generator_id=uuid.UUID(generator_id),
                dataset_id=uuid.UUID(dataset["id"]),
                method=request.method,
                params=dict(request.params),
                privacy=request.privacy,
                public_metadata_version=await declared_version(uow.session, dataset["id"]),
            ),
            project_id=dataset["project_id"],
        )
        row, _ = await load_visible(
            uow.session,
            generators,
            row_id=generator_id,
            user=user,
            need=Need.READ,
            what="generator",
        )
    return generator_view(row)


async def cancel_training(database: Database, user: Identity, *, generator_id: str) -> Generator:
    """Ask the trainer to stop a training (``TrainingCancelRequested``)."""
    async with database.unit_of_work(actor=user.user_id) as uow:
        row, _ = await load_visible(
            uow.session,
            generators,
            row_id=generator_id,
            user=user,
            need=Need.WRITE,
            what="generator",
        )
        if is_terminal(row["status"]):
            raise Conflict(
                f"generator {generator_id} already {row['status']}; only a queued or running "
                "training can be cancelled",
                code="generator_finished",
            )
        await uow.session.execute(
            update(generators)
            .where(generators.c.id == generator_id)
            .values(cancel_requested_at=utcnow())
        )
        await uow.emit(
            TrainingCancelRequested(generator_id=uuid.UUID(generator_id)),
            project_id=row["project_id"],
        )
        row, _ = await load_visible(
            uow.session,
            generators,
            row_id=generator_id,
            user=user,
            need=Need.READ,
            what="generator",
        )
    return generator_view(row)


def _not_ready_reason(generator: Any) -> str:
    reason = f"generator {generator['id']} {generator['status']}"
    if generator["error_message"]:
        reason += f": {generator['error_message']}"
    return reason + "; synthetic data can only be sampled from a succeeded generator"


async def request_samples(
    database: Database, user: Identity, *, generator_id: str, request: SampleCreate
) -> SyntheticDataset:
    """Record a synthetic dataset (and its automatic evaluation), emit ``GenerationRequested``."""
    synthetic_id = uuid.uuid4()
    evaluation_id = str(evaluation_id_for(synthetic_id))
    now = utcnow()
    async with database.unit_of_work(actor=user.user_id) as uow:
        generator, _ = await load_visible(
            uow.session,
            generators,
            row_id=generator_id,
            user=user,
            need=Need.WRITE,
            what="generator",
        )
        if generator["status"] != RunStatus.SUCCEEDED:
            raise Conflict(_not_ready_reason(generator), code="generator_not_ready")
        dataset, _ = await load_visible(
            uow.session,
            datasets,
            row_id=generator["dataset_id"],
            user=user,
            need=Need.READ,
            what="dataset",
        )
        if generator["method"] in METHODS:  # a retired method's models: the trainer decides
            refuse(
                sampling_problems(
                    method=generator["method"],
                    conditions=request.conditions,
                    columns=_schema(dataset).columns,
                )
            )
        rows = request.rows
        if rows is None:
            # As many rows as the table the user uploaded, not its training share.
            rows = max(1, min(int(dataset["n_rows"] or dataset["train_rows"] or 1), 10_000_000))
        project_id = generator["project_id"]
        await uow.session.execute(
            insert(synthetic_datasets).values(
                id=str(synthetic_id),
                project_id=project_id,
                generator_id=generator_id,
                dataset_id=generator["dataset_id"],
                rows_requested=rows,
                seed=request.seed,
                conditions=dict(request.conditions),
                status=RunStatus.QUEUED,
                created_by=user.user_id,
                created_at=now,
                updated_at=now,
            )
        )
        await uow.session.execute(
            insert(evaluations).values(
                id=evaluation_id,
                project_id=project_id,
                synthetic_dataset_id=str(synthetic_id),
                generator_id=generator_id,
                automatic=True,
                status=RunStatus.QUEUED,
                created_at=now,
                updated_at=now,
            )
        )
        for job_id, kind, message in (
            (str(synthetic_id), JobKind.SAMPLING, f"sampling {rows} rows queued"),
            (evaluation_id, JobKind.EVALUATION, "evaluation waits for the synthetic data"),
        ):
            await create_job(
                uow.session, job_id=job_id, project_id=project_id, kind=kind, message=message
            )
        await uow.emit(
            GenerationRequested(
                generator_id=uuid.UUID(generator_id),
                synthetic_dataset_id=synthetic_id,
                rows=rows,
                seed=request.seed,
                conditions=dict(request.conditions),
            ),
            project_id=project_id,
        )
        row, _ = await load_visible(
            uow.session,
            synthetic_datasets,
            row_id=str(synthetic_id),
            user=user,
            need=Need.READ,
            what="synthetic dataset",
        )
    return synthetic_view(row)


async def request_evaluation(
    database: Database, user: Identity, request: EvaluationCreate
) -> Evaluation:
    """Record an on-demand evaluation and emit ``EvaluationRequested``."""
    evaluation_id = str(uuid.uuid4())
    now = utcnow()
    async with database.unit_of_work(actor=user.user_id) as uow:
        synthetic, _ = await load_visible(
            uow.session,
            synthetic_datasets,
            row_id=request.synthetic_dataset_id,
            user=user,
            need=Need.WRITE,
            what="synthetic dataset",
        )
        if synthetic["status"] != RunStatus.SUCCEEDED:
            raise Conflict(
                f"synthetic dataset {synthetic['id']} is {synthetic['status']}; only generated "
                "synthetic data can be evaluated",
                code="synthetic_dataset_not_ready",
            )
        await uow.session.execute(
            insert(evaluations).values(
                id=evaluation_id,
                project_id=synthetic["project_id"],
                synthetic_dataset_id=synthetic["id"],
                generator_id=synthetic["generator_id"],
                automatic=False,
                target_column=request.target_column,
                status=RunStatus.QUEUED,
                created_at=now,
                updated_at=now,
            )
        )
        await create_job(
            uow.session,
            job_id=evaluation_id,
            project_id=synthetic["project_id"],
            kind=JobKind.EVALUATION,
            message="evaluation queued",
        )
        await uow.emit(
            EvaluationRequested(
                evaluation_id=uuid.UUID(evaluation_id),
                synthetic_dataset_id=uuid.UUID(synthetic["id"]),
                target_column=request.target_column,
            ),
            project_id=synthetic["project_id"],
        )
        row, _ = await load_visible(
            uow.session,
            evaluations,
            row_id=evaluation_id,
            user=user,
            need=Need.READ,
            what="evaluation",
        )
    return evaluation_view(row)


@dataclass(frozen=True)
class Download:
    """What a download streams: the stored synthetic table, and its source's column formats."""

    key: str
    formats: dict[str, ColumnFormat] = field(default_factory=dict)


async def authorise_download(
    database: Database, user: Identity, *, synthetic_id: str, file_format: str
) -> Download:
    """Check a download, record it (``SyntheticDataDownloaded``) and say what to stream."""
    async with database.unit_of_work(actor=user.user_id) as uow:
        row, _ = await load_visible(
            uow.session,
            synthetic_datasets,
            row_id=synthetic_id,
            user=user,
            need=Need.READ,
            what="synthetic dataset",
        )
        if row["status"] != RunStatus.SUCCEEDED or not row["object_key"]:
            raise Conflict(
                f"synthetic dataset {synthetic_id} is {row['status']}; nothing to download yet",
                code="synthetic_dataset_not_ready",
            )
        columns = await uow.session.scalar(
            select(datasets.c.columns).where(datasets.c.id == row["dataset_id"])
        )
        await uow.emit(
            SyntheticDataDownloaded(
                user_id=user.user_id,
                synthetic_dataset_id=uuid.UUID(synthetic_id),
                format=file_format,
            ),
            project_id=row["project_id"],
        )
    return Download(key=str(row["object_key"]), formats=_formats(columns))


def _formats(columns: Any) -> dict[str, ColumnFormat]:
    """The formats in a dataset's profiled columns (datasets profiled before formats have none).

    A format this version cannot read leaves its column in the plain rendering: the download
    still works.
    """
    found: dict[str, ColumnFormat] = {}
    for column in columns or ():
        if not isinstance(column, dict) or not column.get("format"):
            continue
        try:
            found[str(column["name"])] = ColumnFormat.model_validate(column["format"])
        except ValidationError:
            log.warning("column %r has an unreadable format; written plainly", column["name"])
    return found
