"""The privacy-budget ledger under concurrency, on the trainer's real (migrated) tables.

Twenty trainings race for one ledger's budget, each in its own unit of work on its own
connection; then reservations are settled and released concurrently, with redelivered (duplicate)
settles in shuffled order. The ledger row must never go over its total, and the final figures must
be exactly what was charged once. The racers train on one dataset, or on two uploads that share
the ledger (the same bytes uploaded twice, finding 11 of issue 16: a re-upload had a fresh budget).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, text

import sds_trainer.adapters.orm as trainer_orm
from sds_common.db import Database, create_engine
from sds_common.db.migrations import upgrade
from sds_trainer.adapters import ledger
from sds_trainer.adapters.orm import datasets, ledgers, reservations

MIGRATIONS = Path(trainer_orm.__file__).parent / "migrations"
DATASET = "d0000000-0000-0000-0000-000000000001"
#: A second upload of the same bytes, in the same project.
TWIN = "d0000000-0000-0000-0000-000000000002"
SHA256 = "ab" * 32
TOTAL = 5.0
ASK = 0.6
RACERS = 20  # also the PostgreSQL pool's limit (10 + 10 overflow): every racer holds a connection
TOL = 1e-9


@dataclass
class Ledger:
    db: Database
    # PostgreSQL only: hold every transaction open at a barrier so all racers read before any
    # writes. SQLite serialises whole transactions (BEGIN IMMEDIATE), so a barrier would deadlock.
    overlap: bool
    url: str
    schema: str | None


async def _profiled(
    db: Database, dataset_id: str, *, sha256: str | None = SHA256, source: str | None = None
) -> str:
    """Record a dataset as the trainer's DatasetProfiled handler does; return its ledger id."""
    async with db.unit_of_work(actor="test") as uow:
        charged = await ledger.open_for_upload(
            uow,
            project_id="p1",
            dataset_id=dataset_id,
            source=source,
            sha256=sha256,
            epsilon_total=TOTAL,
        )
        await uow.session.execute(
            datasets.insert().values(
                id=dataset_id,
                project_id="p1",
                status="ready",
                train_key=f"datasets/{dataset_id}/train.parquet",
                train_rows=10_000,
                columns=[],
                ledger_id=charged.id,
            )
        )
    return charged.id


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def ledger_db(
    request: pytest.FixtureRequest, tmp_path: Path, unique_name: str
) -> AsyncIterator[Ledger]:
    schema: str | None = None
    if request.param == "postgres":
        dsn: str = request.getfixturevalue("postgres_dsn")
        url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
        schema = f"trainer_{unique_name}"
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'trainer.sqlite'}"
    engine = create_engine(url, schema=schema)
    try:
        await upgrade(engine, script_location=MIGRATIONS, schema=schema)
        db = Database(engine=engine, metadata=trainer_orm.metadata)
        await _profiled(db, DATASET)
        yield Ledger(db=db, overlap=schema is not None, url=url, schema=schema)
    finally:
        if schema is not None:
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()


async def _row(db: Database) -> tuple[float, float, float]:
    """The figures of the ledger DATASET charges."""
    async with db.unit_of_work(actor="test") as uow:
        row = (
            await uow.session.execute(
                select(ledgers.c.epsilon_spent, ledgers.c.epsilon_reserved, ledgers.c.delta_spent)
                .select_from(datasets.join(ledgers, ledgers.c.id == datasets.c.ledger_id))
                .where(datasets.c.id == DATASET)
            )
        ).one()
    return float(row.epsilon_spent), float(row.epsilon_reserved), float(row.delta_spent)


def _gen(i: int) -> str:
    return f"g0000000-0000-0000-0000-{i:012d}"


