"""Creating, listing and revoking API keys (by a signed-in person, never by another key)."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from sds_common.auth import Identity, KeyAccess
from sds_common.db import Database
from sds_common.events import ApiKeyCreated as ApiKeyCreatedEvent
from sds_common.events import ApiKeyRevoked
from sds_gateway.adapters.orm import api_keys
from sds_gateway.adapters.records import as_utc, member_role, utc, utcnow
from sds_gateway.domain import api_keys as keys
from sds_gateway.domain.access import Need, authorise, require_person
from sds_gateway.domain.errors import NotFound
from sds_gateway.schemas.access import ApiKey, ApiKeyCreate, ApiKeyCreated
from sds_gateway.schemas.common import Page
from sds_gateway.views import page_of

_NEED = {KeyAccess.READ: Need.READ, KeyAccess.WRITE: Need.WRITE}


def key_view(row: RowMapping) -> ApiKey:
    """A key row as its owner sees it."""
    return ApiKey(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        project_id=row["project_id"],
        access=KeyAccess(row["access"]),
        created_at=utc(row["created_at"]),
        last_used_at=as_utc(row["last_used_at"]),
        revoked_at=as_utc(row["revoked_at"]),
    )


async def create_key(database: Database, user: Identity, request: ApiKeyCreate) -> ApiKeyCreated:
    """Mint a key for one of the user's projects; a write key needs the right to write there."""
    require_person(user, action="create API keys")
    key_id = str(uuid.uuid4())
    minted = keys.mint()
    async with database.unit_of_work(actor=user.user_id) as uow:
        authorise(
            await member_role(uow.session, project_id=request.project_id, user_id=user.user_id),
            _NEED[request.access],
            what="project",
        )
        await uow.session.execute(
            insert(api_keys).values(
                id=key_id,
                user_id=user.user_id,
                project_id=request.project_id,
                name=request.name,
                prefix=minted.prefix,
                secret_hash=minted.secret_hash,
                access=request.access,
                created_at=utcnow(),
            )
        )
        await uow.emit(
            ApiKeyCreatedEvent(
                user_id=user.user_id,
                api_key_id=uuid.UUID(key_id),
                project_id=uuid.UUID(request.project_id),
                access=request.access.value,
                prefix=minted.prefix,
            ),
            project_id=request.project_id,
        )
        row = await _owned(uow.session, user, key_id=key_id)
    return ApiKeyCreated(**key_view(row).model_dump(), token=minted.token)


async def list_keys(
    session: AsyncSession,
    user: Identity,
    *,
    project_id: str | None,
    limit: int,
    cursor: str | None,
) -> Page[ApiKey]:
    """The user's keys, newest first (revoked ones too, marked)."""
    require_person(user, action="list API keys")
    query = select(api_keys).where(api_keys.c.user_id == user.user_id)
    if project_id is not None:
        query = query.where(api_keys.c.project_id == project_id)
    rows, next_cursor = await page_of(session, query, api_keys, limit=limit, cursor=cursor)
    return Page(items=[key_view(row) for row in rows], next_cursor=next_cursor)


async def revoke_key(database: Database, user: Identity, *, key_id: str) -> None:
    """Revoke one of the user's keys; revoking a revoked key changes nothing."""
    require_person(user, action="revoke API keys")
    async with database.unit_of_work(actor=user.user_id) as uow:
        row = await _owned(uow.session, user, key_id=key_id)
        if row["revoked_at"] is not None:
            return
        await uow.session.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        await uow.emit(
            ApiKeyRevoked(
                user_id=user.user_id,
                api_key_id=uuid.UUID(key_id),
                project_id=uuid.UUID(row["project_id"]),
            ),
            project_id=row["project_id"],
        )


async def _owned(session: AsyncSession, user: Identity, *, key_id: str) -> RowMapping:
    row = (
        (
            await session.execute(
                select(api_keys).where(api_keys.c.id == key_id, api_keys.c.user_id == user.user_id)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("API key not found")
    return row
