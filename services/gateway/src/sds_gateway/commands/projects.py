"""Users seen through the proxy, and projects with their members."""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from sds_common.auth import Identity
from sds_common.db import Database, UnitOfWork
from sds_common.events import DatasetDeleted
from sds_gateway.adapters.orm import datasets, project_members, projects, users
from sds_gateway.adapters.records import advance, member_role, utcnow
from sds_gateway.commands.members import announce_membership
from sds_gateway.domain.access import Need, ProjectRole, authorise, require_person
from sds_gateway.domain.status import DATASET_RANK, DatasetStatus
from sds_gateway.schemas.projects import Project, ProjectCreate, ProjectUpdate
from sds_gateway.views import project_view

#: Built once: building and hashing the statement would cost more than running it.
_KNOWN_USER = select(users.c.email, users.c.role).where(users.c.id == bindparam("user_id"))


async def remember_user(database: Database, user: Identity) -> None:
    """Record a user on first sight, and their email and role when these change."""
    # Every request passes here: the lookup must neither wait for SQLite's write lock nor open
    # a session (``Database.fetch_one``).
    known = await database.fetch_one(_KNOWN_USER, {"user_id": user.user_id})
    if known is not None and (known["email"], known["role"]) == (user.email, user.role):
        return
    dialect = postgresql if database.engine.dialect.name == "postgresql" else sqlite
    now = utcnow()
    statement = dialect.insert(users).values(
        id=user.user_id, email=user.email, role=user.role, created_at=now, updated_at=now
    )
    async with database.unit_of_work(actor=user.user_id) as uow:
        await uow.session.execute(
            statement.on_conflict_do_update(
                index_elements=["id"],
                set_={"email": user.email, "role": user.role, "updated_at": now},
            )
        )


async def create_project(database: Database, user: Identity, request: ProjectCreate) -> Project:
    """Create a project; its creator becomes its owner (a person, not an API key).

    The ownership is announced like any other membership (``ProjectMembershipChanged``).
    """
    require_person(user, action="create projects")
    project_id = str(uuid.uuid4())
    now = utcnow()
    async with database.unit_of_work(actor=user.user_id) as uow:
        await uow.session.execute(
            insert(projects).values(
                id=project_id,
                name=request.name,
                description=request.description,
                created_by=user.user_id,
                created_at=now,
                updated_at=now,
            )
        )
        await uow.session.execute(
            insert(project_members).values(
                project_id=project_id,
                user_id=user.user_id,
                role=ProjectRole.OWNER,
                created_at=now,
            )
        )
        await announce_membership(
            uow, project_id=project_id, user_id=user.user_id, role=ProjectRole.OWNER, was=None
        )
        row = (await uow.session.execute(select(projects).where(projects.c.id == project_id))).one()
    return project_view(row._mapping, ProjectRole.OWNER)


async def update_project(
    database: Database, user: Identity, *, project_id: str, request: ProjectUpdate
) -> Project:
    """Rename or re-describe a project (owners and editors)."""
    changes = request.model_dump(exclude_unset=True, exclude_none=True)
    async with database.unit_of_work(actor=user.user_id) as uow:
        role = authorise(
            await member_role(uow.session, project_id=project_id, user_id=user.user_id),
            Need.WRITE,
            what="project",
        )
        if changes:
            await uow.session.execute(
                update(projects)
                .where(projects.c.id == project_id)
                .values(**changes, updated_at=utcnow())
            )
        row = (await uow.session.execute(select(projects).where(projects.c.id == project_id))).one()
    return project_view(row._mapping, role)


async def delete_project(database: Database, user: Identity, *, project_id: str) -> None:
    """Delete a project (owners): its datasets are deleted too, each with ``DatasetDeleted``."""
    async with database.unit_of_work(actor=user.user_id) as uow:
        authorise(
            await member_role(uow.session, project_id=project_id, user_id=user.user_id),
            Need.MANAGE,
            what="project",
        )
        await delete_project_rows(uow, project_id=project_id)


async def delete_project_rows(uow: UnitOfWork, *, project_id: str) -> list[str]:
    """Mark a project and its live datasets deleted, each dataset with ``DatasetDeleted``.

    Every member loses access with the project, and each is told like any other removal
    (``ProjectMembershipChanged`` with no role): subscribers that keep their own view of who may
    use a project (the llm service, webhooks, the audit log) need no event of their own for it.

    Returns:
        The ids of the datasets this deleted.
    """
    live = (
        await uow.session.scalars(
            select(datasets.c.id).where(
                datasets.c.project_id == project_id,
                datasets.c.status != DatasetStatus.DELETED,
            )
        )
    ).all()
    deleted: list[str] = []
    for dataset_id in live:
        if await advance(
            uow.session,
            datasets,
            row_id=dataset_id,
            ranks=DATASET_RANK,
            status=DatasetStatus.DELETED,
        ):
            deleted.append(dataset_id)
            await uow.emit(
                DatasetDeleted(dataset_id=uuid.UUID(dataset_id), reason="project deleted"),
                project_id=project_id,
            )
    members = await uow.session.execute(
        select(project_members.c.user_id, project_members.c.role)
        .where(project_members.c.project_id == project_id)
        .order_by(project_members.c.user_id)
    )
    for user_id, role in members.all():
        await announce_membership(uow, project_id=project_id, user_id=user_id, role=None, was=role)
    await uow.session.execute(
        update(projects)
        .where(projects.c.id == project_id)
        .values(deleted_at=utcnow(), updated_at=utcnow())
    )
    return deleted
