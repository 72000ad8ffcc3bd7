"""``Database.reads``: on SQLite a read does not wait for the write lock; writes still take it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, event, insert, select

from sds_common.db import Database, create_engine


def _database(tmp_path: Path) -> tuple[Database, Table]:
    metadata = MetaData()
    table = Table("things", metadata, Column("id", Integer, primary_key=True))
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    return Database(engine=engine, metadata=metadata), table


async def test_a_read_goes_ahead_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    database, table = _database(tmp_path)
    try:
        await database.create_all()
        async with database.unit_of_work(actor="test") as uow:
            await uow.session.execute(insert(table).values(id=1))
            # The writer's transaction is open: a read must neither wait for it nor see it.
            async with asyncio.timeout(5):
                async with database.reads() as session:
                    seen = (await session.scalars(select(table.c.id))).all()
            assert seen == []
        async with database.reads() as session:
            assert (await session.scalars(select(table.c.id))).all() == [1]
    finally:
        await database.dispose()


async def test_reads_begin_deferred_and_other_sessions_immediate(tmp_path: Path) -> None:
    database, table = _database(tmp_path)
    begun: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("BEGIN"):
            begun.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        await database.create_all()
        begun.clear()
        async with database.reads() as session:
            await session.execute(select(table.c.id))
        async with database.sessions() as session:
            await session.execute(select(table.c.id))
        async with database.unit_of_work(actor="test") as uow:
            await uow.session.execute(insert(table).values(id=2))
    finally:
        await database.dispose()
    assert begun == ["BEGIN", "BEGIN IMMEDIATE", "BEGIN IMMEDIATE"]