@pytest.mark.parametrize("uploads", [1, 2], ids=["one-dataset", "two-uploads-one-ledger"])
async def test_concurrent_reservations_never_overspend_and_settles_charge_once(
    ledger_db: Ledger, uploads: int
) -> None:
    db = ledger_db.db
    # With two uploads of the same bytes, the racers alternate between them: one budget still.
    racing = [DATASET, TWIN][:uploads]
    if uploads == 2:
        assert await _profiled(db, TWIN) == await _ledger_of(db, DATASET)
    barrier = asyncio.Barrier(RACERS)
    watching = True
    seen_over_total: list[float] = []

    async def reserve(i: int) -> bool:
        async with db.unit_of_work(actor="trainer") as uow:
            if ledger_db.overlap:
                await uow.session.execute(text("SELECT 1"))  # holds a connection, in a txn
                await barrier.wait()
            try:
                await ledger.reserve(
                    uow,
                    dataset_id=racing[i % len(racing)],
                    generator_id=_gen(i),
                    epsilon=ASK,
                    delta=1e-6,
                )
            except ledger.BudgetExhaustedError:
                return False
        return True

    async def watch() -> None:
        # A separate engine so the watcher never takes a racer's pooled connection.
        while watching:
            spent, reserved, _ = await _row(watcher)
            if spent + reserved > TOTAL + TOL:
                seen_over_total.append(spent + reserved)
            await asyncio.sleep(0.005)

    watcher = Database(
        engine=create_engine(ledger_db.url, schema=ledger_db.schema), metadata=trainer_orm.metadata
    )
    try:
        watch_task = asyncio.create_task(watch())
        outcomes = await asyncio.gather(*(reserve(i) for i in range(RACERS)))
        watching = False
        await watch_task
    finally:
        await watcher.dispose()

    winners = [i for i, ok in enumerate(outcomes) if ok]
    assert len(winners) == 8
    assert outcomes.count(False) == 12
    assert seen_over_total == []
    spent, reserved, _ = await _row(db)
    assert spent == 0.0
    assert reserved == pytest.approx(8 * ASK, abs=TOL)
    assert spent + reserved <= TOTAL + TOL

    # Settle five (each spends less than it reserved), release three; redeliver some of each.
    charges = dict(zip(winners[:5], [0.5, 0.25, 0.4, 0.1, 0.55], strict=True))
    releases = winners[5:]
    calls = list(charges.items()) + [(i, 0.0) for i in releases]
    calls += [(winners[0], 0.5), (winners[1], 0.25), (winners[2], 0.4), (releases[0], 0.0)]
    calls += [(winners[0], 0.5), (next(i for i in range(RACERS) if i not in winners), 0.3)]
    random.Random(7).shuffle(calls)
    settle_barrier = asyncio.Barrier(len(calls))

    async def settle(i: int, eps: float) -> float:
        async with db.unit_of_work(actor="trainer") as uow:
            if ledger_db.overlap:
                await uow.session.execute(text("SELECT 1"))
                await settle_barrier.wait()
            return await ledger.settle(
                uow, generator_id=_gen(i), epsilon_spent=eps, delta_spent=1e-6 if eps else 0.0
            )

    released = await asyncio.gather(*(settle(i, eps) for i, eps in calls))

    spent, reserved, delta_spent = await _row(db)
    assert spent == pytest.approx(sum(charges.values()), abs=TOL)
    assert reserved == pytest.approx(0.0, abs=TOL)
    assert delta_spent == pytest.approx(len(charges) * 1e-6, abs=1e-15)
    assert sum(released) == pytest.approx(
        sum(ASK - eps for eps in charges.values()) + len(releases) * ASK, abs=TOL
    )
    async with db.unit_of_work(actor="test") as uow:
        rows = {
            r.generator_id: (r.status, r.epsilon_spent)
            for r in await uow.session.execute(select(reservations))
        }
        left = await ledger.remaining(uow, DATASET)
        left_of_twin = await ledger.remaining(uow, racing[-1])
    assert left_of_twin == left
    assert rows == {
        **{_gen(i): ("spent", pytest.approx(eps)) for i, eps in charges.items()},
        **{_gen(i): ("released", 0.0) for i in releases},
    }
    assert left == pytest.approx(TOTAL - sum(charges.values()), abs=TOL)


async def _ledger_of(db: Database, dataset_id: str) -> str:
    async with db.unit_of_work(actor="test") as uow:
        return (await ledger.of_dataset(uow, dataset_id)).id


async def test_a_file_keeps_its_first_ledger_whatever_source_a_later_upload_names(
    ledger_db: Ledger,
) -> None:
    db = ledger_db.db
    first = await _ledger_of(db, DATASET)
    relabelled = await _profiled(db, TWIN, source="a new label")
    assert relabelled == first  # the same bytes: a label does not open a fresh budget
    extract = await _profiled(db, "d0000000-0000-0000-0000-000000000003", sha256="cd" * 32)
    assert extract != first  # other bytes, no source: a ledger of their own
    linked = [
        await _profiled(db, f"d0000000-0000-0000-0000-00000000001{i}", sha256=h, source="cohort")
        for i, h in enumerate(("ef" * 32, "01" * 32))
    ]
    assert linked[0] == linked[1] != first  # two extracts the owner labelled as one population
    async with db.unit_of_work(actor="test") as uow:
        names = {r.id: r.ledger for r in await uow.session.execute(select(ledgers))}
    assert names[first] == f"sha256:{SHA256}"
    assert names[linked[0]] == "source:cohort"
    assert len(names) == 3
