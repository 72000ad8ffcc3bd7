"""A pooled PostgreSQL connection is pinged only after it idled, and replaced if it died."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from sds_common.db import create_engine


def _asyncpg(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("select pg_backend_pid()"))).scalar_one())


@asynccontextmanager
async def _counted_engine(
    dsn: str, monkeypatch: pytest.MonkeyPatch, *, idle_ping_s: float
) -> AsyncIterator[tuple[AsyncEngine, list[int]]]:
    """An engine on ``dsn`` whose pings are counted (one entry each), disposed on exit."""
    engine = create_engine(_asyncpg(dsn), idle_ping_s=idle_ping_s)
    pings: list[int] = []
    original = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return bool(original(dbapi_connection))

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    try:
        yield engine, pings
    finally:
        await engine.dispose()


async def _terminate(dsn: str, pid: int) -> None:
    admin = create_engine(_asyncpg(dsn))
    try:
        async with admin.connect() as conn:
            killed = (await conn.execute(text(f"select pg_terminate_backend({pid})"))).scalar()
            assert killed is True
    finally:
        await admin.dispose()


async def test_a_connection_killed_while_idle_is_replaced(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _counted_engine(postgres_dsn, monkeypatch, idle_ping_s=0.0) as (engine, pings):
        before = await _backend_pid(engine)
        assert pings == []  # a fresh connection is not pinged
        await _terminate(postgres_dsn, before)
        # The pooled connection is dead; the ping on checkout finds it and the pool reconnects.
        after = await _backend_pid(engine)
        assert after != before
        assert pings == [1]


async def test_a_connection_in_steady_use_is_not_pinged(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _counted_engine(postgres_dsn, monkeypatch, idle_ping_s=3600.0) as (engine, pings):
        first = await _backend_pid(engine)
        second = await _backend_pid(engine)
        assert first == second  # the same pooled connection
        assert pings == []  # not pinged before the second use
        await _terminate(postgres_dsn, first)
        # Without a ping the dead connection surfaces as an error once, then is replaced.
        with pytest.raises(DBAPIError) as raised:
            await _backend_pid(engine)
        assert raised.value.connection_invalidated
        assert await _backend_pid(engine) != first
