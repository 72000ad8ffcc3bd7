"""Reads and writes of the ``api_keys`` table."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from sds_gateway.adapters.orm import api_keys, users


async def find_active(session: AsyncSession, *, prefix: str) -> RowMapping | None:
    """The unrevoked key with ``prefix``, with its owner's email and role; None if there is none."""
    return (
        (
            await session.execute(
                select(api_keys, users.c.email, users.c.role)
                .join(users, users.c.id == api_keys.c.user_id)
                .where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None))
            )
        )
        .mappings()
        .first()
    )


async def touch(session: AsyncSession, *, key_id: str, now: datetime, every: timedelta) -> None:
    """Record a use of the key unless one was recorded less than ``every`` ago.

    The condition is in the statement, so concurrent requests write at most once per period.
    """
    await session.execute(
        update(api_keys)
        .where(
            api_keys.c.id == key_id,
            or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at <= now - every),
        )
        .values(last_used_at=now)
    )
