"""The trainer's real training job on PostgreSQL: what the ledger charges is what was spent.

The trainer service is assembled by its own bootstrap on a PostgreSQL schema of its own, fed the
events it consumes (through its real handlers) and its durable job runs a tiny dp-ctgan fit. The
figures that leave it are then checked against each other and against an independent accountant:

* the ε of PrivacyBudgetSpent = the FitReport's ε = the ledger row's charge = dp-accounting's ε
  for the recorded noise, sample rate and steps (plus the preprocessing release);
* reserved - spent = released, in the events and in the ledger;
* redelivered and out-of-order messages afterwards (the request again, a late cancellation, the
  settle replayed and a stale settle with an older figure) change nothing.

Concurrent reservations and racing duplicate settles are covered by
``test_budget_ledger_concurrency``; this test covers the path from a request to the charge.
"""

from __future__ import annotations

import io
import json
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from sqlalchemy import select, text

from sds_common.events import (
    ColumnSummary,
    DatasetProfiled,
    Envelope,
    Event,
    GenerationFailed,
    GenerationRequested,
    ModelTrained,
    PrivacyBudgetReleased,
    PrivacyBudgetReserved,
    PrivacyBudgetSpent,
    PrivacySpec,
    TrainingCancelRequested,
    TrainingFailed,
    TrainingProgress,
    TrainingRequested,
    TrainingStarted,
    parse_payload,
)
from sds_common.events.datasets import ColumnKind
from sds_common.jobs import JobRunner
from sds_common.runtime.service import Service
from sds_common.settings import Settings
from sds_trainer import handlers
from sds_trainer.adapters import ledger
from sds_trainer.adapters.models import privacy_report_key
from sds_trainer.adapters.orm import datasets, generators, jobs, ledgers, reservations
from sds_trainer.bootstrap import bootstrap
from sds_trainer.jobs import job_kinds
from sds_trainer.jobs.training import _target_column
from tests.support.accounting import agrees_with_google
from tests.support.threads import single_threaded
from tests.unit.trainer.conftest import TINY_PARAMS, make_table

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

EPSILON, DELTA = 1.0, 1e-5
HOLDOUT_ROWS = 50


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    with single_threaded():
        yield


@pytest.fixture
async def trainer(
    postgres_dsn: str, unique_name: str, tmp_path: Path, one_torch_thread: None
) -> AsyncIterator[Service]:
    """The trainer, migrated on its own schema, with a local object store; nothing started."""
    settings = Settings.model_validate(
        {
            "database_url": postgres_dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
            "database_schema": f"trainer_{unique_name}",
            "data_dir": str(tmp_path),
        }
    )
    service = bootstrap(settings)
    try:
        await service.migrate()
        await service.storage.start()
        yield service
    finally:
        async with service.database.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{service.schema}" CASCADE'))
        await service.stop()


async def _deliver(service: Service, envelope: Envelope) -> None:
    """Hand one event to the trainer's own subscription, in a unit of work, as its consumer."""
    event = parse_payload(envelope)
    (subscription,) = [s for s in handlers.subscriptions(service) if isinstance(event, s.event)]
    async with service.database.unit_of_work(actor="trainer", caused_by=envelope) as uow:
        await subscription.handler(envelope, event, uow)


def _envelope(event: Event) -> Envelope:
    return Envelope.wrap(event, actor="gateway", project_id="p1")


async def _run_jobs(service: Service) -> None:
    runner = JobRunner(database=service.database, table=jobs, kinds=job_kinds(service))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="divide by zero", category=RuntimeWarning)
        warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
        await runner.run_until_idle(timeout_s=240)


async def _emitted(service: Service) -> list[Event]:
    outbox = service.database.tables.outbox
    async with service.database.sessions() as session:
        rows = (await session.execute(select(outbox.c.body).order_by(outbox.c.id))).all()
    return [parse_payload(Envelope.from_bytes(row.body)) for row in rows]


