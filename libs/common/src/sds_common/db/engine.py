"""Async engines for PostgreSQL (asyncpg) and SQLite (aiosqlite) with the same behaviour.

SQLite's Python driver opens transactions lazily and breaks SAVEPOINT; the hooks below make it
emit a real ``BEGIN`` so both databases give the unit of work the same transactional semantics.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: Execution option of connections that only read (see ``Database.reads``): on SQLite their
#: transaction is a plain deferred ``BEGIN``, so it neither waits for the write lock nor holds it.
READ_ONLY_OPTION = "sds_read_only"
#: A pooled PostgreSQL connection idle for longer than this is pinged before it is handed out.
#: SQLAlchemy's ``pool_pre_ping`` pings on EVERY checkout, which on asyncpg is three round trips
#: (BEGIN, a query, ROLLBACK) before each transaction: it doubled the round trips of a one-insert
#: unit of work and drove the bus's latency tail (``make bench-bus``). A connection in steady
#: use is known to work; one that idled (a database restart, a proxy's idle timeout) is checked.
IDLE_PING_S = 10.0
_IDLE_SINCE = "sds_idle_since"


def sqlite_file(engine: AsyncEngine) -> str | None:
    """The file of a file-backed SQLite ``engine``; None for PostgreSQL or in-memory SQLite."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return url.database


def is_sqlite(url: str) -> bool:
    """Return whether ``url`` points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(
    url: str, *, schema: str | None = None, echo: bool = False, idle_ping_s: float = IDLE_PING_S
) -> AsyncEngine:
    """Create an async engine.

    Args:
        url: SQLAlchemy URL (``postgresql+asyncpg://`` or ``sqlite+aiosqlite:///``).
        schema: PostgreSQL schema the service owns; becomes the connection's ``search_path``.
            Ignored on SQLite, where each service has its own file.
        echo: log SQL.
        idle_ping_s: PostgreSQL: a pooled connection idle for longer is pinged before use, and
            replaced if the ping fails (see :data:`IDLE_PING_S`).

    Returns:
        The engine. The schema itself is created by migrations (``ensure_schema``).
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
        engine = create_async_engine(url, **kwargs)
        _install_sqlite_hooks(engine)
        return engine
    if schema is not None:
        if not _SCHEMA_RE.match(schema):
            raise ValueError(f"invalid schema name {schema!r}")
        kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
    kwargs.update(pool_size=10, max_overflow=10)
    engine = create_async_engine(url, **kwargs)
    _install_idle_ping(engine, idle_s=idle_ping_s)
    return engine


def _install_idle_ping(engine: AsyncEngine, *, idle_s: float) -> None:
    """Ping a pooled connection before use only when it has been idle for ``idle_s``.

    A failed ping raises ``DisconnectionError``, on which the pool discards the connection and
    checks out another (SQLAlchemy's documented pessimistic-disconnect pattern). A connection
    that breaks while in steady use fails its statement once and is invalidated; callers retry
    (consumers by their bounded retries).
    """
    sync_engine = engine.sync_engine
    dialect = engine.dialect

    @event.listens_for(sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < idle_s:
            return  # just connected, or in steady use
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError(f"stale pooled connection: {error}") from error


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY_OPTION):
            # A reader in WAL mode sees a consistent snapshot without any lock writers wait on.
            conn.exec_driver_sql("BEGIN")
            return
        # IMMEDIATE takes the write lock up front: two writers never deadlock on lock upgrade,
        # and conditional updates (budget reservations) are serialised like on PostgreSQL.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


async def ensure_schema(engine: AsyncEngine, schema: str | None) -> None:
    """Create the service's PostgreSQL schema if it is missing (no-op on SQLite)."""
    if schema is None or engine.dialect.name == "sqlite":
        return
    if not _SCHEMA_RE.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
