"""The consumer's inbox: one row per (handler, event) pair handled, so each pair runs once.

A pair is claimed by inserting its row with ``ON CONFLICT DO NOTHING`` in the transaction that
applies it: the rows that come back are the pairs not handled before, and a rollback releases
the claims together with the handlers' writes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy import String, TextClause, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from sds_common.db.uow import Database


class Inbox:
    """Claims on the inbox table of ``database`` (see the module docstring)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def claim(
        self, session: AsyncSession, pairs: Sequence[tuple[str, str]], *, outcome: str = "handled"
    ) -> set[tuple[str, str]]:
        """Insert inbox rows; return the pairs that were not there before."""
        if not pairs:
            return set()
        if self._database.engine.dialect.name == "postgresql":
            # Two array parameters: per-row parameter processing of an executemany cost more
            # CPU than the insert cost PostgreSQL (``benchmarks/audit.py``).
            result = await session.execute(
                self._arrays_statement,
                {
                    "handlers": [h for h, _ in pairs],
                    "event_ids": [e for _, e in pairs],
                    "outcome": outcome,
                },
            )
            return {(row.handler, row.event_id) for row in result}
        # One parameter set per row (an executemany, sent as multi-row INSERTs with RETURNING)
        # rather than one statement with the rows in its VALUES clause: the statement stays the
        # same whatever the batch size, so SQLAlchemy compiles it once instead of per batch.
        rows = [{"handler": h, "event_id": e, "outcome": outcome} for h, e in pairs]
        result = await session.execute(self._statement, rows)
        return {(row.handler, row.event_id) for row in result}

    @functools.cached_property
    def _arrays_statement(self) -> TextClause:
        inbox = self._database.tables.inbox
        # Only the table's own name goes into the text; the values are bound. A pair twice in
        # the arrays (a redelivery within one fetch) is inserted once: DO NOTHING skips the
        # second copy, as it skips pairs already there.
        return text(
            f"INSERT INTO {inbox.name} (handler, event_id, outcome) "  # noqa: S608
            "SELECT handler, event_id, :outcome "
            "FROM unnest(:handlers, :event_ids) AS claimed(handler, event_id) "
            "ON CONFLICT (handler, event_id) DO NOTHING RETURNING handler, event_id"
        ).bindparams(
            bindparam("handlers", type_=postgresql.ARRAY(String)),
            bindparam("event_ids", type_=postgresql.ARRAY(String)),
            bindparam("outcome", type_=String),
        )

    @functools.cached_property
    def _statement(self) -> ReturningInsert[str, str]:
        inbox = self._database.tables.inbox
        dialect = postgresql if self._database.engine.dialect.name == "postgresql" else sqlite
        statement: ReturningInsert[str, str] = (
            dialect.insert(inbox)
            .on_conflict_do_nothing(index_elements=["handler", "event_id"])
            .returning(inbox.c.handler, inbox.c.event_id)
        )
        return statement


def take(fresh: set[tuple[str, str]], pair: tuple[str, str]) -> bool:
    """Whether ``pair`` was newly claimed; a second copy of it in the same batch gets False."""
    if pair in fresh:
        fresh.discard(pair)
        return True
    return False
