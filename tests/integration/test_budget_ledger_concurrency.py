"""The privacy-budget ledger under concurrency, on the trainer's real (migrated) tables.

Twenty trainings race for one dataset's budget, each in its own unit of work on its own
connection; then reservations are settled and released concurrently, with redelivered (duplicate)
settles in shuffled order. The dataset row must never go over its total, and the final figures must
be exactly what was charged once.
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
from sds_trainer.adapters.orm import datasets, reservations

MIGRATIONS = Path(trainer_orm.__file__).parent / "migrations"
DATASET = "d0000000-0000-0000-0000-000000000001"
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
        async with db.unit_of_work(actor="test") as uow:
            await uow.session.execute(
                datasets.insert().values(
                    id=DATASET,
                    project_id="p1",
                    status="ready",
                    train_key="datasets/d/train.parquet",
                    train_rows=10_000,
                    columns=[],
                    epsilon_total=TOTAL,
                    delta_total=1e-5,
                    epsilon_reserved=0.0,
                    epsilon_spent=0.0,
                    delta_spent=0.0,
                )
            )
        yield Ledger(db=db, overlap=schema is not None, url=url, schema=schema)
    finally:
        if schema is not None:
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()


async def _row(db: Database) -> tuple[float, float, float]:
    async with db.unit_of_work(actor="test") as uow:
        row = (
            await uow.session.execute(
                select(
                    datasets.c.epsilon_spent, datasets.c.epsilon_reserved, datasets.c.delta_spent
                ).where(datasets.c.id == DATASET)
            )
        ).one()
    return float(row.epsilon_spent), float(row.epsilon_reserved), float(row.delta_spent)


def _gen(i: int) -> str:
    return f"g0000000-0000-0000-0000-{i:012d}"


async def test_concurrent_reservations_never_overspend_and_settles_charge_once(
    ledger_db: Ledger,
) -> None:
    db = ledger_db.db
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
                    uow, dataset_id=DATASET, generator_id=_gen(i), epsilon=ASK, delta=1e-6
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
    assert rows == {
        **{_gen(i): ("spent", pytest.approx(eps)) for i, eps in charges.items()},
        **{_gen(i): ("released", 0.0) for i in releases},
    }
    assert left == pytest.approx(TOTAL - sum(charges.values()), abs=TOL)
