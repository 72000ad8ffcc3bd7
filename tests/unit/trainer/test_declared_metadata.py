"""Training uses the public metadata the dataset's owner declared in the schema review.

The trainer keeps the declarations it is told of (``PublicMetadataDeclared``) in its own table; a
training uses exactly the declaration its request names (``public_metadata_version``), waits for it
if it has not arrived yet, and lets an explicit ``params.public_metadata`` win per column. Without
a review, nothing changes: every statistic is found under DP and charged.

Through the trainer's real bootstrap, handlers and durable job on SQLite (one tiny ``mst`` fit per
training).
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sds_common.events import (
    ColumnSummary,
    DatasetProfiled,
    Envelope,
    Event,
    PrivacySpec,
    PublicMetadataDeclared,
    TrainingRequested,
    parse_payload,
)
from sds_common.events.datasets import ColumnKind
from sds_common.jobs import JobRunner
from sds_common.runtime.service import Service
from sds_common.settings import Settings
from sds_common.tables.public_metadata import DeclaredColumn
from sds_trainer import handlers
from sds_trainer.adapters.models import privacy_report_key
from sds_trainer.adapters.orm import jobs, reservations
from sds_trainer.bootstrap import bootstrap
from sds_trainer.jobs import job_kinds
from tests.unit.trainer.conftest import make_table

KINDS: dict[str, ColumnKind] = {
    "id": "identifier",
    "age": "numeric",
    "income": "numeric",
    "colour": "categorical",
    "member": "boolean",
}
DECLARED = {
    "age": DeclaredColumn(kind="numeric", bounds=(0, 100)),
    "colour": DeclaredColumn(kind="categorical", categories=("blue", "green", "red")),
    "id": DeclaredColumn(kind="identifier"),
}
PUBLIC = "public metadata"


@pytest.fixture
async def trainer(tmp_path: Path) -> AsyncIterator[Service]:
    service = bootstrap(Settings(data_dir=tmp_path))
    try:
        await service.migrate()
        await service.storage.start()
        yield service
    finally:
        await service.stop()


async def _deliver(service: Service, event: Event, *, actor: str = "gateway") -> None:
    envelope = Envelope.wrap(event, actor=actor, project_id="p1")
    parsed = parse_payload(envelope)
    (subscription,) = [s for s in handlers.subscriptions(service) if isinstance(parsed, s.event)]
    async with service.database.unit_of_work(actor="trainer", caused_by=envelope) as uow:
        await subscription.handler(envelope, parsed, uow)


async def _profiled(service: Service) -> uuid.UUID:
    dataset_id = uuid.uuid4()
    table = make_table()
    train_key = f"datasets/{dataset_id}/train.parquet"
    sink = io.BytesIO()
    table.to_parquet(sink)
    await service.storage.put_bytes(train_key, sink.getvalue())
    columns = tuple(
        ColumnSummary(
            name=name,
            kind=KINDS[name],
            missing_fraction=float(table[name].isna().mean()),
            distinct=int(table[name].nunique()),
        )
        for name in table.columns
    )
    await _deliver(
        service,
        DatasetProfiled(
            dataset_id=dataset_id,
            n_rows=len(table) + 50,
            n_columns=len(columns),
            columns=columns,
            profile_key=f"datasets/{dataset_id}/profile.json",
            table_key=f"datasets/{dataset_id}/table.parquet",
            train_key=train_key,
            holdout_key=f"datasets/{dataset_id}/holdout.parquet",
            holdout_rows=50,
        ),
    )
    return dataset_id


async def _declare(service: Service, dataset_id: uuid.UUID, version: int, **kw: Any) -> None:
    event = PublicMetadataDeclared(dataset_id=dataset_id, declaration_version=version, **kw)
    await _deliver(service, event, actor="alice")


async def _train(
    service: Service, dataset_id: uuid.UUID, *, version: int | None, **params: Any
) -> uuid.UUID:
    generator_id = uuid.uuid4()
    request = TrainingRequested(
        generator_id=generator_id,
        dataset_id=dataset_id,
        method="mst",
        params={"final_iters": 100, **params},
        privacy=PrivacySpec(epsilon=1.0, delta=1e-5),
        public_metadata_version=version,
    )
    await _deliver(service, request, actor="bob")
    return generator_id


async def _run(service: Service, generator_id: uuid.UUID, *, deadline_s: float = 120) -> None:
    """Run the trainer's jobs until this generator's training is over (or the deadline)."""
    runner = JobRunner(database=service.database, table=jobs, kinds=job_kinds(service))
    until = time.monotonic() + deadline_s
    while await _job_status(service, generator_id) not in ("succeeded", "failed"):
        assert time.monotonic() < until, "the training did not finish in time"
        await runner.run_until_idle(timeout_s=deadline_s)
        await asyncio.sleep(0.05)  # a deferred job is due again after its delay


async def _job_status(service: Service, generator_id: uuid.UUID) -> str:
    async with service.database.sessions() as session:
        status = await session.scalar(
            select(jobs.c.status).where(jobs.c.id == f"train:{generator_id}")
        )
    return str(status)


async def _report(service: Service, generator_id: uuid.UUID) -> dict[str, Any]:
    raw = await service.storage.get_bytes(privacy_report_key(str(generator_id)))
    report: dict[str, Any] = json.loads(raw)
    return report


def _coverage(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(s["column"], s["statistic"]): s["coverage"] for s in report["preprocessing_steps"]}


async def test_declared_columns_are_public_and_cost_nothing(trainer: Service) -> None:
    dataset_id = await _profiled(trainer)
    await _declare(trainer, dataset_id, 1, columns=DECLARED)
    reviewed = await _train(trainer, dataset_id, version=1)
    unreviewed = await _train(trainer, dataset_id, version=None)
    await _run(trainer, reviewed)
    await _run(trainer, unreviewed)

    with_review = await _report(trainer, reviewed)
    coverage = _coverage(with_review)
    assert coverage[("age", "bounds")] == PUBLIC
    assert coverage[("colour", "categories")] == PUBLIC
    assert not coverage[("income", "range")].startswith(PUBLIC)  # not declared: found under DP
    declared = with_review["public_metadata"]
    assert declared["declaration_version"] == 1
    assert declared["declared_by"] == "alice"
    assert declared["declared_at"]
    assert declared["columns"] == {"age": "review", "colour": "review", "id": "review"}

    # Training without a review works exactly as before: everything found under DP.
    without = _coverage(await _report(trainer, unreviewed))
    assert ("age", "bounds") not in without
    assert not without[("age", "range")].startswith(PUBLIC)
    assert not without[("colour", "categories")].startswith(PUBLIC)
    assert (await _report(trainer, unreviewed))["public_metadata"]["declaration_version"] is None


async def test_an_explicit_request_wins_per_column(trainer: Service) -> None:
    dataset_id = await _profiled(trainer)
    await _declare(trainer, dataset_id, 1, columns=DECLARED)
    requested = {"income": {"bounds": [0, 50_000]}, "age": {"bounds": [10, 95]}}
    generator_id = await _train(trainer, dataset_id, version=1, public_metadata=requested)
    await _run(trainer, generator_id)
    report = await _report(trainer, generator_id)
    coverage = _coverage(report)
    assert coverage[("income", "bounds")] == PUBLIC
    assert coverage[("age", "bounds")] == PUBLIC
    assert report["public_metadata"]["columns"] == {
        "age": "request",
        "colour": "review",
        "id": "review",
        "income": "request",
    }


async def test_a_training_waits_for_the_declaration_it_names(trainer: Service) -> None:
    dataset_id = await _profiled(trainer)
    await _declare(trainer, dataset_id, 1, columns=DECLARED)
    generator_id = await _train(trainer, dataset_id, version=2)
    runner = JobRunner(database=trainer.database, table=jobs, kinds=job_kinds(trainer))
    await runner.run_until_idle(timeout_s=60)
    # Deferred before anything was reserved.
    assert await _job_status(trainer, generator_id) == "queued"
    async with trainer.database.sessions() as session:
        assert (await session.execute(select(reservations))).all() == []
    # Version 2 keeps the target's classes private and declares age only.
    await _declare(
        trainer, dataset_id, 2, columns={"age": DECLARED["age"]}, target_classes_public=False
    )
    await _run(trainer, generator_id)
    report = await _report(trainer, generator_id)
    assert report["public_metadata"]["declaration_version"] == 2
    assert report["public_metadata"]["target_classes_public"] is False
    coverage = _coverage(report)
    assert coverage[("age", "bounds")] == PUBLIC
    assert not coverage[("colour", "categories")].startswith(PUBLIC)
