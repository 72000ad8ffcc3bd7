"""``Database.fetch_one``: inline SQLite reads return what SQLAlchemy returns, see committed
writes at once, and fall back to the asynchronous engine whenever they cannot run inline."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    update,
)

from sds_common.db import Database, create_engine
from sds_common.db.inline import InlineReader, InlineReadError

METADATA = MetaData()
THINGS = Table(
    "things",
    METADATA,
    Column("id", String(36), primary_key=True),
    Column("n", Integer),
    Column("x", Float),
    Column("doc", JSON),
    Column("at", DateTime),
)
BY_ID = select(THINGS, THINGS.c.n.label("again")).where(THINGS.c.id == bindparam("id"))
ROW = {
    "id": "a",
    "n": 3,
    "x": 0.5,
    "doc": {"columns": [{"name": "age", "kind": "numeric"}], "none": None},
    "at": datetime(2026, 12, 7, 1, 2, 3, 456789),  # noqa: DTZ001 - SQLite returns naive ones
}


async def _database(tmp_path: Path, *, inline_reads: bool = True) -> Database:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    database = Database(engine=engine, metadata=METADATA, inline_reads=inline_reads)
    await database.create_all()
    async with database.unit_of_work(actor="test") as uow:
        await uow.session.execute(insert(THINGS).values(**ROW))
        await uow.session.execute(insert(THINGS).values(id="b", n=None, doc=None, at=None))
    return database


async def test_inline_rows_equal_the_engines_rows(tmp_path: Path) -> None:
    database = await _database(tmp_path)
    plain = Database(engine=database.engine, metadata=MetaData(), inline_reads=False)
    try:
        assert database.inline is not None
        assert plain.inline is None
        for key in ("a", "b", "missing"):
            inline = await database.fetch_one(BY_ID, {"id": key})
            engine = await plain.fetch_one(BY_ID, {"id": key})
            assert inline == engine
            if inline is not None:
                assert {k: type(v) for k, v in inline.items()} == {
                    k: type(v) for k, v in (engine or {}).items()
                }
        first = await database.fetch_one(BY_ID, {"id": "a"})
        assert first == {**ROW, "again": 3}
        assert isinstance(first["at"], datetime)
    finally:
        await database.dispose()


async def test_an_inline_read_sees_the_last_commit(tmp_path: Path) -> None:
    database = await _database(tmp_path)
    try:
        assert (await database.fetch_one(BY_ID, {"id": "a"}) or {})["n"] == 3
        async with database.unit_of_work(actor="test") as uow:
            await uow.session.execute(update(THINGS).where(THINGS.c.id == "a").values(n=4))
            # Not committed yet: the inline snapshot must not see it.
            assert (await database.fetch_one(BY_ID, {"id": "a"}) or {})["n"] == 3
        assert (await database.fetch_one(BY_ID, {"id": "a"}) or {})["n"] == 4
    finally:
        await database.dispose()


async def test_a_busy_database_is_read_the_asynchronous_way(tmp_path: Path) -> None:
    database = await _database(tmp_path)
    # An exclusive lock in rollback-journal terms: a WAL reader gets SQLITE_BUSY at once.
    blocker = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
    try:
        assert database.inline is not None
        await database.engine.dispose()  # its pooled connections would keep the lock away
        blocker.execute("PRAGMA locking_mode=EXCLUSIVE")
        blocker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(InlineReadError):
            database.inline.fetch_one(BY_ID, {"id": "a"})

        async def release_soon() -> None:
            await asyncio.sleep(0.2)
            blocker.close()  # drops the exclusive lock

        releasing = asyncio.create_task(release_soon())
        # Falls back to the engine, which waits (busy timeout) off the loop, then answers.
        row = await asyncio.wait_for(database.fetch_one(BY_ID, {"id": "a"}), timeout=10)
        await releasing
        assert row is not None
        assert row["n"] == 3
    finally:
        blocker.close()
        await database.dispose()


async def test_another_thread_reads_the_asynchronous_way(tmp_path: Path) -> None:
    database = await _database(tmp_path)
    try:
        assert database.inline is not None
        assert database.inline.fetch_one(BY_ID, {"id": "a"}) is not None  # opened here
        with pytest.raises(InlineReadError, match="another thread"):
            await asyncio.to_thread(database.inline.fetch_one, BY_ID, {"id": "a"})
    finally:
        await database.dispose()


def test_the_inline_connection_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE things (id TEXT PRIMARY KEY)")
    reader = InlineReader(str(path))
    try:
        assert reader.fetch_one(select(THINGS.c.id).where(THINGS.c.id == "x")) is None
        connection = reader._connect()
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            connection.execute("INSERT INTO things (id) VALUES ('x')")
    finally:
        reader.close()


def test_expanding_binds_are_refused_inline(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    sqlite3.connect(path).close()
    reader = InlineReader(str(path))
    with pytest.raises(InlineReadError):
        reader.fetch_one(select(THINGS.c.id).where(THINGS.c.id.in_(["a", "b"])))


async def test_in_memory_sqlite_never_reads_inline() -> None:
    database = Database(engine=create_engine("sqlite+aiosqlite://"), metadata=MetaData())
    try:
        assert database.inline is None
    finally:
        await database.dispose()


def test_a_missing_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "not yet migrated.sqlite"
    reader = InlineReader(str(path))
    with pytest.raises(InlineReadError):
        reader.fetch_one(select(THINGS.c.id))
    assert not path.exists()