async def _ledger_rows(service: Service, dataset_id: str) -> dict[str, Any]:
    async with service.database.sessions() as session:
        dataset = (
            (await session.execute(select(datasets).where(datasets.c.id == dataset_id)))
            .mappings()
            .one()
        )
        charged = (
            (await session.execute(select(ledgers).where(ledgers.c.id == dataset["ledger_id"])))
            .mappings()
            .one()
        )
        reservation = (
            (
                await session.execute(
                    select(reservations).where(reservations.c.dataset_id == dataset_id)
                )
            )
            .mappings()
            .all()
        )
        job_status = (await session.execute(select(jobs.c.id, jobs.c.status))).all()
    return {
        "dataset": {k: v for k, v in dataset.items() if k != "created_at"},
        "ledger": {k: v for k, v in charged.items() if k != "created_at"},
        "reservations": [{k: v for k, v in r.items() if k != "updated_at"} for r in reservation],
        "jobs": sorted(tuple(j) for j in job_status),
    }


async def _profiled(
    service: Service,
    dataset_id: uuid.UUID,
    *,
    target: str | None = None,
    sha256: str | None = None,
) -> None:
    table = make_table()
    kinds: dict[str, ColumnKind] = {
        "id": "identifier",
        "age": "numeric",
        "income": "numeric",
        "colour": "categorical",
        "member": "boolean",
    }
    train_key = f"datasets/{dataset_id}/train.parquet"
    sink = io.BytesIO()
    table.to_parquet(sink)
    await service.storage.put_bytes(train_key, sink.getvalue())
    columns = tuple(
        ColumnSummary(
            name=name,
            kind=kinds[name],
            missing_fraction=float(table[name].isna().mean()),
            distinct=int(table[name].nunique()),
        )
        for name in table.columns
    )
    await _deliver(
        service,
        _envelope(
            DatasetProfiled(
                dataset_id=dataset_id,
                n_rows=len(table) + HOLDOUT_ROWS,
                n_columns=len(columns),
                columns=columns,
                profile_key=f"datasets/{dataset_id}/profile.json",
                table_key=f"datasets/{dataset_id}/table.parquet",
                train_key=train_key,
                holdout_key=f"datasets/{dataset_id}/holdout.parquet",
                holdout_rows=HOLDOUT_ROWS,
                target_column=target,
                sha256=sha256,
            )
        ),
    )


async def test_the_declared_target_is_marked_in_the_trainers_dataset_row(
    trainer: Service,
) -> None:
    """aim's ``focus`` defaults to the column the dataset marks as its target."""
    with_target, without = uuid.uuid4(), uuid.uuid4()
    await _profiled(trainer, with_target, target="member")
    await _profiled(trainer, without)
    marked = (await _ledger_rows(trainer, str(with_target)))["dataset"]["columns"]
    assert [c["name"] for c in marked if c["target"]] == ["member"]
    unmarked = (await _ledger_rows(trainer, str(without)))["dataset"]["columns"]
    assert not any(c["target"] for c in unmarked)
    assert _target_column(marked) == "member"
    assert _target_column(unmarked) is None


def _one(events: list[Event], kind: type[Event]) -> Any:
    found = [e for e in events if isinstance(e, kind)]
    assert len(found) == 1, (kind.__name__, found)
    return found[0]


