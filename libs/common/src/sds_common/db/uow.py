"""The unit of work: one transaction, the state change and its outgoing messages together."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData, Select, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sds_common.db.engine import READ_ONLY_OPTION, sqlite_file
from sds_common.db.inline import InlineReader, InlineReadError
from sds_common.db.messaging import MessagingTables, add_messaging_tables
from sds_common.events.base import Envelope, Event
from sds_common.telemetry.tracing import inject_trace_headers


def encode_headers(headers: Sequence[tuple[str, bytes]]) -> list[list[str]]:
    """Headers as JSON-safe pairs (values base64, since Kafka header values are bytes)."""
    return [[name, base64.b64encode(value).decode()] for name, value in headers]


def decode_headers(raw: Sequence[Sequence[str]]) -> list[tuple[str, bytes]]:
    """Inverse of ``encode_headers``."""
    return [(name, base64.b64decode(value)) for name, value in raw]


class UnitOfWork:
    """A session in a transaction plus an outbox writer bound to it.

    Handlers and routes change state through ``session`` and announce facts with ``emit``; they
    never commit. The owner of the unit of work commits, and only then may the relay publish.
    """

    def __init__(
        self,
        *,
        session: AsyncSession,
        tables: MessagingTables,
        actor: str,
        topic_name: Callable[[str], str],
        caused_by: Envelope | None = None,
    ) -> None:
        self.session = session
        self.actor = actor
        self.caused_by = caused_by
        self._tables = tables
        self._topic_name = topic_name
        self.emitted: list[Envelope] = []
        self._pending: list[dict[str, Any]] = []
        self._dirty_outbox = False

    async def emit(
        self,
        event: Event,
        *,
        correlation_id: str | None = None,
        project_id: str | None = None,
    ) -> Envelope:
        """Record ``event`` for publication when this transaction commits.

        The envelope inherits correlation and project from the event being handled, if any.
        """
        envelope = Envelope.wrap(
            event,
            actor=self.actor,
            correlation_id=correlation_id,
            project_id=project_id,
            caused_by=self.caused_by,
        )
        await self.add_raw(
            topic=self._topic_name(event.topic),
            key=envelope.key,
            headers=inject_trace_headers(envelope.header_items()),
            body=envelope.to_bytes(),
        )
        self.emitted.append(envelope)
        return envelope

    async def add_raw(
        self, *, topic: str, key: str | None, headers: Sequence[tuple[str, bytes]], body: bytes
    ) -> None:
        """Queue an arbitrary message (physical topic) in the outbox, e.g. a dead letter."""
        self._pending.append(
            {"topic": topic, "key": key, "headers": encode_headers(headers), "body": body}
        )
        self._dirty_outbox = True

    async def flush_outbox(self) -> None:
        """Write the queued messages to the outbox now, in emit order, in one statement.

        The unit of work calls this just before it commits. Messages are buffered until then
        because one multi-row insert costs about as much as a single-row one (see
        ``benchmarks/bus.py``); call it earlier only to read the rows back in the transaction.
        """
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        # A list of parameter sets is an executemany, which SQLAlchemy sends as multi-row
        # INSERTs (in list order, so ids, and therefore publication order, follow emit order).
        # On the session's connection (Core): the outbox is a plain table, and the ORM's
        # execute path cost more than the insert itself.
        connection = await self.session.connection()
        await connection.execute(insert(self._tables.outbox), rows)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Run the block in a SAVEPOINT: if it raises, its writes and its events are undone.

        The exception propagates; the transaction around it stays usable.
        """
        pending, emitted = len(self._pending), len(self.emitted)
        try:
            async with self.session.begin_nested():
                yield
        except BaseException:
            del self._pending[pending:]
            del self.emitted[emitted:]
            raise

    @property
    def wrote_outbox(self) -> bool:
        """Whether this unit of work queued any message."""
        return self._dirty_outbox


class Database:
    """A service's engine, session factories and messaging tables.

    ``sessions`` opens sessions for any work (``unit_of_work`` for writes); ``reads`` opens
    sessions for reads only, which on SQLite run in a deferred transaction (see
    ``create_engine``). A ``reads`` session that writes may fail with "database is locked".
    ``fetch_one`` runs one read statement without a session: the hot path of a GET.

    Args:
        engine: the async engine (see ``create_engine``).
        metadata: the service's metadata; ``outbox``/``inbox`` are added to it.
        topic_name: maps a logical topic to its physical name (``Settings.topic``).
        inline_reads: let ``fetch_one`` read a file-backed SQLite database inline on the event
            loop (see ``sds_common.db.inline``); off, it always goes through ``engine``.
    """

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        metadata: MetaData,
        topic_name: Callable[[str], str] = lambda name: name,
        inline_reads: bool = True,
    ) -> None:
        self.engine = engine
        path = sqlite_file(engine) if inline_reads else None
        self.inline = InlineReader(path) if path is not None else None
        self.metadata = metadata
        self.tables = add_messaging_tables(metadata)
        self.topic_name = topic_name
        self.sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        # Only for sessions that never write: on SQLite a read then does not queue behind (or
        # block) the writers for the database's single write lock; on PostgreSQL it is the same
        # as ``sessions``.
        self._read_engine = engine.execution_options(**{READ_ONLY_OPTION: True})
        self.reads = async_sessionmaker(self._read_engine, expire_on_commit=False, autoflush=False)
        self._outbox_listeners: list[Callable[[], Any]] = []

    async def fetch_one(
        self, statement: Select[Any], params: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any] | None:
        """Run one SELECT in a snapshot of its own; return its first row, if any.

        On a SQLite file the statement runs inline, with no thread hand-off (see
        ``sds_common.db.inline``); when it cannot (a busy database, another thread), and on any
        other database, it runs on a pooled connection of ``engine`` (Core, no ORM session).
        Either way the row holds what SQLAlchemy would return. A hot path passes a statement
        built once, with ``bindparam``s whose values come in ``params``: building a statement
        costs more than running it, and the inline reader compiles each statement once.
        """
        if self.inline is not None:
            try:
                return self.inline.fetch_one(statement, params)
            except InlineReadError:
                pass
        async with self._read_engine.connect() as conn:
            row = (await conn.execute(statement, params)).mappings().first()
        return None if row is None else dict(row)

    def on_outbox_write(self, listener: Callable[[], Any]) -> None:
        """Call ``listener`` after each commit that queued messages (wakes the relay)."""
        self._outbox_listeners.append(listener)

    def notify_outbox(self) -> None:
        """Tell listeners that committed outbox rows are waiting."""
        for listener in self._outbox_listeners:
            listener()

    @asynccontextmanager
    async def unit_of_work(
        self, *, actor: str, caused_by: Envelope | None = None
    ) -> AsyncIterator[UnitOfWork]:
        """Open a transaction; commit when the block succeeds, roll back when it raises."""
        async with self.sessions() as session, session.begin():
            uow = UnitOfWork(
                session=session,
                tables=self.tables,
                actor=actor,
                topic_name=self.topic_name,
                caused_by=caused_by,
            )
            yield uow
            await uow.flush_outbox()
        if uow.wrote_outbox:
            self.notify_outbox()

    async def create_all(self) -> None:
        """Create every table of the metadata without migrations (tests of the bus only)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(self.metadata.create_all)

    async def dispose(self) -> None:
        """Close the pools."""
        await self.engine.dispose()
        if self.inline is not None:
            self.inline.close()
