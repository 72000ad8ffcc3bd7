"""The trainer's budgets move from dataset rows to ledgers without losing a figure.

Before revision 0003_ledgers each dataset row held its own budget; after it, each existing
dataset charges a ledger of its own (``dataset:<id>``) holding exactly those figures, and its
reservations point at it, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

import sds_trainer.adapters.orm as trainer_orm
from sds_common.db import Database, create_engine
from sds_common.db.migrations import upgrade
from sds_trainer.adapters import ledger
from sds_trainer.adapters.orm import datasets, ledgers, reservations

MIGRATIONS = Path(trainer_orm.__file__).parent / "migrations"
OLD = "e0000000-0000-0000-0000-000000000001"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(
    request: pytest.FixtureRequest, tmp_path: Path, unique_name: str
) -> AsyncIterator[tuple[AsyncEngine, str | None]]:
    schema: str | None = None
    if request.param == "postgres":
        dsn: str = request.getfixturevalue("postgres_dsn")
        url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
        schema = f"trainer_{unique_name}"
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'trainer.sqlite'}"
    built = create_engine(url, schema=schema)
    try:
        yield built, schema
    finally:
        if schema is not None:
            async with built.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await built.dispose()


async def test_each_dataset_keeps_its_figures_in_a_ledger_of_its_own(
    engine: tuple[AsyncEngine, str | None],
) -> None:
    built, schema = engine
    await upgrade(built, script_location=MIGRATIONS, schema=schema, revision="0002")
    async with built.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO datasets (id, project_id, status, train_key, train_rows, columns, "
                "epsilon_total, delta_total, epsilon_reserved, epsilon_spent, delta_spent) "
                "VALUES (:id, 'p1', 'ready', 'k', 500, '[]', 5.0, 1.0, 0.5, 1.25, 1e-6)"
            ),
            {"id": OLD},
        )
        await conn.execute(
            text(
                "INSERT INTO budget_reservations (generator_id, dataset_id, epsilon, delta, "
                "status) VALUES ('g1', :id, 0.5, 1e-6, 'reserved')"
            ),
            {"id": OLD},
        )
    await upgrade(built, script_location=MIGRATIONS, schema=schema)

    db = Database(engine=built, metadata=trainer_orm.metadata)
    async with db.unit_of_work(actor="test") as uow:
        row = (await uow.session.execute(select(ledgers))).mappings().one()
        assert row["id"] == OLD
        assert row["ledger"] == f"dataset:{OLD}"
        assert (row["project_id"], row["epsilon_total"], row["delta_total"]) == ("p1", 5.0, 1.0)
        assert (row["epsilon_reserved"], row["epsilon_spent"]) == (0.5, 1.25)
        assert row["delta_spent"] == pytest.approx(1e-6)
        assert (
            await uow.session.execute(select(datasets.c.ledger_id).where(datasets.c.id == OLD))
        ).scalar_one() == OLD
        assert (await uow.session.execute(select(reservations.c.ledger_id))).scalar_one() == OLD
        assert await ledger.remaining(uow, OLD) == pytest.approx(5.0 - 0.5 - 1.25)
        # The reservation made before the migration settles on the migrated ledger.
        released = await ledger.settle(uow, generator_id="g1", epsilon_spent=0.25, delta_spent=0)
        assert released == pytest.approx(0.25)
        assert await ledger.remaining(uow, OLD) == pytest.approx(5.0 - 1.5)