@pytest.mark.parametrize("accountant", ["rdp", "prv"])
async def test_training_job_charges_exactly_what_the_accountant_spent(
    trainer: Service, accountant: Literal["rdp", "prv"]
) -> None:
    dataset_id, generator_id = uuid.uuid4(), uuid.uuid4()
    await _profiled(trainer, dataset_id)
    params: dict[str, Any] = {
        **{k: list(v) if isinstance(v, tuple) else v for k, v in TINY_PARAMS.items()},
        "seed": 5,
    }
    request = _envelope(
        TrainingRequested(
            generator_id=generator_id,
            dataset_id=dataset_id,
            method="dp-ctgan",
            params=params,
            privacy=PrivacySpec(epsilon=EPSILON, delta=DELTA, accountant=accountant),
        )
    )
    await _deliver(trainer, request)
    await _run_jobs(trainer)

    events = await _emitted(trainer)
    reserved: PrivacyBudgetReserved = _one(events, PrivacyBudgetReserved)
    spent: PrivacyBudgetSpent = _one(events, PrivacyBudgetSpent)
    released: PrivacyBudgetReleased = _one(events, PrivacyBudgetReleased)
    trained: ModelTrained = _one(events, ModelTrained)
    fit = json.loads(await trainer.storage.get_bytes(privacy_report_key(str(generator_id))))
    rows = await _ledger_rows(trainer, str(dataset_id))
    total = rows["ledger"]["epsilon_total"]

    # One ε everywhere: the event, the model's report, ModelTrained and the ledger's charge.
    assert fit["accountant"] == spent.accountant == accountant
    assert spent.epsilon == fit["epsilon"] == trained.epsilon
    assert 0 < spent.epsilon <= reserved.epsilon == EPSILON
    assert (spent.noise_multiplier, spent.sample_rate, spent.steps) == (
        fit["noise_multiplier"],
        fit["sample_rate"],
        fit["steps"],
    )
    assert spent.preprocessing_epsilon == fit["preprocessing_epsilon"]
    # ...and an independent accountant agrees on the recorded mechanism.
    history = [
        (fit["preprocessing_noise_multiplier"], 1.0, 1),
        (fit["noise_multiplier"], fit["sample_rate"], fit["steps"]),
    ]
    accounting_delta = DELTA - fit["threshold_delta"]
    assert agrees_with_google(
        spent.epsilon, history=history, delta=accounting_delta, accountant=accountant
    )
    # Progress announced the accountant's running total, ending at the charge.
    progress = [e for e in events if isinstance(e, TrainingProgress)]
    assert [p.epoch for p in progress] == [1, 2]
    assert progress[-1].epsilon_spent == spent.epsilon
    assert 0 < (progress[0].epsilon_spent or 0.0) < spent.epsilon

    # Reserved - spent = released, in the events and in the ledger.
    assert released.epsilon == pytest.approx(reserved.epsilon - spent.epsilon, abs=1e-12)
    assert reserved.remaining_epsilon == pytest.approx(total - reserved.epsilon, abs=1e-12)
    assert spent.remaining_epsilon == released.remaining_epsilon
    assert spent.remaining_epsilon == pytest.approx(total - spent.epsilon, abs=1e-12)
    charged = rows["ledger"]
    assert charged["epsilon_spent"] == pytest.approx(spent.epsilon, abs=1e-12)
    assert charged["epsilon_reserved"] == pytest.approx(0.0, abs=1e-12)
    assert charged["delta_spent"] == spent.delta == DELTA
    # A dataset profiled without a file hash (a version-1 event) charges its own ledger.
    assert charged["ledger"] == f"dataset:{dataset_id}"
    assert {e.ledger for e in (reserved, spent, released)} == {charged["ledger"]}
    assert rows["reservations"] == [
        {
            "generator_id": str(generator_id),
            "dataset_id": str(dataset_id),
            "ledger_id": charged["id"],
            "epsilon": reserved.epsilon,
            "delta": DELTA,
            "status": "spent",
            "epsilon_spent": spent.epsilon,
        }
    ]
    assert rows["jobs"] == [(f"train:{generator_id}", "succeeded")]

    # Redelivered and reordered messages afterwards change nothing: the request twice, a late
    # cancellation, the final settle replayed, and a stale settle carrying epoch 1's figure.
    late_cancel = _envelope(TrainingCancelRequested(generator_id=generator_id))
    for envelope in (request, late_cancel, request):
        await _deliver(trainer, envelope)
    stale = progress[0].epsilon_spent
    assert stale is not None
    for figure in (spent.epsilon, stale, spent.epsilon):
        async with trainer.database.unit_of_work(actor="trainer") as uow:
            again = await ledger.settle(
                uow, generator_id=str(generator_id), epsilon_spent=figure, delta_spent=DELTA
            )
        assert again == 0.0
    await _run_jobs(trainer)
    assert await _ledger_rows(trainer, str(dataset_id)) == rows
    after = await _emitted(trainer)
    assert after == events
    assert len([e for e in after if isinstance(e, TrainingStarted)]) == 1


