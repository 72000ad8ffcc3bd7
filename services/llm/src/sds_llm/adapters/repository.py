"""Reads and writes of the llm service's own tables (facts from events, token usage)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from sds_common.db import Database
from sds_llm.adapters.orm import (
    datasets,
    deleted_accounts,
    evaluations,
    project_members,
    token_usage,
)

LEDGER_ACTOR = "llm"


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def upsert(session: AsyncSession, *, table: str, key: str, values: Mapping[str, Any]) -> None:
    """Insert or replace one fact row (a redelivered event rewrites the same row)."""
    target = {"evaluations": evaluations, "datasets": datasets}[table]
    row = {**values, "recorded_at": datetime.now(UTC)}
    statement = _insert(session)(target).values(**row)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[key], set_={k: v for k, v in row.items() if k != key}
        )
    )


async def load(session: AsyncSession, *, table: str, key: str) -> Mapping[str, Any] | None:
    """One fact row by id, or None."""
    target, column = {
        "evaluations": (evaluations, evaluations.c.evaluation_id),
        "datasets": (datasets, datasets.c.dataset_id),
    }[table]
    row = (await session.execute(select(target).where(column == key))).mappings().first()
    return dict(row) if row is not None else None


async def forget(session: AsyncSession, *, table: str, key: str) -> None:
    """Delete one fact row (a deleted dataset is no longer explained)."""
    target, column = {
        "evaluations": (evaluations, evaluations.c.evaluation_id),
        "datasets": (datasets, datasets.c.dataset_id),
    }[table]
    await session.execute(delete(target).where(column == key))


async def apply_membership(
    session: AsyncSession, *, project_id: str, user_id: str, role: str | None, at: datetime
) -> None:
    """Record that ``user_id`` has ``role`` in ``project_id`` (None: removed) as of ``at``.

    Applied only if newer than what is recorded for the pair and than the user's account
    deletion: a replayed dead letter, or two gateway replicas relaying their outboxes, may
    deliver an older change after a newer one, and the older one must change nothing. The same
    event twice changes nothing either (its time is not newer than itself). Times are the
    gateway's clocks, so replicas are assumed to agree to well within the time between two
    changes of one membership.
    """
    at = at.astimezone(UTC)
    deleted = await session.scalar(
        select(deleted_accounts.c.deleted_at).where(deleted_accounts.c.user_id == user_id)
    )
    if deleted is not None and _utc(deleted) >= at:
        return
    statement = _insert(session)(project_members).values(
        project_id=project_id, user_id=user_id, role=role, changed_at=at
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["project_id", "user_id"],
            set_={"role": statement.excluded.role, "changed_at": statement.excluded.changed_at},
            where=project_members.c.changed_at < statement.excluded.changed_at,
        )
    )


async def forget_account(session: AsyncSession, *, user_id: str, at: datetime) -> None:
    """Drop a deleted account's memberships as of ``at``, and remember the deletion.

    Memberships changed after ``at`` stay (an id that signs in again is a new account to the
    gateway); an older membership event arriving later is ignored (``apply_membership``).
    """
    at = at.astimezone(UTC)
    statement = _insert(session)(deleted_accounts).values(user_id=user_id, deleted_at=at)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id"],
            set_={"deleted_at": statement.excluded.deleted_at},
            where=deleted_accounts.c.deleted_at < statement.excluded.deleted_at,
        )
    )
    await session.execute(
        delete(project_members).where(
            project_members.c.user_id == user_id, project_members.c.changed_at <= at
        )
    )


async def is_member(session: AsyncSession, *, project_id: str, user_id: str) -> bool:
    """Whether ``user_id`` is a member of ``project_id`` (any role)."""
    row = await session.execute(
        select(project_members.c.user_id).where(
            project_members.c.project_id == project_id,
            project_members.c.user_id == user_id,
            project_members.c.role.is_not(None),
        )
    )
    return row.first() is not None


def _utc(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored one is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class UsageLedger(Protocol):
    """Tokens spent per project and UTC day."""

    async def used(self, *, project_id: str, day: str) -> int:
        """Tokens spent so far."""
        ...

    async def add(self, *, project_id: str, day: str, tokens: int) -> None:
        """Record spent tokens."""
        ...


class SqlUsageLedger:
    """The ledger in the caller's transaction (so a handler's writes commit together)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def used(self, *, project_id: str, day: str) -> int:
        """Tokens spent so far."""
        value = await self._session.scalar(
            select(token_usage.c.tokens).where(
                token_usage.c.project_id == project_id, token_usage.c.day == day
            )
        )
        return int(value or 0)

    async def add(self, *, project_id: str, day: str, tokens: int) -> None:
        """Add ``tokens`` atomically (an upsert that increments)."""
        if tokens <= 0:
            return
        statement = _insert(self._session)(token_usage).values(
            project_id=project_id, day=day, tokens=tokens
        )
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=["project_id", "day"],
                set_={"tokens": token_usage.c.tokens + tokens},
            )
        )


class DatabaseUsageLedger:
    """The ledger in short transactions of its own.

    Provider calls take seconds; reading the budget before one and charging after it must not
    hold a transaction open for that long (a consumer or another request would wait on it).
    Tokens are charged even if what follows fails: the provider billed them.
    """

    def __init__(self, database: Database) -> None:
        self._database = database

    async def used(self, *, project_id: str, day: str) -> int:
        """Tokens spent so far."""
        async with self._database.sessions() as session:
            return await SqlUsageLedger(session).used(project_id=project_id, day=day)

    async def add(self, *, project_id: str, day: str, tokens: int) -> None:
        """Add ``tokens`` in a transaction of its own."""
        if tokens <= 0:
            return
        async with self._database.unit_of_work(actor=LEDGER_ACTOR) as uow:
            await SqlUsageLedger(uow.session).add(project_id=project_id, day=day, tokens=tokens)
