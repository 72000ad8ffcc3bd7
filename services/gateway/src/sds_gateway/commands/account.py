"""The caller's own data (GDPR): export everything held about them, or delete their account.

Deleting an account, in one transaction: every project the user owns alone is deleted with its
datasets (``DatasetDeleted`` each, as ``DELETE /projects/{id}`` does) and its user-given names
are blanked; the user's memberships, API keys and user record are removed; ``AccountDeleted``
(ids and counts, no personal data) is emitted for the audit log. After the commit, every object
stored for those datasets is removed from object storage (a failure there is logged; the
prefixes are in the event, so the removal can be finished by hand). Rows the user created in
projects that other owners keep stay with those projects, under the user's opaque id only.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

from fastapi.encoders import jsonable_encoder
from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from sds_common.auth import Identity
from sds_common.db import Database
from sds_common.events import AccountDeleted, ApiKeyRevoked
from sds_common.storage import ObjectStore
from sds_gateway.adapters.orm import (
    api_keys,
    datasets,
    evaluations,
    metadata,
    privacy_ledger,
    project_members,
    projects,
    synthetic_datasets,
    users,
)
from sds_gateway.adapters.purge import object_prefixes, purge
from sds_gateway.adapters.records import utcnow
from sds_gateway.commands.projects import delete_project_rows
from sds_gateway.domain.access import ProjectRole, require_person
from sds_gateway.schemas.access import AccountDeletion, AccountExport

#: Columns never exported: key hashes, encrypted webhook secrets.
_WITHHELD: Final = ("secret",)
HELD_ELSEWHERE: Final = (
    "audit service: the append-only audit log records the events of your actions (ids, not "
    "contents); an administrator exports them with GET /api/v1/audit/events",
    "object storage: the files you uploaded and everything generated from them, listed by "
    "their keys in 'created'",
    "identity provider (BetterAuth): your sign-in account, managed by the frontend",
)


def _plain(row: RowMapping) -> dict[str, Any]:
    kept = {str(k): v for k, v in row.items() if not any(w in str(k) for w in _WITHHELD)}
    exported: dict[str, Any] = jsonable_encoder(kept)
    return exported


async def _rows(session: AsyncSession, table: Table, *where: Any) -> list[dict[str, Any]]:
    result = await session.execute(select(table).where(*where))
    return [_plain(row) for row in result.mappings()]


def _created_by_tables() -> list[Table]:
    """Every table with a ``created_by`` column: what the user made, wherever it is recorded."""
    return [t for t in metadata.sorted_tables if "created_by" in t.c]


async def export_account(session: AsyncSession, user: Identity, *, now: datetime) -> AccountExport:
    """Everything the gateway holds about ``user``."""
    require_person(user, action="export an account")
    record = await _rows(session, users, users.c.id == user.user_id)
    memberships = [
        _plain(row)
        for row in (
            await session.execute(
                select(
                    project_members.c.project_id,
                    project_members.c.role,
                    project_members.c.created_at,
                    projects.c.name.label("project_name"),
                    projects.c.deleted_at.label("project_deleted_at"),
                )
                .join(projects, projects.c.id == project_members.c.project_id)
                .where(project_members.c.user_id == user.user_id)
            )
        ).mappings()
    ]
    created = {
        table.name: await _rows(session, table, table.c.created_by == user.user_id)
        for table in _created_by_tables()
    }
    samples = [row["id"] for row in created.get(synthetic_datasets.name, [])]
    uploads = [row["id"] for row in created.get(datasets.name, [])]
    related = {
        evaluations.name: await _rows(
            session, evaluations, evaluations.c.synthetic_dataset_id.in_(samples)
        ),
        privacy_ledger.name: await _rows(
            session, privacy_ledger, privacy_ledger.c.dataset_id.in_(uploads)
        ),
    }
    return AccountExport(
        exported_at=now,
        user=record[0] if record else None,
        memberships=memberships,
        api_keys=await _rows(session, api_keys, api_keys.c.user_id == user.user_id),
        created=created,
        related=related,
        held_elsewhere=list(HELD_ELSEWHERE),
    )


async def delete_account(
    *, database: Database, storage: ObjectStore, user: Identity
) -> AccountDeletion:
    """Delete the user's account (see the module docstring)."""
    require_person(user, action="delete an account")
    async with database.unit_of_work(actor=user.user_id) as uow:
        session = uow.session
        alone = await _owned_alone(session, user_id=user.user_id)
        deleted_datasets: list[str] = []
        for project_id in alone:
            deleted_datasets += await delete_project_rows(uow, project_id=project_id)
        await _blank_names(session, project_ids=alone)
        every_dataset = list(
            await session.scalars(select(datasets.c.id).where(datasets.c.project_id.in_(alone)))
        )
        prefixes = await object_prefixes(session, every_dataset)
        keys = (
            await session.execute(
                select(api_keys.c.id, api_keys.c.project_id, api_keys.c.revoked_at).where(
                    api_keys.c.user_id == user.user_id
                )
            )
        ).all()
        for key_id, project_id, revoked_at in keys:
            if revoked_at is None:
                await uow.emit(
                    ApiKeyRevoked(
                        user_id=user.user_id,
                        api_key_id=uuid.UUID(key_id),
                        project_id=uuid.UUID(project_id),
                    ),
                    project_id=project_id,
                )
        await session.execute(delete(api_keys).where(api_keys.c.user_id == user.user_id))
        removed = await session.execute(
            delete(project_members).where(project_members.c.user_id == user.user_id)
        )
        memberships = int(getattr(removed, "rowcount", 0) or 0)
        await session.execute(delete(users).where(users.c.id == user.user_id))
        revoked = sum(1 for key in keys if key.revoked_at is None)
        # In the same transaction: the deletion is audited exactly when it happened.
        await uow.emit(
            AccountDeleted(
                user_id=user.user_id,
                projects_deleted=tuple(uuid.UUID(p) for p in alone),
                datasets_deleted=tuple(uuid.UUID(d) for d in deleted_datasets),
                memberships_removed=memberships,
                api_keys_revoked=revoked,
                storage_prefixes=tuple(prefixes),
            )
        )
    objects, _failed = await purge(storage, prefixes)
    return AccountDeletion(
        user_id=user.user_id,
        projects_deleted=alone,
        datasets_deleted=len(deleted_datasets),
        memberships_removed=memberships,
        api_keys_revoked=revoked,
        objects_deleted=objects,
    )


async def _owned_alone(session: AsyncSession, *, user_id: str) -> list[str]:
    """The live projects in which ``user_id`` is the only owner."""
    owned = select(project_members.c.project_id).where(
        project_members.c.user_id == user_id, project_members.c.role == ProjectRole.OWNER
    )
    owners = (
        select(project_members.c.project_id)
        .where(
            project_members.c.role == ProjectRole.OWNER,
            project_members.c.project_id.in_(owned),
        )
        .group_by(project_members.c.project_id)
        .having(func.count() == 1)
    )
    return list(
        await session.scalars(
            select(projects.c.id)
            .where(projects.c.id.in_(owners), projects.c.deleted_at.is_(None))
            .order_by(projects.c.id)
        )
    )


async def _blank_names(session: AsyncSession, *, project_ids: list[str]) -> None:
    """Blank what users typed into the deleted projects (names, descriptions, file names)."""
    if not project_ids:
        return
    await session.execute(
        update(projects)
        .where(projects.c.id.in_(project_ids))
        .values(name="(deleted)", description="", updated_at=utcnow())
    )
    await session.execute(
        update(datasets)
        .where(datasets.c.project_id.in_(project_ids))
        .values(name="(deleted)", filename="(deleted)", target_column=None, columns=None)
    )
