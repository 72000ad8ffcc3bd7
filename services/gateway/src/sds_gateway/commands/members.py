"""Project members: owners add people, change their roles and remove them; anyone may leave.

A project always keeps at least one owner. The owner rows are locked (``FOR UPDATE`` on
PostgreSQL; SQLite serialises writers anyway) before a change that could remove the last one, so
two owners demoting each other at the same moment cannot leave the project without one.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sds_common.auth import Identity
from sds_common.db import Database, UnitOfWork
from sds_common.events import ProjectMembershipChanged
from sds_gateway.adapters.orm import project_members, users
from sds_gateway.adapters.records import member_role, utc, utcnow
from sds_gateway.domain.access import Need, ProjectRole, authorise
from sds_gateway.domain.errors import Conflict, NotFound
from sds_gateway.schemas.access import Member, MemberAdd, MemberUpdate

RoleName = Literal["owner", "editor", "viewer"]


def _view(row: Row[Any]) -> Member:
    mapping = row._mapping
    return Member(
        user_id=mapping["user_id"],
        email=mapping["email"],
        role=ProjectRole(mapping["role"]),
        created_at=utc(mapping["created_at"]),
    )


async def list_members(session: AsyncSession, user: Identity, *, project_id: str) -> list[Member]:
    """The project's members, owners first (any member may see who else is one)."""
    authorise(
        await member_role(session, project_id=project_id, user_id=user.user_id),
        Need.READ,
        what="project",
    )
    rows = await session.execute(
        select(project_members, users.c.email)
        .outerjoin(users, users.c.id == project_members.c.user_id)
        .where(project_members.c.project_id == project_id)
        .order_by(project_members.c.created_at, project_members.c.user_id)
    )
    members = [_view(row) for row in rows]
    order = {ProjectRole.OWNER: 0, ProjectRole.EDITOR: 1, ProjectRole.VIEWER: 2}
    return sorted(members, key=lambda m: order[m.role])


async def add_member(
    database: Database, user: Identity, *, project_id: str, request: MemberAdd
) -> Member:
    """Add a known user (by id or email) to the project with a role (owners)."""
    async with database.unit_of_work(actor=user.user_id) as uow:
        authorise(
            await member_role(uow.session, project_id=project_id, user_id=user.user_id),
            Need.MANAGE,
            what="project",
        )
        if request.user_id is not None:
            where = users.c.id == request.user_id
        else:
            where = func.lower(users.c.email) == (request.email or "").lower()
        found = list(await uow.session.scalars(select(users.c.id).where(where).limit(2)))
        if not found:
            raise NotFound(
                "no such user: people can be added once they have signed in", code="user_not_found"
            )
        if len(found) > 1:
            raise Conflict(
                "several users signed in with this email; add the member by user_id",
                code="ambiguous_email",
            )
        member_id = found[0]
        existing = await _role_of(uow.session, project_id=project_id, user_id=member_id)
        if existing is not None:
            raise Conflict(
                f"{member_id} is already a member ({existing}); change the role with PATCH",
                code="already_a_member",
            )
        await uow.session.execute(
            insert(project_members).values(
                project_id=project_id, user_id=member_id, role=request.role, created_at=utcnow()
            )
        )
        await announce_membership(
            uow, project_id=project_id, user_id=member_id, role=request.role, was=None
        )
        return await _one(uow.session, project_id=project_id, user_id=member_id)


async def change_role(
    database: Database,
    user: Identity,
    *,
    project_id: str,
    member_id: str,
    request: MemberUpdate,
) -> Member:
    """Give a member another role (owners); the last owner cannot step down."""
    async with database.unit_of_work(actor=user.user_id) as uow:
        authorise(
            await member_role(uow.session, project_id=project_id, user_id=user.user_id),
            Need.MANAGE,
            what="project",
        )
        current = await _role_of(uow.session, project_id=project_id, user_id=member_id)
        if current is None:
            raise NotFound("member not found")
        if current == request.role:
            return await _one(uow.session, project_id=project_id, user_id=member_id)
        if current == ProjectRole.OWNER:
            await _keep_an_owner(uow.session, project_id=project_id, leaving=member_id)
        await uow.session.execute(
            update(project_members)
            .where(
                project_members.c.project_id == project_id,
                project_members.c.user_id == member_id,
            )
            .values(role=request.role)
        )
        await announce_membership(
            uow, project_id=project_id, user_id=member_id, role=request.role, was=current
        )
        return await _one(uow.session, project_id=project_id, user_id=member_id)


async def remove_member(
    database: Database, user: Identity, *, project_id: str, member_id: str
) -> None:
    """Remove a member (owners), or leave a project (any member); the last owner stays."""
    async with database.unit_of_work(actor=user.user_id) as uow:
        authorise(
            await member_role(uow.session, project_id=project_id, user_id=user.user_id),
            Need.READ if member_id == user.user_id else Need.MANAGE,
            what="project",
        )
        current = await _role_of(uow.session, project_id=project_id, user_id=member_id)
        if current is None:
            raise NotFound("member not found")
        if current == ProjectRole.OWNER:
            await _keep_an_owner(uow.session, project_id=project_id, leaving=member_id)
        await uow.session.execute(
            delete(project_members).where(
                project_members.c.project_id == project_id,
                project_members.c.user_id == member_id,
            )
        )
        await announce_membership(
            uow, project_id=project_id, user_id=member_id, role=None, was=current
        )


async def _role_of(session: AsyncSession, *, project_id: str, user_id: str) -> str | None:
    return await session.scalar(
        select(project_members.c.role).where(
            project_members.c.project_id == project_id, project_members.c.user_id == user_id
        )
    )


async def _keep_an_owner(session: AsyncSession, *, project_id: str, leaving: str) -> None:
    owners = list(
        await session.scalars(
            select(project_members.c.user_id)
            .where(
                project_members.c.project_id == project_id,
                project_members.c.role == ProjectRole.OWNER,
            )
            .with_for_update()
        )
    )
    if [o for o in owners if o != leaving] == []:
        raise Conflict(
            "a project keeps at least one owner: make another member an owner first, or delete "
            "the project",
            code="last_owner",
        )


async def _one(session: AsyncSession, *, project_id: str, user_id: str) -> Member:
    row = (
        await session.execute(
            select(project_members, users.c.email)
            .outerjoin(users, users.c.id == project_members.c.user_id)
            .where(
                project_members.c.project_id == project_id,
                project_members.c.user_id == user_id,
            )
        )
    ).one()
    return _view(row)


def _role_name(role: str | None) -> RoleName | None:
    return None if role is None else ProjectRole(role).value


async def announce_membership(
    uow: UnitOfWork, *, project_id: str, user_id: str, role: str | None, was: str | None
) -> None:
    """Emit ``ProjectMembershipChanged`` in the caller's transaction (``role`` None: removed).

    Every membership change has one, the creator's ownership of a new project included: the
    llm service builds its view of who may use a project from these events alone.
    """
    await uow.emit(
        ProjectMembershipChanged(
            user_id=user_id,
            project_id=uuid.UUID(project_id),
            role=_role_name(role),
            previous_role=_role_name(was),
        ),
        project_id=project_id,
    )