async def test_uploading_the_same_bytes_again_does_not_reset_the_budget(trainer: Service) -> None:
    """Finding 11 of issue 16: a byte-identical re-upload got a fresh budget of ε = 5."""
    first, again = uuid.uuid4(), uuid.uuid4()
    sha256 = "5e" * 32
    await _profiled(trainer, first, sha256=sha256)
    await _profiled(trainer, again, sha256=sha256)
    params: dict[str, Any] = {
        k: list(v) if isinstance(v, tuple) else v for k, v in TINY_PARAMS.items()
    }
    trained = _envelope(
        TrainingRequested(
            generator_id=uuid.uuid4(),
            dataset_id=first,
            method="dp-ctgan",
            params=params,
            privacy=PrivacySpec(epsilon=EPSILON, delta=DELTA),
        )
    )
    await _deliver(trainer, trained)
    await _run_jobs(trainer)
    spent: PrivacyBudgetSpent = _one(await _emitted(trainer), PrivacyBudgetSpent)
    assert spent.ledger == f"sha256:{sha256}"
    total = (await _ledger_rows(trainer, str(first)))["ledger"]["epsilon_total"]

    # On the re-upload, a training that needs more than what the first one left is refused...
    greedy = uuid.uuid4()
    ask = total - spent.epsilon + 0.1
    await _deliver(
        trainer,
        _envelope(
            TrainingRequested(
                generator_id=greedy,
                dataset_id=again,
                method="dp-ctgan",
                params=params,
                privacy=PrivacySpec(epsilon=ask, delta=DELTA),
            )
        ),
    )
    await _run_jobs(trainer)
    (failed,) = [e for e in await _emitted(trainer) if getattr(e, "generator_id", None) == greedy]
    assert isinstance(failed, TrainingFailed), failed
    assert failed.code == "budget_exhausted"
    assert f"ε = {total - spent.epsilon:.4g} left" in failed.message
    # ...and both datasets show the one ledger's figures.
    rows = [await _ledger_rows(trainer, str(d)) for d in (first, again)]
    assert rows[0]["ledger"] == rows[1]["ledger"]
    assert rows[0]["ledger"]["epsilon_spent"] == pytest.approx(spent.epsilon, abs=1e-12)


async def test_the_trainer_refuses_what_the_gateway_would_have_as_a_second_line(
    trainer: Service,
) -> None:
    """A request that reached the bus without the gateway's check fails with its reasons."""
    dataset_id = uuid.uuid4()
    await _profiled(trainer, dataset_id)
    cases = {
        "gan": ({}, "unknown_method", "unknown method 'gan'"),
        "dp-ctgan": ({"epochs": -5, "speed": 1}, "invalid_params", "params.epochs"),
    }
    ids = {}
    for method, (params, _, _) in cases.items():
        ids[method] = uuid.uuid4()
        await _deliver(
            trainer,
            _envelope(
                TrainingRequested(
                    generator_id=ids[method],
                    dataset_id=dataset_id,
                    method=method,
                    params=params,
                    privacy=PrivacySpec(epsilon=EPSILON, delta=DELTA),
                )
            ),
        )
    await _run_jobs(trainer)
    events = await _emitted(trainer)
    for method, (_, code, fragment) in cases.items():
        (failed,) = [e for e in events if getattr(e, "generator_id", None) == ids[method]]
        assert isinstance(failed, TrainingFailed), failed
        assert failed.code == code
        assert fragment in failed.message
        assert "Error" not in failed.message  # no exception class leaks to the user
    assert not [e for e in events if isinstance(e, PrivacyBudgetReserved)]

    # Sampling, too: conditions on a numeric column are refused before a model is loaded.
    trained = uuid.uuid4()
    async with trainer.database.unit_of_work(actor="test") as uow:
        await uow.session.execute(
            generators.insert().values(
                id=str(trained),
                dataset_id=str(dataset_id),
                project_id="p1",
                method="dp-ctgan",
                request={},
                status="succeeded",
            )
        )
    sample = GenerationRequested(
        generator_id=trained, synthetic_dataset_id=uuid.uuid4(), rows=5, conditions={"age": 30}
    )
    await _deliver(trainer, _envelope(sample))
    await _run_jobs(trainer)
    (refused,) = [e for e in await _emitted(trainer) if isinstance(e, GenerationFailed)]
    assert refused.code == "invalid_conditions"
    assert "'age' is numeric" in refused.message
